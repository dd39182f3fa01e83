package dev.shears.cpu;

import dev.shears.core.Pool2dShape;
import jdk.incubator.vector.FloatVector;
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
 * contiguous plane, vectorised; its backward fills each dx plane with dy / (H·W). Other windows are
 * separable: per output row i, the window's input rows are first added column by column into one row
 * (vectorised over W), and each output then sums S values of that row, R times fewer scalar adds than the
 * window itself. The backward pass runs the same two steps in reverse: each output row's gradients are
 * spread over one row, which is then added to every input row of the window.
 */
final class AvgPool {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private AvgPool() {}

    private static boolean global(Pool2dShape p) {
        return p.r() == p.h() && p.s() == p.w() && p.padH() == 0 && p.padW() == 0;
    }

    static void forward(Parallel par, boolean simd, Pool2dShape p, boolean includePad, float[] x, float[] y) {
        int planes = p.n() * p.c(), grain = Math.max(1, Pointwise.GRAIN / (p.h() * p.w()));
        if (!par.splits(0, planes, grain)) {   // no body object to make (a compiled predictor's call allocates nothing)
            forwardPlanes(simd, p, includePad, x, y, 0, planes);
            return;
        }
        par.parallelFor(0, planes, grain, (lo, hi) -> forwardPlanes(simd, p, includePad, x, y, lo, hi));
    }

    /** forward's loop over planes [lo, hi). */
    private static void forwardPlanes(boolean simd, Pool2dShape p, boolean includePad, float[] x, float[] y, int lo, int hi) {
        int H = p.h(), W = p.w(), P = p.p(), Q = p.q(), hw = H * W;
        boolean global = global(p);
        {
            for (int plane = lo; plane < hi; plane++) {
                int xp = plane * hw, yp = plane * P * Q;
                if (global) {
                    y[yp] = sum(simd, x, xp, hw) / hw;
                    continue;
                }
                float[] row = scratch(W);
                for (int i = 0; i < P; i++) {
                    int h0 = rowStart(p, i), h1 = rowEnd(p, i);
                    System.arraycopy(x, xp + h0 * W, row, 0, W);
                    for (int h = h0 + 1; h < h1; h++) add(simd, x, xp + h * W, row, 0, W);
                    for (int j = 0; j < Q; j++) {
                        float sum = 0f;
                        for (int w = colStart(p, j), w1 = colEnd(p, j); w < w1; w++) sum += row[w];
                        y[yp + i * Q + j] = sum / avgPoolDivisor(p, includePad, i, j);
                    }
                }
            }
        }
    }

    /** dst[dOff + i] += src[sOff + i] for i &lt; n. */
    private static void add(boolean simd, float[] src, int sOff, float[] dst, int dOff, int n) {
        int i = 0;
        if (simd)
            for (int bound = S.loopBound(n); i < bound; i += S.length())
                FloatVector.fromArray(S, src, sOff + i).add(FloatVector.fromArray(S, dst, dOff + i)).intoArray(dst, dOff + i);
        for (; i < n; i++) dst[dOff + i] += src[sOff + i];
    }

    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[1][0]);

    /** This thread's row of at least {@code n} floats (contents unspecified). */
    private static float[] scratch(int n) {
        float[][] holder = SCRATCH.get();
        if (holder[0].length < n) holder[0] = new float[n];
        return holder[0];
    }

    private static float sum(boolean simd, float[] x, int off, int n) {
        int i = 0;
        float s = 0f;
        if (simd && n >= S.length()) {
            FloatVector acc = FloatVector.zero(S);
            for (int bound = S.loopBound(n); i < bound; i += S.length()) acc = acc.add(FloatVector.fromArray(S, x, off + i));
            s = Lanes.sum(acc);   // one fixed order: reduceLanes(ADD) differs interpreted and compiled (see Lanes)
        }
        for (; i < n; i++) s += x[off + i];
        return s;
    }

    static void backward(Parallel par, boolean simd, Pool2dShape p, boolean includePad, float[] dy, float[] dx) {
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
                float[] row = scratch(W);
                for (int i = 0; i < P; i++) {
                    java.util.Arrays.fill(row, 0, W, 0f);
                    for (int j = 0; j < Q; j++) {
                        float g = dy[yp + i * Q + j] / avgPoolDivisor(p, includePad, i, j);
                        for (int w = colStart(p, j), w1 = colEnd(p, j); w < w1; w++) row[w] += g;
                    }
                    for (int h = rowStart(p, i), h1 = rowEnd(p, i); h < h1; h++) add(simd, row, 0, dx, xp + h * W, W);
                }
            }
        });
    }
}
