package dev.shears.cpu;

import dev.shears.core.reference.ReferenceBackend;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Max-pooling over [N,C,H,W] → [N,C,P,Q] with an R×S window; argmax[o] is the flat index h·W + w of the
 * winner inside its input plane (the first on ties; a NaN wins, as in PyTorch).
 *
 * <p>Planes (N·C of them) are independent and split across threads. The general kernel is scalar; the
 * SimpleCNN case (2×2, stride 2, no padding) has a SIMD kernel: two input rows are loaded as 2·L floats
 * each, the even and odd lanes are separated with a two-vector rearrange (the deinterleave), and the four
 * candidates are compared in the window's scan order, so ties and NaNs resolve exactly as the scalar loop.
 */
final class Pool {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final VectorSpecies<Integer> SI = IntVector.SPECIES_PREFERRED;
    static final int L = S.length();
    /** Lane i of the result takes lane 2i of (v1 ++ v2): the even elements; EVEN shifted by one: the odd. */
    private static final VectorShuffle<Float> EVEN = VectorShuffle.fromOp(S, i -> 2 * i);
    private static final VectorShuffle<Float> ODD = VectorShuffle.fromOp(S, i -> 2 * i + 1);

    private Pool() {}

    static void forward(Parallel par, boolean simd, dev.shears.core.Pool2dShape p, float[] x, float[] y, int[] argmax) {
        par.parallelFor(0, p.n() * p.c(), Math.max(1, Pointwise.GRAIN / (p.h() * p.w())), (lo, hi) ->
                forwardPlanes(simd, p, x, y, argmax, lo, hi));
    }

    /** {@link #forward} of planes [lo, hi). */
    static void forwardPlanes(boolean simd, dev.shears.core.Pool2dShape p, float[] x, float[] y, int[] argmax, int lo, int hi) {
        int H = p.h(), W = p.w(), P = p.p(), Q = p.q();
        boolean fast = fast2x2(simd, p) && S.length() == SI.length();
        if (fast && HALF != null && Q <= L && 4 * Q > L && H == 2 * P) {
            maxArg2x2(x, lo * H * W, hi - lo, W, P, Q, y, argmax, lo * P * Q);
            return;
        }
        for (int plane = lo; plane < hi; plane++) {
            int xOff = plane * H * W, oOff = plane * P * Q;
            for (int i = 0; i < P; i++) {
                int j = 0;
                if (fast) j = rowSimd2x2(x, xOff, W, i, Q, y, argmax, oOff + i * Q);
                for (; j < Q; j++) ReferenceBackend.maxPoolWindow(p, x, xOff, i, j, y, argmax, oOff + i * Q + j);
            }
        }
    }

    /**
     * y alone, for inference ({@link dev.shears.core.Backend#maxPool2dForwardValues}): in the 2×2/stride-2
     * case the two input rows are first reduced to their lane-wise max, then even and odd lanes are
     * separated and compared once, a third of the work of the arg-max kernel and no int array. Lane-wise
     * max lets a NaN win, as the scalar window does; of −0 and +0 it may keep either.
     */
    static void forwardValues(Parallel par, boolean simd, dev.shears.core.Pool2dShape p, float[] x, float[] y) {
        if (!fast2x2(simd, p)) {
            forward(par, simd, p, x, y, new int[p.outputSize()]);
            return;
        }
        int planes = p.n() * p.c(), H = p.h(), W = p.w(), P = p.p(), Q = p.q();
        Values body = VALUES.get();
        body.set(x, y, H, W, P, Q);
        try {
            par.parallelFor(0, planes, Math.max(1, Pointwise.GRAIN / (H * W)), body);
        } finally {
            body.set(null, null, 0, 0, 0, 0);
        }
    }

    /**
     * {@link #forwardValues}' parallel body over planes, one per calling thread, reused (a lambda capturing
     * the arguments was 40 bytes of a compiled predictor's call); the workers read the fields the caller set.
     */
    private static final class Values implements Parallel.Range {
        float[] x, y;
        int H, W, P, Q;

        void set(float[] x, float[] y, int H, int W, int P, int Q) {
            this.x = x; this.y = y; this.H = H; this.W = W; this.P = P; this.Q = Q;
        }

        @Override public void run(int lo, int hi) { max2x2(x, lo * H * W, hi - lo, H, W, P, Q, y, lo * P * Q); }
    }

    private static final ThreadLocal<Values> VALUES = ThreadLocal.withInitial(Values::new);

    /** Whether {@link #max2x2} applies to p: a 2×2 window, stride 2, no padding, SIMD on. */
    static boolean fast2x2(boolean simd, dev.shears.core.Pool2dShape p) {
        return simd && p.r() == 2 && p.s() == 2 && p.strideH() == 2 && p.strideW() == 2 && p.padH() == 0 && p.padW() == 0;
    }

    /** Half a vector of ints: a vector of longs narrowed to their low halves (see {@link #max2x2}). */
    private static final VectorSpecies<Integer> HALF = S.vectorBitSize() >= 128
            ? VectorSpecies.of(int.class, VectorShape.forBitSize(S.vectorBitSize() / 2)) : null;

    /**
     * The first L/2 lanes: the narrowed floats are stored from a full-width vector (longs narrowed into the low
     * half of {@link #SI}, the rest zero) under this mask, never from a half-width FloatVector. A Float256Vector
     * stored here made FloatVector.intoArray's receiver profile bimorphic (about half the calls each); C2 reads
     * that profile where a kernel's own profile is missing (compiled from C1's tier 2, which does not profile),
     * and ConvTile.tile4's 24 stores then lost their constant species: every intrinsic failed and the tile ran
     * the Java fallback, 3.6 GB per probe window (docs/performance.md, 2026-12-07, tile4).
     */
    private static final VectorMask<Float> FIRST_HALF = S.indexInRange(0, L / 2);

    /**
     * The 2×2/stride-2 values kernel over {@code planes} consecutive H×W planes from x[xOff] into P×Q planes
     * at y[yOff]. When a row of outputs fills more than half a step but not more than one (L/2 &lt; Q ≤ L:
     * SimpleCNN's first pool, Q = 14) and H is even, all the planes' rows are one sequence, 2·W input
     * columns apart, and each row is one step: L outputs from 2·L columns of its two input rows. The rows'
     * lane-wise max, then each pair of neighbouring lanes read as one long: shifted right by 32 bits, its odd
     * float lands on the even one, a max leaves the pair's max in the even lane, and narrowing the longs to
     * ints keeps exactly the even lanes (three instructions; the two-vector even/odd shuffle took about 25
     * cycles per step). The lanes past a row read whatever follows it in x and write garbage into y's next
     * outputs, which the next rows, in order, overwrite; the last rows of the call, whose step would read
     * past x or write past the call's outputs, are masked. A pruned conv1's 13 maps (28×28, in L1), one
     * thread: 1.8 µs masked row by row, 0.5 µs this way.
     *
     * <p>Rows of L/4 &lt; Q ≤ L/2 outputs (SimpleCNN's second pool, Q = 7) take a step of half the width: one
     * vector of each input row, L/2 outputs. Measured in the network (the demo's sparse model and its cut,
     * SimpleCNN's blocks timed one by one, one thread, base and this alternating): conv2 with its pooling and
     * ReLU at batch 1 8.6–9.2 → 7.2–8.0 µs pruned (15 maps), 56–60 → 48–52 µs unpruned; at batch 64 457–483 →
     * 383–389 µs and 3.30–3.60 → 3.05–3.06 ms; these include the faster {@link Conv#shiftPlanes} (0.6 of the
     * pruned block's 1.5 µs at batch 1, 1.2 of the unpruned one's). An earlier attempt at this had slowed the
     * unpruned block at batch 64 (3.3 → 3.9 ms) for a reason not found; this one does not. Shorter rows take
     * the masked kernel.
     */
    static void max2x2(float[] x, int xOff, int planes, int H, int W, int P, int Q, float[] y, int yOff) {
        boolean half = 2 * Q <= L;   // a step of one input vector per row (L/2 outputs), for L/4 < Q ≤ L/2
        if (HALF == null || Q > L || 4 * Q <= L || H != 2 * P) {
            max2x2Masked(x, xOff, planes, H, W, P, Q, y, yOff);
            return;
        }
        int rows = planes * P, end = yOff + rows * Q, fast = rows, read = half ? L : 2 * L, written = half ? L / 2 : L;
        while (fast > 0 && (yOff + (fast - 1) * Q + written > end || xOff + (2 * fast - 1) * W + read > x.length)) fast--;
        if (half) halfRows(x, xOff, W, Q, fast, y, yOff);
        else wholeRows(x, xOff, W, Q, fast, y, yOff);
        // the last rows: masked, with the two-vector shuffle. In this method, not a call to max2x2Masked: a
        // method with vector code that runs only a few times per call can stay in the JIT's C1 tiers, where
        // every vector op allocates (a convolution kernel split that way ran 30 times slower in some runs)
        VectorMask<Float> lo = S.indexInRange(0, 2 * Q), hi = S.indexInRange(L, 2 * Q), out = S.indexInRange(0, Q);
        for (int row = fast; row < rows; row++) {
            int top = xOff + 2 * row * W, bottom = top + W, o = yOff + row * Q;
            FloatVector m0 = FloatVector.fromArray(S, x, top, lo).max(FloatVector.fromArray(S, x, bottom, lo));
            FloatVector m1 = FloatVector.fromArray(S, x, top + L, hi).max(FloatVector.fromArray(S, x, bottom + L, hi));
            m0.rearrange(EVEN, m1).max(m0.rearrange(ODD, m1)).intoArray(y, o, out);
        }
    }

    /** {@link #max2x2}'s unmasked step over its first {@code rows} rows. */
    private static void wholeRows(float[] x, int xOff, int W, int Q, int rows, float[] y, int yOff) {
        for (int row = 0; row < rows; row++) {
            int top = xOff + 2 * row * W, bottom = top + W, o = yOff + row * Q;
            // written out, not a helper taking and returning vectors: C2 may box those
            FloatVector m0 = FloatVector.fromArray(S, x, top).max(FloatVector.fromArray(S, x, bottom));
            FloatVector m1 = FloatVector.fromArray(S, x, top + L).max(FloatVector.fromArray(S, x, bottom + L));
            FloatVector p0 = m0.max(m0.reinterpretAsLongs().lanewise(VectorOperators.LSHR, 32).reinterpretAsFloats());
            FloatVector p1 = m1.max(m1.reinterpretAsLongs().lanewise(VectorOperators.LSHR, 32).reinterpretAsFloats());
            ((IntVector) p0.reinterpretAsLongs().convertShape(VectorOperators.L2I, SI, 0)).reinterpretAsFloats().intoArray(y, o, FIRST_HALF);
            ((IntVector) p1.reinterpretAsLongs().convertShape(VectorOperators.L2I, SI, 0)).reinterpretAsFloats().intoArray(y, o + L / 2, FIRST_HALF);
        }
    }

    /** {@link #wholeRows} for rows of at most L/2 outputs: one input vector per row, L/2 outputs stored. */
    private static void halfRows(float[] x, int xOff, int W, int Q, int rows, float[] y, int yOff) {
        for (int row = 0; row < rows; row++) {
            int top = xOff + 2 * row * W, o = yOff + row * Q;
            FloatVector m = FloatVector.fromArray(S, x, top).max(FloatVector.fromArray(S, x, top + W));
            FloatVector p = m.max(m.reinterpretAsLongs().lanewise(VectorOperators.LSHR, 32).reinterpretAsFloats());
            ((IntVector) p.reinterpretAsLongs().convertShape(VectorOperators.L2I, SI, 0)).reinterpretAsFloats().intoArray(y, o, FIRST_HALF);
        }
    }

    /** {@link #max2x2} with masked loads and stores and the two-vector even/odd shuffle, for any shape. */
    static void max2x2Masked(float[] x, int xOff, int planes, int H, int W, int P, int Q, float[] y, int yOff) {
        for (int plane = 0; plane < planes; plane++)
            for (int i = 0; i < P; i++) {
                int top = xOff + plane * H * W + 2 * i * W, bottom = top + W, o = yOff + (plane * P + i) * Q;
                for (int j = 0; j < Q; j += L) {
                    int c0 = 2 * j, n = Math.min(L, Q - j);             // n outputs from 2n input columns
                    VectorMask<Float> lo2 = S.indexInRange(0, 2 * n), hi2 = S.indexInRange(L, 2 * n);
                    FloatVector m0 = FloatVector.fromArray(S, x, top + c0, lo2).max(FloatVector.fromArray(S, x, bottom + c0, lo2));
                    FloatVector m1 = FloatVector.fromArray(S, x, top + c0 + L, hi2).max(FloatVector.fromArray(S, x, bottom + c0 + L, hi2));
                    m0.rearrange(EVEN, m1).max(m0.rearrange(ODD, m1)).intoArray(y, o + j, S.indexInRange(0, n));
                }
            }
    }

    /** Lane indices 0, 1, ..., L−1 as ints. */
    private static final IntVector IOTA = IntVector.zero(SI).addIndex(1);

    /**
     * The training forward (y and arg-max) over {@code planes} consecutive H×W planes (H = 2P), rows laid out
     * as in {@link #max2x2}: a step of 2·L input columns (L/2 &lt; Q ≤ L) or L columns (L/4 &lt; Q ≤ L/2) per
     * output row, garbage past a row overwritten by the next, the call's last rows masked. The window is
     * reduced row first: in each input row, each pair of neighbouring lanes read as one long and shifted by 32
     * bits puts the odd candidate on the even one, which it replaces if greater or NaN; then the bottom row's
     * winner replaces the top row's if greater or NaN. That is the scalar scan (top-left, top-right,
     * bottom-left, bottom-right, "replace if greater or NaN") split into its two halves, so ties and NaNs
     * resolve exactly as {@link ReferenceBackend#maxPoolWindow}. Narrowing the longs to ints keeps the even
     * lanes: the outputs and, from the same masks, their arg-max h·W + w. The two-vector shuffle of
     * {@link #rowSimd2x2} this replaces cost about three times as much.
     */
    static void maxArg2x2(float[] x, int xOff, int planes, int W, int P, int Q, float[] y, int[] argmax, int yOff) {
        boolean half = 2 * Q <= L;
        int rows = planes * P, end = yOff + rows * Q, fast = rows, read = half ? L : 2 * L, written = half ? L / 2 : L;
        while (fast > 0 && (yOff + (fast - 1) * Q + written > end || xOff + (2 * fast - 1) * W + read > x.length)) fast--;
        IntVector zero = IntVector.zero(SI), one = IntVector.broadcast(SI, 1);
        IntVector down = IntVector.broadcast(SI, W), downRight = IntVector.broadcast(SI, W + 1);
        for (int row = 0; row < fast; row++) {
            int top = xOff + 2 * row * W, o = yOff + row * Q, at = 2 * (row % P) * W;
            for (int k = 0; k < read; k += L) {
                // written out, not a helper taking and returning vectors: C2 may box those
                FloatVector t = FloatVector.fromArray(S, x, top + k), b = FloatVector.fromArray(S, x, top + W + k);
                FloatVector tr = t.reinterpretAsLongs().lanewise(VectorOperators.LSHR, 32).reinterpretAsFloats();
                FloatVector br = b.reinterpretAsLongs().lanewise(VectorOperators.LSHR, 32).reinterpretAsFloats();
                VectorMask<Float> mt = tr.compare(VectorOperators.GT, t).or(tr.test(VectorOperators.IS_NAN));
                VectorMask<Float> mb = br.compare(VectorOperators.GT, b).or(br.test(VectorOperators.IS_NAN));
                FloatVector tw = t.blend(tr, mt), bw = b.blend(br, mb);
                VectorMask<Float> mv = bw.compare(VectorOperators.GT, tw).or(bw.test(VectorOperators.IS_NAN));
                IntVector idx = zero.blend(one, mt.cast(SI)).blend(down.blend(downRight, mb.cast(SI)), mv.cast(SI))
                        .add(IOTA).add(at + k);
                ((IntVector) tw.blend(bw, mv).reinterpretAsLongs().convertShape(VectorOperators.L2I, SI, 0))
                        .reinterpretAsFloats().intoArray(y, o + k / 2, FIRST_HALF);
                ((IntVector) idx.reinterpretAsLongs().convertShape(VectorOperators.L2I, HALF, 0)).intoArray(argmax, o + k / 2);
            }
        }
        for (int row = fast; row < rows; row++) {
            int plane = row / P, i = row % P;
            rowSimd2x2(x, xOff + plane * 2 * P * W, W, i, Q, y, argmax, yOff + row * Q);
        }
    }

    /**
     * Output row i of a 2×2/stride-2 pool, L outputs at a time, the last group masked (SimpleCNN's rows are
     * 14 and 7 outputs long, shorter than one 16-lane vector); returns how many outputs it wrote (all Q).
     */
    private static int rowSimd2x2(float[] x, int xOff, int W, int i, int Q, float[] y, int[] argmax, int o) {
        int top = xOff + 2 * i * W, bottom = top + W;
        IntVector lane2 = IntVector.zero(SI).addIndex(2);           // 0, 2, 4, ...
        for (int j = 0; j < Q; j += L) {
            int c0 = 2 * j, n = Math.min(L, Q - j);                 // n outputs from 2n input columns
            VectorMask<Float> lo = S.indexInRange(0, 2 * n), hi = S.indexInRange(L, 2 * n), out = S.indexInRange(0, n);
            FloatVector t0 = FloatVector.fromArray(S, x, top + c0, lo), t1 = FloatVector.fromArray(S, x, top + c0 + L, hi);
            FloatVector b0 = FloatVector.fromArray(S, x, bottom + c0, lo), b1 = FloatVector.fromArray(S, x, bottom + c0 + L, hi);
            // candidates in scan order: (top, even), (top, odd), (bottom, even), (bottom, odd)
            FloatVector v0 = t0.rearrange(EVEN, t1), v1 = t0.rearrange(ODD, t1);
            FloatVector v2 = b0.rearrange(EVEN, b1), v3 = b0.rearrange(ODD, b1);
            IntVector at = lane2.add(2 * i * W + c0);
            // a later candidate replaces the best only if strictly greater, or a NaN (which then wins)
            VectorMask<Float> m1 = v1.compare(VectorOperators.GT, v0).or(v1.test(VectorOperators.IS_NAN));
            FloatVector best = v0.blend(v1, m1);
            IntVector bestAt = at.blend(at.add(1), m1.cast(SI));
            VectorMask<Float> m2 = v2.compare(VectorOperators.GT, best).or(v2.test(VectorOperators.IS_NAN));
            best = best.blend(v2, m2);
            bestAt = bestAt.blend(at.add(W), m2.cast(SI));
            VectorMask<Float> m3 = v3.compare(VectorOperators.GT, best).or(v3.test(VectorOperators.IS_NAN));
            best = best.blend(v3, m3);
            bestAt = bestAt.blend(at.add(W + 1), m3.cast(SI));
            best.intoArray(y, o + j, out);
            bestAt.intoArray(argmax, o + j, out.cast(SI));
        }
        return Q;
    }

    /** dx = 0, then dy added at each output's arg-max (planes are disjoint, so threads never collide). */
    static void backward(Parallel par, dev.shears.core.Pool2dShape p, float[] dy, int[] argmax, float[] dx) {
        int planes = p.n() * p.c(), inPlane = p.h() * p.w(), outPlane = p.p() * p.q();
        par.parallelFor(0, planes, Math.max(1, Pointwise.GRAIN / inPlane), (lo, hi) -> {
            for (int plane = lo; plane < hi; plane++) {
                int xOff = plane * inPlane;
                // zeroed plane by plane, so the routed values land while it is still in L1 (one pass over dx)
                routePlane(dy, argmax, plane * outPlane, outPlane, dx, xOff, inPlane);
            }
        });
    }

    /**
     * One plane of {@link #backward}: dx[xOff .. xOff+inPlane) = 0, then dy[o] added at xOff + argmax[o] for the
     * plane's outputs o = o0 .. o0+outPlane−1 in order (overlapping windows add up in that order).
     */
    static void routePlane(float[] dy, int[] argmax, int o0, int outPlane, float[] dx, int xOff, int inPlane) {
        java.util.Arrays.fill(dx, xOff, xOff + inPlane, 0f);
        for (int o = o0, end = o0 + outPlane; o < end; o++) dx[xOff + argmax[o]] += dy[o];
    }
}
