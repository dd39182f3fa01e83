package dev.shears.core.testing;

import dev.shears.core.GradMode;
import dev.shears.core.Tensor;

import java.util.Arrays;
import java.util.Random;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Finite-difference gradient checks. The op runs in float32, so the check works on the scalar
 * L = Σ f(x)·r (r fixed random weights) evaluated in double on the host, with central differences
 * (L(x+h) − L(x−h)) / 2h, and compares against autograd element by element; a gradient that is NaN or
 * infinite on either side fails.
 */
public final class GradCheck {
    private GradCheck() {}

    public static void check(String op, Function<Tensor[], Tensor> f, Tensor... inputs) {
        check(op, 1e-2, 2e-2, 2e-2, f, inputs);
    }

    /**
     * @param h    the step; inputs should be at least h away from kinks (ReLU at 0, max ties, |x| at 0)
     * @param atol absolute tolerance
     * @param rtol relative tolerance, against the larger of the two gradients
     */
    public static void check(String op, double h, double atol, double rtol, Function<Tensor[], Tensor> f, Tensor... inputs) {
        for (Tensor in : inputs) { in.zeroGrad(); in.requiresGrad(true); }
        Tensor y = f.apply(inputs);
        Random random = new Random(42);
        float[] r = new float[y.size()];
        for (int i = 0; i < r.length; i++) r[i] = (float) (random.nextDouble() * 2 - 1);
        Tensor weights = Tensor.of(y.backend(), r, y.shape());
        y.mul(weights).sum().backward();

        for (int i = 0; i < inputs.length; i++) {
            Tensor in = inputs[i];
            if (in.grad() == null) fail(op + ": input " + i + " " + Arrays.toString(in.shape()) + " received no gradient");
            float[] analytic = in.grad().toArray();
            float[] data = in.toArray();
            double worst = 0;
            int worstAt = -1;
            double worstNum = 0, worstAna = 0;
            for (int j = 0; j < data.length; j++) {
                double plus = objective(f, inputs, i, data, j, h, r);
                double minus = objective(f, inputs, i, data, j, -h, r);
                double numeric = (plus - minus) / (2 * h);
                double err = Math.abs(numeric - analytic[j]);
                double allowed = atol + rtol * Math.max(Math.abs(numeric), Math.abs(analytic[j]));
                // a NaN or infinite gradient on either side is a failure, not a comparison that is never true
                double excess = Double.isFinite(numeric) && Float.isFinite(analytic[j]) ? err - allowed : Double.POSITIVE_INFINITY;
                if (excess > 0 && (worstAt < 0 || excess > worst)) {
                    worst = excess; worstAt = j; worstNum = numeric; worstAna = analytic[j];
                }
            }
            if (worstAt >= 0)
                fail(String.format("%s: gradient of input %d %s differs at flat index %d: numeric %.6g, autograd %.6g (max excess %.3g)",
                        op, i, Arrays.toString(in.shape()), worstAt, worstNum, worstAna, worst));
        }
    }

    private static double objective(Function<Tensor[], Tensor> f, Tensor[] inputs, int which, float[] data, int j, double h, float[] r) {
        Tensor[] args = inputs.clone();
        float[] moved = data.clone();
        moved[j] = (float) (data[j] + h);
        args[which] = Tensor.of(inputs[which].backend(), moved, inputs[which].shape());
        try (GradMode ignored = GradMode.off()) {
            float[] out = f.apply(args).toArray();
            double sum = 0;
            for (int k = 0; k < out.length; k++) sum += (double) out[k] * r[k];
            return sum;
        }
    }
}
