package dev.shears.core;

import dev.shears.core.testing.GradCheck;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Random;

/** Finite-difference gradient checks for every differentiable op, on small shapes with sizes of 1 and odd sizes. */
class OpsGradientTest {

    /** Values in ±[0.2, 1.2): at least 0.2 away from the kinks at 0 of relu, abs and sign. */
    static Tensor awayFromZero(long seed, int... shape) {
        Random r = new Random(seed);
        float[] d = new float[Shapes.size(shape)];
        for (int i = 0; i < d.length; i++) d[i] = (float) ((0.2 + r.nextDouble()) * (r.nextBoolean() ? 1 : -1));
        return Tensor.of(d, shape);
    }

    /** Distinct values (a shuffled ramp), so that max-pool never has a tie within a finite-difference step. */
    static Tensor distinct(long seed, int... shape) {
        int n = Shapes.size(shape);
        float[] d = new float[n];
        for (int i = 0; i < n; i++) d[i] = (i - n / 2f) * 0.1f;
        Random r = new Random(seed);
        for (int i = n - 1; i > 0; i--) { int j = r.nextInt(i + 1); float t = d[i]; d[i] = d[j]; d[j] = t; }
        return Tensor.of(d, shape);
    }

    @Test void add() { GradCheck.check("add", t -> t[0].add(t[1]), Tensor.randn(1, 3, 4), Tensor.randn(2, 3, 4)); }
    @Test void addBroadcastRow() { GradCheck.check("add bcast", t -> t[0].add(t[1]), Tensor.randn(1, 5, 3), Tensor.randn(2, 3)); }
    @Test void subBroadcastColumn() { GradCheck.check("sub bcast", t -> t[0].sub(t[1]), Tensor.randn(1, 1, 3), Tensor.randn(2, 4, 1)); }
    @Test void mulBroadcast4d() { GradCheck.check("mul bcast", t -> t[0].mul(t[1]), Tensor.randn(1, 2, 3, 2, 2), Tensor.randn(2, 1, 3, 1, 1)); }
    @Test void div() { GradCheck.check("div", t -> t[0].div(t[1]), Tensor.randn(1, 7), awayFromZero(2, 7).abs().add(0.5f)); }
    @Test void max() { GradCheck.check("max", t -> PointwiseOps.binary(Backend.Binary.MAX, t[0], t[1]), Tensor.randn(1, 9), Tensor.randn(2, 9)); }
    @Test void min() { GradCheck.check("min", t -> PointwiseOps.binary(Backend.Binary.MIN, t[0], t[1]), Tensor.randn(1, 9), Tensor.randn(2, 1)); }
    @Test void neg() { GradCheck.check("neg", t -> t[0].neg(), Tensor.randn(1, 1)); }
    @Test void exp() { GradCheck.check("exp", t -> t[0].exp(), Tensor.randn(1, 17)); }
    @Test void log() { GradCheck.check("log", t -> t[0].log(), awayFromZero(1, 17).abs().add(0.3f)); }
    @Test void sqrt() { GradCheck.check("sqrt", t -> t[0].sqrt(), awayFromZero(1, 17).abs().add(0.3f)); }
    @Test void abs() { GradCheck.check("abs", t -> t[0].abs(), awayFromZero(1, 17)); }
    @Test void square() { GradCheck.check("square", t -> t[0].square(), Tensor.randn(1, 3, 3)); }
    @Test void relu() { GradCheck.check("relu", t -> t[0].relu(), awayFromZero(1, 2, 17)); }
    @Test void affine() { GradCheck.check("affine", t -> t[0].affine(-2.5f, 1f), Tensor.randn(1, 5)); }
    @Test void sum() { GradCheck.check("sum", t -> t[0].sum(), Tensor.randn(1, 3, 5)); }
    @Test void mean() { GradCheck.check("mean", t -> t[0].mean(), Tensor.randn(1, 3, 5)); }
    @Test void sumTo() { GradCheck.check("sumTo", t -> t[0].sumTo(1, 5), Tensor.randn(1, 3, 5)); }
    @Test void reshapeFlatten() { GradCheck.check("reshape", t -> t[0].flatten(1).mul(t[0].reshape(2, -1)), Tensor.randn(1, 2, 3, 2)); }
    @Test void permute() { GradCheck.check("permute", t -> t[0].permute(2, 0, 1), Tensor.randn(1, 2, 3, 4)); }

    @Test void matmul() { GradCheck.check("matmul", t -> t[0].matmul(t[1]), Tensor.randn(1, 3, 5), Tensor.randn(2, 5, 4)); }
    @Test void matmulVector() { GradCheck.check("matmul 1xk", t -> t[0].matmul(t[1]), Tensor.randn(1, 1, 7), Tensor.randn(2, 7, 1)); }
    @Test void transposedOperands() {
        GradCheck.check("gemm Aᵀ", t -> MatrixOps.gemm("g", t[0], true, t[1], false), Tensor.randn(1, 5, 3), Tensor.randn(2, 5, 4));
        GradCheck.check("gemm Bᵀ", t -> MatrixOps.gemm("g", t[0], false, t[1], true), Tensor.randn(1, 3, 5), Tensor.randn(2, 4, 5));
        GradCheck.check("gemm AᵀBᵀ", t -> MatrixOps.gemm("g", t[0], true, t[1], true), Tensor.randn(1, 5, 3), Tensor.randn(2, 4, 5));
    }
    @Test void linear() { GradCheck.check("linear", t -> MatrixOps.linear(t[0], t[1], t[2]), Tensor.randn(1, 4, 6), Tensor.randn(2, 3, 6), Tensor.randn(3, 3)); }

    @ParameterizedTest(name = "conv2d stride={0}")
    @ValueSource(ints = {1, 2})
    void conv2d(int stride) {
        GradCheck.check("conv2d", t -> ConvOps.conv2d(t[0], t[1], t[2], stride, 1),
                Tensor.randn(1, 2, 3, 5, 6), Tensor.randn(2, 4, 3, 3, 3), Tensor.randn(3, 4));
    }
    @Test void conv2dNoPaddingNoBias() {
        GradCheck.check("conv2d", t -> ConvOps.conv2d(t[0], t[1], null, 1, 0), Tensor.randn(1, 1, 2, 4, 5), Tensor.randn(2, 3, 2, 2, 3));
    }
    @Test void conv2dSizeOne() {
        GradCheck.check("conv2d 1x1", t -> ConvOps.conv2d(t[0], t[1], t[2], 1, 0), Tensor.randn(1, 1, 1, 1, 1), Tensor.randn(2, 1, 1, 1, 1), Tensor.randn(3, 1));
    }

    @Test void maxPool() { GradCheck.check("max_pool2d", 1e-3, 1e-2, 1e-2, t -> ConvOps.maxPool2d(t[0], 2, 2, 0), distinct(1, 2, 3, 5, 4)); }
    @Test void maxPoolOverlappingPadded() { GradCheck.check("max_pool2d", 1e-3, 1e-2, 1e-2, t -> ConvOps.maxPool2d(t[0], 3, 2, 1), distinct(1, 1, 2, 7, 6)); }

    @ParameterizedTest(name = "batch_norm2d training={0}")
    @ValueSource(booleans = {true, false})
    void batchNorm(boolean training) {
        Tensor rm = Tensor.randn(9, 3).mul(0.1f), rv = Tensor.randn(10, 3).abs().add(0.5f);
        GradCheck.check("batch_norm2d", 1e-2, 3e-2, 3e-2,
                t -> NormOps.batchNorm2d(t[0], t[1], t[2], rm, rv, training, 0f, 1e-5f),
                Tensor.randn(1, 4, 3, 2, 3), Tensor.randn(2, 3), Tensor.randn(3, 3));
    }

    @Test void crossEntropy() {
        int[] labels = {2, 0, 4};
        GradCheck.check("cross_entropy", t -> LossOps.crossEntropy(t[0], labels), Tensor.randn(1, 3, 5));
    }

    @Test void composedNetwork() {
        // conv → bn → relu → pool → flatten → linear → cross-entropy, the SimpleCNN pattern in miniature
        Tensor rm = Tensor.zeros(2), rv = Tensor.ones(2);
        int[] labels = {1, 0};
        GradCheck.check("small cnn", 1e-2, 5e-2, 5e-2, t -> {
            Tensor h = ConvOps.conv2d(t[0], t[1], null, 1, 1);
            h = NormOps.batchNorm2d(h, t[2], t[3], rm, rv, true, 0f, 1e-5f).relu();
            h = ConvOps.maxPool2d(h, 2, 2, 0).flatten(1);
            return LossOps.crossEntropy(MatrixOps.linear(h, t[4], t[5]), labels);
        }, Tensor.randn(1, 2, 1, 4, 4), Tensor.randn(2, 2, 1, 3, 3), Tensor.uniform(3, 0.5f, 1.5f, 2), Tensor.randn(4, 2),
                Tensor.randn(5, 3, 8), Tensor.randn(6, 3));
    }
}
