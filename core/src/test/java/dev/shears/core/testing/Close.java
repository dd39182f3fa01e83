package dev.shears.core.testing;

import static org.junit.jupiter.api.Assertions.fail;

/** Element-wise comparison of float arrays; the failure message carries the maximum difference and where. */
public final class Close {
    private Close() {}

    /** |expected − actual| ≤ atol + rtol·|expected| everywhere; returns the max absolute difference. */
    public static double assertClose(String what, float[] expected, float[] actual, double atol, double rtol) {
        if (expected.length != actual.length)
            fail(what + ": expected " + expected.length + " values, found " + actual.length);
        double maxDiff = 0;
        int worst = -1;
        double worstExcess = 0;
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs((double) expected[i] - actual[i]);
            if (Double.isNaN(d) && !(Float.isNaN(expected[i]) && Float.isNaN(actual[i]))) d = Double.POSITIVE_INFINITY;
            if (Double.isNaN(d)) d = 0;
            maxDiff = Math.max(maxDiff, d);
            double excess = d - (atol + rtol * Math.abs(expected[i]));
            if (excess > worstExcess || (worst < 0 && excess > 0)) { worstExcess = excess; worst = i; }
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
