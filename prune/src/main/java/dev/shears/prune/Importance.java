package dev.shears.prune;

import dev.shears.nn.Module;

/** Per-channel scores; the lowest go first. */
public final class Importance {
    private Importance() {}

    /** Network Slimming: |γ| of the group's (first) BatchNorm — the scale a channel is multiplied by. */
    public static float[] bnScale(Module model, ChannelGroup g) {
        if (!g.hasNorm()) throw new IllegalArgumentException("group " + g.name() + " has no BatchNorm: slimming has no γ to rank it by");
        float[] gamma = model.module(g.norms().get(0)).parameter("weight").toArray();
        for (int i = 0; i < gamma.length; i++) gamma[i] = Math.abs(gamma[i]);
        return gamma;
    }

    /**
     * Li et al. 2017: Σ|W| of each filter over (in, kh, kw) — a Linear producer's row, likewise. With
     * {@code perWeight}, divided by the filter's size, so that layers of different fan-in can be ranked
     * together (a global ranking of raw sums would always cut the layer with the smallest fan-in first).
     */
    public static float[] filterL1(Module model, ChannelGroup g, boolean perWeight) {
        Module p = model.module(g.producers().get(0));
        float[] w = p.parameter("weight").toArray();
        int rows = p.parameter("weight").dim(0), per = w.length / rows;
        float[] s = new float[rows];
        for (int r = 0; r < rows; r++) {
            double sum = 0;
            for (int j = 0; j < per; j++) sum += Math.abs(w[r * per + j]);
            s[r] = (float) (perWeight ? sum / per : sum);
        }
        return s;
    }
}
