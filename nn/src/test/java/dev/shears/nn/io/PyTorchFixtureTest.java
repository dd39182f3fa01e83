package dev.shears.nn.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reads the files written by PyTorch in make_simplecnn_fixture.py and checks that they hold what
 * the engine's comparison tests will look up: names, shapes, dtypes, and a few facts that follow
 * from the logits alone (so a mislabelled tensor would show here, before any engine runs).
 */
class PyTorchFixtureTest {

    /** PyTorch's state_dict of SimpleCNN, in its order, with shapes. */
    static final Map<String, int[]> STATE = new LinkedHashMap<>();

    static {
        STATE.put("conv1.weight", new int[] {32, 1, 3, 3});
        STATE.put("conv1.bias", new int[] {32});
        STATE.put("bn1.weight", new int[] {32});
        STATE.put("bn1.bias", new int[] {32});
        STATE.put("bn1.running_mean", new int[] {32});
        STATE.put("bn1.running_var", new int[] {32});
        STATE.put("bn1.num_batches_tracked", new int[] {});
        STATE.put("conv2.weight", new int[] {64, 32, 3, 3});
        STATE.put("conv2.bias", new int[] {64});
        STATE.put("bn2.weight", new int[] {64});
        STATE.put("bn2.bias", new int[] {64});
        STATE.put("bn2.running_mean", new int[] {64});
        STATE.put("bn2.running_var", new int[] {64});
        STATE.put("bn2.num_batches_tracked", new int[] {});
        STATE.put("fc1.weight", new int[] {128, 3136});
        STATE.put("fc1.bias", new int[] {128});
        STATE.put("fc2.weight", new int[] {10, 128});
        STATE.put("fc2.bias", new int[] {10});
    }

    static boolean isParameter(String name) {
        return name.endsWith(".weight") || name.endsWith(".bias");
    }

    static SafeTensors.Contents fixture(String name) throws IOException, URISyntaxException {
        URL url = PyTorchFixtureTest.class.getResource("/fixtures/" + name);
        assertNotNull(url, "test resource fixtures/" + name + " is missing; run make_simplecnn_fixture.py");
        return SafeTensors.read(Path.of(url.toURI()));
    }

    @Test
    void weightsAreTheStateDictBeforeTraining() throws Exception {
        SafeTensors.Contents w = fixture("simplecnn_weights.safetensors");
        assertEquals(List.copyOf(STATE.keySet()), List.copyOf(w.tensors().keySet()));
        STATE.forEach((name, shape) -> {
            assertArrayEquals(shape, w.get(name).shape(), name);
            assertEquals(name.endsWith("num_batches_tracked") ? DType.I64 : DType.F32, w.get(name).dtype(), name);
        });
        assertArrayEquals(new float[] {0}, w.get("bn1.num_batches_tracked").data());
        for (float v : w.get("bn2.running_var").data()) {
            assertEquals(1f, v);
        }
        assertTrue(w.metadata().get("torch").startsWith("1.13"), w.metadata().toString());
    }

    @Test
    void rewritingPyTorchsFileGivesTheSameBytes(@TempDir Path dir) throws Exception {
        // Same order, dtypes, compact JSON and space padding as the writer in the fixture script:
        // a check of the writer against a file that PyTorch's side produced.
        for (String name : List.of("simplecnn_weights.safetensors", "simplecnn_expected.safetensors")) {
            SafeTensors.Contents c = fixture(name);
            Path copy = dir.resolve(name);
            SafeTensors.write(copy, c.tensors(), c.metadata());
            assertArrayEquals(Files.readAllBytes(Path.of(PyTorchFixtureTest.class.getResource("/fixtures/" + name).toURI())),
                    Files.readAllBytes(copy), name);
        }
    }

    @Test
    void expectedHoldsOneTrainStepAndItsGradients() throws Exception {
        SafeTensors.Contents e = fixture("simplecnn_expected.safetensors");
        List<String> names = new ArrayList<>(List.of("input", "labels", "logits", "loss"));
        STATE.keySet().stream().filter(PyTorchFixtureTest::isParameter).forEach(n -> names.add("grad." + n));
        for (String bn : List.of("bn1", "bn2")) {
            for (String buffer : List.of("running_mean", "running_var", "num_batches_tracked")) {
                names.add("after_forward." + bn + "." + buffer);
            }
        }
        names.add("eval_logits");
        assertEquals(names, List.copyOf(e.tensors().keySet()));

        assertArrayEquals(new int[] {8, 1, 28, 28}, e.get("input").shape());
        assertEquals(DType.I64, e.get("labels").dtype());
        assertArrayEquals(new int[] {8, 10}, e.get("logits").shape());
        assertArrayEquals(new int[] {}, e.get("loss").shape());
        assertArrayEquals(new int[] {8, 10}, e.get("eval_logits").shape());
        STATE.forEach((name, shape) -> {
            if (isParameter(name)) {
                assertArrayEquals(shape, e.get("grad." + name).shape(), name);
            }
        });
        assertArrayEquals(new float[] {1}, e.get("after_forward.bn2.num_batches_tracked").data());

        // Cross-entropy and its gradient at fc2.bias follow from the logits alone:
        // loss = mean_i (logsumexp(z_i) - z_i[y_i]),  dL/db_k = mean_i (softmax(z_i)_k - [k == y_i]).
        float[] z = e.get("logits").data();
        float[] y = e.get("labels").data();
        double loss = 0;
        double[] gradBias = new double[10];
        for (int i = 0; i < 8; i++) {
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int k = 0; k < 10; k++) max = Math.max(max, z[i * 10 + k]);
            for (int k = 0; k < 10; k++) sum += Math.exp(z[i * 10 + k] - max);
            int label = (int) y[i];
            assertEquals(y[i], label, "labels are integers");
            loss += (max + Math.log(sum) - z[i * 10 + label]) / 8;
            for (int k = 0; k < 10; k++) {
                gradBias[k] += (Math.exp(z[i * 10 + k] - max) / sum - (k == label ? 1 : 0)) / 8;
            }
        }
        assertEquals(loss, e.get("loss").data()[0], 1e-5);
        float[] fc2BiasGrad = e.get("grad.fc2.bias").data();
        for (int k = 0; k < 10; k++) {
            assertEquals(gradBias[k], fc2BiasGrad[k], 1e-6, "grad.fc2.bias[" + k + "]");
        }
    }

    @Test
    void sgdHoldsTheParametersAfterTwoSteps() throws Exception {
        SafeTensors.Contents s = fixture("simplecnn_sgd.safetensors");
        assertArrayEquals(new int[] {}, s.get("step2.loss").shape());
        STATE.forEach((name, shape) -> {
            String key = "after_2_steps." + name;
            if (isParameter(name) || name.contains("running_") || name.endsWith("num_batches_tracked")) {
                assertArrayEquals(shape, s.get(key).shape(), key);
            }
        });
        assertArrayEquals(new float[] {2}, s.get("after_2_steps.bn1.num_batches_tracked").data());
        assertEquals(1 + 12 + 6, s.tensors().size()); // step2.loss, 12 parameters, 6 BatchNorm buffers
    }
}
