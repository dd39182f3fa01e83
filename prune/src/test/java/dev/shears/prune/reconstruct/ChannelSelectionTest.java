package dev.shears.prune.reconstruct;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class ChannelSelectionTest {

    /** G and g of channel contributions z[c] (length len each) against y = Σ weight[c]·z[c] + noise. */
    private static double[][] system(int channels, int len, double[] weight, double noise, long seed) {
        Random r = new Random(seed);
        double[][] z = new double[channels][len];
        double[] y = new double[len];
        for (int c = 0; c < channels; c++)
            for (int i = 0; i < len; i++) {
                z[c][i] = r.nextGaussian() * (0.5 + c % 3);   // unequal scales, so the answer is not by norm
                y[i] += weight[c] * z[c][i];
            }
        for (int i = 0; i < len; i++) y[i] += noise * r.nextGaussian();
        double[] gram = new double[channels * channels], g = new double[channels];
        for (int c = 0; c < channels; c++) {
            for (int d = 0; d < channels; d++) for (int i = 0; i < len; i++) gram[c * channels + d] += z[c][i] * z[d][i];
            for (int i = 0; i < len; i++) g[c] += z[c][i] * y[i];
        }
        return new double[][]{gram, g};
    }

    @Test
    void lassoFindsTheChannelsThatMakeTheOutput() {
        double[] w = {0, 1, 0, 0, 0.8, 0, 1.2, 0};
        double[][] s = system(8, 400, w, 0.1, 11);
        assertArrayEquals(new int[]{1, 4, 6}, ChannelSelection.lasso(s[0], s[1], 3));
        // and keeps the strongest two when asked for two: 0.8·z4 has the smallest share of y
        double[][] s2 = system(8, 400, new double[]{0, 1, 0, 0, 0.2, 0, 1.2, 0}, 0.1, 11);
        assertArrayEquals(new int[]{1, 6}, ChannelSelection.lasso(s2[0], s2[1], 2));
    }

    @Test
    void greedyFindsTheChannelsThatMakeTheOutput() {
        double[] w = {0, 1, 0, 0, 0.8, 0, 1.2, 0};
        double[][] s = system(8, 400, w, 0.1, 12);
        assertArrayEquals(new int[]{1, 4, 6}, ChannelSelection.greedy(s[0], s[1], 3));
    }

    @Test
    void lassoKeepsExactlyTheNumberAskedFor() {
        double[] w = {1, 1, 1, 1, 1, 1};
        double[][] s = system(6, 200, w, 0.5, 5);
        for (int keep = 1; keep <= 6; keep++) assertEquals(keep, ChannelSelection.lasso(s[0], s[1], keep).length);
    }

    @Test
    void topKByImportance() {
        assertArrayEquals(new int[]{0, 2}, ChannelSelection.topK(new double[]{3, 1, 5, 1}, 2));
        assertArrayEquals(new int[]{0}, ChannelSelection.topK(new double[]{1, 1, 1}, 1));   // ties go to the lower index
        var e = assertThrows(IllegalArgumentException.class, () -> ChannelSelection.topK(new double[]{1, 2}, 0));
        assertTrue(e.getMessage().contains("0 of 2"), e.getMessage());
    }
}
