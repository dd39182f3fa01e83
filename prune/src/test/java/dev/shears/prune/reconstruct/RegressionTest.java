package dev.shears.prune.reconstruct;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class RegressionTest {

    /** ‖Y − (X_kept·Wᵀ + bias)‖² straight from the definition, X and Y column-major. */
    private static double residual(float[] x, float[] y, int m, int[] kept, int blk, float[] w, float[] bias, int k) {
        double e = 0;
        int n = kept.length * blk;
        for (int r = 0; r < m; r++)
            for (int o = 0; o < k; o++) {
                double yhat = bias == null ? 0 : bias[o];
                for (int i = 0; i < kept.length; i++)
                    for (int b = 0; b < blk; b++) yhat += (double) x[(kept[i] * blk + b) * m + r] * w[o * n + i * blk + b];
                e += (y[o * m + r] - yhat) * (y[o * m + r] - yhat);
            }
        return e;
    }

    @Test
    void theFitsErrorIsTheResidualOfItsOwnWeights() {
        int m = 200, c = 3, blk = 2, k = 2;
        Random r = new Random(9);
        float[] x = new float[m * c * blk], y = new float[m * k];
        for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextGaussian() + 2);   // a mean for the bias to absorb
        for (int i = 0; i < y.length; i++) y[i] = (float) (r.nextGaussian() + x[i % x.length] - 1);
        int[] kept = {0, 2};
        float[] xc = x.clone(), yc = y.clone();
        double[] xm = Regression.center(xc, m, c * blk), ym = Regression.center(yc, m, k);
        Regression.Fit fit = Regression.fit(xc, xm, yc, ym, m, kept, blk, k, 0, true);
        double direct = residual(x, y, m, kept, blk, fit.weight(), fit.bias(), k);
        assertEquals(direct, fit.squaredError(), 1e-4 * direct);
        // and least squares is no worse than any other weights, e.g. the fit's plus a nudge
        float[] nudged = fit.weight().clone();
        nudged[0] += 0.01f;
        assertTrue(residual(x, y, m, kept, blk, nudged, fit.bias(), k) > direct);
    }

    @Test
    void contributionsMatchTheirDefinition() {
        int m = 37, c = 3, blk = 2, k = 5;   // odd sizes, and a stretch boundary inside when k is large
        Random r = new Random(4);
        float[] x = new float[m * c * blk], y = new float[m * k], w = new float[k * c * blk];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        for (int i = 0; i < y.length; i++) y[i] = (float) r.nextGaussian();
        for (int i = 0; i < w.length; i++) w[i] = (float) r.nextGaussian();
        double[][] z = new double[c][m * k];   // Z_c[row, o] = Σ_b x[c·B + b][row] · w[o, c·B + b]
        for (int ch = 0; ch < c; ch++)
            for (int row = 0; row < m; row++)
                for (int o = 0; o < k; o++)
                    for (int b = 0; b < blk; b++) z[ch][row * k + o] += x[(ch * blk + b) * m + row] * w[o * c * blk + ch * blk + b];
        Regression.Contributions got = Regression.contributions(x, y, m, c, blk, w, k);
        for (int i = 0; i < c; i++) {
            double gi = 0;
            for (int row = 0; row < m; row++) for (int o = 0; o < k; o++) gi += z[i][row * k + o] * y[o * m + row];
            assertEquals(gi, got.g()[i], 1e-4 * (1 + Math.abs(gi)));
            for (int j = 0; j < c; j++) {
                double gij = 0;
                for (int e = 0; e < m * k; e++) gij += z[i][e] * z[j][e];
                assertEquals(gij, got.gram()[i * c + j], 1e-4 * (1 + Math.abs(gij)));
            }
        }
    }

    @Test
    void slicedErrorUsesTheKeptChannelsBlocks() {
        // one row, channels {0: [1, 2], 1: [3, 4]}, keep channel 1 with weights [10, 100] and bias 5: ŷ = 3·10 + 4·100 + 5
        float[] x = {1, 2, 3, 4};
        float[] y = {440};
        assertEquals(25, Regression.slicedError(x, y, 1, new int[]{1}, 2, new float[]{10, 100}, new float[]{5}, 1), 1e-9);
    }
}
