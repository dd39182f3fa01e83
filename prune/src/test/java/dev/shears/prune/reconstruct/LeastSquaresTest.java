package dev.shears.prune.reconstruct;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class LeastSquaresTest {

    /** XᵀX and XᵀY of a row-major X [m, n] and Y [m, k]. */
    private static double[][] normal(double[] x, double[] y, int m, int n, int k) {
        double[] h = new double[n * n], b = new double[n * k];
        for (int r = 0; r < m; r++)
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) h[i * n + j] += x[r * n + i] * x[r * n + j];
                for (int j = 0; j < k; j++) b[i * k + j] += x[r * n + i] * y[r * k + j];
            }
        return new double[][]{h, b};
    }

    @Test
    void recoversAnExactSolution() {
        int m = 40, n = 5, k = 3;
        Random rnd = new Random(7);
        double[] x = new double[m * n], w = new double[n * k], y = new double[m * k];
        for (int i = 0; i < x.length; i++) x[i] = rnd.nextGaussian();
        for (int i = 0; i < w.length; i++) w[i] = rnd.nextInt(7) - 3;
        for (int r = 0; r < m; r++)
            for (int j = 0; j < k; j++)
                for (int i = 0; i < n; i++) y[r * k + j] += x[r * n + i] * w[i * k + j];
        double[][] hb = normal(x, y, m, n, k);
        LeastSquares.Solution s = LeastSquares.solve(hb[0], hb[1], n, k, 0);
        assertArrayEquals(w, s.w(), 1e-9);
        assertEquals("", s.note());
        assertEquals(0, s.ridge());
        double yy = 0;
        for (double v : y) yy += v * v;
        assertEquals(yy, s.fitted(), 1e-9 * yy);   // an exact fit explains all of ‖Y‖²
    }

    @Test
    void largeSystemsTakeEjmlsBlockCholeskyPath() {
        // above ~1,000 unknowns EJML factors in 64×64 blocks (another matrix type); fc1 of SimpleCNN is such a system
        int n = 1030;
        Random rnd = new Random(4);
        double[] h = new double[n * n], w = new double[n], b = new double[n];
        for (int i = 0; i < n; i++) {
            h[i * n + i] = 4;
            if (i > 0) { h[i * n + i - 1] = 1; h[(i - 1) * n + i] = 1; }
            w[i] = rnd.nextInt(5) - 2;
        }
        for (int i = 0; i < n; i++) for (int j = Math.max(0, i - 1); j <= Math.min(n - 1, i + 1); j++) b[i] += h[i * n + j] * w[j];
        LeastSquares.Solution s = LeastSquares.solve(h, b, n, 1, 0);
        assertArrayEquals(w, s.w(), 1e-9);
        assertEquals("", s.note());
    }

    @Test
    void handComputedLineFit() {
        // y = 2x through (1,2), (2,4.5), (3,5.5): w = Σxy / Σx² = (2 + 9 + 16.5) / 14
        LeastSquares.Solution s = LeastSquares.solve(new double[]{14}, new double[]{27.5}, 1, 1, 0);
        assertEquals(27.5 / 14, s.w()[0], 1e-12);
    }

    @Test
    void rankDeficientSystemsFallBackToARidgeInsteadOfNaN() {
        int m = 30, n = 4, k = 2;
        Random rnd = new Random(1);
        double[] x = new double[m * n], y = new double[m * k];
        for (int r = 0; r < m; r++) {
            x[r * n] = rnd.nextGaussian();
            x[r * n + 1] = x[r * n];        // a duplicated column
            x[r * n + 2] = 0;               // a dead channel
            x[r * n + 3] = rnd.nextGaussian();
            y[r * k] = 2 * x[r * n] - x[r * n + 3];
            y[r * k + 1] = x[r * n + 3];
        }
        double[][] hb = normal(x, y, m, n, k);
        LeastSquares.Solution s = LeastSquares.solve(hb[0], hb[1], n, k, 0);
        for (double v : s.w()) assertTrue(Double.isFinite(v));
        assertTrue(s.ridge() > 0);
        assertTrue(s.note().contains("rank-deficient"), s.note());
        assertTrue(s.note().contains("1 of 4 inputs are constant"), s.note());
        // the fit is still (almost) exact: the duplicated pair shares the weight 2
        assertEquals(2, s.w()[0] + s.w()[2], 1e-4);
        assertEquals(-1, s.w()[3 * k], 1e-4);
        assertEquals(0, s.w()[2 * k], 1e-12);
    }

    @Test
    void fewerSamplesThanUnknownsStillGivesFiniteWeights() {
        int m = 3, n = 6, k = 1;
        Random rnd = new Random(2);
        double[] x = new double[m * n], y = new double[m * k];
        for (int i = 0; i < x.length; i++) x[i] = rnd.nextGaussian();
        for (int i = 0; i < y.length; i++) y[i] = rnd.nextGaussian();
        double[][] hb = normal(x, y, m, n, k);
        LeastSquares.Solution s = LeastSquares.solve(hb[0], hb[1], n, k, 0);
        for (double v : s.w()) assertTrue(Double.isFinite(v));
        assertFalse(s.note().isEmpty());
    }

    @Test
    void shapeMismatchesSayBothSizes() {
        var e = assertThrows(IllegalArgumentException.class, () -> LeastSquares.solve(new double[4], new double[3], 2, 2, 0));
        assertTrue(e.getMessage().contains("3") && e.getMessage().contains("2×2"), e.getMessage());
    }
}
