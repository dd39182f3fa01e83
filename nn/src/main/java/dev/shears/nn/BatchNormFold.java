package dev.shears.nn;

import dev.shears.core.HeapStorage;
import dev.shears.core.Tensor;

import java.util.Arrays;

/**
 * A convolution's weight and bias with the BatchNorm after it (in evaluation mode) folded in, for tensors in
 * the Java heap, and copies of the values they were computed from: per output channel k,
 * a = γ/√(σ²+eps), weight·a and (b − μ)·a + β, in BatchNorm's own arithmetic (double, then float).
 *
 * <p>{@link Inference} keeps the last fold in its {@link Conv2d} and uses it while {@link #matches} — while
 * every value it was computed from is still the same, bit for bit: the parameters and running statistics
 * may change in place between calls (an optimizer step, a checkpoint loaded, a user's own code), and a
 * comparison sees every such change, where a version counter would need every writer to bump it. Why
 * keep it at all: computing the fold (a square root and a division per channel, two new arrays) took
 * 1 µs of a pruned SimpleCNN's 13.5 µs at batch 1 on one thread and 1.2 of 9.9 µs on two; comparing
 * reads the same arrays and writes nothing. The cost is a copy of the convolution's weights and the folded
 * weights, kept while the layer lives.
 */
final class BatchNormFold {
    private final BatchNorm2d bn;
    private final float eps;
    private final float[] weight, bias, gamma, beta, mean, var;    // what the fold was computed from
    final float[] foldedWeight, foldedBias;                        // never written after the constructor

    private BatchNormFold(Conv2d conv, BatchNorm2d bn) {
        this.bn = bn;
        this.eps = bn.eps();
        this.weight = copy(conv.weight());
        this.bias = conv.bias() == null ? null : copy(conv.bias());
        this.gamma = copy(bn.weight());
        this.beta = copy(bn.bias());
        this.mean = copy(bn.runningMean());
        this.var = copy(bn.runningVar());
        foldedWeight = new float[weight.length];
        foldedBias = new float[gamma.length];
        fold(weight, bias, gamma, beta, mean, var, eps, foldedWeight, foldedBias);
    }

    /**
     * foldedWeight = weight·a and foldedBias = (bias − mean)·a + beta per output channel k, a = γ/√(σ²+eps),
     * in BatchNorm's own arithmetic (a in double, then float); {@code bias} may be null (read as 0).
     */
    static void fold(float[] weight, float[] bias, float[] gamma, float[] beta, float[] mean, float[] var, float eps,
                     float[] foldedWeight, float[] foldedBias) {
        int k = gamma.length, perFilter = weight.length / k;
        for (int c = 0; c < k; c++) {
            float a = (float) (gamma[c] * (1.0 / Math.sqrt(var[c] + (double) eps)));
            foldedBias[c] = ((bias == null ? 0f : bias[c]) - mean[c]) * a + beta[c];
            for (int i = c * perFilter; i < (c + 1) * perFilter; i++) foldedWeight[i] = weight[i] * a;
        }
    }

    /** The fold kept in {@code conv} if it still matches, else a new one, which {@code conv} then keeps. */
    static BatchNormFold of(Conv2d conv, BatchNorm2d bn) {
        BatchNormFold f = conv.fold;
        if (f == null || !f.matches(conv, bn)) conv.fold = f = new BatchNormFold(conv, bn);
        return f;
    }

    /** Whether conv and bn hold exactly the values this fold was computed from. */
    boolean matches(Conv2d conv, BatchNorm2d bn) {
        Tensor b = conv.bias();
        return bn == this.bn && Float.floatToIntBits(bn.eps()) == Float.floatToIntBits(eps)
                && same(conv.weight(), weight) && (b == null ? bias == null : bias != null && same(b, bias))
                && same(bn.weight(), gamma) && same(bn.bias(), beta)
                && same(bn.runningMean(), mean) && same(bn.runningVar(), var);
    }

    /** Equal sizes and values, compared by their bits (Arrays.equals: −0 differs from 0, all NaNs are alike). */
    private static boolean same(Tensor t, float[] copy) {
        return t.size() == copy.length && Arrays.equals(HeapStorage.floats(t.storage()), 0, copy.length, copy, 0, copy.length);
    }

    private static float[] copy(Tensor t) { return Arrays.copyOf(HeapStorage.floats(t.storage()), t.size()); }
}
