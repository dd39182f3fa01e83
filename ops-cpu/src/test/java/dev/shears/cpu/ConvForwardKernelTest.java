package dev.shears.cpu;

import dev.shears.core.Conv2dShape;
import dev.shears.core.HeapStorage;
import dev.shears.core.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static dev.shears.core.testing.Close.assertClose;
import static dev.shears.core.testing.Close.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Conv's forward kernels, each forced ({@link Conv#forward(Conv.ForwardKernel, Parallel, boolean, Conv2dShape,
 * float[], float[], float[], float[])}), on the shapes around the switches between them, against the scalar
 * ReferenceBackend on one and two threads: pruned SimpleCNN conv2s of 14 and 16 channels with 37 to 64 filters
 * (past 2²⁰ multiply-adds per image, where im2col + GEMM took them before; Winograd from 16 → 48; the direct
 * kernel's rule from 49 filters), the unpruned conv2 and the ResNet fixture's 16-channel conv at 28². And the
 * choice itself for pruned SimpleCNN conv2s at batch 64 (issue #16: a conv2 of 38 filters ran 38% slower than
 * one of 36, im2col + GEMM against shifted planes).
 */
class ConvForwardKernelTest {
    private static final ReferenceBackend R = ReferenceBackend.INSTANCE;
    private static final Parallel[] PARS = {new Parallel(1), new Parallel(2)};

    private static List<Conv2dShape> shapes() {
        List<Conv2dShape> shapes = new ArrayList<>();
        for (int c : new int[]{14, 16})
            for (int k : new int[]{37, 38, 40, 47, 48, 50, 64}) shapes.add(new Conv2dShape(3, c, 14, 14, k, 3, 3, 1, 1, 1, 1));
        shapes.add(new Conv2dShape(3, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1));
        shapes.add(new Conv2dShape(2, 16, 28, 28, 16, 3, 3, 1, 1, 1, 1));
        return shapes;
    }

    @Test
    void everyKernelAgreesWithTheReferenceAroundTheSwitches() {
        for (Conv2dShape s : shapes()) {
            float[] x = random(1, s.inputSize()), w = random(2, s.weightSize()), b = random(3, s.k());
            float[] expected = new float[s.outputSize()];
            R.conv2dForward(s, R.upload(x), R.upload(w), R.upload(b), HeapStorage.ofFloats(R, expected));
            double tol = 1e-4 * Math.sqrt(s.c() * s.r() * s.s());
            for (Parallel par : PARS)
                for (Conv.ForwardKernel kernel : Conv.ForwardKernel.values()) {
                    if (kernel == Conv.ForwardKernel.SMALL && !Conv.smallFits(true, s)) continue;
                    if (kernel == Conv.ForwardKernel.WINOGRAD_IMAGES && WinogradImages.L != 16) continue;   // 16 lanes only
                    float[] y = new float[s.outputSize()];
                    Arrays.fill(y, Float.NaN);   // every output is written
                    Conv.forward(kernel, par, true, s, x, w, b, y);
                    assertClose(kernel + " on " + par.threads() + " threads, " + s, expected, y, tol, 1e-4);
                }
        }
    }

    /**
     * forwardSmall's last one or two filters (their own two-filter kernel) give the same bits as the same filters
     * inside a group of four, and nothing is stored past the last filter: 5 and 6 filters against 8, over 196
     * columns (three-vector passes and a masked tail), 37 and 16.
     */
    @Test
    void theLastOneOrTwoFiltersGiveTheSameBitsAsInAGroupOfFour() {
        int crs = 27;
        int[] rowOff = new int[crs];
        for (int pq : new int[]{196, 37, 16}) {
            for (int t = 0; t < crs; t++) rowOff[t] = t * pq;
            float[] col = random(1, crs * pq), w = random(2, 8 * crs), b = random(3, 8), eight = new float[8 * pq];
            Conv.forwardSmall(0, 8, crs, pq, col, 0, rowOff, w, b, eight, 0);
            for (int k : new int[]{5, 6}) {
                float[] y = new float[8 * pq];
                Arrays.fill(y, Float.NaN);
                Conv.forwardSmall(0, k, crs, pq, col, 0, rowOff, w, b, y, 0);
                assertArrayEquals(Arrays.copyOf(eight, k * pq), Arrays.copyOf(y, k * pq), k + " filters, " + pq + " columns");
                for (int i = k * pq; i < y.length; i++) assertTrue(Float.isNaN(y[i]), "stored past filter " + k + " at " + i);
            }
        }
    }

    /**
     * With 16 lanes, at batch 64 a stride-1 "same" conv2 of up to 32 channels takes Winograd (either kind, images
     * in the lanes exactly where {@link WinogradImages#wins}) or the shifted planes on one and two threads: never
     * im2col + GEMM (a third slower at 38–48 filters on two threads, 2026-12-07),
     * nor the direct kernel (14 → 50 to 64 filters: 10–25% slower in the whole model, whose shifted planes pool as
     * they go). With 8 lanes (run under {@code -XX:UseAVX=2}) the direct kernel keeps the shapes it wins. Fails
     * with the 2²⁰ multiply-add limit the shifted planes had, with the direct kernel ahead of them at 16 lanes,
     * and with it behind them at 8.
     */
    @Test
    void prunedSimpleCnnConv2sTakeShiftedPlanesOrWinograd() {
        for (Parallel par : PARS)
            for (int c = 8; c <= 32; c++)
                for (int k = 8; k <= 64; k++) {
                    Conv2dShape s = new Conv2dShape(64, c, 14, 14, k, 3, 3, 1, 1, 1, 1);
                    Conv.ForwardKernel kernel = Conv.forwardKernel(par, true, s);
                    String what = kernel + " for " + c + " → " + k + " on " + par.threads() + " threads";
                    if (kernel == Conv.ForwardKernel.WINOGRAD) continue;
                    if (WinogradImages.wins(par, true, s)) assertEquals(Conv.ForwardKernel.WINOGRAD_IMAGES, kernel, what);
                    else if (ConvTile.L >= 16) assertEquals(Conv.ForwardKernel.SMALL, kernel, what);
                    else if (DirectConv.wins(par, true, s, DirectConv.Pass.FORWARD)) assertEquals(Conv.ForwardKernel.DIRECT, kernel, what);
                }
    }
}
