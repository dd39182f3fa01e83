package dev.shears.cpu;

import dev.shears.core.Conv2dShape;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Depthwise convolution: every filter reads one input channel (C/G = 1; K/G = M filters per channel, M = 1
 * in MobileNet). Legend as {@link Conv2dShape}: filter k reads channel c = k / M, weight w[k, 0, r, s].
 * im2col + GEMM would be a GEMM with an inner dimension of R·S = 9 per filter, all packing and no reuse, so
 * these loops work on planes directly:
 * <pre>
 *   forward:          y[n,k,p,:]  = bias[k] + Σ_rs w[k,r,s] · x[n,c,p·sh−ph+r, (:)·sw−pw+s]     (a row axpy per tap)
 *   backward-data:    dx[n,c,h,:] += w[k,r,s] · dy[n,k,p,:]  at the columns the taps read         (the adjoint)
 *   backward-weight:  dw[k,r,s]   = Σ_n Σ_pq dy[n,k,p,q] · x[n,c,...]                         (a dot per tap)
 * </pre>
 * For each tap (r, s) the output columns q whose input column q·sw − pw + s lies inside [0, W) are one range
 * [qLo, qHi), so the inner loops have no bounds tests; with stride 1 the input columns are contiguous and
 * the loop is vectorised over output columns (the scalar twin beside it). Planes go to threads: (n, k)
 * for forward, (n, c) for backward-data (one writer per dx plane), k for backward-weight (one writer per
 * filter, images in order, so the sums do not depend on the thread count).
 */
final class Depthwise {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();

    private Depthwise() {}

    /** Grouped with one input channel per group; an ordinary convolution of one channel (G = 1) keeps {@link Conv}. */
    static boolean applies(Conv2dShape s) { return s.groups() > 1 && s.cPerGroup() == 1; }

    /** The first output column whose tap s reads inside the row: q·sw − pw + s ≥ 0. */
    private static int qLo(Conv2dShape sh, int s) { return Math.max(0, ceilDiv(sh.padW() - s, sh.strideW())); }

    /** One past the last output column whose tap s reads inside the row: q·sw − pw + s ≤ W − 1. */
    private static int qHi(Conv2dShape sh, int s) {
        int last = sh.w() - 1 + sh.padW() - s;
        return last < 0 ? 0 : Math.min(sh.q(), last / sh.strideW() + 1);
    }

    private static int ceilDiv(int a, int b) { return a <= 0 ? -((-a) / b) : (a + b - 1) / b; }

    static void forward(Parallel par, boolean simd, Conv2dShape sh, float[] x, float[] w, float[] bias, float[] y) {
        int K = sh.k(), M = sh.kPerGroup(), H = sh.h(), W = sh.w(), P = sh.p(), Q = sh.q(), R = sh.r(), Sz = sh.s();
        int grain = Math.max(1, Pointwise.GRAIN / Math.max(1, P * Q * R * Sz));
        par.parallelFor(0, sh.n() * K, grain, (lo, hi) -> {
            for (int plane = lo; plane < hi; plane++) {
                int n = plane / K, k = plane % K, c = k / M;
                int xPlane = (n * sh.c() + c) * H * W, yPlane = plane * P * Q, wk = k * R * Sz;
                java.util.Arrays.fill(y, yPlane, yPlane + P * Q, bias == null ? 0f : bias[k]);
                for (int p = 0; p < P; p++) {
                    int yRow = yPlane + p * Q;
                    for (int r = 0; r < R; r++) {
                        int h = p * sh.strideH() - sh.padH() + r;
                        if (h < 0 || h >= H) continue;
                        for (int s = 0; s < Sz; s++) {
                            int q0 = qLo(sh, s), q1 = qHi(sh, s);
                            int xCol = xPlane + h * W - sh.padW() + s;   // input column of output q: xCol + q·sw
                            axpy(simd, sh.strideW(), w[wk + r * Sz + s], x, xCol, y, yRow, q0, q1);
                        }
                    }
                }
            }
        });
    }

    /** y[yOff + q] += a · x[xOff + q·stride] for q in [q0, q1). */
    private static void axpy(boolean simd, int stride, float a, float[] x, int xOff, float[] y, int yOff, int q0, int q1) {
        int q = q0;
        if (simd && stride == 1) {
            FloatVector av = FloatVector.broadcast(S, a);
            for (int bound = q0 + S.loopBound(q1 - q0); q < bound; q += L)
                FloatVector.fromArray(S, x, xOff + q).fma(av, FloatVector.fromArray(S, y, yOff + q)).intoArray(y, yOff + q);
        }
        for (; q < q1; q++) y[yOff + q] = Math.fma(a, x[xOff + q * stride], y[yOff + q]);
    }

    static void backwardData(Parallel par, boolean simd, Conv2dShape sh, float[] dy, float[] w, float[] dx) {
        int C = sh.c(), K = sh.k(), M = sh.kPerGroup(), H = sh.h(), W = sh.w(), P = sh.p(), Q = sh.q(), R = sh.r(), Sz = sh.s();
        int grain = Math.max(1, Pointwise.GRAIN / Math.max(1, M * P * Q * R * Sz));
        par.parallelFor(0, sh.n() * C, grain, (lo, hi) -> {
            for (int plane = lo; plane < hi; plane++) {
                int n = plane / C, c = plane % C, dxPlane = plane * H * W;
                java.util.Arrays.fill(dx, dxPlane, dxPlane + H * W, 0f);
                for (int k = c * M; k < (c + 1) * M; k++) {
                    int dyPlane = (n * K + k) * P * Q, wk = k * R * Sz;
                    for (int p = 0; p < P; p++)
                        for (int r = 0; r < R; r++) {
                            int h = p * sh.strideH() - sh.padH() + r;
                            if (h < 0 || h >= H) continue;
                            for (int s = 0; s < Sz; s++) {
                                int q0 = qLo(sh, s), q1 = qHi(sh, s);
                                int dxCol = dxPlane + h * W - sh.padW() + s;
                                scatter(simd, sh.strideW(), w[wk + r * Sz + s], dy, dyPlane + p * Q, dx, dxCol, q0, q1);
                            }
                        }
                }
            }
        });
    }

    /** dx[dxOff + q·stride] += a · dy[dyOff + q] for q in [q0, q1): axpy's adjoint. */
    private static void scatter(boolean simd, int stride, float a, float[] dy, int dyOff, float[] dx, int dxOff, int q0, int q1) {
        int q = q0;
        if (simd && stride == 1) {
            FloatVector av = FloatVector.broadcast(S, a);
            for (int bound = q0 + S.loopBound(q1 - q0); q < bound; q += L)
                FloatVector.fromArray(S, dy, dyOff + q).fma(av, FloatVector.fromArray(S, dx, dxOff + q)).intoArray(dx, dxOff + q);
        }
        for (; q < q1; q++) dx[dxOff + q * stride] = Math.fma(a, dy[dyOff + q], dx[dxOff + q * stride]);
    }

    static void backwardWeight(Parallel par, boolean simd, Conv2dShape sh, float[] x, float[] dy, float[] dw, float[] dbias) {
        int C = sh.c(), K = sh.k(), M = sh.kPerGroup(), H = sh.h(), W = sh.w(), P = sh.p(), Q = sh.q(), R = sh.r(), Sz = sh.s();
        par.parallelFor(0, K, (lo, hi) -> {
            for (int k = lo; k < hi; k++) {
                int c = k / M, wk = k * R * Sz;
                double bsum = 0;
                for (int t = 0; t < R * Sz; t++) dw[wk + t] = 0f;
                for (int n = 0; n < sh.n(); n++) {
                    int xPlane = (n * C + c) * H * W, dyPlane = (n * K + k) * P * Q;
                    if (dbias != null) for (int i = 0; i < P * Q; i++) bsum += dy[dyPlane + i];
                    for (int r = 0; r < R; r++)
                        for (int s = 0; s < Sz; s++) {
                            int q0 = qLo(sh, s), q1 = qHi(sh, s);
                            float acc = 0f;
                            for (int p = 0; p < P; p++) {
                                int h = p * sh.strideH() - sh.padH() + r;
                                if (h < 0 || h >= H) continue;
                                acc += dot(simd, sh.strideW(), dy, dyPlane + p * Q, x, xPlane + h * W - sh.padW() + s, q0, q1);
                            }
                            dw[wk + r * Sz + s] += acc;
                        }
                }
                if (dbias != null) dbias[k] = (float) bsum;
            }
        });
    }

    /** Σ_q dy[dyOff + q] · x[xOff + q·stride] for q in [q0, q1). */
    private static float dot(boolean simd, int stride, float[] dy, int dyOff, float[] x, int xOff, int q0, int q1) {
        int q = q0;
        float sum = 0f;
        if (simd && stride == 1 && q1 - q0 >= L) {
            FloatVector acc = FloatVector.zero(S);
            for (int bound = q0 + S.loopBound(q1 - q0); q < bound; q += L)
                acc = FloatVector.fromArray(S, dy, dyOff + q).fma(FloatVector.fromArray(S, x, xOff + q), acc);
            sum = acc.reduceLanes(VectorOperators.ADD);
        }
        for (; q < q1; q++) sum = Math.fma(dy[dyOff + q], x[xOff + q * stride], sum);
        return sum;
    }
}
