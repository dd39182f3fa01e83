package dev.shears.core.testing;

import static org.junit.jupiter.api.Assertions.fail;

/** Element-wise comparison of float arrays; the failure message carries the maximum difference and where. */
public final class Close {
    private Close() {}

    /**
     * |expected − actual| ≤ atol + rtol·|expected| everywhere; returns the max absolute difference. Where either
     * value is not finite (NaN, ±Inf), they must be the same: NaN matches NaN, +Inf only +Inf, −Inf only −Inf
     * (a tolerance relative to an infinite value would let anything pass).
     */
    public static double assertClose(String what, float[] expected, float[] actual, double atol, double rtol) {
        if (expected.length != actual.length)
            fail(what + ": expected " + expected.length + " values, found " + actual.length);
        double maxDiff = 0;
        int worst = -1;
        double worstExcess = 0;
        for (int i = 0; i < expected.length; i++) {
            double d, excess;
            if (Float.isFinite(expected[i]) && Float.isFinite(actual[i])) {
                d = Math.abs((double) expected[i] - actual[i]);
                excess = d - (atol + rtol * Math.abs(expected[i]));
            } else {
                // Float.compare: NaN equals NaN, and each infinity only itself
                d = excess = Float.compare(expected[i], actual[i]) == 0 ? 0 : Double.POSITIVE_INFINITY;
            }
            maxDiff = Math.max(maxDiff, d);
            if (excess > 0 && (worst < 0 || excess > worstExcess)) { worstExcess = excess; worst = i; }
        }
        if (worst >= 0)
            fail(String.format("%s: max difference %.3g exceeds tolerance (atol %.1g, rtol %.1g); worst at index %d: expected %.7g, found %.7g",
                    what, maxDiff, atol, rtol, worst, expected[worst], actual[worst]));
        return maxDiff;
    }

    public static float[] random(long seed, int n) {
        java.util.Random r = new java.util.Random(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian();
        return a;
    }
}
