package dev.shears.cpu;

import dev.shears.core.Conv2dShape;

/**
 * The layouts of the direct convolution ({@link DirectConv}) and the reorders into and out of them. Legend as
 * {@link Conv2dShape}; L = vector lanes = channels per block, Kb = ⌈K / L⌉ blocks of output channels
 * (channels past K are zero), T = C·R·S taps, Hp×Wp = (H + 2·padH)×(W + 2·padW) the padded input.
 * <pre>
 *   padded input   xp[c][hp][wp]      = x[n, c, hp − padH, wp − padW]   (0 in the halo: no edge code)
 *   blocked weight wb[kb][t][l]       = w[kb·L + l][t],  t = (c·R + r)·S + s
 *   blocked output yb[kb][j][l]       = y[n, kb·L + l, j],  j = p·Q + q  (j past P·Q: scratch)
 *   tap offset     tap[t]             = c·Hp·Wp + r·Wp + s
 *   pixel offset   pixel[j]           = p·strideH·Wp + q·strideW
 * </pre>
 * so that xp[tap[t] + pixel[j]] = x[n, c, p·strideH − padH + r, q·strideW − padW + s]: the input under tap t of
 * output pixel j, the sum of two offsets. The input stays planar (NCHW with a halo) rather than blocked: the
 * kernel broadcasts single input values, so channel-blocking it would only pad C = 1 (the first conv, which
 * thus reads the image as it is) up to L.
 */
final class Nchwc {
    static final int L = ConvTile.L;

    private Nchwc() {}

    /** ⌈n / L⌉: blocks of L channels for n channels. */
    static int blocks(int n) { return (n + L - 1) / L; }

    /** n rounded up to a multiple of m. */
    static int roundUp(int n, int m) { return (n + m - 1) / m * m; }

    static int paddedH(Conv2dShape s) { return s.h() + 2 * s.padH(); }

    static int paddedW(Conv2dShape s) { return s.w() + 2 * s.padW(); }

    /** Floats of one padded image: C·Hp·Wp. */
    static int paddedSize(Conv2dShape s) { return s.c() * paddedH(s) * paddedW(s); }

    /** xp = image n of x with its zero halo (see the class comment); xp's first paddedSize(s) floats are written. */
    static void pad(Conv2dShape s, float[] x, int n, float[] xp) {
        int C = s.c(), H = s.h(), W = s.w(), ph = s.padH(), pw = s.padW(), Hp = paddedH(s), Wp = paddedW(s);
        for (int c = 0; c < C; c++) {
            int plane = c * Hp * Wp;
            java.util.Arrays.fill(xp, plane, plane + ph * Wp, 0f);
            for (int h = 0; h < H; h++) {
                int row = plane + (h + ph) * Wp;
                java.util.Arrays.fill(xp, row, row + pw, 0f);
                System.arraycopy(x, ((n * C + c) * H + h) * W, xp, row + pw, W);
                java.util.Arrays.fill(xp, row + pw + W, row + Wp, 0f);
            }
            java.util.Arrays.fill(xp, plane + (H + ph) * Wp, plane + Hp * Wp, 0f);
        }
    }

    /** tap[t] for t &lt; T, then repeats of the last up to a multiple of {@code multiple}. */
    static int[] taps(Conv2dShape s, int multiple) {
        int C = s.c(), R = s.r(), Sk = s.s(), T = C * R * Sk, Hp = paddedH(s), Wp = paddedW(s);
        int[] tap = new int[roundUp(T, multiple)];
        for (int c = 0; c < C; c++)
            for (int r = 0; r < R; r++)
                for (int t = 0; t < Sk; t++) tap[(c * R + r) * Sk + t] = c * Hp * Wp + r * Wp + t;
        java.util.Arrays.fill(tap, T, tap.length, tap[T - 1]);
        return tap;
    }

    /** pixel[j] for j &lt; P·Q, then repeats of the last up to a multiple of {@code multiple}. */
    static int[] pixels(Conv2dShape s, int multiple) {
        int P = s.p(), Q = s.q(), PQ = P * Q, Wp = paddedW(s);
        int[] pixel = new int[roundUp(PQ, multiple)];
        for (int p = 0; p < P; p++)
            for (int q = 0; q < Q; q++) pixel[p * Q + q] = p * s.strideH() * Wp + q * s.strideW();
        java.util.Arrays.fill(pixel, PQ, pixel.length, pixel[PQ - 1]);
        return pixel;
    }

    /** wb[kb][t][l] = w[kb·L + l][t] for w as K rows of T, 0 for rows past K (wb: blocks(K)·T·L floats, all written). */
    static void blockRows(float[] w, int K, int T, float[] wb) {
        java.util.Arrays.fill(wb, 0f);
        for (int k = 0; k < K; k++)
            for (int t = 0; t < T; t++) wb[((k / L) * T + t) * L + k % L] = w[k * T + t];
    }

    /** bb[k] = bias[k] for k &lt; K, 0 up to the end of bb (blocks(K)·L floats); b is unused. */
    static void blockBias(float[] bias, int K, int b, float[] bb) {
        System.arraycopy(bias, 0, bb, 0, K);
        java.util.Arrays.fill(bb, K, bb.length, 0f);
    }

    /**
     * The weights of backward-data as a forward convolution of dy: wb[cb][t'][l] with t' = (k·R + r)·S + s
     * holds w[k, cb·L + l, R−1−r, S−1−s], each L×L block transposed and every kernel flipped.
     */
    static float[] blockFlipped(Conv2dShape s, float[] w) {
        int K = s.k(), C = s.c(), R = s.r(), Sk = s.s(), T = K * R * Sk;
        float[] wb = new float[blocks(C) * T * L];
        for (int k = 0; k < K; k++)
            for (int c = 0; c < C; c++)
                for (int r = 0; r < R; r++)
                    for (int t = 0; t < Sk; t++)
                        wb[((c / L) * T + (k * R + r) * Sk + t) * L + c % L] = w[((k * C + c) * R + R - 1 - r) * Sk + Sk - 1 - t];
        return wb;
    }

    /** yb[kb][j][l] = y[off + (kb·L + l)·PQ + j] for j &lt; PQ (K rows of PQ in y; lanes past K set to 0). */
    static void block(float[] y, int off, int K, int PQ, float[] yb) {
        int Kb = blocks(K);
        for (int kb = 0; kb < Kb; kb++) {
            int base = kb * PQ * L, lanes = Math.min(L, K - kb * L);
            if (lanes < L) java.util.Arrays.fill(yb, base, base + PQ * L, 0f);
            for (int l = 0; l < lanes; l++) {
                int src = off + (kb * L + l) * PQ;
                for (int j = 0; j < PQ; j++) yb[base + j * L + l] = y[src + j];
            }
        }
    }

    /** y[off + k·PQ + j] = yb[(kb·pqStride + j)·L + l] for k = kb·L + l &lt; K, j &lt; PQ: the inverse of block. */
    static void unblock(float[] yb, int pqStride, int K, int PQ, float[] y, int off) {
        for (int k = 0; k < K; k++) {
            int src = (k / L) * pqStride * L + k % L, dst = off + k * PQ;
            for (int j = 0; j < PQ; j++) y[dst + j] = yb[src + j * L];
        }
    }

    /** unblock through {@code epi}: each value plus what y held with {@code add}, then max(·, 0) with {@code relu}. */
    static void unblock(float[] yb, int pqStride, int K, int PQ, Conv.Epilogue epi, float[] y, int off) {
        if (epi == Conv.Epilogue.NONE) { unblock(yb, pqStride, K, PQ, y, off); return; }
        boolean add = epi.add, relu = epi.relu;
        for (int k = 0; k < K; k++) {
            int src = (k / L) * pqStride * L + k % L, dst = off + k * PQ;
            for (int j = 0; j < PQ; j++) {
                float v = yb[src + j * L];
                if (add) v += y[dst + j];
                y[dst + j] = relu ? Math.max(v, 0f) : v;
            }
        }
    }
}
