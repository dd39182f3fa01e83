package dev.shears.nn;

import dev.shears.core.Tensor;

import java.util.Random;

/**
 * PyTorch's default initialisation. Conv2d and Linear weights: kaiming_uniform_(a=√5), which works out to
 * U(−b, b) with b = gain·√(3/fan_in), gain = √(2/(1+a²)) = √(1/3), so b = 1/√fan_in; their biases:
 * U(−1/√fan_in, 1/√fan_in). Numbers come from a {@link Random} shared by a whole model, in construction
 * order, so a seed fixes every weight (though not PyTorch's exact values: its generator differs).
 */
public final class Init {
    private Init() {}

    public static Tensor uniform(Random random, float bound, int... shape) {
        int n = 1;
        for (int d : shape) n *= d;
        float[] data = new float[n];
        for (int i = 0; i < n; i++) data[i] = (float) ((random.nextDouble() * 2 - 1) * bound);
        return Tensor.of(data, shape);
    }

    /** The bound 1/√fan_in shared by weights (kaiming_uniform_ with a = √5) and biases. */
    public static float defaultBound(int fanIn) {
        return (float) (1 / Math.sqrt(fanIn));
    }
}
