package dev.shears.onnx;

import dev.shears.nn.Module;
import dev.shears.nn.Predictor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fixtures imported from ONNX and compiled by {@link Predictor} (a Graph for resnet and inception, a
 * Sequential with depthwise convolutions for mobilenet, a chain): the fixed batch of 16 gives PyTorch's
 * logits and the model's own eval-mode forward pass, within {@link Fixtures#TOLERANCE}; a batch of 5 and a
 * single image give the same as that batch's first rows.
 */
class OnnxPredictorTest {

    @ParameterizedTest
    @ValueSource(strings = {"resnet", "mobilenet", "inception", "chain"})
    void compiledFixturesGivePyTorchsLogitsAndTheModelsForward(String name) throws IOException {
        Fixtures.Fixture f = Fixtures.load(name);
        Module model = OnnxImporter.read(f.onnx());
        assertTrue(Predictor.supports(model), name);
        int[] example = Arrays.copyOfRange(f.input().shape(), 1, f.input().shape().length);
        int n = f.input().dim(0);
        float[] images = f.input().toArray();
        try (Predictor p = Predictor.of(model, n, example)) {
            float[] out = new float[n * p.outputSize()];
            p.predict(images, n, out);
            Fixtures.assertClose(f.logits(), out, name + " compiled, against PyTorch");
            Fixtures.assertClose(Fixtures.logits(model, f.input()), out, name + " compiled, against its eval forward");
            float[] five = new float[5 * p.outputSize()];
            p.predict(images, 5, five);
            Fixtures.assertClose(Arrays.copyOf(out, five.length), five, name + " compiled, batch 5");
            float[] one = new float[p.outputSize()];
            p.predict(images, 1, one);
            Fixtures.assertClose(Arrays.copyOf(out, one.length), one, name + " compiled, batch 1");
            assertArrayEquals(new int[]{10}, p.outputShape(), name);
        }
    }
}
