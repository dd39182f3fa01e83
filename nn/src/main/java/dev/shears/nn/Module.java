package dev.shears.nn;

import dev.shears.core.Backend;
import dev.shears.core.Backends;
import dev.shears.core.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A layer or a network: named parameters (trained), named buffers (state such as BatchNorm's running
 * statistics), named child modules, and train/eval mode — PyTorch's nn.Module in miniature.
 *
 * <p>Parameters live only in this registry, never in fields: a layer reads them with {@link #parameter}. So
 * moving a model to another backend, loading a checkpoint, or pruning (which swaps in smaller tensors) is one
 * {@link #setParameter} call, and a layer's sizes are always those of its tensors.
 */
public abstract class Module {
    private final Map<String, Tensor> parameters = new LinkedHashMap<>();
    private final Map<String, Tensor> buffers = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    /** children's values in order, rebuilt when they change: a forward pass reads it on every call */
    private List<Module> childList = List.of();
    private boolean training = true;

    public abstract Tensor forward(Tensor x);

    // ---- registration (constructors) ----

    protected Tensor registerParameter(String name, Tensor t) {
        parameters.put(name, t.requiresGrad(true).named(name));
        return t;
    }

    protected Tensor registerBuffer(String name, Tensor t) {
        buffers.put(name, t.named(name));
        return t;
    }

    protected <M extends Module> M registerModule(String name, M m) {
        children.put(name, m);
        childList = List.copyOf(children.values());
        return m;
    }

    // ---- access ----

    public Tensor parameter(String name) {
        Tensor t = parameters.get(name);
        if (t == null) throw new IllegalArgumentException(getClass().getSimpleName() + " has no parameter '" + name + "'");
        return t;
    }

    public boolean hasParameter(String name) { return parameters.containsKey(name); }

    public Tensor buffer(String name) {
        Tensor t = buffers.get(name);
        if (t == null) throw new IllegalArgumentException(getClass().getSimpleName() + " has no buffer '" + name + "'");
        return t;
    }

    /**
     * Replaces a parameter or buffer. The new tensor may have another shape (that is how pruning shrinks a
     * layer); a parameter is marked as requiring a gradient.
     */
    public void setParameter(String name, Tensor t) {
        if (parameters.containsKey(name)) parameters.put(name, t.requiresGrad(true).named(name));
        else if (buffers.containsKey(name)) buffers.put(name, t.named(name));
        else throw new IllegalArgumentException(getClass().getSimpleName() + " has no parameter or buffer '" + name + "'");
    }

    public Map<String, Module> children() { return Collections.unmodifiableMap(children); }

    /**
     * The child modules in order, unmodifiable, the same list from call to call until one is added or
     * replaced, so a forward call need not copy them out of the map (async-profiler put that copy at about
     * 1% of a pruned SimpleCNN's pass at batch 1; whole passes timed before and after differ by less than
     * their noise).
     */
    List<Module> childModules() { return childList; }

    public Module child(String name) {
        Module m = children.get(name);
        if (m == null) throw new IllegalArgumentException(getClass().getSimpleName() + " has no child module '" + name + "'; it has " + children.keySet());
        return m;
    }

    protected void replaceChild(String name, Module m) {
        if (!children.containsKey(name)) throw new IllegalArgumentException("no child module '" + name + "'");
        children.put(name, m);
        childList = List.copyOf(children.values());
    }

    /** All parameters with dotted names ("conv1.weight"), in registration order. */
    public Map<String, Tensor> namedParameters() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        collect("", out, true, false);
        return out;
    }

    public List<Tensor> parameters() { return new ArrayList<>(namedParameters().values()); }

    /**
     * The backend this module's tensors live on (that of its first parameter or buffer, see {@link #to}), or
     * the default backend for a module that has none (a chain of ReLUs and poolings).
     */
    public Backend backend() {
        Tensor first = firstTensor();
        return first == null ? Backends.getDefault() : first.backend();
    }

    /** The first tensor of {@link #stateDict}'s order, found without building the map and its names. */
    private Tensor firstTensor() {
        if (!parameters.isEmpty()) return parameters.values().iterator().next();
        if (!buffers.isEmpty()) return buffers.values().iterator().next();
        for (Module m : childList) {
            Tensor t = m.firstTensor();
            if (t != null) return t;
        }
        return null;
    }

    /**
     * Parameters and buffers with PyTorch's names and order (per module: its parameters, its buffers, then
     * its children), as saved in a checkpoint.
     */
    public Map<String, Tensor> stateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        collect("", out, true, true);
        return out;
    }

    private void collect(String prefix, Map<String, Tensor> out, boolean params, boolean bufs) {
        if (params) parameters.forEach((k, v) -> out.put(prefix + k, v));
        if (bufs) buffers.forEach((k, v) -> out.put(prefix + k, v));
        children.forEach((k, m) -> m.collect(prefix + k + ".", out, params, bufs));
    }

    /** The module at a dotted path ("conv1"), or this for "". */
    public Module module(String path) {
        Module m = this;
        if (path.isEmpty()) return m;
        for (String part : path.split("\\.")) m = m.child(part);
        return m;
    }

    /**
     * Loads tensors by state-dict name, with PyTorch's {@code load_state_dict(strict=True)} rules. With
     * {@code allowResize}, a tensor may differ in shape from the current one (a pruned checkpoint into a
     * full-width model); otherwise each shape must {@linkplain #shapeFits fit}. Every name of the model must
     * be in the state dict unless it {@linkplain #mayBeMissing may be missing} (then the current tensor
     * stays), and nothing unknown is accepted.
     */
    public void loadStateDict(Map<String, Tensor> state, boolean allowResize) {
        Map<String, Tensor> mine = stateDict();
        List<String> missing = new ArrayList<>();
        for (String name : mine.keySet()) if (!state.containsKey(name) && !mayBeMissing(name)) missing.add(name);
        List<String> unexpected = new ArrayList<>();
        for (String name : state.keySet()) if (!mine.containsKey(name)) unexpected.add(name);
        if (!missing.isEmpty() || !unexpected.isEmpty())
            throw new IllegalArgumentException("state dict does not fit the model: missing " + missing + ", unexpected " + unexpected);
        for (var e : state.entrySet()) {
            Tensor old = mine.get(e.getKey());
            Tensor t = e.getValue();
            if (!allowResize && !shapeFits(t.shape(), old.shape()))
                throw new IllegalArgumentException("state dict entry " + e.getKey() + " has shape " + Arrays.toString(t.shape())
                        + " but the model expects " + Arrays.toString(old.shape()));
            if (old.rank() == 0 && t.rank() == 1 && t.size() == 1) t = t.reshape();   // [1] into a scalar: see shapeFits
            int dot = e.getKey().lastIndexOf('.');
            Module owner = module(dot < 0 ? "" : e.getKey().substring(0, dot));
            owner.setParameter(e.getKey().substring(dot + 1), t.detach().to(old.backend()));
        }
    }

    /**
     * Whether a state-dict tensor of shape {@code given} can be loaded where the model has {@code expected}:
     * equal shapes, or a one-element vector [1] for a scalar [], which PyTorch's load_state_dict accepts
     * (its rule for checkpoints of PyTorch 0.3, where BatchNorm's {@code num_batches_tracked} has shape [1]).
     * A longer vector for a scalar is refused, although PyTorch would silently take its first element.
     */
    public static boolean shapeFits(int[] given, int[] expected) {
        return Arrays.equals(given, expected) || (expected.length == 0 && Arrays.equals(given, new int[]{1}));
    }

    /**
     * Whether the tensor of this state-dict name may be absent from a state dict being loaded, the current
     * value then staying; true for what the owning module {@linkplain #optionalInStateDict declares optional}.
     */
    public boolean mayBeMissing(String stateDictName) {
        int dot = stateDictName.lastIndexOf('.');
        Module owner = module(dot < 0 ? "" : stateDictName.substring(0, dot));
        return owner.optionalInStateDict(stateDictName.substring(dot + 1));
    }

    /** Whether this module's own tensor {@code name} may be absent from a state dict; none by default. */
    protected boolean optionalInStateDict(String name) { return false; }

    /** Moves every parameter and buffer to {@code backend} (build optimisers afterwards). */
    public Module to(Backend backend) {
        parameters.replaceAll((k, t) -> t.to(backend).detach().requiresGrad(true).named(k));
        buffers.replaceAll((k, t) -> t.to(backend).named(k));
        children.values().forEach(m -> m.to(backend));
        return this;
    }

    // ---- mode ----

    public Module train() { return train(true); }

    public Module eval() { return train(false); }

    public Module train(boolean on) {
        training = on;
        children.values().forEach(m -> m.train(on));
        return this;
    }

    public boolean isTraining() { return training; }

    public void zeroGrad() { parameters().forEach(Tensor::zeroGrad); }

    /** Number of trainable scalars. */
    public long parameterCount() {
        long n = 0;
        for (Tensor t : parameters()) n += t.size();
        return n;
    }

    /** One line describing this layer's configuration (Sequential lists its children). */
    public String describe() { return getClass().getSimpleName() + "()"; }

    @Override
    public String toString() { return describe(); }
}
