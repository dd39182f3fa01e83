package dev.shears.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * exp and log of every lane, built from lane-wise IEEE operations only (add, multiply, fma, compare, bit
 * moves), so that a lane's result is the same whether the JIT has compiled the loop or not.
 *
 * <p>Why not {@code lanewise(EXP)} and {@code lanewise(LOG)}: compiled, those are the platform's vector
 * math library; interpreted, a loop calling Math.exp per lane. The two differ in the last bit for some
 * inputs (exp(−5.1617656): 1002164200 against 1002164199 as bits), so a result depended on when C2 compiled
 * the loop ({@link Lanes} tells the same story for sums). Math.exp per element is deterministic but took
 * 3.4 ms for a million floats against 0.22 ms for the vector EXP (log: 8.0 against 0.27–0.34); these take
 * 0.19 and 1.0 ms (one thread, medians of 60 calls; without its division, log took as long).
 *
 * <p>Within 1 ulp of Math.exp and Math.log rounded to float, over the whole float range (checked by
 * {@code VectorMathTest}); special values as Math's: NaN stays NaN, exp(∞) = ∞, exp(−∞) = 0, log(0) = −∞,
 * log(x &lt; 0) = NaN, log(∞) = ∞, subnormal inputs and results included.
 */
final class VectorMath {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private VectorMath() {}

    private static final float LOG2E = 1.44269504f;
    /** ln 2 split in two: n·LN2_HI is exact for the n exp can meet, so x − n·ln 2 loses nothing. */
    private static final float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    /** Adding 1.5·2^23 rounds a float of magnitude below 2^22 to an integer, to nearest (even on ties). */
    private static final float ROUND = 12582912f;
    /** Above this exp overflows to ∞; below EXP_MIN it is 0 even as a subnormal. */
    private static final float EXP_MAX = 88.7228394f, EXP_MIN = -103.972084f;

    /**
     * e^x = 2^n · e^r with n = round(x / ln 2) and |r| ≤ ln 2 / 2; e^r by its Taylor series to r^7/7! (the
     * rest is below 6e−9 relative, a tenth of an ulp), 2^n as two factors whose exponent fields are built
     * from n directly, so that results down to the smallest subnormal come out right.
     */
    static FloatVector exp(FloatVector x) {
        FloatVector t = x.mul(LOG2E).add(ROUND);
        FloatVector n = t.sub(ROUND);                                         // round(x·log2 e), as a float
        FloatVector r = n.fma(FloatVector.broadcast(S, -LN2_HI), x);
        r = n.fma(FloatVector.broadcast(S, -LN2_LO), r);
        FloatVector p = FloatVector.broadcast(S, 1f / 5040);
        p = p.fma(r, FloatVector.broadcast(S, 1f / 720));
        p = p.fma(r, FloatVector.broadcast(S, 1f / 120));
        p = p.fma(r, FloatVector.broadcast(S, 1f / 24));
        p = p.fma(r, FloatVector.broadcast(S, 1f / 6));
        p = p.fma(r, FloatVector.broadcast(S, 0.5f));
        p = p.fma(r, FloatVector.broadcast(S, 1f));
        p = p.fma(r, FloatVector.broadcast(S, 1f));
        // n as an int (the low bits of t), clamped so that both halves of 2^n stay normal numbers
        IntVector k = t.reinterpretAsInts().sub(Float.floatToRawIntBits(ROUND)).max(-254).min(254);
        IntVector half = k.lanewise(VectorOperators.ASHR, 1);
        FloatVector s1 = half.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector s2 = k.sub(half).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector y = p.mul(s1).mul(s2);
        y = y.blend(FloatVector.broadcast(S, Float.POSITIVE_INFINITY), x.compare(VectorOperators.GT, EXP_MAX));
        y = y.blend(FloatVector.zero(S), x.compare(VectorOperators.LT, EXP_MIN));
        return y.blend(x, x.test(VectorOperators.IS_NAN));
    }

    /** √2 / 2: the mantissa m is kept in [√2/2, √2), so that f = m − 1 is small on both sides of 0. */
    private static final float SQRT_HALF = 0.70710678f;

    /**
     * P(f) ≈ (ln(1+f) − f + f²/2) / f³ on [√2/2 − 1, √2 − 1], lowest power first: a least-squares fit of
     * degree 8 at 4,000 Chebyshev nodes (numpy's polyfit), whose error with the coefficients rounded to float
     * is 0.06 ulp of ln(1+f).
     */
    private static final float[] LOG1P = {0.3333333134651184f, -0.24999989569187164f, 0.2000070959329605f,
            -0.1666848063468933f, 0.14249871671199799f, -0.12411021441221237f, 0.1166200265288353f,
            -0.1157151460647583f, 0.07148932665586472f};

    /**
     * ln x = e·ln 2 + ln m with x = m·2^e, m in [√2/2, √2) (a subnormal x is first scaled by 2^25); ln m =
     * f − f²/2 + f³·P(f) with f = m − 1 (exact), P as above, evaluated by fmas: no division. Math.log's
     * values at 0, below 0, ∞ and NaN come from {@link #logSpecial}, lane by lane, where any lane needs them.
     */
    static FloatVector log(FloatVector x) {
        FloatVector y = logPositive(x);
        if (!x.compare(VectorOperators.GT, 0f).and(x.compare(VectorOperators.LT, Float.POSITIVE_INFINITY)).allTrue()) {
            float[] xs = x.toArray(), ys = y.toArray();
            logSpecials(xs, ys, 0, xs.length);
            y = FloatVector.fromArray(S, ys, 0);
        }
        return y;
    }

    /**
     * {@link #log} of the lanes where x is finite and positive (subnormals included); other lanes are
     * meaningless until {@link #logSpecials} has run over them.
     *
     * <p>Kept free of the special values: in one vector loop with them (two blends per case), C2's parser
     * ran past its node budget (NodeCountInliningCutoff) before it reached them, left them a call, and that
     * call boxed its vector arguments (18 bytes allocated per float, VectorFallbackTest). Under C2's limit for
     * inlining a hot call (FreqInlineSize, 325 bytes of bytecode) with {@link #logMantissa}: as one method of
     * 460 bytes it was called, not inlined, from the loop in {@link Pointwise}.
     */
    static FloatVector logPositive(FloatVector x) {
        VectorMask<Float> tiny = x.compare(VectorOperators.LT, Float.MIN_NORMAL);
        FloatVector xs = x.blend(x.mul(33554432f), tiny);                     // 2^25: subnormals become normal
        IntVector bits = xs.reinterpretAsInts();
        // the exponent field as a float, exactly and without a conversion: 2^23 + field has it as its low bits
        FloatVector e = bits.lanewise(VectorOperators.LSHR, 23).or(0x4B000000).reinterpretAsFloats().sub(8388608f + 127f);
        FloatVector m = bits.and(0x007FFFFF).or(0x3F800000).reinterpretAsFloats();   // in [1, 2)
        VectorMask<Float> high = m.compare(VectorOperators.GT, 2 * SQRT_HALF);
        m = m.blend(m.mul(0.5f), high);
        e = e.blend(e.add(1f), high);
        e = e.blend(e.sub(25f), tiny);
        FloatVector y = e.fma(FloatVector.broadcast(S, LN2_LO), logMantissa(m.sub(1f)));
        return e.fma(FloatVector.broadcast(S, LN2_HI), y);
    }

    /** ln(1 + f) for f in [√2/2 − 1, √2 − 1]: f − f²/2 + f³·P(f). */
    private static FloatVector logMantissa(FloatVector f) {
        FloatVector z = f.mul(f);
        FloatVector p = FloatVector.broadcast(S, LOG1P[8]);
        p = p.fma(f, FloatVector.broadcast(S, LOG1P[7]));   // Horner written out: no vector carried around a loop
        p = p.fma(f, FloatVector.broadcast(S, LOG1P[6]));
        p = p.fma(f, FloatVector.broadcast(S, LOG1P[5]));
        p = p.fma(f, FloatVector.broadcast(S, LOG1P[4]));
        p = p.fma(f, FloatVector.broadcast(S, LOG1P[3]));
        p = p.fma(f, FloatVector.broadcast(S, LOG1P[2]));
        p = p.fma(f, FloatVector.broadcast(S, LOG1P[1]));
        p = p.fma(f, FloatVector.broadcast(S, LOG1P[0]));
        return f.add(z.fma(FloatVector.broadcast(S, -0.5f), z.mul(f).mul(p)));   // f + (f³·P − f²/2)
    }

    /**
     * y[i] = Math.log's value at x[i] for i in [lo, hi) where x[i] is not finite and positive: −∞ at ±0, NaN
     * below 0, x itself at ∞ and NaN; y[i] is kept elsewhere. Scalar: the rare lanes cost a compare each.
     */
    static void logSpecials(float[] x, float[] y, int lo, int hi) {
        for (int i = lo; i < hi; i++) {
            float v = x[i];
            if (!(v > 0f && v < Float.POSITIVE_INFINITY)) y[i] = v == 0f ? Float.NEGATIVE_INFINITY : v < 0f ? Float.NaN : v;
        }
    }
}
