package dev.shears.prune.reconstruct;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * G = AᵀA for a tall matrix A stored column by column: the one heavy product of least-squares
 * reconstruction (the normal equations) and of LASSO / greedy channel selection.
 *
 * <p>Legend: M rows (samples), N columns; {@code cols[j·M + i]} is A[i, j]; G is N×N row-major, double.
 *
 * <p>Specification (the scalar twin, {@link #gramScalar}):
 * <pre>
 *   for i, j &lt; N:  G[i, j] = Σ_r (double) A[r, i] · A[r, j]
 * </pre>
 * The fast kernel multiplies in float with SIMD over 4×4 tiles of columns and adds each stretch of
 * {@link #CHUNK} rows into the double result, so float rounding is confined to sums of at most
 * {@code CHUNK} products (relative error ~1e-7) whatever M is. Callers centre the columns first: the
 * normal equations square the condition number, and a large common mean would eat the float digits.
 * {@code -Dshears.simd=false} switches to the scalar twin.
 */
public final class Gram {
    static final int CHUNK = 256;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final boolean SIMD = !"false".equals(System.getProperty("shears.simd"));

    private Gram() {}

    /** AᵀA of the {@code n} columns of length {@code m} held in {@code cols} (column-major). */
    public static double[] gram(float[] cols, int m, int n) {
        if ((long) m * n > cols.length)
            throw new IllegalArgumentException("gram: " + n + " columns of " + m + " rows need " + (long) m * n
                    + " floats, found " + cols.length);
        return SIMD ? gramSimd(cols, m, n) : gramScalar(cols, m, n);
    }

    /** The reference: plain loops, double accumulation. */
    static double[] gramScalar(float[] a, int m, int n) {
        double[] g = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = i; j < n; j++) {
                double s = 0;
                for (int r = 0; r < m; r++) s += (double) a[i * m + r] * a[j * m + r];
                g[i * n + j] = s;
                g[j * n + i] = s;
            }
        return g;
    }

    static double[] gramSimd(float[] a, int m, int n) {
        double[] g = new double[n * n];
        for (int r0 = 0; r0 < m; r0 += CHUNK) {
            int r1 = Math.min(m, r0 + CHUNK);
            for (int i = 0; i < n; i += 4)
                for (int j = i; j < n; j += 4) {
                    if (i + 4 <= n && j + 4 <= n) tile4x4(a, m, n, i, j, r0, r1, g);
                    else edgeTile(a, m, n, i, j, r0, r1, g);
                }
        }
        for (int i = 0; i < n; i++)
            for (int j = 0; j < i; j++) g[i * n + j] = g[j * n + i];
        return g;
    }

    /** G[i..i+4, j..j+4] += rows r0..r1 of the products; 16 accumulators, 8 loads per 16 FMAs. */
    private static void tile4x4(float[] a, int m, int n, int i, int j, int r0, int r1, double[] g) {
        FloatVector c00 = FloatVector.zero(F), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00,
                c20 = c00, c21 = c00, c22 = c00, c23 = c00, c30 = c00, c31 = c00, c32 = c00, c33 = c00;
        int i0 = i * m, i1 = i0 + m, i2 = i1 + m, i3 = i2 + m, j0 = j * m, j1 = j0 + m, j2 = j1 + m, j3 = j2 + m;
        int r = r0, bound = r0 + F.loopBound(r1 - r0);
        for (; r < bound; r += F.length()) {
            FloatVector x0 = FloatVector.fromArray(F, a, i0 + r), x1 = FloatVector.fromArray(F, a, i1 + r),
                    x2 = FloatVector.fromArray(F, a, i2 + r), x3 = FloatVector.fromArray(F, a, i3 + r);
            FloatVector y0 = FloatVector.fromArray(F, a, j0 + r), y1 = FloatVector.fromArray(F, a, j1 + r),
                    y2 = FloatVector.fromArray(F, a, j2 + r), y3 = FloatVector.fromArray(F, a, j3 + r);
            c00 = x0.fma(y0, c00); c01 = x0.fma(y1, c01); c02 = x0.fma(y2, c02); c03 = x0.fma(y3, c03);
            c10 = x1.fma(y0, c10); c11 = x1.fma(y1, c11); c12 = x1.fma(y2, c12); c13 = x1.fma(y3, c13);
            c20 = x2.fma(y0, c20); c21 = x2.fma(y1, c21); c22 = x2.fma(y2, c22); c23 = x2.fma(y3, c23);
            c30 = x3.fma(y0, c30); c31 = x3.fma(y1, c31); c32 = x3.fma(y2, c32); c33 = x3.fma(y3, c33);
        }
        FloatVector[] c = {c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33};
        for (int p = 0; p < 4; p++)
            for (int q = 0; q < 4; q++) {
                double s = c[p * 4 + q].reduceLanes(VectorOperators.ADD);
                for (int t = r; t < r1; t++) s += (double) a[(i + p) * m + t] * a[(j + q) * m + t];
                g[(i + p) * n + j + q] += s;
            }
    }

    /** The ragged right and bottom tiles, scalar (j ≥ i is kept for the upper triangle only). */
    private static void edgeTile(float[] a, int m, int n, int i, int j, int r0, int r1, double[] g) {
        for (int p = i; p < Math.min(n, i + 4); p++)
            for (int q = Math.max(p, j); q < Math.min(n, j + 4); q++) {
                double s = 0;
                for (int t = r0; t < r1; t++) s += (double) a[p * m + t] * a[q * m + t];
                g[p * n + q] += s;
            }
    }
}
