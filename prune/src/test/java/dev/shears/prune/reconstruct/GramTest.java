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
    void gemmMatchesScalarOnOddShapes() {
        Random r = new Random(3);
        int[][] shapes = {{1, 1}, {5, 3}, {17, 4}, {300, 7}, {600, 9}, {257, 13}, {2500, 11}};
        for (int[] s : shapes) {
            int m = s[0], n = s[1];
            float[] a = new float[m * n];
            for (int i = 0; i < a.length; i++) a[i] = (float) r.nextGaussian();
            double[] fast = Gram.gramGemm(a, m, n), ref = Gram.gramScalar(a, m, n);
            // float products summed over up to CHUNK rows: compare with the scale of the entry, √(G_ii·G_jj)
            double max = 0;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    max = Math.max(max, Math.abs(fast[i * n + j] - ref[i * n + j]) / Math.sqrt(ref[i * n + i] * ref[j * n + j]));
            assertTrue(max < 1e-5, "m=" + m + " n=" + n + ": max difference " + max + " of √(G_ii·G_jj)");
        }
    }
}
