package dev.shears.cpu;

import dev.shears.core.Conv2dShape;

/**
 * A grouped convolution with more than one input channel per group (1 &lt; G, C/G &gt; 1), as G ordinary
 * convolutions through {@link Conv}'s im2col + GEMM. Group g's weights and bias are contiguous rows of w
 * ([K/G, C/G·R·S] from row g·K/G) and b; its input and output channels are a slice of every image, copied out
 * into [N, C/G, H, W] and back ([N, K/G, P, Q]). The copies are O(input + output), small beside the
 * convolution's C/G·R·S multiply-adds per output. Depthwise shapes (C/G = 1) go to {@link Depthwise}.
 */
final class GroupedConv {
    private GroupedConv() {}

    /** One group's shape: an ordinary convolution of C/G channels into K/G filters. */
    private static Conv2dShape group(Conv2dShape s) {
        return new Conv2dShape(s.n(), s.cPerGroup(), s.h(), s.w(), s.kPerGroup(), s.r(), s.s(),
                s.strideH(), s.strideW(), s.padH(), s.padW());
    }

    static void forward(Parallel par, boolean simd, Conv2dShape s, float[] x, float[] w, float[] bias, float[] y) {
        Conv2dShape g = group(s);
        float[] xg = new float[g.inputSize()], wg = new float[g.weightSize()], yg = new float[g.outputSize()];
        float[] bg = bias == null ? null : new float[g.k()];
        for (int i = 0; i < s.groups(); i++) {
            slice(x, s.n(), s.c(), s.h() * s.w(), i * g.c(), g.c(), xg, true);
            System.arraycopy(w, i * g.weightSize(), wg, 0, g.weightSize());
            if (bg != null) System.arraycopy(bias, i * g.k(), bg, 0, g.k());
            Conv.forward(par, simd, g, xg, wg, bg, yg);
            slice(y, s.n(), s.k(), g.p() * g.q(), i * g.k(), g.k(), yg, false);
        }
    }

    static void backwardData(Parallel par, boolean simd, Conv2dShape s, float[] dy, float[] w, float[] dx) {
        Conv2dShape g = group(s);
        float[] dyg = new float[g.outputSize()], wg = new float[g.weightSize()], dxg = new float[g.inputSize()];
        for (int i = 0; i < s.groups(); i++) {
            slice(dy, s.n(), s.k(), g.p() * g.q(), i * g.k(), g.k(), dyg, true);
            System.arraycopy(w, i * g.weightSize(), wg, 0, g.weightSize());
            Conv.backwardData(par, simd, g, dyg, wg, dxg);
            slice(dx, s.n(), s.c(), s.h() * s.w(), i * g.c(), g.c(), dxg, false);
        }
    }

    static void backwardWeight(Parallel par, boolean simd, Conv2dShape s, float[] x, float[] dy, float[] dw, float[] dbias) {
        Conv2dShape g = group(s);
        float[] xg = new float[g.inputSize()], dyg = new float[g.outputSize()], dwg = new float[g.weightSize()];
        float[] dbg = dbias == null ? null : new float[g.k()];
        for (int i = 0; i < s.groups(); i++) {
            slice(x, s.n(), s.c(), s.h() * s.w(), i * g.c(), g.c(), xg, true);
            slice(dy, s.n(), s.k(), g.p() * g.q(), i * g.k(), g.k(), dyg, true);
            Conv.backwardWeight(par, simd, g, xg, dyg, dwg, dbg);
            System.arraycopy(dwg, 0, dw, i * g.weightSize(), g.weightSize());
            if (dbg != null) System.arraycopy(dbg, 0, dbias, i * g.k(), g.k());
        }
    }

    /**
     * Copies channels [c0, c0 + cs) of every image of {@code all} [N, channels, plane] to {@code part}
     * [N, cs, plane] ({@code out} true), or back ({@code out} false).
     */
    private static void slice(float[] all, int n, int channels, int plane, int c0, int cs, float[] part, boolean out) {
        for (int i = 0; i < n; i++) {
            int a = (i * channels + c0) * plane, b = i * cs * plane;
            if (out) System.arraycopy(all, a, part, b, cs * plane);
            else System.arraycopy(part, b, all, a, cs * plane);
        }
    }
}
