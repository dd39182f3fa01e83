package dev.shears.cpu;

import dev.shears.core.Conv2dShape;
import dev.shears.core.HeapStorage;
import dev.shears.core.Pool2dShape;
import dev.shears.core.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static dev.shears.core.testing.Close.assertClose;
import static dev.shears.core.testing.Close.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The first convolution with its pool, images in the lanes, called directly: against the scalar ReferenceBackend's
 * convolution, pool and ReLU on batches that fill a group, leave the last one partly empty (17, 37) or span
 * several; 1 to 32 filters; odd outputs (the pool drops the last row or column); padding 0, 1 and 2; rows of 28 and
 * 34 columns (the transpose in pieces); with and without bias and ReLU; one to three threads. Then the same bits
 * as the CPU backend's convolution (its shifted planes or im2col), pool and ReLU one after the other, on any
 * thread count; and the dispatch. 16 lanes only (the kernel's condition).
 */
class DirectImagesTest {
    private static final ReferenceBackend R = ReferenceBackend.INSTANCE;

    static List<Conv2dShape> shapes() {
        return List.of(
                new Conv2dShape(16, 1, 28, 28, 14, 3, 3, 1, 1, 1, 1),    // the demo's pruned conv1, one group
                new Conv2dShape(17, 1, 28, 28, 13, 3, 3, 1, 1, 1, 1),    // a second group of one image
                new Conv2dShape(48, 1, 28, 28, 32, 3, 3, 1, 1, 1, 1),    // SimpleCNN's conv1
                new Conv2dShape(37, 1, 9, 11, 5, 3, 3, 1, 1, 2, 0),      // 11 × 9 out: the last row and column dropped
                new Conv2dShape(16, 1, 7, 34, 1, 3, 3, 1, 1, 0, 0),      // 34 columns, no padding, one filter
                new Conv2dShape(20, 1, 6, 4, 7, 3, 3, 1, 1, 2, 2));      // padding 2
    }

    @Test
    void matchesReference() {
        assumeTrue(WinogradImages.L == 16, "the kernel runs with 16 lanes only");
        double worst = 0;
        for (int threads : new int[]{1, 3})
            for (Conv2dShape s : shapes()) {
                Pool2dShape p = pool(s);
                float[] x = random(1, s.inputSize()), w = random(2, s.weightSize()), b = random(3, s.k());
                for (float[] bias : new float[][]{b, null})
                    for (boolean relu : new boolean[]{false, true}) {
                        float[] maps = new float[s.outputSize()], expected = new float[p.outputSize()], actual = new float[p.outputSize()];
                        R.conv2dForward(s, R.upload(x), R.upload(w), bias == null ? null : R.upload(bias), HeapStorage.ofFloats(R, maps));
                        R.maxPool2dForwardValues(p, R.upload(maps), HeapStorage.ofFloats(R, expected));
                        if (relu) for (int i = 0; i < expected.length; i++) expected[i] = Math.max(expected[i], 0f);
                        Arrays.fill(actual, Float.NaN);   // every output is written
                        DirectImages.forwardMaxPool(new Parallel(threads), s, x, w, bias, relu, actual);
                        String what = "conv+pool" + (relu ? "+relu" : "") + (bias == null ? ", no bias " : " ") + s + " on " + threads + " threads";
                        worst = Math.max(worst, assertClose(what, expected, actual, 3e-4, 1e-4));
                    }
            }
        System.out.printf("Direct convolution, images in the lanes: largest difference from ReferenceBackend %.3g%n", worst);
    }

    /**
     * The same bits as the CPU backend's convolution, then its pool, then the ReLU, on one to three threads (the
     * convolution alone never takes this kernel).
     */
    @Test
    void sameBitsAsTheOpsOneAfterTheOther() {
        assumeTrue(WinogradImages.L == 16, "the kernel runs with 16 lanes only");
        for (int threads = 1; threads <= 3; threads++) {
            CpuBackend cpu = new CpuBackend(true, threads);
            for (Conv2dShape s : shapes()) {
                Pool2dShape p = pool(s);
                float[] x = random(4, s.inputSize()), w = random(5, s.weightSize()), b = random(6, s.k());
                float[] maps = new float[s.outputSize()], expected = new float[p.outputSize()], actual = new float[p.outputSize()];
                cpu.conv2dForward(s, cpu.upload(x), cpu.upload(w), cpu.upload(b), HeapStorage.ofFloats(cpu, maps));
                cpu.maxPool2dForwardValues(p, cpu.upload(maps), HeapStorage.ofFloats(cpu, expected));
                for (int i = 0; i < expected.length; i++) expected[i] = Math.max(expected[i], 0f);
                DirectImages.forwardMaxPool(new Parallel(threads), s, x, w, b, true, actual);
                assertArrayEquals(expected, actual, 0f, s + " on " + threads + " threads");
            }
        }
    }

    /** conv1 with its pool takes it at batch 64 (a group per thread), not at batch 16 on two threads, nor for 3 channels or 8 lanes. */
    @Test
    void dispatch() {
        assumeTrue(WinogradImages.L == 16, "the kernel runs with 16 lanes only");
        Conv2dShape conv1 = new Conv2dShape(64, 1, 28, 28, 14, 3, 3, 1, 1, 1, 1);
        for (int threads : new int[]{1, 2, 4})
            assertTrue(DirectImages.wins(new Parallel(threads), true, conv1, pool(conv1)));
        Parallel two = new Parallel(2);
        Conv2dShape sixteen = new Conv2dShape(16, 1, 28, 28, 14, 3, 3, 1, 1, 1, 1), rgb = new Conv2dShape(64, 3, 28, 28, 14, 3, 3, 1, 1, 1, 1);
        assertFalse(DirectImages.wins(two, true, sixteen, pool(sixteen)));
        assertFalse(DirectImages.wins(two, true, rgb, pool(rgb)));
        assertFalse(DirectImages.wins(two, false, conv1, pool(conv1)));
        assertFalse(DirectImages.wins(two, true, conv1, new Pool2dShape(64, 14, 28, 28, 3, 3, 2, 2, 0, 0)));
    }

    /** The 2×2, stride-2 pool of s's output (each window one 2×2 tile of it). */
    static Pool2dShape pool(Conv2dShape s) { return new Pool2dShape(s.n(), s.k(), s.p(), s.q(), 2, 2, 2, 2, 0, 0); }
}
