package dev.shears.prune;

import dev.shears.nn.Module;

/** Per-channel scores; the lowest go first. */
public final class Importance {
    private Importance() {}

    /**
     * Network Slimming: |γ| of the group's BatchNorm — the scale a channel is multiplied by — averaged over the
     * group's BatchNorms where a residual add couples several (one per producer).
     */
    public static float[] bnScale(Module model, ChannelGroup g) {
        if (!g.hasNorm()) throw new IllegalArgumentException("group " + g.name() + " has no BatchNorm: slimming has no γ to rank it by");
        float[] s = new float[g.channels()];
        for (String n : g.norms()) {
            float[] gamma = model.module(n).parameter("weight").toArray();
            int off = g.offsetIn(n);
            for (int c = 0; c < s.length; c++) s[c] += Math.abs(gamma[off + c]) / g.norms().size();
        }
        return s;
    }

    /**
     * {@code s} divided by its mean (all zeros stay zeros): Torch-Pruning's default normaliser, which a global
     * ranking of filter norms needs. A conv followed by a BatchNorm has no scale of its own (BN divides it out,
     * and weight decay shrinks it freely), and wider layers start with smaller weights (He initialisation), so raw
     * norms of different layers are not comparable: on the ResNet-style fixture they cut a 64-channel layer to 1.
     * Over its mean, each group's score says how a filter compares to its siblings.
     */
    public static float[] overMean(float[] s) {
        double mean = 0;
        for (float v : s) mean += v / (double) s.length;
        float[] out = new float[s.length];
        for (int i = 0; i < s.length; i++) out[i] = mean > 0 ? (float) (s[i] / mean) : 0f;
        return out;
    }

    /**
     * Li et al. 2017: Σ|W| of each filter over (in, kh, kw) — a Linear producer's row, likewise — averaged over
     * the group's producers (a residual group's convs; Torch-Pruning's DepGraph reduces a group by its mean too,
     * so a group of several producers ranks with single ones in a global ranking).
     * With {@code perWeight}, each producer's sum is divided by its filter's size, so that layers of different
     * fan-in can be ranked together (a global ranking of raw sums would always cut the layer with the smallest
     * fan-in first).
     */
    public static float[] filterL1(Module model, ChannelGroup g, boolean perWeight) {
        float[] s = new float[g.channels()];
        for (String path : g.producers()) {
            Module p = model.module(path);
            float[] w = p.parameter("weight").toArray();
            int rows = p.parameter("weight").dim(0), per = w.length / rows;
            for (int r = 0; r < rows; r++) {
                double sum = 0;
                for (int j = 0; j < per; j++) sum += Math.abs(w[r * per + j]);
                s[r] += (float) ((perWeight ? sum / per : sum) / g.producers().size());
            }
        }
        return s;
    }
}
