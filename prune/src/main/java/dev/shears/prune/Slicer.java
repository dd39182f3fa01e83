package dev.shears.prune;

import dev.shears.core.Tensor;
import dev.shears.nn.BatchNorm2d;
import dev.shears.nn.Conv2d;
import dev.shears.nn.Linear;
import dev.shears.nn.MaxPool2d;
import dev.shears.nn.Module;
import dev.shears.nn.ReLU;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

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
 * <p>Groups are processed in forward order, so a constant folded into a layer's bias is already there when that
 * layer's own pruned channels are folded further down.
 */
public final class Slicer {
    private Slicer() {}

    /** Channel counts per group before and after, and what was approximate. */
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
        for (ChannelGroup g : graph.groups()) {
            int[] k = keep.get(g.name());
            if (k == null) continue;
            check(g, k);
            before.put(g.name(), g.channels());
            after.put(g.name(), k.length);
            int[] pruned = Slices.complement(k, g.channels());
            if (pruned.length == 0) continue;
            if (fold) foldConstants(model, graph, g, pruned, notes);
            for (String p : g.producers()) sliceOutputs(model.module(p), k);
            for (String n : g.norms()) sliceNorm((BatchNorm2d) model.module(n), k);
            for (Consumer c : g.consumers()) sliceInputs(model.module(c.path()), Slices.features(k, c.featuresPerChannel()));
        }
        return new Result(before, after, notes);
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

    private static void sliceOutputs(Module m, int[] k) {
        m.setParameter("weight", Slices.select(m.parameter("weight"), 0, k));
        if (m.hasParameter("bias")) m.setParameter("bias", Slices.select(m.parameter("bias"), 0, k));
    }

    private static void sliceNorm(BatchNorm2d bn, int[] k) {
        for (String name : new String[]{"weight", "bias"}) bn.setParameter(name, Slices.select(bn.parameter(name), 0, k));
        for (String name : new String[]{"running_mean", "running_var"}) bn.setParameter(name, Slices.select(bn.buffer(name), 0, k));
    }

    private static void sliceInputs(Module m, int[] columns) {
        m.setParameter("weight", Slices.select(m.parameter("weight"), 1, columns));
    }

    // ---- folding -------------------------------------------------------------------------------------------

    /** The constant each pruned channel carries when it reaches the consumers (see the class comment). */
    static float[] leftoverConstants(Module model, ChannelGroup g, int[] pruned) {
        Module producer = model.module(g.producers().get(0));
        float[] bias = producer.hasParameter("bias") ? producer.parameter("bias").toArray() : null;
        float[] v = new float[pruned.length];
        for (int i = 0; i < pruned.length; i++) v[i] = bias == null ? 0f : bias[pruned[i]];
        for (String path : g.between()) {
            Module m = model.module(path);
            if (m instanceof BatchNorm2d bn) {
                float[] beta = bn.bias().toArray();
                for (int i = 0; i < pruned.length; i++) v[i] = beta[pruned[i]];
            } else if (m instanceof ReLU) {
                for (int i = 0; i < pruned.length; i++) v[i] = Math.max(0f, v[i]);
            } else if (!(m instanceof MaxPool2d) && !(m instanceof dev.shears.nn.Flatten)) {
                throw new IllegalStateException("no rule for carrying a constant through " + path);
            }
        }
        return v;
    }

    private static void foldConstants(Module model, DependencyGraph graph, ChannelGroup g, int[] pruned, List<String> notes) {
        float[] v = leftoverConstants(model, g, pruned);
        boolean any = false;
        for (float x : v) any |= x != 0f;
        if (!any) return;
        for (Consumer c : g.consumers()) {
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
                        int base = (o * cin + pruned[i]) * rs;
                        for (int j = 0; j < rs; j++) s += w[base + j];
                        d[o] += (float) (v[i] * s);
                    }
                if (conv.padding() > 0)
                    notes.add(c.path() + " has padding " + conv.padding() + ": the constant of " + g.name()
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

    /** The BatchNorm2d directly after the layer at {@code path}, if the next layer is one. */
    private static BatchNorm2d normAfter(Module model, DependencyGraph graph, String path) {
        boolean seen = false;
        for (String p : graph.layers().keySet()) {
            if (seen) return model.module(p) instanceof BatchNorm2d bn ? bn : null;
            seen = p.equals(path);
        }
        return null;
    }
}
