package dev.shears.cpu;

import dev.shears.core.Backend.Binary;
import dev.shears.core.Backend.Unary;
import dev.shears.core.reference.ReferenceBackend;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Element-wise kernels: unary, affine, binary with broadcasting, and SGD.
 *
 * <p>Legend: n elements; L lanes of the preferred species. Every kernel is the llama3.java shape:
 * {@code loopBound} → vector loop → scalar tail, where the tail (and the whole loop when SIMD is off) is the
 * scalar definition from {@link ReferenceBackend}. Each vector branch ends in a store: a vector that flows
 * out of an if/else (a phi) is boxed by C2 and runs ~5× slower.
 *
 * <p>These are memory-bound, so threads only pay on long arrays: chunks are at least {@link #GRAIN} floats.
 */
final class Pointwise {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();
    /** Smallest chunk worth handing to another thread (about 10 µs of streaming). */
    static final int GRAIN = 1 << 15;

    private Pointwise() {}

    // ---- unary: y[i] = op(x[i]) ----

    static void unary(Parallel par, boolean simd, Unary op, int n, float[] x, float[] y) {
        if (!par.splits(0, n, GRAIN)) {   // no body object to make
            unaryRange(simd, op, x, y, 0, n);
            return;
        }
        Unaries body = UNARIES.get();
        body.set(simd, op, x, y);
        try {
            par.parallelFor(0, n, GRAIN, body);
        } finally {
            body.set(false, null, null, null);   // keeps no arrays alive
        }
    }

    /** unary's parallel body: one per calling thread, reused, so that a call allocates nothing. */
    private static final class Unaries implements Parallel.Range {
        boolean simd;
        Unary op;
        float[] x, y;

        void set(boolean simd, Unary op, float[] x, float[] y) { this.simd = simd; this.op = op; this.x = x; this.y = y; }

        @Override public void run(int lo, int hi) { unaryRange(simd, op, x, y, lo, hi); }
    }

    private static final ThreadLocal<Unaries> UNARIES = ThreadLocal.withInitial(Unaries::new);

    /**
     * One vector loop per op, each in its own method: with the switch inside one loop, C2 compiled a method
     * holding every op's inlined vector code, ran past its inlining budget once exp and log were among them,
     * and left the other ops as calls into the Vector API's Java fallback (a boxed vector per operation,
     * 6 bytes allocated per float; {@code VectorFallbackTest} guards against that). A method that is not
     * inlined now costs one call with arrays as arguments, not one per vector.
     */
    static void unaryRange(boolean simd, Unary op, float[] x, float[] y, int lo, int hi) {
        int i = !simd ? lo : switch (op) {
            case NEG -> neg(x, y, lo, hi);
            case EXP -> exp(x, y, lo, hi);
            case LOG -> log(x, y, lo, hi);
            case SQRT -> sqrt(x, y, lo, hi);
            case ABS -> abs(x, y, lo, hi);
            case SIGN -> sign(x, y, lo, hi);
            case RELU -> relu(x, y, lo, hi);
            case STEP -> step(x, y, lo, hi);
            case SQUARE -> square(x, y, lo, hi);
        };
        for (; i < hi; i++) y[i] = ReferenceBackend.unary(op, x[i]);
    }

    // each returns where its vector loop stopped; the scalar tail is unaryRange's

    private static int neg(float[] x, float[] y, int lo, int hi) {
        int i = lo;
        for (int bound = lo + S.loopBound(hi - lo); i < bound; i += L) FloatVector.fromArray(S, x, i).neg().intoArray(y, i);
        return i;
    }

    /** Not lanewise(EXP) nor LOG: see VectorMath. */
    private static int exp(float[] x, float[] y, int lo, int hi) {
        int i = lo;
        for (int bound = lo + S.loopBound(hi - lo); i < bound; i += L) VectorMath.exp(FloatVector.fromArray(S, x, i)).intoArray(y, i);
        return i;
    }

    private static int log(float[] x, float[] y, int lo, int hi) {
        int i = lo;
        for (int bound = lo + S.loopBound(hi - lo); i < bound; i += L) VectorMath.logPositive(FloatVector.fromArray(S, x, i)).intoArray(y, i);
        VectorMath.logSpecials(x, y, lo, i);   // outside the vector loop: see VectorMath.logPositive
        return i;
    }

    private static int sqrt(float[] x, float[] y, int lo, int hi) {
        int i = lo;
        for (int bound = lo + S.loopBound(hi - lo); i < bound; i += L) FloatVector.fromArray(S, x, i).sqrt().intoArray(y, i);
        return i;
    }

    private static int abs(float[] x, float[] y, int lo, int hi) {
        int i = lo;
        for (int bound = lo + S.loopBound(hi - lo); i < bound; i += L) FloatVector.fromArray(S, x, i).abs().intoArray(y, i);
        return i;
    }

    /** signum keeps ±0 and NaN: only strictly positive / negative lanes are replaced. */
    private static int sign(float[] x, float[] y, int lo, int hi) {
        FloatVector one = FloatVector.broadcast(S, 1f), minusOne = FloatVector.broadcast(S, -1f);
        int i = lo;
        for (int bound = lo + S.loopBound(hi - lo); i < bound; i += L) {
            FloatVector v = FloatVector.fromArray(S, x, i);
            v.blend(one, v.compare(VectorOperators.GT, 0f)).blend(minusOne, v.compare(VectorOperators.LT, 0f)).intoArray(y, i);
        }
        return i;
    }

    /** Lanewise MAX is Math.max: NaN propagates, as in the reference. */
    private static int relu(float[] x, float[] y, int lo, int hi) {
        FloatVector zero = FloatVector.zero(S);
        int i = lo;
        for (int bound = lo + S.loopBound(hi - lo); i < bound; i += L) FloatVector.fromArray(S, x, i).max(zero).intoArray(y, i);
        return i;
    }

    private static int step(float[] x, float[] y, int lo, int hi) {
        FloatVector zero = FloatVector.zero(S), one = FloatVector.broadcast(S, 1f);
        int i = lo;
        for (int bound = lo + S.loopBound(hi - lo); i < bound; i += L)
            zero.blend(one, FloatVector.fromArray(S, x, i).compare(VectorOperators.GT, 0f)).intoArray(y, i);
        return i;
    }

    private static int square(float[] x, float[] y, int lo, int hi) {
        int i = lo;
        for (int bound = lo + S.loopBound(hi - lo); i < bound; i += L) {
            FloatVector v = FloatVector.fromArray(S, x, i);
            v.mul(v).intoArray(y, i);
        }
        return i;
    }

    // ---- affine: y[i] = alpha·x[i] + beta ----

    static void affine(Parallel par, boolean simd, int n, float alpha, float beta, float[] x, float[] y) {
        par.parallelFor(0, n, GRAIN, (lo, hi) -> {
            int i = lo;
            if (simd) {
                FloatVector va = FloatVector.broadcast(S, alpha), vb = FloatVector.broadcast(S, beta);
                for (int bound = lo + S.loopBound(hi - lo); i < bound; i += L)
                    FloatVector.fromArray(S, x, i).mul(va).add(vb).intoArray(y, i);   // mul then add, as the reference rounds
            }
            for (; i < hi; i++) y[i] = alpha * x[i] + beta;
        });
    }

    // ---- binary with broadcasting ----

    /**
     * out = a op b. The shapes are first reduced to the fewest dimensions: size-1 output dimensions are
     * dropped and neighbours merged when a and b are each either full in both or broadcast in both. What is
     * left is an odometer over outer rows and one inner row where a and b each have stride 1 or 0.
     */
    static void binary(Parallel par, boolean simd, Binary op, int[] outShape, float[] a, int[] aShape,
                       float[] b, int[] bShape, float[] out) {
        if (outShape.length == 1 && aShape[0] == outShape[0] && bShape[0] == outShape[0]) {
            sameShape(par, simd, op, outShape[0], a, b, out);   // a compiled predictor's residual add: no arrays, no body
            return;
        }
        int rank = outShape.length;
        int[] size = new int[rank];
        boolean[] aFull = new boolean[rank], bFull = new boolean[rank];
        int dims = 0;
        for (int d = 0; d < rank; d++) {
            if (outShape[d] == 1) continue;
            boolean af = aShape[d] != 1, bf = bShape[d] != 1;
            if (dims > 0 && aFull[dims - 1] == af && bFull[dims - 1] == bf) {
                size[dims - 1] *= outShape[d];
            } else {
                size[dims] = outShape[d];
                aFull[dims] = af;
                bFull[dims] = bf;
                dims++;
            }
        }
        int total = 1;
        for (int d = 0; d < dims; d++) total *= size[d];
        if (total == 0) return;
        if (dims == 0) { out[0] = ReferenceBackend.binary(op, a[0], b[0]); return; }
        // strides of the merged dimensions (0 where broadcast)
        int[] aStride = new int[dims], bStride = new int[dims];
        for (int d = dims - 1, as = 1, bs = 1; d >= 0; d--) {
            aStride[d] = aFull[d] ? as : 0;
            bStride[d] = bFull[d] ? bs : 0;
            if (aFull[d]) as *= size[d];
            if (bFull[d]) bs *= size[d];
        }
        int inner = size[dims - 1], rows = total / inner;
        int ai = aStride[dims - 1], bi = bStride[dims - 1];
        if (rows == 1) {
            par.parallelFor(0, inner, GRAIN, (lo, hi) ->
                    row(simd, op, hi - lo, a, ai * lo, ai, b, bi * lo, bi, out, lo));
            return;
        }
        final int nd = dims;
        par.parallelFor(0, rows, Math.max(1, GRAIN / inner), (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                int rem = r, ao = 0, bo = 0;
                for (int d = nd - 2; d >= 0; d--) {
                    int idx = rem % size[d];
                    rem /= size[d];
                    ao += idx * aStride[d];
                    bo += idx * bStride[d];
                }
                row(simd, op, inner, a, ao, ai, b, bo, bi, out, r * inner);
            }
        });
    }

    /** out[i] = a[i] op b[i] for i &lt; n, without the broadcasting machinery: nothing allocated per call. */
    private static void sameShape(Parallel par, boolean simd, Binary op, int n, float[] a, float[] b, float[] out) {
        if (!par.splits(0, n, GRAIN)) {
            row(simd, op, n, a, 0, 1, b, 0, 1, out, 0);
            return;
        }
        Binaries body = BINARIES.get();
        body.set(simd, op, a, b, out);
        try {
            par.parallelFor(0, n, GRAIN, body);
        } finally {
            body.set(false, null, null, null, null);   // keeps no arrays alive
        }
    }

    /** sameShape's parallel body: one per calling thread, reused. */
    private static final class Binaries implements Parallel.Range {
        boolean simd;
        Binary op;
        float[] a, b, out;

        void set(boolean simd, Binary op, float[] a, float[] b, float[] out) { this.simd = simd; this.op = op; this.a = a; this.b = b; this.out = out; }

        @Override public void run(int lo, int hi) { row(simd, op, hi - lo, a, lo, 1, b, lo, 1, out, lo); }
    }

    private static final ThreadLocal<Binaries> BINARIES = ThreadLocal.withInitial(Binaries::new);

    /**
     * out[o+i] = a[ao + i·as] op b[bo + i·bs] for i &lt; n, where as and bs are 1 or 0 (broadcast). One method
     * per op, for the reason given at {@link #unaryRange}: a shared loop calling a switch over the ops fell
     * back to the Vector API's Java code in the middle of training runs (JFR: {@code lanewiseTemplate} under
     * {@code FloatVector.div}, 4–5% of an epoch's samples).
     */
    private static void row(boolean simd, Binary op, int n, float[] a, int ao, int as, float[] b, int bo, int bs,
                            float[] out, int o) {
        int i = !simd || n < L || (as == 0 && bs == 0) ? 0 : switch (op) {
            case ADD -> add(n, a, ao, as, b, bo, bs, out, o);
            case SUB -> sub(n, a, ao, as, b, bo, bs, out, o);
            case MUL -> mul(n, a, ao, as, b, bo, bs, out, o);
            case DIV -> div(n, a, ao, as, b, bo, bs, out, o);
            case MAX -> max(n, a, ao, as, b, bo, bs, out, o);
            case MIN -> min(n, a, ao, as, b, bo, bs, out, o);
        };
        for (; i < n; i++) out[o + i] = ReferenceBackend.binary(op, a[ao + i * as], b[bo + i * bs]);
    }

    // each returns where its vector loops stopped; a side with stride 0 is one broadcast vector

    private static int add(int n, float[] a, int ao, int as, float[] b, int bo, int bs, float[] out, int o) {
        int i = 0, bound = S.loopBound(n);
        if (as == 1 && bs == 1) for (; i < bound; i += L) FloatVector.fromArray(S, a, ao + i).add(FloatVector.fromArray(S, b, bo + i)).intoArray(out, o + i);
        else if (as == 1) { FloatVector vb = FloatVector.broadcast(S, b[bo]); for (; i < bound; i += L) FloatVector.fromArray(S, a, ao + i).add(vb).intoArray(out, o + i); }
        else { FloatVector va = FloatVector.broadcast(S, a[ao]); for (; i < bound; i += L) va.add(FloatVector.fromArray(S, b, bo + i)).intoArray(out, o + i); }
        return i;
    }

    private static int sub(int n, float[] a, int ao, int as, float[] b, int bo, int bs, float[] out, int o) {
        int i = 0, bound = S.loopBound(n);
        if (as == 1 && bs == 1) for (; i < bound; i += L) FloatVector.fromArray(S, a, ao + i).sub(FloatVector.fromArray(S, b, bo + i)).intoArray(out, o + i);
        else if (as == 1) { FloatVector vb = FloatVector.broadcast(S, b[bo]); for (; i < bound; i += L) FloatVector.fromArray(S, a, ao + i).sub(vb).intoArray(out, o + i); }
        else { FloatVector va = FloatVector.broadcast(S, a[ao]); for (; i < bound; i += L) va.sub(FloatVector.fromArray(S, b, bo + i)).intoArray(out, o + i); }
        return i;
    }

    private static int mul(int n, float[] a, int ao, int as, float[] b, int bo, int bs, float[] out, int o) {
        int i = 0, bound = S.loopBound(n);
        if (as == 1 && bs == 1) for (; i < bound; i += L) FloatVector.fromArray(S, a, ao + i).mul(FloatVector.fromArray(S, b, bo + i)).intoArray(out, o + i);
        else if (as == 1) { FloatVector vb = FloatVector.broadcast(S, b[bo]); for (; i < bound; i += L) FloatVector.fromArray(S, a, ao + i).mul(vb).intoArray(out, o + i); }
        else { FloatVector va = FloatVector.broadcast(S, a[ao]); for (; i < bound; i += L) va.mul(FloatVector.fromArray(S, b, bo + i)).intoArray(out, o + i); }
        return i;
    }

    private static int div(int n, float[] a, int ao, int as, float[] b, int bo, int bs, float[] out, int o) {
        int i = 0, bound = S.loopBound(n);
        if (as == 1 && bs == 1) for (; i < bound; i += L) FloatVector.fromArray(S, a, ao + i).div(FloatVector.fromArray(S, b, bo + i)).intoArray(out, o + i);
        else if (as == 1) { FloatVector vb = FloatVector.broadcast(S, b[bo]); for (; i < bound; i += L) FloatVector.fromArray(S, a, ao + i).div(vb).intoArray(out, o + i); }
        else { FloatVector va = FloatVector.broadcast(S, a[ao]); for (; i < bound; i += L) va.div(FloatVector.fromArray(S, b, bo + i)).intoArray(out, o + i); }
        return i;
    }

    private static int max(int n, float[] a, int ao, int as, float[] b, int bo, int bs, float[] out, int o) {
        int i = 0, bound = S.loopBound(n);
        if (as == 1 && bs == 1) for (; i < bound; i += L) FloatVector.fromArray(S, a, ao + i).max(FloatVector.fromArray(S, b, bo + i)).intoArray(out, o + i);
        else if (as == 1) { FloatVector vb = FloatVector.broadcast(S, b[bo]); for (; i < bound; i += L) FloatVector.fromArray(S, a, ao + i).max(vb).intoArray(out, o + i); }
        else { FloatVector va = FloatVector.broadcast(S, a[ao]); for (; i < bound; i += L) va.max(FloatVector.fromArray(S, b, bo + i)).intoArray(out, o + i); }
        return i;
    }

    private static int min(int n, float[] a, int ao, int as, float[] b, int bo, int bs, float[] out, int o) {
        int i = 0, bound = S.loopBound(n);
        if (as == 1 && bs == 1) for (; i < bound; i += L) FloatVector.fromArray(S, a, ao + i).min(FloatVector.fromArray(S, b, bo + i)).intoArray(out, o + i);
        else if (as == 1) { FloatVector vb = FloatVector.broadcast(S, b[bo]); for (; i < bound; i += L) FloatVector.fromArray(S, a, ao + i).min(vb).intoArray(out, o + i); }
        else { FloatVector va = FloatVector.broadcast(S, a[ao]); for (; i < bound; i += L) va.min(FloatVector.fromArray(S, b, bo + i)).intoArray(out, o + i); }
        return i;
    }

    // ---- SGD (torch.optim.SGD) ----

    static void sgd(Parallel par, boolean simd, int n, float lr, float momentum, float dampening, float wd,
                    boolean nesterov, boolean first, float[] p, float[] grad, float[] buf) {
        par.parallelFor(0, n, GRAIN, (lo, hi) -> {
            int i = lo;
            if (simd) {
                for (int bound = lo + S.loopBound(hi - lo); i < bound; i += L) {
                    FloatVector pv = FloatVector.fromArray(S, p, i);
                    FloatVector g = FloatVector.fromArray(S, grad, i).add(pv.mul(wd));
                    if (buf == null) {
                        pv.sub(g.mul(lr)).intoArray(p, i);
                        continue;
                    }
                    // the new buffer goes to memory in each branch and is read back: no vector phi
                    if (first) g.intoArray(buf, i);
                    else FloatVector.fromArray(S, buf, i).mul(momentum).add(g.mul(1 - dampening)).intoArray(buf, i);
                    FloatVector bv = FloatVector.fromArray(S, buf, i);
                    if (nesterov) pv.sub(g.add(bv.mul(momentum)).mul(lr)).intoArray(p, i);
                    else pv.sub(bv.mul(lr)).intoArray(p, i);
                }
            }
            for (; i < hi; i++) {
                float g = grad[i] + wd * p[i];
                if (buf != null) {
                    buf[i] = first ? g : momentum * buf[i] + (1 - dampening) * g;
                    g = nesterov ? g + momentum * buf[i] : buf[i];
                }
                p[i] -= lr * g;
            }
        });
    }
}
