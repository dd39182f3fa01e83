package dev.shears.cpu;

import dev.shears.core.GradMode;
import dev.shears.core.MatrixOps;
import dev.shears.core.Tensor;
import org.junit.jupiter.api.Test;

import static dev.shears.core.testing.Close.assertClose;
import static dev.shears.core.testing.Close.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * A Linear layer on one row without gradients starts its output at the bias and lets the GEMM add into it
 * (MatrixOps.linear). With the SIMD kernels (dot products, each added to C once) that gives the bits of the
 * product followed by the bias add, which is what the same call computes when a gradient is recorded; the
 * scalar GEMM adds each term into C, so there the two differ by rounding.
 */
class LinearBatchOneTest {
    @Test
    void biasFirstGivesTheBitsOfProductThenBias() {
        for (boolean simd : new boolean[]{true, false})
            for (int threads : new int[]{1, 2})
                for (int[] shape : new int[][]{{735, 128}, {128, 10}, {17, 5}}) {
                    CpuBackend be = new CpuBackend(simd, threads);
                    int in = shape[0], out = shape[1];
                    Tensor x = Tensor.of(be, random(1, in), 1, in), w = Tensor.of(be, random(2, out * in), out, in);
                    Tensor b = Tensor.of(be, random(3, out), out);
                    float[] fused;
                    try (GradMode g = GradMode.off()) { fused = MatrixOps.linear(x, w, b).toArray(); }
                    float[] apart = MatrixOps.linear(x, w, null).add(b).toArray();
                    w.requiresGrad(true);
                    float[] recorded = MatrixOps.linear(x, w, b).toArray();
                    String what = "simd=" + simd + " threads=" + threads + " " + in + "→" + out;
                    if (simd) {
                        assertArrayEquals(apart, fused, what);
                        assertArrayEquals(recorded, fused, what);
                    } else {
                        assertClose(what, apart, fused, 1e-5 * Math.sqrt(in), 1e-5);
                        assertArrayEquals(apart, recorded, what);
                    }
                }
    }
}
