package dev.shears.cpu;

import dev.shears.core.Conv2dShape;
import dev.shears.core.HeapStorage;
import dev.shears.core.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.shears.core.testing.Close.assertClose;
import static dev.shears.core.testing.Close.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Winograd F(2×2, 3×3) called directly, whatever the dispatch picks, against the scalar ReferenceBackend on odd
 * shapes: channels not a multiple of the block (1, 3, 17, 33), odd and even H and W, padding 0/1/2 (each side
 * on its own), batch 1 and several, one and three threads; forward with and without bias, backward-data and
 * backward-weight.
 * Tolerances are those of DirectConvTest (1e-4·√taps absolute, 1e-4 relative): the largest error found is
 * printed. Run it under {@code -XX:UseAVX=2} too for the 8-lane path.
 */
class WinogradTest {
    private static final ReferenceBackend R = ReferenceBackend.INSTANCE;

    static List<Conv2dShape> shapes() {
        return List.of(
                new Conv2dShape(2, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1),     // SimpleCNN's conv2
                new Conv2dShape(3, 14, 14, 14, 15, 3, 3, 1, 1, 1, 1),     // a pruned conv2
                new Conv2dShape(1, 16, 8, 8, 16, 3, 3, 1, 1, 1, 1),       // the ResNet fixture's kinds
                new Conv2dShape(3, 3, 7, 9, 17, 3, 3, 1, 1, 1, 1),
                new Conv2dShape(1, 17, 5, 11, 33, 3, 3, 1, 1, 2, 0),
                new Conv2dShape(2, 33, 6, 3, 5, 3, 3, 1, 1, 0, 2),
                new Conv2dShape(1, 1, 4, 4, 1, 3, 3, 1, 1, 0, 0),
                new Conv2dShape(4, 5, 13, 12, 70, 3, 3, 1, 1, 2, 2),
                new Conv2dShape(1, 20, 30, 9, 24, 3, 3, 1, 1, 1, 0));   // several bands per image
    }

    @Test
    void forwardMatchesReference() {
        double worst = forwardAgainstReference("winograd forward", shapes(), Winograd::forward);
        System.out.printf("Winograd F(2x2,3x3) forward: largest difference from ReferenceBackend %.3g%n", worst);
    }

    /** A forward kernel under test: y = conv(x, w) + bias (bias may be null) on par's threads. */
    interface Forward {
        void run(Parallel par, Conv2dShape s, float[] x, float[] w, float[] bias, float[] y);
    }

    /**
     * kernel against ReferenceBackend on shapes, with and without bias, on one and three threads, every output
     * written (y starts as NaN); returns the largest difference.
     */
    static double forwardAgainstReference(String name, List<Conv2dShape> shapes, Forward kernel) {
        double worst = 0;
        for (int threads : new int[]{1, 3}) {
            Parallel par = new Parallel(threads);
            for (Conv2dShape s : shapes) {
                float[] x = random(1, s.inputSize()), w = random(2, s.weightSize()), b = random(3, s.k());
                float[] expected = new float[s.outputSize()], actual = new float[s.outputSize()];
                double tol = 1e-4 * Math.sqrt(s.c() * 9);
                for (float[] bias : new float[][]{b, null}) {
                    R.conv2dForward(s, R.upload(x), R.upload(w), bias == null ? null : R.upload(bias), HeapStorage.ofFloats(R, expected));
                    java.util.Arrays.fill(actual, Float.NaN);
                    kernel.run(par, s, x, w, bias, actual);
                    String what = name + (bias == null ? ", no bias " : " ") + s + " on " + threads + " threads";
                    worst = Math.max(worst, assertClose(what, expected, actual, tol, 1e-4));
                }
            }
        }
        return worst;
    }

    @Test
    void backwardDataMatchesReference() {
        double worst = 0;
        for (int threads : new int[]{1, 3}) {
            Parallel par = new Parallel(threads);
            for (Conv2dShape s : shapes()) {
                float[] dy = random(4, s.outputSize()), w = random(2, s.weightSize());
                float[] expected = new float[s.inputSize()], actual = new float[s.inputSize()];
                java.util.Arrays.fill(actual, Float.NaN);   // overwritten: ConvOps hands it an unzeroed array
                R.conv2dBackwardData(s, R.upload(dy), R.upload(w), HeapStorage.ofFloats(R, expected));
                Winograd.backwardData(par, s, dy, w, actual);
                worst = Math.max(worst, assertClose("winograd backward-data " + s, expected, actual, 1e-4 * Math.sqrt(s.k() * 9), 1e-4));
            }
        }
        System.out.printf("Winograd F(2x2,3x3) backward-data: largest difference from ReferenceBackend %.3g%n", worst);
    }

    @Test
    void backwardWeightMatchesReference() {
        double worst = DirectConvTest.backwardWeightMatches("winograd", shapes(), new int[]{1, 3}, Winograd::backwardWeight);
        System.out.printf("Winograd F(2x2,3x3) backward-weight: largest difference from ReferenceBackend %.3g%n", worst);
    }

    /** Forward: the same bits run to run, and for any thread count (a tile's sums do not depend on who computes it). */
    @Test
    void sameBitsRunToRunAndAcrossThreads() {
        Conv2dShape s = new Conv2dShape(5, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1);
        float[] x = random(1, s.inputSize()), w = random(2, s.weightSize()), b = random(3, s.k());
        float[] first = new float[s.outputSize()];
        Winograd.forward(new Parallel(1), s, x, w, b, first);
        for (int threads : new int[]{1, 2, 3}) {
            for (int run = 0; run < 2; run++) {
                float[] again = new float[s.outputSize()];
                Winograd.forward(new Parallel(threads), s, x, w, b, again);
                assertArrayEquals(first, again, "threads " + threads + ", run " + run);
            }
        }
        // backward-weight adds one partial per chunk, in chunk order: the same bits run to run for a thread count
        float[] dy = random(4, s.outputSize());
        for (int threads : new int[]{1, 2}) {
            float[] dw = new float[s.weightSize()], db = new float[s.k()], dwAgain = new float[s.weightSize()], dbAgain = new float[s.k()];
            Winograd.backwardWeight(new Parallel(threads), s, x, dy, dw, db);
            Winograd.backwardWeight(new Parallel(threads), s, x, dy, dwAgain, dbAgain);
            assertArrayEquals(dw, dwAgain, "backward-weight, threads " + threads);
            assertArrayEquals(db, dbAgain, "backward-weight bias, threads " + threads);
        }
    }

    /** Weights changed in place (an optimiser step) are transformed afresh, not served from the cache. */
    @Test
    void weightsWrittenInPlaceAreNotServedStale() {
        Conv2dShape s = new Conv2dShape(1, 16, 6, 6, 16, 3, 3, 1, 1, 1, 1);
        float[] x = random(1, s.inputSize()), w = random(2, s.weightSize()), y = new float[s.outputSize()];
        float[] expected = new float[s.outputSize()];
        Winograd.forward(new Parallel(1), s, x, w, null, y);
        w[5] += 1f;
        Winograd.forward(new Parallel(1), s, x, w, null, y);
        R.conv2dForward(s, R.upload(x), R.upload(w), null, HeapStorage.ofFloats(R, expected));
        assertClose("after an in-place change", expected, y, 1e-4 * Math.sqrt(s.c() * 9), 1e-4);
    }

    @Test
    void takesOnlyThreeByThreeAtStrideOne() {
        assertTrue(Winograd.fits(new Conv2dShape(1, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1)));
        assertFalse(Winograd.fits(new Conv2dShape(1, 32, 14, 14, 64, 3, 3, 2, 2, 1, 1)));
        assertFalse(Winograd.fits(new Conv2dShape(1, 32, 14, 14, 64, 5, 5, 1, 1, 1, 1)));
        assertFalse(Winograd.fits(new Conv2dShape(1, 32, 14, 14, 64, 3, 3, 1, 1, 3, 3)));
        assertFalse(Winograd.fits(new Conv2dShape(1, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1, 2)));
        assertFalse(Winograd.wins(new Parallel(1), false, new Conv2dShape(1, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1), DirectConv.Pass.FORWARD));
    }
}
