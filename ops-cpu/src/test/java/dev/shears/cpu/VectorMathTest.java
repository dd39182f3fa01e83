package dev.shears.cpu;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.function.DoubleUnaryOperator;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link VectorMath}: within 1 ulp of Math's functions everywhere, special values exact, the same bits in every JIT tier. */
class VectorMathTest {
    private static final int L = VectorMath.S.length();

    /** Every lane of f over xs, L at a time. */
    private static float[] apply(UnaryOperator<FloatVector> f, float[] xs) {
        float[] y = new float[xs.length];
        for (int i = 0; i < xs.length; i += L) f.apply(FloatVector.fromArray(VectorMath.S, xs, i)).intoArray(y, i);
        return y;
    }

    /** Random floats over the whole range (random bits), a dense grid over [lo, hi), and the special values. */
    private static float[] inputs(float lo, float hi) {
        Random r = new Random(7);
        int n = 400_000;
        float[] xs = new float[n];
        int i = 0;
        for (float v : new float[]{0f, -0f, 1f, -1f, Float.MIN_VALUE, Float.MIN_NORMAL, Float.MAX_VALUE, -Float.MAX_VALUE,
                Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, 88.72283f, 88.7229f, -87.33655f, -103.97208f, -103.9721f})
            xs[i++] = v;
        for (; i < n / 2; i++) xs[i] = Float.intBitsToFloat(r.nextInt());
        for (; i < n; i++) xs[i] = lo + (hi - lo) * (i - n / 2) / (n - n / 2);
        return xs;
    }

    private static void withinOneUlp(String name, DoubleUnaryOperator exact, UnaryOperator<FloatVector> f, float lo, float hi) {
        float[] xs = inputs(lo, hi), ys = apply(f, xs);
        int worst = 0;
        for (int i = 0; i < xs.length; i++) {
            float expected = (float) exact.applyAsDouble(xs[i]);
            if (Float.isNaN(expected) || Float.isInfinite(expected) || expected == 0f) {
                assertEquals(expected, ys[i], name + "(" + xs[i] + ")");   // NaN, ±∞ and 0 exactly (0 by sign too)
                continue;
            }
            int ulps = Math.abs(Float.floatToIntBits(expected) - Float.floatToIntBits(ys[i]));
            assertTrue(ulps <= 1, name + "(" + xs[i] + ") = " + ys[i] + ", Math gives " + expected + ": " + ulps + " ulp apart");
            worst = Math.max(worst, ulps);
        }
        System.out.println(name + ": at most " + worst + " ulp from Math over " + xs.length + " inputs");
    }

    @Test
    void expIsWithinOneUlpOfMathExp() {
        withinOneUlp("exp", Math::exp, VectorMath::exp, -110f, 90f);
    }

    @Test
    void logIsWithinOneUlpOfMathLog() {
        withinOneUlp("log", Math::log, VectorMath::log, 0f, 4f);
    }

    /**
     * The first calls run interpreted (each vector op a Java method), later ones compiled by C2 to vector
     * instructions: the bits must not change. The lane-wise EXP and LOG failed this.
     */
    @Test
    void theBitsDoNotDependOnTheJitTier() {
        float[] xs = inputs(-20f, 20f);
        for (UnaryOperator<FloatVector> f : java.util.List.<UnaryOperator<FloatVector>>of(VectorMath::exp, VectorMath::log)) {
            float[] first = apply(f, xs), last = first;
            for (int rep = 0; rep < 200; rep++) last = apply(f, xs);
            for (int i = 0; i < xs.length; i++)
                assertEquals(Float.floatToRawIntBits(first[i]), Float.floatToRawIntBits(last[i]), "input " + xs[i]);
        }
    }
}
