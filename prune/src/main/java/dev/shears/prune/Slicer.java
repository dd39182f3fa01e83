package dev.shears.prune;

import dev.shears.core.Tensor;
import dev.shears.nn.Add;
import dev.shears.nn.AvgPool2d;
import dev.shears.nn.BatchNorm2d;
import dev.shears.nn.Concat;
import dev.shears.nn.Conv2d;
import dev.shears.nn.Dropout;
import dev.shears.nn.Flatten;
import dev.shears.nn.GlobalAvgPool2d;
import dev.shears.nn.Identity;
import dev.shears.nn.Linear;
import dev.shears.nn.MaxPool2d;
import dev.shears.nn.Module;
import dev.shears.nn.ReLU;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

/**
 * Makes a model physically smaller: for each group, keeps the given channels in every member — the producers'
 * output rows (weight dim 0, bias), the BatchNorms' γ, β and running statistics, the consumers' input columns
 * (Conv2d weight dim 1; Linear weight columns, H·W of them per channel through a Flatten). Tensors are
 * replaced with {@link Module#setParameter}, so every layer's sizes follow; build a new optimiser afterwards.
 *
 * <p><b>The constant a pruned channel leaves behind.</b> Removing a channel removes its data-dependent part and
 * also its constant part, which the next layer was adding to every output. That constant is, for a channel
 * ending in a BatchNorm, β (the normalised part γ·x̂ is what is dropped — all of it when γ = 0, as slimming
 * drives it); without a BatchNorm, the producer's bias. It then goes through the layers in between: ReLU gives
 * relu(β), max-pooling and Flatten leave a constant map constant. With folding on, the consumer absorbs it:
 * <pre>
 *   Linear (through Flatten):  b[o] += Σ_{c pruned} v_c · Σ_{f owned by c} W[o, f]        exact
 *   Conv2d, no padding:        b[k] += Σ_{c pruned} v_c · Σ_{r,s} W[k, c, r, s]             exact
 *   Conv2d with padding:       the same interior value                                     approximate
 * </pre>
 * With padding, a window at the border covers zeros where the constant map had v_c, so only interior outputs
 * receive the full Σ_{r,s} W; the border ones differ by v_c times the weights that fall on the padding. We fold
 * the interior value (the border is a thin ring: 4·(H−1) of H² positions) and report it in {@link Result#notes}.
 * A consumer without a bias gets the constant in the BatchNorm that follows it (running_mean −= d, exact in
 * evaluation; in training the batch mean absorbs any constant), or failing that a bias is added to it.
 *
 * <p>In a graph the constant follows the group's members in forward order: a residual {@code Add} sums its
 * inputs' constants (exact — an add of two pruned branches is a constant too), a depthwise conv gives
 * v·Σw + b (its interior value where it pads), a {@code Concat} places it at the group's offset; average pooling
 * that pads without counting the padding keeps a constant constant. Folds run consumer by consumer in forward
 * order, so a constant folded into a layer's bias is already there when that layer's own pruned channels are
 * folded further down — including into a pruned row: its channel then carries bias + the upstream constant.
 * Every index is removed at the end, all groups of a layer at once (a Concat's consumer, a BatchNorm over it).
 */
public final class Slicer {
    private Slicer() {}

    /** Channel counts per group ({@link ChannelGroup#label}) before and after, and what was approximate. */
    public record Result(Map<String, Integer> before, Map<String, Integer> after, List<String> notes) {}

    /**
     * Keeps {@code keep.get(group)} (sorted, distinct, at least one) in each named group of {@code graph},
     * modifying {@code model} in place; groups not named are untouched. {@code graph} must describe
     * {@code model} as it is now.
     */
    public static Result slice(Module model, DependencyGraph graph, Map<String, int[]> keep, boolean fold) {
        Map<String, Integer> before = new LinkedHashMap<>(), after = new LinkedHashMap<>();
        List<String> notes = new ArrayList<>();
        for (String name : keep.keySet()) graph.group(name);   // fails on an unknown name, before anything changes
        Map<ChannelGroup, int[]> pruned = new LinkedHashMap<>();
        for (ChannelGroup g : graph.groups()) {
            int[] k = keep.get(g.name());
            if (k == null) continue;
            check(g, k);
            before.put(g.label(), g.channels());
            after.put(g.label(), k.length);
            int[] p = Slices.complement(k, g.channels());
            if (p.length > 0) pruned.put(g, p);
        }
        // first every fold (on the weights as analysed, in forward order), then the slicing: a layer may belong to
        // several groups (a consumer of a Concat, a BatchNorm over one), so its indices are removed all at once
        if (fold) {   // consumer by consumer in forward order: a constant depends only on the biases upstream of it
            List<String> order = List.copyOf(graph.layers().keySet());
            record Fold(Consumer c, ChannelGroup g, int[] pruned) {}
            List<Fold> folds = new ArrayList<>();
            pruned.forEach((g, p) -> g.consumers().forEach(c -> folds.add(new Fold(c, g, p))));
            folds.sort(java.util.Comparator.comparingInt(f -> order.indexOf(f.c().path())));
            for (Fold f : folds) foldConstants(model, graph, f.g(), f.c(), f.pruned(), notes);
        }
        Map<String, Set<Integer>> outputs = new LinkedHashMap<>(), inputs = new LinkedHashMap<>();
        pruned.forEach((g, p) -> {
            for (String path : g.producers()) remove(outputs, path, 0, p, 1);
            for (String path : g.norms()) remove(outputs, path, g.offsetIn(path), p, 1);
            for (String path : g.depthwise()) remove(outputs, path, g.offsetIn(path), p, 1);
            for (Consumer c : g.consumers()) remove(inputs, c.path(), c.offset(), p, c.featuresPerChannel());
        });
        outputs.forEach((path, removed) -> sliceOutputs(model, path, removed));
        inputs.forEach((path, removed) -> sliceInputs(model.module(path), removed));
        return new Result(before, after, notes.stream().distinct().toList());
    }

    /** Adds to {@code removed[path]} the indices that the pruned channels own there: (offset + c)·per + f. */
    private static void remove(Map<String, Set<Integer>> removed, String path, int offset, int[] pruned, int per) {
        Set<Integer> s = removed.computeIfAbsent(path, p -> new TreeSet<>());
        for (int c : pruned) for (int f = 0; f < per; f++) s.add((offset + c) * per + f);
    }

    private static void check(ChannelGroup g, int[] k) {
        if (k.length == 0) throw new IllegalArgumentException("group " + g.name() + ": keeping no channel would cut the network in two");
        for (int i = 0; i < k.length; i++) {
            if (k[i] < 0 || k[i] >= g.channels())
                throw new IllegalArgumentException("group " + g.name() + ": channel " + k[i] + " outside [0, " + g.channels() + ")");
            if (i > 0 && k[i] <= k[i - 1])
                throw new IllegalArgumentException("group " + g.name() + ": kept channels must be sorted and distinct, got " + Arrays.toString(k));
        }
    }

    // ---- slicing -------------------------------------------------------------------------------------------

    /** Output rows of a producer, channels of a BatchNorm, filters of a depthwise conv (which then has fewer groups). */
    private static void sliceOutputs(Module model, String path, Set<Integer> removed) {
        Module m = model.module(path);
        int[] k = Slices.complement(removed.stream().mapToInt(Integer::intValue).toArray(), outputWidth(m));
        if (m instanceof BatchNorm2d bn) {
            for (String name : new String[]{"weight", "bias"}) bn.setParameter(name, Slices.select(bn.parameter(name), 0, k));
            for (String name : new String[]{"running_mean", "running_var"}) bn.setParameter(name, Slices.select(bn.buffer(name), 0, k));
            return;
        }
        Tensor w = Slices.select(m.parameter("weight"), 0, k);
        Tensor b = m.hasParameter("bias") ? Slices.select(m.parameter("bias"), 0, k) : null;
        if (m instanceof Conv2d c && c.groups() > 1) {   // depthwise: a new layer, since the group count is fixed
            Conv2d dw = new Conv2d(k.length, k.length, c.kernel(), c.stride(), c.padding(), k.length, b != null, new Random(0));
            dw.train(c.isTraining());
            Layers.replace(model, path, dw);
            m = dw;
        }
        m.setParameter("weight", w);
        if (b != null) m.setParameter("bias", b);
    }

    private static int outputWidth(Module m) {
        return m instanceof BatchNorm2d bn ? bn.channels() : m.parameter("weight").dim(0);
    }

    private static void sliceInputs(Module m, Set<Integer> removed) {
        Tensor w = m.parameter("weight");
        m.setParameter("weight", Slices.select(w, 1, Slices.complement(removed.stream().mapToInt(Integer::intValue).toArray(), w.dim(1))));
    }

    // ---- folding -------------------------------------------------------------------------------------------

    /**
     * The constant each pruned channel carries at every member of the group, walking the members in forward order
     * (see the class comment): a producer's bias, a BatchNorm's β, a depthwise filter's Σw·v + b, relu(v) through
     * a ReLU, the sum of the inputs' constants through an Add; pools, Flatten, Dropout, Identity and Concat pass
     * it on. Padding in a depthwise conv makes its value an interior one, noted in {@code notes}.
     */
    static Map<String, float[]> leftoverConstants(Module model, DependencyGraph graph, ChannelGroup g, int[] pruned, List<String> notes) {
        Set<String> members = new HashSet<>(g.producers());
        members.addAll(g.norms());
        members.addAll(g.depthwise());
        members.addAll(g.between());
        Map<String, float[]> at = new HashMap<>();
        for (String path : graph.layers().keySet()) {
            if (!members.contains(path)) continue;
            Module m = model.module(path);
            int off = g.offsetIn(path);
            float[] v = new float[pruned.length];
            if (g.producers().contains(path)) {
                float[] bias = m.hasParameter("bias") ? m.parameter("bias").toArray() : null;
                for (int i = 0; i < pruned.length; i++) v[i] = bias == null ? 0f : bias[pruned[i]];
                at.put(path, v);
                continue;
            }
            List<float[]> in = graph.inputsOf(path).stream().map(at::get).filter(Objects::nonNull).toList();
            if (in.isEmpty()) throw new IllegalStateException("no constant reaches " + path + " in group " + g.name());
            if (m instanceof Add) {
                for (float[] x : in) for (int i = 0; i < v.length; i++) v[i] += x[i];
            } else if (m instanceof BatchNorm2d bn) {
                float[] beta = bn.bias().toArray();
                for (int i = 0; i < pruned.length; i++) v[i] = beta[off + pruned[i]];
            } else if (m instanceof Conv2d dw) {   // depthwise
                float[] w = dw.weight().toArray(), b = dw.bias() == null ? null : dw.bias().toArray();
                int rs = dw.kernel() * dw.kernel();
                for (int i = 0; i < pruned.length; i++) {
                    int c = off + pruned[i];
                    double s = 0;
                    for (int j = 0; j < rs; j++) s += w[c * rs + j];
                    v[i] = (float) (in.get(0)[i] * s + (b == null ? 0 : b[c]));
                }
                if (dw.padding() > 0)
                    notes.add(path + " (depthwise) has padding " + dw.padding() + ": the constant of " + g.label()
                            + "'s pruned channels after it is its interior value");
            } else if (m instanceof ReLU) {
                for (int i = 0; i < pruned.length; i++) v[i] = Math.max(0f, in.get(0)[i]);
            } else if (m instanceof MaxPool2d || m instanceof AvgPool2d || m instanceof GlobalAvgPool2d || m instanceof Flatten
                    || m instanceof Dropout || m instanceof Identity || m instanceof Concat) {
                v = in.get(0);
            } else {
                throw new IllegalStateException("no rule for carrying a constant through " + path);
            }
            at.put(path, v);
        }
        return at;
    }

    /** Adds to consumer {@code c}'s bias what group {@code g}'s pruned channels were adding to it. */
    private static void foldConstants(Module model, DependencyGraph graph, ChannelGroup g, Consumer c, int[] pruned, List<String> notes) {
        float[] v = leftoverConstants(model, graph, g, pruned, notes).get(graph.inputsOf(c.path()).get(0));
        boolean any = false;
        for (float x : v) any |= x != 0f;
        if (!any) return;
        Module m = model.module(c.path());
        float[] w = m.parameter("weight").toArray();
        int[] ws = m.parameter("weight").shape();
        int outs = ws[0];
        float[] d = new float[outs];
        if (m instanceof Conv2d conv) {
            int cin = ws[1], rs = ws[2] * ws[3];
            for (int o = 0; o < outs; o++)
                for (int i = 0; i < pruned.length; i++) {
                    double s = 0;
                    int base = (o * cin + c.offset() + pruned[i]) * rs;
                    for (int j = 0; j < rs; j++) s += w[base + j];
                    d[o] += (float) (v[i] * s);
                }
            if (conv.padding() > 0)
                notes.add(c.path() + " has padding " + conv.padding() + ": the constant of " + g.label()
                        + "'s pruned channels is folded with the whole kernel, exact in the interior, approximate on the "
                        + conv.padding() + "-pixel border");
        } else {
            int in = ws[1];
            for (int o = 0; o < outs; o++)
                for (int i = 0; i < pruned.length; i++) {
                    double s = 0;
                    int f0 = c.firstFeature(pruned[i]);
                    for (int f = 0; f < c.featuresPerChannel(); f++) s += w[o * in + f0 + f];
                    d[o] += (float) (v[i] * s);
                }
        }
        addToBias(model, graph, c.path(), d, notes);
    }

    private static void addToBias(Module model, DependencyGraph graph, String path, float[] d, List<String> notes) {
        Module m = model.module(path);
        if (m.hasParameter("bias")) {
            Tensor b = m.parameter("bias");
            float[] x = b.toArray();
            for (int i = 0; i < x.length; i++) x[i] += d[i];
            m.setParameter("bias", Tensor.of(b.backend(), x, b.shape()));
            return;
        }
        BatchNorm2d next = normAfter(model, graph, path);
        if (next != null) {
            Tensor mean = next.runningMean();
            float[] x = mean.toArray();
            for (int i = 0; i < x.length; i++) x[i] -= d[i];
            next.setParameter("running_mean", Tensor.of(mean.backend(), x, mean.shape()));
            return;
        }
        Tensor w = m.parameter("weight");
        Module biased = m instanceof Conv2d c
                ? new Conv2d(c.inChannels(), c.outChannels(), c.kernel(), c.stride(), c.padding(), true, new Random(0))
                : new Linear(((Linear) m).inFeatures(), ((Linear) m).outFeatures(), true, new Random(0));
        biased.setParameter("weight", w);
        biased.setParameter("bias", Tensor.of(w.backend(), d, d.length));
        biased.train(m.isTraining());
        Layers.replace(model, path, biased);
        notes.add(path + " had no bias: one was added to hold the constant of the pruned channels before it");
    }

    /** The BatchNorm2d that alone reads the layer at {@code path}, if there is one. */
    private static BatchNorm2d normAfter(Module model, DependencyGraph graph, String path) {
        List<String> readers = graph.readersOf(path);
        return readers.size() == 1 && model.module(readers.get(0)) instanceof BatchNorm2d bn ? bn : null;
    }
}
