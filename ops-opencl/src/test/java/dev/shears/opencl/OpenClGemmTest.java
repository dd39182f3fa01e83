package dev.shears.opencl;

import dev.shears.core.HeapStorage;
import dev.shears.core.Storage;
import dev.shears.core.reference.ReferenceBackend;
import dev.shears.opencl.OpenClBackend.GemmKernel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static dev.shears.core.testing.Close.assertClose;
import static dev.shears.core.testing.Close.random;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tiled GEMM against the naive kernel it keeps as its reference, on sizes around the tile edges
 * (64 for M and N, 16 for K) and with K split over several work-groups, and both kernels' speed in GFLOPS
 * as myGEMM reports them.
 */
class OpenClGemmTest {

    @AfterEach
    void restore() { OpenClTesting.backend().gemmKernel(GemmKernel.AUTO); }

    private static float[] run(OpenClBackend b, GemmKernel kernel, boolean ta, boolean tb, int m, int n, int k, float beta) {
        b.gemmKernel(kernel);
        try (Storage a = b.upload(random(1, m * k)); Storage bm = b.upload(random(2, k * n)); Storage c = b.upload(random(3, m * n))) {
            b.gemm(ta, tb, m, n, k, 0.75f, a, bm, beta, c);
            return b.download(c);
        }
    }

    @Test
    void tiledMatchesNaiveAroundTileEdges() {
        OpenClBackend b = OpenClTesting.backend();
        // the last three have few output tiles and a long K: split along K on a device with few compute units
        int[][] sizes = {{63, 65, 15}, {64, 64, 16}, {65, 63, 17}, {2, 130, 33}, {128, 2, 1}, {200, 70, 48},
                {20, 30, 5000}, {64, 288, 2001}, {9, 32, 777}};
        for (int[] s : sizes)
            for (boolean ta : new boolean[]{false, true})
                for (boolean tb : new boolean[]{false, true})
                    for (float beta : new float[]{0f, 1f}) {
                        float[] naive = run(b, GemmKernel.NAIVE, ta, tb, s[0], s[1], s[2], beta);
                        float[] tiled = run(b, GemmKernel.TILED, ta, tb, s[0], s[1], s[2], beta);
                        assertClose("tiled vs naive " + s[0] + "x" + s[1] + "x" + s[2] + " ta=" + ta + " tb=" + tb + " beta=" + beta,
                                naive, tiled, 1e-4 * Math.sqrt(s[2]), 1e-4);
                    }
    }

    /**
     * Prints each kernel's speed (no assertion on it: timings depend on the machine) and checks what is timed:
     * the rate is a positive number, and the kernel's product at that size is the scalar reference's.
     */
    @Test
    void gflops() {
        OpenClBackend b = OpenClTesting.backend();
        int size = Integer.getInteger("shears.gemm.size", 256);
        float[] expected = new float[size * size];
        ReferenceBackend ref = ReferenceBackend.INSTANCE;
        ref.gemm(false, false, size, size, size, 0.75f, ref.upload(random(1, size * size)), ref.upload(random(2, size * size)),
                0f, HeapStorage.ofFloats(ref, expected));
        for (GemmKernel kernel : new GemmKernel[]{GemmKernel.NAIVE, GemmKernel.TILED}) {
            double gflops = OpenClThroughput.gemmGflops(b, kernel, size);
            System.out.printf("GEMM %d³ %-5s on %s: %.2f GFLOPS%n", size, kernel, b.device().name(), gflops);
            assertTrue(gflops > 0 && Double.isFinite(gflops), kernel + ": " + gflops + " GFLOPS");
            assertClose(kernel + " " + size + "³ against the reference", expected, run(b, kernel, false, false, size, size, size, 0f),
                    1e-4 * Math.sqrt(size), 1e-4);
        }
    }
}
