package dev.shears.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.shears.core.GradMode;
import dev.shears.core.Tensor;
import dev.shears.nn.Module;
import dev.shears.nn.io.NamedArray;
import dev.shears.nn.io.SafeTensors;

import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * The models that make_onnx_fixtures.py exported from PyTorch, with PyTorch's logits for a fixed batch, and
 * the comparisons every ONNX test makes: against those logits, and against ONNX Runtime.
 */
final class Fixtures {
    static final float TOLERANCE = 1e-4f;

    private Fixtures() {}

    /** A fixture: the .onnx file, its fixed input batch [16, 1, 28, 28] and PyTorch's logits [16, 10] for it. */
    record Fixture(String name, Path onnx, Tensor input, float[] logits) {}

    static Fixture load(String name) throws IOException {
        SafeTensors.Contents c = SafeTensors.read(resource(name + ".logits.safetensors"));
        NamedArray input = c.tensors().get("input"), logits = c.tensors().get("logits");
        return new Fixture(name, resource(name + ".onnx"), Tensor.of(input.data(), input.shape()), logits.data());
    }

    static Path resource(String file) {
        URL url = Fixtures.class.getResource("/fixtures/" + file);
        assertNotNull(url, "test resource fixtures/" + file + " is missing; run make_onnx_fixtures.py");
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@code model}'s output for {@code x} in eval mode, without grad. */
    static float[] logits(Module model, Tensor x) {
        try (var noGrad = GradMode.off()) {
            return model.eval().forward(x).toArray();
        }
    }

    /** ONNX Runtime's output of {@code file} for {@code x}: the independent implementation of the same file. */
    static float[] onnxRuntime(Path file, Tensor x) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession session = env.createSession(file.toString(), new OrtSession.SessionOptions());
             ai.onnxruntime.OnnxTensor in = ai.onnxruntime.OnnxTensor.createTensor(env, FloatBuffer.wrap(x.toArray()),
                     Arrays.stream(x.shape()).asLongStream().toArray());
             OrtSession.Result result = session.run(Map.of(session.getInputNames().iterator().next(), in))) {
            return ((ai.onnxruntime.OnnxTensor) result.get(0)).getFloatBuffer().array();
        }
    }

    static float maxDifference(float[] a, float[] b) {
        float worst = 0;
        for (int i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
        return worst;
    }

    /** Element-wise |expected - actual| <= TOLERANCE, the message giving the largest difference and where. */
    static void assertClose(float[] expected, float[] actual, String what) {
        assertTrue(expected.length == actual.length, what + ": " + expected.length + " values expected, " + actual.length + " found");
        float worst = 0;
        int at = 0;
        for (int i = 0; i < expected.length; i++) {
            float d = Math.abs(expected[i] - actual[i]);
            if (!(d <= worst)) { worst = d; at = i; }
        }
        if (!(worst <= TOLERANCE))
            assertArrayEquals(expected, actual, TOLERANCE, what + ": largest difference " + worst + " at " + at);
    }
}
