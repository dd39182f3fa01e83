package dev.shears.nn;

import dev.shears.core.Backend;
import dev.shears.core.Backend.Binary;
import dev.shears.core.Backend.Unary;
import dev.shears.core.Conv2dShape;
import dev.shears.core.Pool2dShape;
import dev.shears.core.Storage;

/**
 * The steps of a {@link Predictor}'s plan: each reads and writes a workspace's buffers, by index, for a batch
 * of n examples; shapes come precomputed per batch size (index n − 1), so a step allocates nothing. A
 * trailing {@code relu} is max(y, 0) applied in place to the step's own fresh output (a ReLU that only
 * reads that output, fused in by {@link PredictorCompiler}).
 */
final class PredictorSteps {
    private PredictorSteps() {}

    /** One step of the plan. */
    interface Step {
        void run(Backend b, Storage[] buf, int n);
    }

    private static void reluInPlace(Backend b, int n, Storage y) { b.unary(Unary.RELU, n, y, y); }

    /**
     * A convolution (BatchNorm folded in w and bias), then its max-pooling (pool non-null), or else plus the
     * buffer {@code residual} (≥ 0: an Add of a shortcut; {@code out} may be {@code residual}, in place), then
     * ReLU if asked.
     */
    record Conv(int in, int out, Conv2dShape[] shape, Pool2dShape[] pool, boolean relu, int residual, int outSize,
                Storage w, Storage bias) implements Step {
        @Override public void run(Backend b, Storage[] buf, int n) {
            if (pool != null) {
                b.conv2dMaxPool2dForward(shape[n - 1], pool[n - 1], relu, buf[in], w, bias, buf[out]);
                return;
            }
            if (residual >= 0 && residual != out) b.copy(n * outSize, buf[residual], buf[out]);
            b.conv2dAddReluForward(shape[n - 1], residual >= 0, relu, buf[in], w, bias, buf[out]);
        }
    }

    /**
     * Two pooled convolutions in a row, the second reading the first's output (first.out, a buffer for this step
     * only, which the backend may leave unwritten: {@link Backend#conv2dMaxPool2dPairForward}).
     */
    record ConvPair(Conv first, Conv second) implements Step {
        @Override public void run(Backend b, Storage[] buf, int n) {
            b.conv2dMaxPool2dPairForward(first.shape()[n - 1], first.pool()[n - 1], first.relu(), buf[first.in()], first.w(), first.bias(),
                    second.shape()[n - 1], second.pool()[n - 1], second.relu(), second.w(), second.bias(), buf[first.out()], buf[second.out()]);
        }
    }

    /** Max-pooling, then ReLU if asked (a ReLU before a pooling moves after it: max is monotone). */
    record MaxPool(int in, int out, Pool2dShape[] shape, boolean relu, int outSize) implements Step {
        @Override public void run(Backend b, Storage[] buf, int n) {
            b.maxPool2dForwardValues(shape[n - 1], buf[in], buf[out]);
            if (relu) reluInPlace(b, n * outSize, buf[out]);
        }
    }

    /** Average pooling (global average pooling: a window the size of the plane), then ReLU if asked. */
    record AvgPool(int in, int out, Pool2dShape[] shape, boolean countIncludePad, boolean relu, int outSize) implements Step {
        @Override public void run(Backend b, Storage[] buf, int n) {
            b.avgPool2dForward(shape[n - 1], countIncludePad, buf[in], buf[out]);
            if (relu) reluInPlace(b, n * outSize, buf[out]);
        }
    }

    /** y = max(x, 0); {@code out} may be {@code in} (in place). */
    record Relu(int in, int out, int size) implements Step {
        @Override public void run(Backend b, Storage[] buf, int n) {
            b.unary(Unary.RELU, n * size, buf[in], buf[out]);
        }
    }

    /** y = x·Wᵀ + bias, the bias rows (maxBatch copies) as the GEMM's starting value; then ReLU if asked. */
    record Dense(int in, int out, int inFeatures, int outFeatures, Storage w, Storage biasRows, boolean relu) implements Step {
        @Override public void run(Backend b, Storage[] buf, int n) {
            if (biasRows != null) b.copy(n * outFeatures, biasRows, buf[out]);
            b.gemm(false, true, n, outFeatures, inFeatures, 1f, buf[in], w, biasRows != null ? 1f : 0f, buf[out]);
            if (relu) reluInPlace(b, n * outFeatures, buf[out]);
        }
    }

    /** A BatchNorm2d with no convolution before it, in evaluation mode (mean and invStd: scratch buffers); then ReLU if asked. */
    record Norm(int in, int out, int channels, int hw, float eps, Storage gamma, Storage beta, Storage mean,
                Storage var, int meanOut, int invStdOut, boolean relu) implements Step {
        @Override public void run(Backend b, Storage[] buf, int n) {
            b.batchNorm2dForward(n, channels, hw, false, 0f, eps, buf[in], gamma, beta, mean, var, buf[out], buf[meanOut], buf[invStdOut]);
            if (relu) reluInPlace(b, n * channels * hw, buf[out]);
        }
    }

    /**
     * y = x₀ + x₁ + ... (left to right), all of one shape; then ReLU if asked. {@code out} may be {@code in[0]}
     * (in place, where nothing reads x₀ afterwards). {@code flat[n − 1]} = {n·size}: the backend's shape argument.
     */
    record Sum(int[] in, int out, int[][] flat, boolean relu) implements Step {
        @Override public void run(Backend b, Storage[] buf, int n) {
            int[] shape = flat[n - 1];
            b.binary(Binary.ADD, shape, buf[in[0]], shape, buf[in[1]], shape, buf[out]);
            for (int i = 2; i < in.length; i++) b.binary(Binary.ADD, shape, buf[out], shape, buf[in[i]], shape, buf[out]);
            if (relu) reluInPlace(b, shape[0], buf[out]);
        }
    }

    /**
     * Concatenation along one dimension of the examples: per example, {@code outer} blocks, input i giving
     * {@code cols[i]} values of each at offset {@code offsets[i]} within the output's {@code total}; then ReLU if asked.
     */
    record Concat(int[] in, int out, int outer, int[] cols, int[] offsets, int total, boolean relu) implements Step {
        @Override public void run(Backend b, Storage[] buf, int n) {
            for (int i = 0; i < in.length; i++)
                b.copyStrided(n * outer, cols[i], buf[in[i]], 0, cols[i], buf[out], offsets[i], total);
            if (relu) reluInPlace(b, n * outer * total, buf[out]);
        }
    }
}
