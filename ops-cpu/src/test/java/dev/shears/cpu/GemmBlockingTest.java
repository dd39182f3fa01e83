package dev.shears.cpu;

import dev.shears.core.HeapStorage;
import dev.shears.core.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

import static dev.shears.core.testing.Close.assertClose;
import static dev.shears.core.testing.Close.random;

/**
 * The packed GEMM under small, odd cache blockings, so that every loop of the blocking (several KC, MC and NC
 * blocks, partial last blocks, slabs per thread) runs on shapes small enough to check against the
 * double-precision reference: 1×1×1, primes, and the transposes the engine uses.
 */
class GemmBlockingTest {
    private static final ReferenceBackend REF = ReferenceBackend.INSTANCE;
    private static final Parallel TWO = new Parallel(2), THREE = new Parallel(3);

    private static void check(GemmTuning.Blocking bk, Parallel par, boolean ta, boolean tb, int m, int n, int k, float alpha, float beta) {
        // stored with a leading dimension wider than the matrix (a view into a larger array), at an offset
        int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1, ldc = n + 2, off = 5;
        float[] a = random(m * 31L + k, off + (ta ? k : m) * lda), b = random(n * 17L + k, off + (tb ? n : k) * ldb);
        float[] c = random(7, off + m * ldc), expected = c.clone();
        float[] aDense = new float[m * k], bDense = new float[k * n], cDense = new float[m * n];
        for (int r = 0; r < (ta ? k : m); r++) System.arraycopy(a, off + r * lda, aDense, r * (ta ? m : k), ta ? m : k);
        for (int r = 0; r < (tb ? n : k); r++) System.arraycopy(b, off + r * ldb, bDense, r * (tb ? k : n), tb ? k : n);
        for (int i = 0; i < m; i++) System.arraycopy(c, off + i * ldc, cDense, i * n, n);
        REF.gemm(ta, tb, m, n, k, alpha, REF.upload(aDense), REF.upload(bDense), beta, HeapStorage.ofFloats(REF, cDense));
        for (int i = 0; i < m; i++) System.arraycopy(cDense, i * n, expected, off + i * ldc, n);
        Gemm.sgemm(bk, par, ta, tb, m, n, k, alpha, a, off, lda, b, off, ldb, beta, c, off, ldc);
        assertClose("blocking " + bk + ", " + (par == null ? 1 : par.threads()) + " threads, " + m + "x" + n + "x" + k
                + " ta=" + ta + " tb=" + tb, expected, c, 1e-5 * Math.sqrt(k) * 4, 1e-4);
    }

    @Test
    void smallBlockingsOnPrimeShapesAllTransposes() {
        GemmTuning.Blocking[] blockings = {
                new GemmTuning.Blocking(16, Gemm.MR, Gemm.NR),
                new GemmTuning.Blocking(17, 2 * Gemm.MR, 2 * Gemm.NR),
                new GemmTuning.Blocking(64, 3 * Gemm.MR, 3 * Gemm.NR),
        };
        // wide shapes split C by columns between threads, tall ones by rows
        int[][] shapes = {{1, 1, 1}, {2, 3, 5}, {7, 11, 13}, {13, 37, 41}, {31, 67, 29}, {67, 13, 31}, {Gemm.MR * 3 + 1, Gemm.NR * 4 - 1, 53}};
        for (GemmTuning.Blocking bk : blockings)
            for (int[] s : shapes)
                for (int t = 0; t < 4; t++)
                    for (Parallel par : new Parallel[]{null, TWO, THREE})
                        check(bk, par, (t & 1) != 0, (t & 2) != 0, s[0], s[1], s[2], 1f, 0f);
    }

    @Test
    void alphaBetaUnderSmallBlocking() {
        GemmTuning.Blocking bk = new GemmTuning.Blocking(16, Gemm.MR, Gemm.NR);
        for (float[] ab : new float[][]{{1f, 1f}, {-0.5f, 2f}, {2f, 0f}, {0f, 0.5f}})
            for (Parallel par : new Parallel[]{null, TWO})
                check(bk, par, true, false, 19, 23, 47, ab[0], ab[1]);
    }

    @Test
    void theDefaultBlockingOnShapesTheEngineUses() {
        // conv forward (K × CRS)·(CRS × PQ), its data gradient Wᵀ·dY, its weight gradient X·dYᵀ, fc1 and its gradients
        int[][] shapes = {{32, 784, 9}, {64, 196, 288}, {288, 196, 64}, {64, 128, 3136}, {3136, 128, 64}};
        for (int[] s : shapes)
            for (int t = 0; t < 4; t++)
                check(Gemm.BLOCKING, (t & 1) == 0 ? null : TWO, (t & 1) != 0, (t & 2) != 0, s[0], s[1], s[2], 1f, 0f);
    }

    /**
     * A dense, untransposed A with alpha = 1 and K ≤ KC is read as stored, not packed: the result must be the
     * packed path's bit for bit (the same A stored with a wider row, which is packed), the rows past M must never
     * be read (NaN there), and C must match the reference.
     */
    @Test
    void denseAIsReadAsStoredAndGivesThePackedBits() {
        GemmTuning.Blocking bk = new GemmTuning.Blocking(64, 2 * Gemm.MR, 2 * Gemm.NR);
        int[][] shapes = {{1, 5, 3}, {Gemm.MR, Gemm.NR, 64}, {Gemm.MR * 5 + 3, Gemm.NR * 5 + 7, 37}, {41, 3 * Gemm.NR, 64}};
        for (int[] s : shapes)
            for (Parallel par : new Parallel[]{null, TWO, THREE}) {
                int m = s[0], n = s[1], k = s[2];
                float[] a = random(m * 31L + k, (m + Gemm.MR) * k), wide = new float[m * (k + 1)];
                java.util.Arrays.fill(a, m * k, a.length, Float.NaN);
                for (int i = 0; i < m; i++) System.arraycopy(a, i * k, wide, i * (k + 1), k);
                float[] b = random(n * 17L + k, k * n), asStored = new float[m * n], packed = new float[m * n];
                Gemm.sgemm(bk, par, false, false, m, n, k, 1f, a, 0, k, b, 0, n, 0f, asStored, 0, n);
                Gemm.sgemm(bk, par, false, false, m, n, k, 1f, wide, 0, k + 1, b, 0, n, 0f, packed, 0, n);
                String what = (par == null ? 1 : par.threads()) + " threads, " + m + "x" + n + "x" + k;
                org.junit.jupiter.api.Assertions.assertArrayEquals(packed, asStored, what);
                check(bk, par, false, false, m, n, k, 1f, 0f);
            }
    }

    /**
     * With beta = 0 the first K block stores C and the later ones add (no pass clearing C first): C full of NaN
     * must give the reference's result, with several K blocks, edge tiles, both split directions, and through
     * the path of a pre-packed A (the convolutions'), whose K blocks are the default blocking's.
     */
    @Test
    void betaZeroStoresTheFirstKBlockAndAddsTheRest() {
        GemmTuning.Blocking bk = new GemmTuning.Blocking(16, 2 * Gemm.MR, 2 * Gemm.NR);
        int[][] shapes = {{Gemm.MR * 3 + 1, Gemm.NR * 2 + 5, 53}, {5, 3 * Gemm.NR, 16}, {41, 7, 33}};
        for (int[] s : shapes)
            for (Parallel par : new Parallel[]{null, TWO}) {
                int m = s[0], n = s[1], k = s[2];
                float[] a = random(m * 31L + k, m * k), b = random(n * 17L + k, k * n), c = new float[m * n];
                float[] expected = new float[m * n];
                REF.gemm(false, false, m, n, k, 1f, REF.upload(a), REF.upload(b), 0f, HeapStorage.ofFloats(REF, expected));
                java.util.Arrays.fill(c, Float.NaN);
                Gemm.sgemm(bk, par, false, false, m, n, k, 1f, a, 0, k, b, 0, n, 0f, c, 0, n);
                String what = (par == null ? 1 : par.threads()) + " threads, " + m + "x" + n + "x" + k;
                assertClose("beta = 0, NaN in C, " + what, expected, c, 1e-5 * Math.sqrt(k) * 4, 1e-4);
            }
        int m = Gemm.MR + 3, n = Gemm.NR + 5, k = Gemm.BLOCKING.kc() + 7;   // two K blocks of the default blocking
        float[] a = random(3, m * k), b = random(4, k * n), c = new float[m * n], expected = new float[m * n];
        REF.gemm(false, false, m, n, k, 1f, REF.upload(a), REF.upload(b), 0f, HeapStorage.ofFloats(REF, expected));
        java.util.Arrays.fill(c, Float.NaN);
        Gemm.sgemmPacked(Gemm.packAll(false, 1f, m, k, a, 0, k), false, m, n, k, b, 0, n, 0f, c, 0, n);
        assertClose("sgemmPacked, beta = 0, NaN in C", expected, c, 1e-5 * Math.sqrt(k) * 4, 1e-4);
    }
}
