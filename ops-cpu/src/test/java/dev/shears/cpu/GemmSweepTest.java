package dev.shears.cpu;

import java.util.Arrays;

import dev.shears.core.HeapStorage;
import dev.shears.core.Storage;
import dev.shears.core.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

import static dev.shears.core.testing.Close.assertClose;
import static dev.shears.core.testing.Close.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GEMM at sizes on both sides of every tile and block edge (MR, NR = 2·lanes, and this JVM's KC, MC, NC),
 * with all four transpose combinations, against the double-precision reference.
 */
class GemmSweepTest {
    private static final ReferenceBackend REF = ReferenceBackend.INSTANCE;
    private static final CpuBackend ONE = new CpuBackend(true, 1), TWO = new CpuBackend(true, 2);

    private static void check(CpuBackend b, boolean ta, boolean tb, int m, int n, int k, float alpha, float beta) {
        float[] a = random(m * 31L + k, m * k), bm = random(n * 17L + k, k * n), c = random(7, m * n);
        float[] expected = c.clone();
        REF.gemm(ta, tb, m, n, k, alpha, REF.upload(a), REF.upload(bm), beta, HeapStorage.ofFloats(REF, expected));
        Storage cs = b.upload(c);
        b.gemm(ta, tb, m, n, k, alpha, b.upload(a), b.upload(bm), beta, cs);
        assertClose(b + " gemm " + m + "x" + n + "x" + k + " ta=" + ta + " tb=" + tb + " alpha=" + alpha + " beta=" + beta,
                expected, b.download(cs), 1e-5 * Math.sqrt(k) * 4, 1e-4);
    }

    @Test
    void oddSizesAroundTileAndBlockEdges() {
        int nr = Gemm.NR, mr = Gemm.MR, mc = Gemm.BLOCKING.mc(), kc = Gemm.BLOCKING.kc();
        // (GemmBlockingTest crosses every block edge many times over with small blockings)
        int[] ms = {1, mr - 1, mr + 1, 3 * mr + 5};
        int[] ns = {1, nr - 1, nr, 3 * nr + 5};
        int[] ks = {1, 2, kc - 1, kc + 1};
        for (int m : ms)
            for (int n : ns)
                for (int k : ks)
                    for (int t = 0; t < 4; t++) check((m + n + k + t) % 2 == 0 ? ONE : TWO, (t & 1) != 0, (t & 2) != 0, m, n, k, 1f, 0f);
        // past the MC edge (MC is an L3-sized block of rows: a few thousand) with a short K and N
        for (int t = 0; t < 4; t++)
            for (int k : new int[]{3, kc + 1}) check(t % 2 == 0 ? ONE : TWO, (t & 1) != 0, (t & 2) != 0, mc + 1, nr + 3, k, 1f, 0f);
    }

    @Test
    void alphaBetaAndTheNcBlockEdge() {
        for (float[] ab : new float[][]{{1f, 1f}, {-0.5f, 2f}, {2f, 0f}, {0f, 0.5f}})
            check(TWO, false, true, 13, 2 * Gemm.NR + 3, 2 * Gemm.BLOCKING.kc() + 9, ab[0], ab[1]);
        check(TWO, false, false, 7, Gemm.BLOCKING.nc() + Gemm.NR + 1, 3, 1f, 0.5f);
        check(ONE, true, true, 3, Gemm.BLOCKING.nc() - 1, 5, 1f, 0f);
        check(TWO, false, false, 0 + 1, 1, 0 + 1, 1f, 0f);
    }

    /**
     * A·Bᵀ with B the larger operand runs as (B·Aᵀ)ᵀ ({@link Gemm#swapped}): every beta (0 with NaN in C), one and
     * two threads (the same bits), a pruned fc1's shape and odd ones around the tile edges.
     */
    @Test
    void swappedProducts() {
        int[][] shapes = {{64, 128, 735}, {Gemm.MR + 1, 3 * Gemm.NR + 5, 77}, {4, 200, 40}, {17, 61, 300}};
        for (int[] mnk : shapes) {
            int m = mnk[0], n = mnk[1], k = mnk[2];
            assertTrue(Gemm.swapped(Gemm.BLOCKING, false, true, m, n, k, 1f, k), "swapped " + Arrays.toString(mnk));
            for (float beta : new float[]{0f, 1f, 0.5f}) {
                check(ONE, false, true, m, n, k, 1f, beta);
                check(TWO, false, true, m, n, k, 1f, beta);
            }
            float[] a = random(3, m * k), bm = random(4, n * k), c = new float[m * n];
            Arrays.fill(c, Float.NaN);
            Storage c1 = ONE.upload(c), c2 = TWO.upload(c);
            ONE.gemm(false, true, m, n, k, 1f, ONE.upload(a), ONE.upload(bm), 0f, c1);
            TWO.gemm(false, true, m, n, k, 1f, TWO.upload(a), TWO.upload(bm), 0f, c2);
            for (float v : ONE.download(c1)) assertFalse(Float.isNaN(v), "beta = 0 let a NaN of the old C through");
            assertArrayEquals(ONE.download(c1), TWO.download(c2), "one and two threads, " + Arrays.toString(mnk));
        }
    }

    @Test
    void betaZeroIgnoresNaNInC() {
        for (CpuBackend b : new CpuBackend[]{ONE, TWO, new CpuBackend(false, 2)}) {
            int m = 9, n = 40, k = 11;
            float[] c = new float[m * n];
            java.util.Arrays.fill(c, Float.NaN);
            Storage cs = b.upload(c);
            b.gemm(false, false, m, n, k, 1f, b.upload(random(1, m * k)), b.upload(random(2, k * n)), 0f, cs);
            for (float v : b.download(cs)) assertFalse(Float.isNaN(v), b + ": beta = 0 let a NaN of the old C through");
        }
    }

    @Test
    void oneAndTwoThreadsAgreeBitForBit() {
        // the split over M changes which thread packs which rows, never the order of a sum over k
        int m = 200, n = 150, k = 600;
        float[] a = random(1, m * k), bm = random(2, k * n);
        Storage c1 = ONE.allocate(m * n), c2 = TWO.allocate(m * n);
        ONE.gemm(false, false, m, n, k, 1f, ONE.upload(a), ONE.upload(bm), 0f, c1);
        TWO.gemm(false, false, m, n, k, 1f, TWO.upload(a), TWO.upload(bm), 0f, c2);
        assertArrayEquals(ONE.download(c1), TWO.download(c2));
    }
}
