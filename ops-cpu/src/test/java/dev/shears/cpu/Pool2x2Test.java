package dev.shears.cpu;

import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static dev.shears.core.testing.Close.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The unmasked 2×2 max-pool against the masked one, bit for bit (the conformance tests check the masked one's
 * values against the reference backend), and what the unmasked one writes past a row never escapes the
 * call's outputs.
 */
class Pool2x2Test {

    @Test
    void unmaskedPoolGivesTheMaskedPoolsBitsAndStaysInItsOutputs() {
        int[][] shapes = {{28, 28}, {14, 14}, {2, 2}, {4, 30}, {8, 32}, {6, 34}, {7, 14}, {9, 9}, {28, 64}, {12, 12}, {10, 18}, {8, 8}};
        for (int[] hw : shapes)
            for (int planes : new int[]{1, 2, 13})
                for (int slack : new int[]{0, 1, 40}) {     // floats after the input: the last rows' steps must not read past x
                    int H = hw[0], W = hw[1], P = H / 2, Q = W / 2, xOff = 3, yOff = 5;
                    float[] x = random(H * W + planes + slack, xOff + planes * H * W + slack);
                    x[xOff + 1] = Float.NaN;                   // a NaN wins its window, in both kernels
                    int outputs = planes * P * Q;
                    float[] masked = new float[yOff + outputs + 20], fast = new float[masked.length];
                    Arrays.fill(masked, 42f);
                    Arrays.fill(fast, 42f);
                    Pool.max2x2Masked(x, xOff, planes, H, W, P, Q, masked, yOff);
                    Pool.max2x2(x, xOff, planes, H, W, P, Q, fast, yOff);
                    String what = planes + " planes " + H + "×" + W + ", " + slack + " floats after x";
                    assertArrayEquals(masked, fast, what);
                    for (int i = 0; i < yOff; i++) assertEquals(42f, fast[i], what + ": wrote before its outputs");
                    for (int i = yOff + outputs; i < fast.length; i++) assertEquals(42f, fast[i], what + ": wrote past its outputs");
                }
    }

    @Test
    void argMaxPoolMatchesTheScalarWindowAndStaysInItsOutputs() {
        int[][] shapes = {{28, 28}, {14, 14}, {4, 30}, {8, 32}, {6, 34}, {8, 18}, {10, 18}, {12, 12}, {2, 20}};
        java.util.Random r = new java.util.Random(16);
        for (int[] hw : shapes)
            for (int planes : new int[]{1, 2, 13})
                for (int slack : new int[]{0, 1, 40}) {
                    int H = hw[0], W = hw[1], P = H / 2, Q = W / 2, xOff = 3, yOff = 5;
                    if (Q > Pool.L || 4 * Q <= Pool.L) continue;   // the shapes maxArg2x2 is called for
                    float[] x = new float[xOff + planes * H * W + slack];
                    for (int i = 0; i < x.length; i++) {        // many ties, ±0 and NaNs
                        int kind = r.nextInt(12);
                        x[i] = kind == 0 ? Float.NaN : kind < 4 ? 1f : kind == 4 ? -0f : kind == 5 ? 0f : r.nextInt(3) - 1f;
                    }
                    int outputs = planes * P * Q;
                    float[] want = new float[yOff + outputs + 20], got = new float[want.length];
                    int[] wantAt = new int[want.length], gotAt = new int[want.length];
                    Arrays.fill(want, 42f);
                    Arrays.fill(got, 42f);
                    Arrays.fill(wantAt, 42);
                    Arrays.fill(gotAt, 42);
                    dev.shears.core.Pool2dShape p = new dev.shears.core.Pool2dShape(1, 1, H, W, 2, 2, 2, 2, 0, 0);
                    for (int plane = 0; plane < planes; plane++)
                        for (int i = 0; i < P; i++)
                            for (int j = 0; j < Q; j++)
                                dev.shears.core.reference.ReferenceBackend.maxPoolWindow(p, x, xOff + plane * H * W, i, j,
                                        want, wantAt, yOff + (plane * P + i) * Q + j);
                    Pool.maxArg2x2(x, xOff, planes, W, P, Q, got, gotAt, yOff);
                    String what = planes + " planes " + H + "×" + W + ", " + slack + " floats after x";
                    assertArrayEquals(want, got, what);
                    assertArrayEquals(wantAt, gotAt, what + ": arg-max");
                }
    }
}
