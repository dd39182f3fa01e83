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
}
