package dev.shears.prune.reconstruct;

/**
 * The linear algebra of one site over the column-major arrays of {@link SiteSamples}.
 *
 * <p>Legend: M rows, C channels, B inputs per channel, F = C·B inputs, K outputs. A layer's weights are
 * [K, F] row-major (a conv's [K, C, R, S] is exactly that), so w[k·F + c·B + b] is the weight from input b of
 * channel c to output k.
 */
final class Regression {
    private Regression() {}

    /** Subtracts each column's mean (computed in double) in place and returns the means. */
    static double[] center(float[] cols, int m, int n) {
        double[] mean = new double[n];
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int r = 0; r < m; r++) s += cols[j * m + r];
            mean[j] = s / m;
            float mj = (float) mean[j];
            for (int r = 0; r < m; r++) cols[j * m + r] -= mj;
        }
        return mean;
    }

    /** {@code take} of the {@code m} rows of n column-major columns, evenly spread (row i·m/take for i &lt; take). */
    static float[] rows(float[] cols, int m, int n, int take) {
        float[] out = new float[take * n];
        for (int j = 0; j < n; j++)
            for (int i = 0; i < take; i++) out[j * take + i] = cols[j * m + (int) ((long) i * m / take)];
        return out;
    }

    /** ‖Y‖² of the uncentred Y from its centred columns and their means. */
    static double squaredNorm(float[] yc, double[] yMean, int m) {
        double s = 0;
        for (int k = 0; k < yMean.length; k++) {
            for (int r = 0; r < m; r++) s += (double) yc[k * m + r] * yc[k * m + r];
            s += m * yMean[k] * yMean[k];
        }
        return s;
    }

    /**
     * ‖Y − (X_kept·W_keptᵀ + bias)‖² computed directly, with the sliced consumer's weight {@code w} [K, kept·B]
     * and bias (or null): the error of naive slicing (no re-fit). X (all C channels) and Y are not centred.
     */
    static double slicedError(float[] x, float[] y, int m, int[] kept, int blk, float[] w, float[] bias, int k) {
        int f = kept.length * blk;
        float[] yhat = new float[m * k];                      // row-major [M, K]: the inner loop runs over K
        for (int r = 0; r < m; r++) if (bias != null) System.arraycopy(bias, 0, yhat, r * k, k);
        float[] wt = new float[k];
        for (int i = 0; i < kept.length; i++)
            for (int b = 0; b < blk; b++) {
                int col = kept[i] * blk + b;
                for (int o = 0; o < k; o++) wt[o] = w[o * f + i * blk + b];
                for (int r = 0; r < m; r++) {
                    float a = x[col * m + r];
                    if (a == 0f) continue;                    // post-ReLU inputs and padding: many zeros
                    int base = r * k;
                    for (int o = 0; o < k; o++) yhat[base + o] += a * wt[o];
                }
            }
        double e = 0;
        for (int r = 0; r < m; r++)
            for (int o = 0; o < k; o++) {
                double d = y[o * m + r] - yhat[r * k + o];
                e += d * d;
            }
        return e;
    }

    /** G[c, d] = ⟨Z_c, Z_d⟩, g[c] = ⟨Z_c, Y⟩ of the channel contributions Z_c = X_c·W_cᵀ (centred X and Y). */
    record Contributions(double[] gram, double[] g) {}

    /**
     * The channel contributions' Gram matrix, built a stretch of rows at a time so that Z (M·K values per
     * channel) is never held whole: for each stretch, Z_c [rows, K] for every channel and Y's rows become
     * C + 1 columns of one {@link Gram} product, and the products add up.
     */
    static Contributions contributions(float[] xc, float[] yc, int m, int c, int blk, float[] w, int k) {
        int f = c * blk;
        int stretch = Math.max(1, 65536 / k);
        double[] gram = new double[c * c], g = new double[c];
        float[] wt = new float[f * k];                         // [F, K]: one input's weights to all outputs
        for (int o = 0; o < k; o++) for (int j = 0; j < f; j++) wt[j * k + o] = w[o * f + j];
        for (int r0 = 0; r0 < m; r0 += stretch) {
            int rows = Math.min(stretch, m - r0), len = rows * k;
            float[] z = new float[(c + 1) * len];
            // Z_c [rows, K] = X_c·W_cᵀ: X_c is stored as X_cᵀ [B, M] (column-major), hence transA, lda = M
            for (int ch = 0; ch < c; ch++)
                Gram.sgemm(true, false, rows, k, blk, xc, ch * blk * m + r0, m, wt, ch * blk * k, k, z, ch * len, k);
            int zy = c * len;
            for (int r = 0; r < rows; r++) for (int o = 0; o < k; o++) z[zy + r * k + o] = yc[o * m + r0 + r];
            double[] part = Gram.gram(z, len, c + 1);
            for (int i = 0; i < c; i++) {
                for (int j = 0; j < c; j++) gram[i * c + j] += part[i * (c + 1) + j];
                g[i] += part[i * (c + 1) + c];
            }
        }
        return new Contributions(gram, g);
    }

    /** The re-fitted layer: weights [K, kept·B] and bias [K], and ‖Y − Ŷ‖² on the samples. */
    record Fit(float[] weight, float[] bias, double squaredError, double ridge, String note) {}

    /**
     * min ‖Yc − Xc_kept·W‖² (+ ridge) over the kept channels' columns of the centred X; the intercept
     * ȳ − x̄ᵀW restores the means. One {@link Gram} of [X_kept | Y] gives XᵀX, XᵀY and YᵀY at once.
     */
    static Fit fit(float[] xc, double[] xMean, float[] yc, double[] yMean, int m, int[] kept, int blk, int k,
                   double ridge, boolean withBias) {
        int n = kept.length * blk;
        float[] a = new float[(n + k) * m];
        for (int i = 0; i < kept.length; i++) System.arraycopy(xc, kept[i] * blk * m, a, i * blk * m, blk * m);
        System.arraycopy(yc, 0, a, n * m, k * m);
        double[] full = Gram.gram(a, m, n + k);
        int t = n + k;
        double[] h = new double[n * n], b = new double[n * k];
        for (int i = 0; i < n; i++) {
            System.arraycopy(full, i * t, h, i * n, n);
            System.arraycopy(full, i * t + n, b, i * k, k);
        }
        LeastSquares.Solution s = LeastSquares.solve(h, b, n, k, ridge);
        double[] w = s.w();                                   // [n, K]
        float[] weight = new float[k * n], bias = new float[k];
        double err = 0;
        for (int o = 0; o < k; o++) {
            double intercept = yMean[o];
            for (int i = 0; i < kept.length; i++)
                for (int j = 0; j < blk; j++) {
                    int col = i * blk + j;
                    weight[o * n + col] = (float) w[col * k + o];
                    intercept -= xMean[kept[i] * blk + j] * w[col * k + o];
                }
            if (withBias) bias[o] = (float) intercept;
            else err += m * intercept * intercept;            // no bias to absorb it: the offset stays an error
        }
        // ‖Yc − Xc_kept·Wᵀ‖² taken directly with the float weights the layer gets, not from the normal equations
        // (Σ yy − 2·wᵀb + wᵀHw): near an exact fit that difference cancels down to the float Gram's rounding
        // (about 1e-3 of ‖Y‖ relative), which would hide whether compensation is exact
        err += slicedError(xc, yc, m, kept, blk, weight, null, k);
        return new Fit(weight, withBias ? bias : null, err, s.ridge(), s.note());
    }
}
