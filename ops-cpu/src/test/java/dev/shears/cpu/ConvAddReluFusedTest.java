package dev.shears.cpu;

import dev.shears.core.Backend;
import dev.shears.core.Conv2dShape;
import dev.shears.core.HeapStorage;
import dev.shears.core.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

import static dev.shears.core.testing.Close.assertClose;
import static dev.shears.core.testing.Close.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * conv2dAddReluForward (a convolution plus what y holds, then ReLU, in the convolution's own pass) against the
 * reference backend's ops one after the other, and bit for bit against the CPU backend's own convolution, add
 * and ReLU, on odd shapes and on every kernel {@link Conv#forward} picks: the small kernel (im2col, shifted
 * planes, pointwise, filters split at batch 1), the direct kernel (strided, one block of filters), WinogradImages, and those
 * that apply no epilogue (Winograd, im2col + GEMM: the ops one by one).
 */
class ConvAddReluFusedTest {
    private static final Conv2dShape[] SHAPES = {
            new Conv2dShape(3, 8, 28, 28, 8, 3, 3, 1, 1, 1, 1),      // the ResNet fixture's block1 (shifted planes)
            new Conv2dShape(3, 16, 14, 14, 16, 3, 3, 1, 1, 1, 1),    // its block3
            new Conv2dShape(3, 8, 28, 28, 16, 3, 3, 2, 2, 1, 1),     // its stride-2 conv: the direct kernel
            new Conv2dShape(3, 8, 28, 28, 16, 1, 1, 2, 2, 0, 0),     // its 1×1 stride-2 shortcut: im2col
            new Conv2dShape(5, 5, 11, 9, 17, 3, 3, 2, 2, 1, 1),      // strided, odd sizes, K past one block
            new Conv2dShape(3, 3, 9, 11, 5, 3, 3, 1, 1, 1, 1),       // odd H and W, K not a multiple of 4
            new Conv2dShape(3, 2, 13, 7, 7, 5, 3, 1, 1, 2, 1),       // R ≠ S
            new Conv2dShape(2, 4, 10, 10, 6, 3, 3, 2, 2, 1, 1),      // stride 2, few filters: im2col
            new Conv2dShape(1, 13, 14, 14, 18, 3, 3, 1, 1, 1, 1),    // batch 1: filters split between threads
            new Conv2dShape(3, 6, 8, 8, 3, 1, 1, 1, 1, 0, 0),        // pointwise
            new Conv2dShape(2, 32, 10, 10, 32, 3, 3, 1, 1, 1, 1),    // Winograd
            new Conv2dShape(2, 40, 9, 9, 20, 3, 3, 1, 1, 0, 0),      // im2col + GEMM
            new Conv2dShape(37, 16, 14, 14, 16, 3, 3, 1, 1, 1, 1)};  // WinogradImages (a partial last group), in its transpose out

    @Test
    void matchesConvolutionThenAddThenRelu() {
        ReferenceBackend r = ReferenceBackend.INSTANCE;
        for (boolean simd : new boolean[]{true, false})
            for (int threads : new int[]{1, 2, 3}) {
                CpuBackend cpu = new CpuBackend(simd, threads);
                for (Conv2dShape s : SHAPES)
                    for (boolean add : new boolean[]{false, true})
                        for (boolean relu : new boolean[]{false, true}) {
                            float[] x = random(1, s.inputSize()), w = random(2, s.weightSize()), b = random(3, s.k());
                            float[] shortcut = random(4, s.outputSize());
                            float[] expected = shortcut.clone(), twoOps = shortcut.clone(), fused = shortcut.clone();
                            if (!add) java.util.Arrays.fill(fused, Float.NaN);   // every output is written
                            run(r, s, add, relu, x, w, b, expected, false);
                            run(cpu, s, add, relu, x, w, b, twoOps, false);
                            run(cpu, s, add, relu, x, w, b, fused, true);
                            String what = "conv2d" + (add ? "+add" : "") + (relu ? "+relu " : " ") + s + " on " + cpu;
                            assertClose(what, expected, fused, 1e-4 * Math.sqrt(s.c() * s.r() * s.s()), 1e-4);
                            assertArrayEquals(twoOps, fused, what + ": the same values as the ops one by one");
                        }
            }
    }

    /** The ResNet fixture's convolutions take the epilogue in their own pass, not the ops one after the other. */
    @Test
    void theResnetShapesTakeTheFusedKernels() {
        for (int threads : new int[]{1, 2})
            for (int i = 0; i < 4; i++) {
                Conv2dShape s = SHAPES[i];
                assertTrue(Conv.forwardEpilogue(new Parallel(threads), true, s, Conv.Epilogue.ADD_RELU, new float[s.inputSize()],
                        new float[s.weightSize()], null, new float[s.outputSize()]), s + " on " + threads + " threads");
            }
    }

    private static void run(Backend be, Conv2dShape s, boolean add, boolean relu, float[] x, float[] w, float[] b,
                            float[] y, boolean fused) {
        HeapStorage out = HeapStorage.ofFloats(be, y);
        if (fused) {
            be.conv2dAddReluForward(s, add, relu, be.upload(x), be.upload(w), be.upload(b), out);
            return;
        }
        HeapStorage conv = HeapStorage.ofFloats(be, new float[s.outputSize()]);
        be.conv2dForward(s, be.upload(x), be.upload(w), be.upload(b), conv);
        int[] flat = {s.outputSize()};
        if (add) be.binary(Backend.Binary.ADD, flat, conv, flat, out, flat, out);
        else be.copy(s.outputSize(), conv, out);
        if (relu) be.unary(Backend.Unary.RELU, s.outputSize(), out, out);
    }
}
