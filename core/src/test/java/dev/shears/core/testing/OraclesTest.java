package dev.shears.core.testing;

import dev.shears.core.Tensor;
import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The test oracles themselves, on planted bugs: each must fail on a wrong value, a NaN and an infinity,
 * where a tolerance computed from a NaN or an infinity would silently let it pass.
 */
class OraclesTest {
    private static final float INF = Float.POSITIVE_INFINITY, NAN = Float.NaN;

    @Test
    void closeFailsOnEveryNonFiniteMismatch() {
        float[][][] wrong = {
                {{INF}, {5}}, {{INF}, {-INF}}, {{-INF}, {INF}}, {{INF}, {NAN}}, {{NAN}, {1}}, {{1}, {NAN}},
                {{1}, {INF}}, {{1, 2}, {1, 2.1f}},
        };
        for (float[][] c : wrong)
            assertThrows(AssertionFailedError.class, () -> Close.assertClose("planted", c[0], c[1], 1e-3, 1e-3),
                    () -> "expected " + c[0][0] + ", found " + c[1][c[1].length - 1] + " passed");
        assertDoesNotThrow(() -> Close.assertClose("same", new float[]{INF, -INF, NAN, 1}, new float[]{INF, -INF, NAN, 1.0005f}, 1e-3, 0));
    }

    @Test
    void gradCheckFailsWhenTheNumericGradientIsNaN() {
        // log of a negative number: the forward pass and so the finite difference are NaN, autograd's 1/x is not
        assertThrows(AssertionFailedError.class,
                () -> GradCheck.check("log at -1", in -> in[0].log(), Tensor.of(new float[]{-1f, 2f}, 2)));
    }

    @Test
    void gradCheckFailsWhenTheAutogradGradientIsNaN() {
        // sqrt(|x|) at 0: the central difference is exactly 0, autograd gives (1 / 2·sqrt(0)) · sign(0) = ∞ · 0 = NaN
        assertThrows(AssertionFailedError.class,
                () -> GradCheck.check("sqrt(|x|) at 0", in -> in[0].abs().sqrt(), Tensor.of(new float[]{0f, 2f}, 2)));
    }

    @Test
    void gradCheckStillPassesACorrectGradient() {
        assertDoesNotThrow(() -> GradCheck.check("x²", in -> in[0].square(), Tensor.of(new float[]{-1.5f, 0.5f, 2f}, 3)));
    }
}
