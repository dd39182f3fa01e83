package dev.shears.nn;

import dev.shears.core.GradMode;
import dev.shears.core.Tensor;
import dev.shears.core.TensorScope;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static dev.shears.core.testing.Close.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

/**
 * {@link Inference}'s rewrites (conv+BN folded, ReLU moved after pooling, in-place ReLU) against the same
 * layers run one by one, with BatchNorm statistics and affine parameters far from their defaults.
 */
class InferenceTest {

    /** Layer by layer, as training-time code runs them: the definition the rewrites must match. */
    private static Tensor layerByLayer(Sequential model, Tensor x) {
        for (Module m : model.layers()) x = m.forward(x);
        return x;
    }

    /** See {@link PredictorTest#randomiseBatchNorms}: every BatchNorm's γ, β, μ, σ² random, so that folding them is not a no-op. */
    static void randomiseBatchNorms(Sequential model, long seed) { PredictorTest.randomiseBatchNorms(model, seed); }

    @Test
    void simpleCnnGivesTheLayerByLayerOutputs() {
        for (int[] widths : new int[][]{{32, 64}, {3, 5}}) {
            Sequential model = SimpleCNN.create(widths[0], widths[1], 16, 7);
            randomiseBatchNorms(model, 11);
            model.eval();
            try (GradMode off = GradMode.off(); TensorScope scope = TensorScope.open()) {
                Tensor x = Tensor.randn(3, 5, 1, 28, 28);
                float[] input = x.toArray();
                float[] expected = layerByLayer(model, x).toArray(), actual = model.forward(x).toArray();
                assertClose("SimpleCNN " + widths[0] + "/" + widths[1] + " inference", expected, actual, 1e-4, 1e-4);
                assertArrayEquals(input, x.toArray(), "the caller's input is never written");
            }
        }
    }

    @Test
    void recycledIntermediatesDoNotLeakIntoTheNextCall() {
        // activations large enough to be kept for reuse (≥ 2 KiB on the CPU backend), at batch 5 and batch 1
        Sequential model = SimpleCNN.create(24, 20, 16, 9);
        randomiseBatchNorms(model, 13);
        model.eval();
        for (int batch : new int[]{5, 1})
            try (GradMode off = GradMode.off(); TensorScope scope = TensorScope.open()) {
                float[] nan = new float[batch * 28 * 28];
                java.util.Arrays.fill(nan, Float.NaN);
                model.forward(Tensor.of(nan, batch, 1, 28, 28));     // leaves arrays full of NaN to be handed out again
                for (int call = 0; call < 3; call++) {
                    Tensor x = Tensor.randn(21 + call, batch, 1, 28, 28);
                    assertClose("batch " + batch + ", call " + call + " after recycling", layerByLayer(model, x).toArray(),
                            model.forward(x).toArray(), 1e-4, 1e-4);
                }
            }
    }

    @Test
    void chainsWithoutBatchNormOrWithAReluOnTheInputAreUntouched() {
        Random init = new Random(3);
        Sequential model = new Sequential()
                .add("relu0", new ReLU())                        // on the caller's tensor: not in place
                .add("conv", new Conv2d(2, 4, 3, 1, 0, true, init))
                .add("relu", new ReLU())                         // in place on the conv's fresh output
                .add("pool", new MaxPool2d(3, 2, 1))
                .add("flatten", new Flatten())
                .add("fc", new Linear(4 * 3 * 3, 5, init));
        model.eval();
        try (GradMode off = GradMode.off(); TensorScope scope = TensorScope.open()) {
            Tensor x = Tensor.randn(4, 2, 2, 7, 7);
            float[] input = x.toArray();
            assertClose("conv/relu/pool chain", layerByLayer(model, x).toArray(), model.forward(x).toArray(), 1e-5, 1e-5);
            assertArrayEquals(input, x.toArray(), "the caller's input is never written");
        }
    }

    @Test
    void theFoldIsKeptWhileTheParametersKeepTheirValuesAndFollowsEveryChange() {
        Sequential model = SimpleCNN.create(6, 5, 8, 4);
        randomiseBatchNorms(model, 17);
        model.eval();
        Conv2d conv = (Conv2d) model.layers().get(0);
        BatchNorm2d bn = (BatchNorm2d) model.layers().get(1);
        try (GradMode off = GradMode.off(); TensorScope scope = TensorScope.open()) {
            Tensor x = Tensor.randn(31, 2, 1, 28, 28);
            model.forward(x);
            BatchNormFold first = conv.fold;
            assertNotNull(first, "the first call folds");
            model.forward(x);
            assertSame(first, conv.fold, "nothing changed: the fold is reused");
            // each value the fold reads, changed in place as an optimizer step or a checkpoint load would
            Tensor[] inputs = {conv.weight(), conv.bias(), bn.weight(), bn.bias(), bn.runningMean(), bn.runningVar()};
            String[] names = {"conv weight", "conv bias", "BN weight", "BN bias", "running mean", "running var"};
            for (int i = 0; i < inputs.length; i++) {
                float[] v = inputs[i].toArray();
                v[v.length - 1] += 0.5f;
                inputs[i].backend().copy(v.length, Tensor.of(v, v.length).storage(), inputs[i].storage());
                BatchNormFold before = conv.fold;
                assertClose("after a change to the " + names[i], layerByLayer(model, x).toArray(), model.forward(x).toArray(), 1e-4, 1e-4);
                assertNotSame(before, conv.fold, "a change to the " + names[i] + " makes a new fold");
            }
        }
    }

    @Test
    void withGradientsOnTheLayersRunAsWritten() {
        Sequential model = SimpleCNN.create(4, 6, 8, 2);
        randomiseBatchNorms(model, 5);
        model.eval();
        Tensor x = Tensor.randn(9, 2, 1, 28, 28);
        // grad mode on: no rewrite, so the outputs are bit for bit those of the layers
        assertArrayEquals(layerByLayer(model, x).toArray(), model.forward(x).toArray());
    }
}
