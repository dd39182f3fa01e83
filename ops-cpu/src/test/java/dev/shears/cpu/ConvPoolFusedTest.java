package dev.shears.cpu;

import dev.shears.core.Backend;
import dev.shears.core.Conv2dShape;
import dev.shears.core.HeapStorage;
import dev.shears.core.Pool2dShape;
import dev.shears.core.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

import static dev.shears.core.testing.Close.assertClose;
import static dev.shears.core.testing.Close.random;
import static dev.shears.cpu.DirectImagesTest.pool;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * conv2dMaxPool2dForward (the small convolution pooled image by image, Winograd pooled band by band, WinogradImages
 * tile by tile, DirectImages window by window, with and
 * without its ReLU) against the reference backend's ops, and bit for bit against the CPU backend's own convolution, pooling and ReLU, on
 * odd shapes.
 */
class ConvPoolFusedTest {
    private static final Conv2dShape[] SHAPES = {
            new Conv2dShape(3, 1, 28, 28, 10, 3, 3, 1, 1, 1, 1),     // a pruned conv1
            new Conv2dShape(4, 10, 14, 14, 20, 3, 3, 1, 1, 1, 1),    // a pruned conv2 (shifted planes)
            new Conv2dShape(2, 3, 9, 11, 5, 3, 3, 1, 1, 1, 1),       // odd H and W: the last row/column is dropped
            new Conv2dShape(3, 2, 13, 7, 7, 5, 3, 1, 1, 2, 1),       // R ≠ S, K not a multiple of 4
            new Conv2dShape(2, 4, 10, 10, 6, 3, 3, 2, 2, 1, 1),      // stride 2: im2col
            new Conv2dShape(1, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1),    // the unpruned conv2 at batch 1
            new Conv2dShape(1, 1, 28, 28, 13, 3, 3, 1, 1, 1, 1),     // batch 1, filters split, a lone last filter
            new Conv2dShape(1, 13, 14, 14, 18, 3, 3, 1, 1, 1, 1),    // the same for a pruned conv2
            new Conv2dShape(1, 8, 14, 14, 26, 3, 3, 1, 1, 1, 1),     // 7 groups of filters: the middle one split by rows
            new Conv2dShape(1, 1, 28, 28, 17, 3, 3, 1, 1, 1, 1),     // 5 groups, the last a lone filter, split by rows
            new Conv2dShape(1, 3, 19, 21, 9, 3, 3, 1, 1, 1, 1),      // odd H: the last row of the conv is not pooled
            new Conv2dShape(3, 16, 14, 14, 38, 3, 3, 1, 1, 1, 1),    // pruned conv2s past 2^20 multiply-adds (im2col + GEMM,
            new Conv2dShape(3, 14, 14, 14, 50, 3, 3, 1, 1, 1, 1),    // unfused, before issue #16) and the direct kernel's rule
            new Conv2dShape(2, 6, 8, 8, 3, 1, 1, 1, 1, 0, 0),        // pointwise
            // Winograd (C·K / (C + K) ≥ 12), each band pooling its own tiles:
            new Conv2dShape(1, 24, 13, 11, 40, 3, 3, 1, 1, 1, 1),    // batch 1 (bands split), odd H and W, K not a multiple of 16
            new Conv2dShape(3, 20, 9, 15, 33, 3, 3, 1, 1, 1, 1),     // several images, a lone filter in the last block
            new Conv2dShape(2, 16, 12, 12, 48, 3, 3, 1, 1, 0, 0),    // no padding
            new Conv2dShape(1, 16, 30, 6, 24, 3, 3, 1, 1, 2, 2),     // padding 2: a larger output; tall, so several bands
            // WinogradImages (7 ≤ C·K / (C + K) < 12, a group of 16 images per thread), each tile one pooling window:
            new Conv2dShape(48, 14, 14, 14, 15, 3, 3, 1, 1, 1, 1),   // the demo's pruned conv2
            new Conv2dShape(37, 10, 12, 8, 30, 3, 3, 1, 1, 1, 1),    // H ≠ W, a partial last group
            // DirectImages (one channel, 3×3, a group of 16 images per thread), each window pooled in registers:
            new Conv2dShape(48, 1, 28, 28, 14, 3, 3, 1, 1, 1, 1),    // the demo's pruned conv1
            new Conv2dShape(37, 1, 9, 11, 5, 3, 3, 1, 1, 2, 0)};     // 11 × 9 out (the last row and column dropped), a partial group

    @Test
    void matchesConvolutionThenPooling() {
        ReferenceBackend r = ReferenceBackend.INSTANCE;
        for (boolean simd : new boolean[]{true, false})
            for (int threads : new int[]{1, 2, 3})   // three: a chunk whose both ends cut a group of filters
                for (boolean relu : new boolean[]{false, true}) {
                    CpuBackend cpu = new CpuBackend(simd, threads);
                    for (Conv2dShape s : SHAPES) {
                        Pool2dShape p = pool(s);
                        float[] x = random(1, s.inputSize()), w = random(2, s.weightSize()), b = random(3, s.k());
                        float[] expected = new float[p.outputSize()], twoOps = new float[p.outputSize()], fused = new float[p.outputSize()];
                        java.util.Arrays.fill(fused, Float.NaN);   // every output is written
                        run(r, s, p, relu, x, w, b, expected, false);
                        run(cpu, s, p, relu, x, w, b, twoOps, false);
                        run(cpu, s, p, relu, x, w, b, fused, true);
                        String what = "conv2d+maxpool" + (relu ? "+relu " : " ") + s + " on " + cpu;
                        assertClose(what, expected, fused, 1e-4 * Math.sqrt(s.c() * s.r() * s.s()), 1e-4);
                        assertArrayEquals(twoOps, fused, what + ": the same values as the ops one by one");
                        if (relu) for (float v : fused) assertTrue(v >= 0f, what + ": a negative output " + v);
                    }
                }
    }

    @Test
    void theFusedPathIsTakenForSimpleCnnShapes() {
        CpuBackend cpu = new CpuBackend(true, 1);
        Conv2dShape s = SHAPES[0];
        Pool2dShape p = pool(s);
        assertTrue(Conv.forwardMaxPool(new Parallel(1), true, s, p, true, new float[s.inputSize()], new float[s.weightSize()],
                null, new float[p.outputSize()]));
    }

    private static void run(Backend be, Conv2dShape s, Pool2dShape p, boolean relu, float[] x, float[] w, float[] b,
                            float[] y, boolean fused) {
        HeapStorage out = HeapStorage.ofFloats(be, y);
        if (fused) {
            be.conv2dMaxPool2dForward(s, p, relu, be.upload(x), be.upload(w), be.upload(b), out);
        } else {
            float[] maps = new float[s.outputSize()];
            be.conv2dForward(s, be.upload(x), be.upload(w), be.upload(b), HeapStorage.ofFloats(be, maps));
            if (relu) be.unary(Backend.Unary.RELU, maps.length, HeapStorage.ofFloats(be, maps), HeapStorage.ofFloats(be, maps));
            be.maxPool2dForwardValues(p, HeapStorage.ofFloats(be, maps), out);
        }
    }
}
