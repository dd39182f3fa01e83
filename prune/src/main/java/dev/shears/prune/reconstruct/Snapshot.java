package dev.shears.prune.reconstruct;

import dev.shears.core.Tensor;
import dev.shears.nn.Module;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A host copy of a model's state dict (parameters and buffers) that can be edited as plain arrays and
 * loaded back, shapes and all. Reconstruction keeps three — the original network, the naively sliced one
 * and the reconstructed one — and swaps them into the same {@link Module} for each forward pass, since
 * {@code nn} layers take their sizes from their tensors.
 */
public final class Snapshot {
    /** One tensor: its values, row-major, and its shape. */
    public record Entry(float[] data, int[] shape) {
        public Entry {
            long size = 1;
            for (int d : shape) size *= d;
            if (size != data.length)
                throw new IllegalArgumentException(data.length + " values do not fill shape " + Arrays.toString(shape));
        }
    }

    private final Map<String, Entry> entries;

    private Snapshot(Map<String, Entry> entries) { this.entries = entries; }

    public static Snapshot of(Module model) {
        Map<String, Entry> m = new LinkedHashMap<>();
        model.stateDict().forEach((k, t) -> m.put(k, new Entry(t.toArray(), t.shape())));
        return new Snapshot(m);
    }

    /** Replaces every entry with the current state of {@code model}. */
    public void update(Module model) {
        entries.clear();
        model.stateDict().forEach((k, t) -> entries.put(k, new Entry(t.toArray(), t.shape())));
    }

    public Snapshot copy() {
        Map<String, Entry> m = new LinkedHashMap<>();
        entries.forEach((k, e) -> m.put(k, new Entry(e.data.clone(), e.shape.clone())));
        return new Snapshot(m);
    }

    public Entry get(String name) {
        Entry e = entries.get(name);
        if (e == null) throw new IllegalArgumentException("no tensor '" + name + "' in the state dict; it has " + entries.keySet());
        return e;
    }

    public boolean has(String name) { return entries.containsKey(name); }

    /** Loads this state into {@code model} (fresh tensors: later training cannot alter the snapshot). */
    public void restore(Module model) {
        Map<String, Tensor> state = new LinkedHashMap<>();
        entries.forEach((k, e) -> state.put(k, Tensor.of(e.data.clone(), e.shape)));
        model.loadStateDict(state, true);
    }

    /** Trainable scalars, counting the names that {@code model} registers as parameters. */
    public long parameterCount(Module model) {
        long n = 0;
        for (String k : model.namedParameters().keySet()) n += get(k).data.length;
        return n;
    }
}
