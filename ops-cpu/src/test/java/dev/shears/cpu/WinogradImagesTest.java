package dev.shears.cpu;

import dev.shears.core.Conv2dShape;
import dev.shears.core.HeapStorage;
import dev.shears.core.Pool2dShape;
import dev.shears.core.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static dev.shears.core.testing.Close.random;
import static dev.shears.cpu.DirectImagesTest.pool;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Winograd with images in the lanes, called directly, against the scalar ReferenceBackend: batches that fill
 * one group, leave the last one partly empty (17, 33, 40) or span several; channels and filters not multiples of
 * anything (5, 14, 15, 27); H ≠ W, rows wider than a vector (28, 34 columns: the transpose in pieces); padding
 * 0, 1 and 2; several bands per image; one and three threads; with and without bias. Then the pooled path
 * against the same kernel's convolution, the pool and the ReLU one after the other (the same bits), the result
 * against the thread count (the same bits), and the dispatch. 16 lanes only (the kernel's condition).
 */
class WinogradImagesTest {
    private static final ReferenceBackend R = ReferenceBackend.INSTANCE;

    static List<Conv2dShape> shapes() {
        return List.of(
                new Conv2dShape(16, 14, 14, 14, 15, 3, 3, 1, 1, 1, 1),    // the demo's pruned conv2
                new Conv2dShape(17, 14, 14, 14, 15, 3, 3, 1, 1, 1, 1),    // a second group of one image
                new Conv2dShape(40, 21, 14, 14, 27, 3, 3, 1, 1, 1, 1),
                new Conv2dShape(33, 5, 6, 10, 13, 3, 3, 1, 1, 1, 1),      // H ≠ W
                new Conv2dShape(16, 3, 8, 12, 5, 3, 3, 1, 1, 0, 0),       // no padding: 6 × 10 out
                new Conv2dShape(18, 2, 6, 4, 7, 3, 3, 1, 1, 2, 2),        // padding 2: 8 × 6 out
                new Conv2dShape(16, 4, 28, 28, 6, 3, 3, 1, 1, 1, 1),      // 28 columns: two pieces per row
                new Conv2dShape(20, 3, 34, 6, 9, 3, 3, 1, 1, 1, 1),       // several bands per image
                new Conv2dShape(16, 1, 4, 34, 1, 3, 3, 1, 1, 1, 1));
    }

    @Test
    void forwardMatchesReference() {
        assumeTrue(WinogradImages.L == 16, "the kernel runs with 16 lanes only");
        double worst = WinogradTest.forwardAgainstReference("forward", shapes(),
                (par, s, x, w, b, y) -> WinogradImages.forward(par, s, x, w, b, false, Conv.Epilogue.NONE, y));
        System.out.printf("Winograd, images in the lanes: largest difference from ReferenceBackend %.3g%n", worst);
    }

    /** With a pool (and ReLU): the same bits as this kernel's convolution, then the 2×2 pool, then the ReLU. */
    @Test
    void pooledIsTheConvolutionThenThePool() {
        assumeTrue(WinogradImages.L == 16, "the kernel runs with 16 lanes only");
        Parallel par = new Parallel(2);
        for (Conv2dShape s : shapes())
            for (boolean relu : new boolean[]{false, true}) {
                Pool2dShape p = pool(s);
                float[] x = random(4, s.inputSize()), w = random(5, s.weightSize()), b = random(6, s.k());
                float[] maps = new float[s.outputSize()], expected = new float[p.outputSize()], actual = new float[p.outputSize()];
                WinogradImages.forward(par, s, x, w, b, false, Conv.Epilogue.NONE, maps);
                R.maxPool2dForwardValues(p, R.upload(maps), HeapStorage.ofFloats(R, expected));
                if (relu) for (int i = 0; i < expected.length; i++) expected[i] = Math.max(expected[i], 0f);
                Arrays.fill(actual, Float.NaN);
                WinogradImages.forward(par, s, x, w, b, true, relu ? Conv.Epilogue.RELU : Conv.Epilogue.NONE, actual);
                assertArrayEquals(expected, actual, 0f, "pooled, relu " + relu + ", " + s);
            }
    }

    /** Each epilogue (a shortcut added, a ReLU): the same bits as the convolution, then the addition, then the ReLU. */
    @Test
    void epilogueIsTheConvolutionThenTheOps() {
        assumeTrue(WinogradImages.L == 16, "the kernel runs with 16 lanes only");
        Parallel par = new Parallel(2);
        for (Conv2dShape s : shapes())
            for (Conv.Epilogue epi : Conv.Epilogue.values()) {
                float[] x = random(10, s.inputSize()), w = random(11, s.weightSize()), b = random(12, s.k());
                float[] shortcut = random(13, s.outputSize()), expected = new float[s.outputSize()];
                WinogradImages.forward(par, s, x, w, b, false, Conv.Epilogue.NONE, expected);
                for (int i = 0; i < expected.length; i++) {
                    float v = expected[i];
                    if (epi.add) v += shortcut[i];
                    expected[i] = epi.relu ? Math.max(v, 0f) : v;
                }
                float[] actual = shortcut.clone();
                WinogradImages.forward(par, s, x, w, b, false, epi, actual);
                assertArrayEquals(expected, actual, 0f, epi + ", " + s);
            }
    }

    /**
     * A pooled first convolution (DirectImages) and a pooled one of this kernel, fused: the same bits as the two
     * blocks one after the other, on one to three threads; and the pairs it refuses (y untouched).
     */
    @Test
    void pairIsTheTwoBlocksOneAfterTheOther() {
        assumeTrue(WinogradImages.L == 16, "the kernel runs with 16 lanes only");
        Conv2dShape[][] pairs = {
                {new Conv2dShape(48, 1, 28, 28, 14, 3, 3, 1, 1, 1, 1), new Conv2dShape(48, 14, 14, 14, 15, 3, 3, 1, 1, 1, 1)},   // the demo's
                {new Conv2dShape(37, 1, 23, 30, 21, 3, 3, 1, 1, 2, 0), new Conv2dShape(37, 21, 12, 14, 27, 3, 3, 1, 1, 1, 2)}};  // 25 × 28 pooled (a row dropped), H ≠ W, a partial group
        for (int threads = 1; threads <= 3; threads++) {
            Parallel par = new Parallel(threads);
            for (Conv2dShape[] pair : pairs)
                for (boolean relu : new boolean[]{false, true}) {
                    Conv2dShape s1 = pair[0], s2 = pair[1];
                    Pool2dShape p1 = pool(s1), p2 = pool(s2);
                    float[] x = random(14, s1.inputSize()), w1 = random(15, s1.weightSize()), b1 = random(16, s1.k());
                    float[] w2 = random(17, s2.weightSize()), b2 = random(18, s2.k());
                    float[] mid = new float[p1.outputSize()], expected = new float[p2.outputSize()], actual = new float[p2.outputSize()];
                    assertTrue(Conv.forwardMaxPool(par, true, s1, p1, relu, x, w1, b1, mid));
                    assertTrue(Conv.forwardMaxPool(par, true, s2, p2, relu, mid, w2, b2, expected));
                    Arrays.fill(actual, Float.NaN);
                    assertTrue(Conv.forwardMaxPoolPair(par, true, s1, p1, relu, x, w1, b1, s2, p2, relu, w2, b2, actual));
                    assertArrayEquals(expected, actual, 0f, s1 + " then " + s2 + ", relu " + relu + ", " + threads + " threads");
                }
        }
        Parallel two = new Parallel(2);
        Conv2dShape conv1 = pairs[0][0], conv2 = pairs[0][1], unpruned = new Conv2dShape(48, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1);
        float[] y = new float[pool(unpruned).outputSize()];
        assertFalse(Conv.forwardMaxPoolPair(two, true, conv1, pool(conv1), true, new float[conv1.inputSize()], new float[conv1.weightSize()],
                null, unpruned, pool(unpruned), true, new float[unpruned.weightSize()], null, y), "14 channels into 32");
        Conv2dShape wide = new Conv2dShape(48, 1, 28, 28, 32, 3, 3, 1, 1, 1, 1);
        assertFalse(Conv.forwardMaxPoolPair(two, true, wide, pool(wide), true, new float[wide.inputSize()], new float[wide.weightSize()],
                null, unpruned, pool(unpruned), true, new float[unpruned.weightSize()], null, y), "a second convolution Winograd takes");
        assertFalse(Conv.forwardMaxPoolPair(two, true, conv1, pool(conv1), true, new float[conv1.inputSize()], new float[conv1.weightSize()],
                null, conv2, new Pool2dShape(48, 15, 14, 14, 3, 3, 2, 2, 0, 0), true, new float[conv2.weightSize()], null, y), "a 3×3 pool");
        for (float v : y) assertEquals(0f, v, "untouched");
    }

    @Test
    void sameBitsOnAnyThreadCount() {
        assumeTrue(WinogradImages.L == 16, "the kernel runs with 16 lanes only");
        Conv2dShape s = new Conv2dShape(40, 14, 14, 14, 15, 3, 3, 1, 1, 1, 1);
        float[] x = random(7, s.inputSize()), w = random(8, s.weightSize()), b = random(9, s.k());
        float[] one = new float[s.outputSize()];
        WinogradImages.forward(new Parallel(1), s, x, w, b, false, Conv.Epilogue.NONE, one);
        for (int threads : new int[]{2, 3}) {
            float[] many = new float[s.outputSize()];
            WinogradImages.forward(new Parallel(threads), s, x, w, b, false, Conv.Epilogue.NONE, many);
            assertArrayEquals(one, many, 0f, threads + " threads");
        }
    }

    /** The pruned conv2 takes it at batch 64; batch 8, SimpleCNN's conv1 and its unpruned conv2 do not. */
    @Test
    void dispatch() {
        assumeTrue(WinogradImages.L == 16 && ConvTile.L == 16, "the kernel runs with 16 lanes only");
        for (int threads : new int[]{1, 2}) {
            Parallel par = new Parallel(threads);
            assertEquals(Conv.ForwardKernel.WINOGRAD_IMAGES, Conv.forwardKernel(par, true, new Conv2dShape(64, 14, 14, 14, 15, 3, 3, 1, 1, 1, 1)));
            assertEquals(Conv.ForwardKernel.WINOGRAD_IMAGES, Conv.forwardKernel(par, true, new Conv2dShape(64, 21, 14, 14, 27, 3, 3, 1, 1, 1, 1)));
            assertEquals(Conv.ForwardKernel.WINOGRAD, Conv.forwardKernel(par, true, new Conv2dShape(64, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1)));
            assertFalse(WinogradImages.wins(par, true, new Conv2dShape(8, 14, 14, 14, 15, 3, 3, 1, 1, 1, 1)));
            assertFalse(WinogradImages.wins(par, true, new Conv2dShape(64, 1, 28, 28, 14, 3, 3, 1, 1, 1, 1)));
            assertFalse(WinogradImages.wins(par, false, new Conv2dShape(64, 14, 14, 14, 15, 3, 3, 1, 1, 1, 1)));
        }
        // a group per thread: 16 images on two threads stay with the other kernels
        assertFalse(WinogradImages.wins(new Parallel(2), true, new Conv2dShape(16, 14, 14, 14, 15, 3, 3, 1, 1, 1, 1)));
    }
}
