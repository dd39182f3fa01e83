package dev.shears.cpu;

import dev.shears.core.Conv2dShape;
import org.junit.jupiter.api.Test;

import static dev.shears.core.testing.Close.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * The weight gradient is the same, bit for bit, however the threads happen to finish: each chunk's partial
 * dw is added in image order, not in the order the chunks completed (with two partials either order gives
 * the same bits; with three or more it did not).
 */
class ConvBackwardWeightOrderTest {
    @Test
    void sameBitsEveryRunOnFourThreads() {
        Parallel par = new Parallel(4);
        for (Conv2dShape s : new Conv2dShape[]{new Conv2dShape(8, 1, 28, 28, 32, 3, 3, 1, 1, 1, 1),
                                               new Conv2dShape(8, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1)}) {
            float[] x = random(1, s.inputSize()), dy = random(2, s.outputSize());
            float[] dw0 = new float[s.weightSize()], db0 = new float[s.k()];
            Conv.backwardWeight(par, true, s, x, dy, dw0, db0);
            for (int run = 0; run < 30; run++) {
                float[] dw = new float[s.weightSize()], db = new float[s.k()];
                Conv.backwardWeight(par, true, s, x, dy, dw, db);
                assertArrayEquals(dw0, dw, s + ", run " + run + ": dw");
                assertArrayEquals(db0, db, s + ", run " + run + ": dbias");
            }
        }
    }
}
