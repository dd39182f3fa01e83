package dev.shears.cpu;

import org.junit.jupiter.api.Test;

import static dev.shears.core.testing.Close.assertClose;
import static dev.shears.core.testing.Close.random;

/** C += A·Bᵀ by dot products, SIMD against scalar, at sizes around the 4×4 block and the vector length. */
class DotGemmTest {
    @Test
    void matchesScalarAtOddSizes() {
        for (int m : new int[]{1, 3, 4, 5, 9})
            for (int n : new int[]{1, 4, 7, 32})
                for (int k : new int[]{1, 15, 16, 17, 196}) {
                    float[] a = random(m + 10L * k, m * k), b = random(n + 7L * k, n * k), c = random(3, m * n);
                    float[] expected = c.clone(), actual = c.clone();
                    DotGemm.addABt(false, m, n, k, a, 0, k, b, 0, k, expected, 0, n);
                    DotGemm.addABt(true, m, n, k, a, 0, k, b, 0, k, actual, 0, n);
                    assertClose("dot gemm " + m + "x" + n + "x" + k, expected, actual, 1e-5 * Math.sqrt(k), 1e-5);
                }
    }

    /** The lane-wise sums over several calls (a convolution's images), reduced once, against the scalar dots. */
    @Test
    void laneSumsOverSeveralCallsMatchScalar() {
        for (int m : new int[]{1, 2, 3, 5, 9})
            for (int n : new int[]{1, 3, 4, 7, 32})
                for (int k : new int[]{1, 15, 16, 17, 196}) {
                    int calls = 3;
                    float[] a = random(m + 10L * k, calls * m * k), b = random(n + 7L * k, calls * n * k), c = random(3, m * n);
                    float[] expected = c.clone(), actual = c.clone(), lanes = new float[(m * n + 1) * DotGemm.L];
                    for (int t = 0; t < calls; t++) {
                        DotGemm.addABt(false, m, n, k, a, t * m * k, k, b, t * n * k, k, expected, 0, n);
                        DotGemm.addABtLanes(m, n, k, a, t * m * k, k, b, t * n * k, k, lanes);
                    }
                    DotGemm.addLaneSums(m, n, lanes, actual, 0, n);
                    assertClose("dot gemm lanes " + m + "x" + n + "x" + k, expected, actual, 1e-5 * Math.sqrt(calls * k), 1e-5);
                }
    }
}
