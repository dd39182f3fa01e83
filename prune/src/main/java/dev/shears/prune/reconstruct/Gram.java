package dev.shears.prune.reconstruct;

import dev.shears.core.Backends;
import dev.shears.cpu.CpuBackend;
import dev.shears.cpu.Gemm;
import dev.shears.cpu.Parallel;

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
 * The fast path is the CPU backend's packed SIMD SGEMM ({@code Gemm.sgemm}, on its thread pool) over
 * stretches of {@link #CHUNK} rows — column-major A is row-major Aᵀ, so each stretch is Aᵀ[:, r0:r1]·(…)ᵀ
 * with leading dimension M — and each stretch's float product is added into the double result, so float
 * rounding is confined to sums of at most {@code CHUNK} products (relative error ~1e-6) whatever M is.
 * Callers centre the columns first: the normal equations square the condition number, and a large
 * common mean would eat the float digits. {@code -Dshears.simd=false} switches to the scalar twin.
 */
public final class Gram {
    static final int CHUNK = 1024;
    private static final boolean SIMD = !"false".equals(System.getProperty("shears.simd"));
    private static Parallel pool;

    private Gram() {}

    /** AᵀA of the {@code n} columns of length {@code m} held in {@code cols} (column-major). */
    public static double[] gram(float[] cols, int m, int n) {
        if ((long) m * n > cols.length)
            throw new IllegalArgumentException("gram: " + n + " columns of " + m + " rows need " + (long) m * n
                    + " floats, found " + cols.length);
        return SIMD ? gramGemm(cols, m, n) : gramScalar(cols, m, n);
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

    static double[] gramGemm(float[] a, int m, int n) {
        double[] g = new double[n * n];
        float[] part = new float[n * n];
        Parallel par = pool();
        for (int r0 = 0; r0 < m; r0 += CHUNK) {
            int len = Math.min(CHUNK, m - r0);
            Gemm.sgemm(par, true, false, true, n, n, len, 1f, a, r0, m, a, r0, m, 0f, part, 0, n);
            for (int i = 0; i < part.length; i++) g[i] += part[i];
        }
        return g;
    }

    /** C = op(A)·op(B) with the CPU backend's SGEMM on this class's pool (see {@code Gemm.sgemm} for the arguments). */
    static void sgemm(boolean transA, boolean transB, int m, int n, int k, float[] a, int aOff, int lda,
                      float[] b, int bOff, int ldb, float[] c, int cOff, int ldc) {
        Gemm.sgemm(pool(), SIMD, transA, transB, m, n, k, 1f, a, aOff, lda, b, bOff, ldb, 0f, c, cOff, ldc);
    }

    /** As many threads as the default CPU backend uses (the CLI's --threads), or all cores. */
    private static synchronized Parallel pool() {
        if (pool == null)
            pool = new Parallel(Backends.getDefault() instanceof CpuBackend cpu ? cpu.threads() : Runtime.getRuntime().availableProcessors());
        return pool;
    }
}
