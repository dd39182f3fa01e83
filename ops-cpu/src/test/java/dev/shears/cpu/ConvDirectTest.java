package dev.shears.cpu;

import dev.shears.core.Conv2dShape;
import dev.shears.core.HeapStorage;
import dev.shears.core.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

import static dev.shears.core.testing.Close.assertClose;
import static dev.shears.core.testing.Close.random;

/** The direct stride-1 forward kernel (measured against im2col + GEMM, not used by default) against the reference. */
class ConvDirectTest {
    @Test
    void matchesReference() {
        for (Conv2dShape s : new Conv2dShape[]{
                new Conv2dShape(2, 1, 28, 28, 32, 3, 3, 1, 1, 1, 1), new Conv2dShape(2, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1),
                new Conv2dShape(3, 5, 7, 9, 6, 3, 3, 1, 1, 1, 1), new Conv2dShape(2, 3, 11, 6, 7, 5, 3, 1, 1, 2, 0),
                new Conv2dShape(1, 2, 40, 37, 5, 3, 3, 1, 1, 0, 1)}) {
            float[] x = random(1, s.inputSize()), w = random(2, s.weightSize()), b = random(3, s.k());
            float[] expected = new float[s.outputSize()], actual = new float[s.outputSize()];
            ReferenceBackend r = ReferenceBackend.INSTANCE;
            r.conv2dForward(s, r.upload(x), r.upload(w), r.upload(b), HeapStorage.ofFloats(r, expected));
            for (int n = 0; n < s.n(); n++) Conv.forwardDirect(s, x, w, b, actual, n);
            assertClose("direct conv2d " + s, expected, actual, 1e-4 * Math.sqrt(s.c() * s.r() * s.s()), 1e-4);
        }
    }
}
