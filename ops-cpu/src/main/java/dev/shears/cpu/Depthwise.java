package dev.shears.cpu;

import dev.shears.core.Conv2dShape;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * Depthwise convolution: every filter reads one input channel (C/G = 1; K/G = M filters per channel, M = 1
 * in MobileNet). Legend as {@link Conv2dShape}: filter k reads channel c = k / M, weight w[k, 0, r, s].
 * im2col + GEMM would be a GEMM with an inner dimension of R·S = 9 per filter, all packing and no reuse, so
 * these loops work on planes directly, vectorised over output columns q.
 *
 * <p>The layout trick: each input plane is first copied into a zero-padded plane of (H + 2·padH) rows,
 * split by column into strideW phases, phase t holding padded columns t, t + sw, t + 2·sw, ... Output
 * column q's tap s then reads phase s mod sw at column q + s / sw: for every stride, the R·S taps of a run of
 * output columns are contiguous loads, with no bounds tests (the padding is real zeros).
 * <pre>
 *   phases[t][h][u] = x[c, h − padH, u·sw + t − padW]   (0 outside)
 *   forward:         y[n,k,p,q]   = bias[k] + Σ_rs w[k,r,s] · phases[s % sw][p·sh + r][q + s / sw]
 *   backward-data:   dphases[..]  += w[k,r,s] · dy[n,k,p,q]  (the same addresses), then dx = the interior;
 *                    at stride 1 instead a forward pass over dy padded by R−1−padH, S−1−padW with the
 *                    kernel flipped ({@link #backwardDataGather})
 *   backward-weight: dw[k,r,s]    = Σ_n Σ_pq dy[n,k,p,q] · phases[s % sw][p·sh + r][q + s / sw]
 * </pre>
 * Threads take (n, c) planes for forward and backward-data (one writer per y and dx plane) and channels for
 * backward-weight (one writer per filter, images in order: sums do not depend on the thread count). Each
 * output vector is loaded and stored once per plane, the R·S taps accumulating in a register.
 */
final class Depthwise {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();

    private Depthwise() {}

    /** Grouped with one input channel per group; an ordinary convolution of one channel (G = 1) keeps {@link Conv}. */
    static boolean applies(Conv2dShape s) { return s.groups() > 1 && s.cPerGroup() == 1; }

    /** Sizes of the phase planes: rows of the padded plane, and columns per phase. */
    private record Phases(int rows, int cols, int stride) {
        static Phases of(Conv2dShape sh) {
            int wp = sh.w() + 2 * sh.padW();
            return new Phases(sh.h() + 2 * sh.padH(), (wp + sh.strideW() - 1) / sh.strideW(), sh.strideW());
        }
        int size() { return stride * rows * cols; }

        /** Where tap t = r·S + s of output (0, 0) reads; output row p reads {@link #rowStep}·p further. */
        int[] taps(Conv2dShape sh) {
            int[] at = new int[sh.r() * sh.s()];
            for (int r = 0; r < sh.r(); r++)
                for (int s = 0; s < sh.s(); s++) at[r * sh.s() + s] = ((s % stride) * rows + r) * cols + s / stride;
            return at;
        }

        int rowStep(Conv2dShape sh) { return sh.strideH() * cols; }
    }

    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[1][0]);

    private static float[] scratch(int length) {
        float[][] holder = SCRATCH.get();
        if (holder[0].length < length) holder[0] = new float[length];
        return holder[0];
    }

    /** phases := plane {@code xOff} of x, zero-padded and split by column phase. */
    private static void toPhases(Conv2dShape sh, Phases ph, float[] x, int xOff, float[] phases) {
        toPhases(sh, ph, x, xOff, phases, 0);
    }

    /** The same into phases[pOff ..]. */
    private static void toPhases(Conv2dShape sh, Phases ph, float[] x, int xOff, float[] phases, int pOff) {
        java.util.Arrays.fill(phases, pOff, pOff + ph.size(), 0f);
        movePhases(sh, ph, x, xOff, phases, pOff, true);
    }

    /**
     * Copies between plane {@code xOff} of x and the interior of the phase planes: into the phases with
     * {@code in}, else back out. Input column w sits in phase (w + padW) mod sw at (w + padW) / sw; per
     * phase t the columns w = u·sw + t − padW step by sw.
     */
    private static void movePhases(Conv2dShape sh, Phases ph, float[] x, int xOff, float[] phases, int pOff, boolean in) {
        int sw = ph.stride(), W = sh.w();
        for (int h = 0; h < sh.h(); h++)
            for (int t = 0; t < sw; t++) {
                int u0 = Math.max(0, (sh.padW() - t + sw - 1) / sw);                  // first u with w >= 0
                int dst = pOff + (t * ph.rows() + h + sh.padH()) * ph.cols(), src = xOff + h * W;
                if (sw == 1) {
                    if (in) System.arraycopy(x, src, phases, dst + sh.padW(), W);
                    else System.arraycopy(phases, dst + sh.padW(), x, src, W);
                    continue;
                }
                for (int u = u0, w = u0 * sw + t - sh.padW(); w < W; u++, w += sw)
                    if (in) phases[dst + u] = x[src + w];
                    else x[src + w] = phases[dst + u];
            }
    }

    static void forward(Parallel par, boolean simd, Conv2dShape sh, float[] x, float[] w, float[] bias, float[] y) {
        Plan plan = Plan.of(sh);
        int grain = Math.max(1, Pointwise.GRAIN / Math.max(1, sh.kPerGroup() * sh.p() * sh.q() * sh.r() * sh.s()));
        if (!par.splits(0, sh.n() * sh.c(), grain)) {            // no body object to make
            forwardPlanes(simd, sh, plan, x, w, bias, y, 0, sh.n() * sh.c());
            return;
        }
        Forward body = FORWARD.get();
        body.set(simd, sh, plan, x, w, bias, y);
        try {
            par.parallelFor(0, sh.n() * sh.c(), grain, body);
        } finally {
            body.set(false, null, null, null, null, null, null);   // keeps no arrays alive
        }
    }

    /** forward's parallel body: one per calling thread, reused, so that a call allocates nothing. */
    private static final class Forward implements Parallel.Range {
        boolean simd;
        Conv2dShape sh;
        Plan plan;
        float[] x, w, bias, y;

        void set(boolean simd, Conv2dShape sh, Plan plan, float[] x, float[] w, float[] bias, float[] y) {
            this.simd = simd; this.sh = sh; this.plan = plan; this.x = x; this.w = w; this.bias = bias; this.y = y;
        }

        @Override public void run(int lo, int hi) { forwardPlanes(simd, sh, plan, x, w, bias, y, lo, hi); }
    }

    private static final ThreadLocal<Forward> FORWARD = ThreadLocal.withInitial(Forward::new);

    /**
     * A shape's phases and taps, kept per calling thread for the last few shapes (a compiled predictor passes
     * the same shape objects every call): the forward pass then allocates nothing.
     */
    private record Plan(Conv2dShape shape, Phases ph, int[] taps) {
        private static final int KEPT = 16;
        private static final ThreadLocal<Plan[]> KEPT_PLANS = ThreadLocal.withInitial(() -> new Plan[KEPT]);

        static Plan of(Conv2dShape sh) {
            Plan[] kept = KEPT_PLANS.get();
            for (Plan p : kept) if (p != null && (p.shape == sh || p.shape.equals(sh))) return p;
            Phases ph = Phases.of(sh);
            Plan p = new Plan(sh, ph, ph.taps(sh));
            System.arraycopy(kept, 0, kept, 1, KEPT - 1);   // the oldest goes
            kept[0] = p;
            return p;
        }
    }

    /** Output planes (n, c) in [lo, hi): y[n, k] for the M filters k of channel c. */
    private static void forwardPlanes(boolean simd, Conv2dShape sh, Plan plan, float[] x, float[] w, float[] bias, float[] y,
                                      int lo, int hi) {
        int C = sh.c(), M = sh.kPerGroup(), P = sh.p(), Q = sh.q(), R = sh.r(), Sz = sh.s(), hw = sh.h() * sh.w();
        Phases ph = plan.ph;
        int[] taps = plan.taps;
        int step = ph.rowStep(sh), rs = R * Sz;
        float[] phases = scratch(ph.size());
        for (int plane = lo; plane < hi; plane++) {
            toPhases(sh, ph, x, plane * hw, phases);
            for (int k = plane % C * M, kEnd = k + M; k < kEnd; k++) {
                int yPlane = ((plane / C) * sh.k() + k) * P * Q, wk = k * R * Sz;
                float b = bias == null ? 0f : bias[k];
                for (int p = 0; p < P; p++) {
                    int q = 0, row = p * step;
                    if (simd)
                        for (; q < Q; q += L) {
                            VectorMask<Float> m = S.indexInRange(q, Q);
                            FloatVector acc = FloatVector.broadcast(S, b);
                            for (int t = 0; t < rs; t++)
                                acc = FloatVector.fromArray(S, phases, taps[t] + row + q, m).fma(FloatVector.broadcast(S, w[wk + t]), acc);
                            acc.intoArray(y, yPlane + p * Q + q, m);
                        }
                    for (; q < Q; q++) {
                        float acc = b;
                        for (int t = 0; t < rs; t++) acc = Math.fma(phases[taps[t] + row + q], w[wk + t], acc);
                        y[yPlane + p * Q + q] = acc;
                    }
                }
            }
        }
    }

    static void backwardData(Parallel par, boolean simd, Conv2dShape sh, float[] dy, float[] w, float[] dx) {
        if (sh.strideH() == 1 && sh.strideW() == 1 && sh.padH() < sh.r() && sh.padW() < sh.s()) {
            backwardDataGather(par, simd, sh, dy, w, dx);
            return;
        }
        int C = sh.c(), M = sh.kPerGroup(), P = sh.p(), Q = sh.q(), R = sh.r(), Sz = sh.s(), H = sh.h(), W = sh.w();
        Phases ph = Phases.of(sh);
        int[] taps = ph.taps(sh);
        int step = ph.rowStep(sh), rs = R * Sz;
        int grain = Math.max(1, Pointwise.GRAIN / Math.max(1, M * P * Q * R * Sz));
        par.parallelFor(0, sh.n() * C, grain, (lo, hi) -> {
            float[] dphases = scratch(ph.size());
            for (int plane = lo; plane < hi; plane++) {
                java.util.Arrays.fill(dphases, 0, ph.size(), 0f);
                for (int k = plane % C * M, kEnd = k + M; k < kEnd; k++) {
                    int dyPlane = ((plane / C) * sh.k() + k) * P * Q, wk = k * R * Sz;
                    for (int p = 0; p < P; p++)
                        for (int t = 0; t < rs; t++) {
                                float a = w[wk + t];
                                int at = taps[t] + p * step, q = 0;
                                if (simd) {
                                    FloatVector av = FloatVector.broadcast(S, a);
                                    for (; q < Q; q += L) {
                                        VectorMask<Float> m = S.indexInRange(q, Q);
                                        FloatVector.fromArray(S, dy, dyPlane + p * Q + q, m)
                                                .fma(av, FloatVector.fromArray(S, dphases, at + q, m)).intoArray(dphases, at + q, m);
                                    }
                                }
                                for (; q < Q; q++) dphases[at + q] = Math.fma(dy[dyPlane + p * Q + q], a, dphases[at + q]);
                        }
                }
                movePhases(sh, ph, dx, plane * H * W, dphases, 0, false);   // the interior, back from the phases
            }
        });
    }

    /**
     * Backward-data at stride 1 as a forward pass: dx[n,c,h,w] = Σ_{k of c} Σ_rs w[k, R−1−r, S−1−s] ·
     * dyPad[n,k,h+r,w+s], dy zero-padded by R−1−padH rows and S−1−padW columns (the transposed convolution),
     * so each dx vector is loaded and stored once, like {@link #forward}'s y, instead of once per tap.
     */
    private static void backwardDataGather(Parallel par, boolean simd, Conv2dShape sh, float[] dy, float[] w, float[] dx) {
        int C = sh.c(), M = sh.kPerGroup(), P = sh.p(), Q = sh.q(), R = sh.r(), Sz = sh.s(), H = sh.h(), W = sh.w(), rs = R * Sz;
        Conv2dShape t = new Conv2dShape(1, 1, P, Q, 1, R, Sz, 1, 1, R - 1 - sh.padH(), Sz - 1 - sh.padW());   // its P×Q is H×W
        Phases ph = Phases.of(t);
        int[] taps = ph.taps(t);
        int step = ph.rowStep(t), size = ph.size();
        int grain = Math.max(1, Pointwise.GRAIN / Math.max(1, M * H * W * rs));
        par.parallelFor(0, sh.n() * C, grain, (lo, hi) -> {
            float[] pads = scratch(M * size);
            for (int plane = lo; plane < hi; plane++) {
                int k0 = plane % C * M, dxPlane = plane * H * W;
                for (int m = 0; m < M; m++) toPhases(t, ph, dy, ((plane / C) * sh.k() + k0 + m) * P * Q, pads, m * size);
                for (int h = 0; h < H; h++) {
                    int x = 0, row = h * step;
                    if (simd)
                        for (; x < W; x += L) {
                            VectorMask<Float> mask = S.indexInRange(x, W);
                            FloatVector acc = FloatVector.zero(S);
                            for (int m = 0; m < M; m++)
                                for (int tap = 0; tap < rs; tap++)
                                    acc = FloatVector.fromArray(S, pads, m * size + taps[tap] + row + x, mask)
                                            .fma(FloatVector.broadcast(S, w[(k0 + m) * rs + rs - 1 - tap]), acc);
                            acc.intoArray(dx, dxPlane + h * W + x, mask);
                        }
                    for (; x < W; x++) {
                        float acc = 0f;
                        for (int m = 0; m < M; m++)
                            for (int tap = 0; tap < rs; tap++) acc = Math.fma(pads[m * size + taps[tap] + row + x], w[(k0 + m) * rs + rs - 1 - tap], acc);
                        dx[dxPlane + h * W + x] = acc;
                    }
                }
            }
        });
    }

    static void backwardWeight(Parallel par, boolean simd, Conv2dShape sh, float[] x, float[] dy, float[] dw, float[] dbias) {
        int C = sh.c(), M = sh.kPerGroup(), P = sh.p(), Q = sh.q(), R = sh.r(), Sz = sh.s(), hw = sh.h() * sh.w();
        Phases ph = Phases.of(sh);
        int[] taps = ph.taps(sh);
        int step = ph.rowStep(sh), rs = R * Sz;
        par.parallelFor(0, C, (lo, hi) -> {
            float[] phases = scratch(ph.size());
            for (int c = lo; c < hi; c++) {
                for (int k = c * M; k < (c + 1) * M; k++) {
                    java.util.Arrays.fill(dw, k * rs, (k + 1) * rs, 0f);
                    if (dbias != null) dbias[k] = 0f;
                }
                for (int n = 0; n < sh.n(); n++) {
                    toPhases(sh, ph, x, (n * C + c) * hw, phases);
                    for (int k = c * M; k < (c + 1) * M; k++) {
                        int dyPlane = (n * sh.k() + k) * P * Q;
                        if (dbias != null) dbias[k] += tapSum(simd, dy, dyPlane, P, Q, null, 0, 0);
                        for (int t = 0; t < rs; t++) dw[k * rs + t] += tapSum(simd, dy, dyPlane, P, Q, phases, taps[t], step);
                    }
                }
            }
        });
    }

    /**
     * Σ_p Σ_q dy[dyOff + p·Q + q] · phases[at + p·step + q] over a P×Q plane (with {@code phases} null, the plain
     * sum of dy): one vector accumulator over the whole plane, masked at each row's end, reduced once.
     */
    private static float tapSum(boolean simd, float[] dy, int dyOff, int P, int Q, float[] phases, int at, int step) {
        if (simd) {
            FloatVector acc = FloatVector.zero(S);
            for (int p = 0; p < P; p++)
                for (int q = 0; q < Q; q += L) {
                    VectorMask<Float> m = S.indexInRange(q, Q);
                    FloatVector g = FloatVector.fromArray(S, dy, dyOff + p * Q + q, m);
                    acc = phases == null ? acc.add(g) : g.fma(FloatVector.fromArray(S, phases, at + p * step + q, m), acc);
                }
            return Lanes.sum(acc);   // one fixed order: reduceLanes(ADD) differs interpreted and compiled (see Lanes)
        }
        float sum = 0f;
        for (int p = 0; p < P; p++)
            if (phases == null) for (int q = 0; q < Q; q++) sum += dy[dyOff + p * Q + q];
            else for (int q = 0; q < Q; q++) sum = Math.fma(dy[dyOff + p * Q + q], phases[at + p * step + q], sum);
        return sum;
    }
}
