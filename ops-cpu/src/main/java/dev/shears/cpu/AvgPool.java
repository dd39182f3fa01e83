package dev.shears.cpu;

import dev.shears.core.Pool2dShape;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import static dev.shears.core.reference.ReferenceBackend.avgPoolDivisor;
import static dev.shears.core.reference.ReferenceBackend.colEnd;
import static dev.shears.core.reference.ReferenceBackend.colStart;
import static dev.shears.core.reference.ReferenceBackend.rowEnd;
import static dev.shears.core.reference.ReferenceBackend.rowStart;

/**
 * Average pooling over [N,C,H,W] → [N,C,P,Q] (legend as {@link Pool2dShape}); the divisor of each window is
 * {@link dev.shears.core.reference.ReferenceBackend#avgPoolDivisor}. Planes (N·C) are independent and split across threads.
 *
 * <p>Global pooling (the window is the plane, P = Q = 1: ResNet's and MobileNet's head) is a sum over a
 * contiguous plane, vectorised; its backward fills each dx plane with dy / (H·W). Other windows are scalar
 * loops over the window clipped to the plane, computed once per output: the bounds tests leave the inner loop.
 */
final class AvgPool {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private AvgPool() {}

    private static boolean global(Pool2dShape p) {
        return p.r() == p.h() && p.s() == p.w() && p.padH() == 0 && p.padW() == 0;
    }

    static void forward(Parallel par, boolean simd, Pool2dShape p, boolean includePad, float[] x, float[] y) {
        int H = p.h(), W = p.w(), P = p.p(), Q = p.q(), hw = H * W;
        boolean global = global(p);
        par.parallelFor(0, p.n() * p.c(), Math.max(1, Pointwise.GRAIN / hw), (lo, hi) -> {
            for (int plane = lo; plane < hi; plane++) {
                int xp = plane * hw, yp = plane * P * Q;
                if (global) {
                    y[yp] = sum(simd, x, xp, hw) / hw;
                    continue;
                }
                for (int i = 0; i < P; i++) {
                    int h0 = rowStart(p, i), h1 = rowEnd(p, i);
                    for (int j = 0; j < Q; j++) {
                        int w0 = colStart(p, j), w1 = colEnd(p, j);
                        float sum = 0f;
                        for (int h = h0; h < h1; h++)
                            for (int w = w0; w < w1; w++) sum += x[xp + h * W + w];
                        y[yp + i * Q + j] = sum / avgPoolDivisor(p, includePad, i, j);
                    }
                }
            }
        });
    }

    private static float sum(boolean simd, float[] x, int off, int n) {
        int i = 0;
        float s = 0f;
        if (simd && n >= S.length()) {
            FloatVector acc = FloatVector.zero(S);
            for (int bound = S.loopBound(n); i < bound; i += S.length()) acc = acc.add(FloatVector.fromArray(S, x, off + i));
            s = acc.reduceLanes(VectorOperators.ADD);
        }
        for (; i < n; i++) s += x[off + i];
        return s;
    }

    static void backward(Parallel par, Pool2dShape p, boolean includePad, float[] dy, float[] dx) {
        int H = p.h(), W = p.w(), P = p.p(), Q = p.q(), hw = H * W;
        boolean global = global(p);
        par.parallelFor(0, p.n() * p.c(), Math.max(1, Pointwise.GRAIN / hw), (lo, hi) -> {
            for (int plane = lo; plane < hi; plane++) {
                int xp = plane * hw, yp = plane * P * Q;
                if (global) {
                    java.util.Arrays.fill(dx, xp, xp + hw, dy[yp] / hw);
                    continue;
                }
                java.util.Arrays.fill(dx, xp, xp + hw, 0f);
                for (int i = 0; i < P; i++) {
                    int h0 = rowStart(p, i), h1 = rowEnd(p, i);
                    for (int j = 0; j < Q; j++) {
                        int w0 = colStart(p, j), w1 = colEnd(p, j);
                        float g = dy[yp + i * Q + j] / avgPoolDivisor(p, includePad, i, j);
                        for (int h = h0; h < h1; h++)
                            for (int w = w0; w < w1; w++) dx[xp + h * W + w] += g;
                    }
                }
            }
        });
    }
}
