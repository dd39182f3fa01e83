package dev.shears.prune.reconstruct;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class GramTest {

    @Test
    void handComputed() {
        // A = [[1, 2], [3, 4], [5, 6]] stored by columns
        double[] g = Gram.gram(new float[]{1, 3, 5, 2, 4, 6}, 3, 2);
        assertArrayEquals(new double[]{35, 44, 44, 56}, g, 0);
    }

    @Test
    void simdMatchesScalarOnOddShapes() {
        Random r = new Random(3);
        int[][] shapes = {{1, 1}, {5, 3}, {17, 4}, {300, 7}, {600, 9}, {257, 13}};
        for (int[] s : shapes) {
            int m = s[0], n = s[1];
            float[] a = new float[m * n];
            for (int i = 0; i < a.length; i++) a[i] = (float) r.nextGaussian();
            double[] fast = Gram.gramSimd(a, m, n), ref = Gram.gramScalar(a, m, n);
            double max = 0;
            for (int i = 0; i < ref.length; i++) max = Math.max(max, Math.abs(fast[i] - ref[i]) / (1 + Math.abs(ref[i])));
            assertTrue(max < 1e-5, "m=" + m + " n=" + n + ": max relative difference " + max);
        }
    }
}
