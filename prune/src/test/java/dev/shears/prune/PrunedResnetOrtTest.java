package dev.shears.prune;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.shears.core.GradMode;
import dev.shears.core.Tensor;
import dev.shears.core.testing.Close;
import dev.shears.data.Dataset;
import dev.shears.data.Idx;
import dev.shears.nn.Graph;
import dev.shears.nn.Module;
import dev.shears.onnx.OnnxExporter;
import dev.shears.onnx.OnnxImporter;
import dev.shears.nn.io.SafeTensors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The pruning target on the ResNet-style ONNX fixture (PyTorch-trained, residual adds, a 1×1 projection, global
 * pooling): L1 filter pruning at a global ratio of 0.5 keeps at most 60% of the weights, and ONNX Runtime runs
 * the exported pruned file with Shears' logits, hence Shears' accuracy. On the first 1,000 Fashion-MNIST test
 * images ({@code -Dshears.fashion.images=10000} for all of them); skipped where the dataset is not installed.
 */
class PrunedResnetOrtTest {
    static final Path RESNET = Path.of("../onnx/src/test/resources/fixtures/resnet.onnx");
    static final Path FASHION = Path.of("/usr/share/datasets/fashion-mnist");

    @ParameterizedTest
    @ValueSource(strings = {"resnet", "resnet_bn"})
    void l1AtHalfTheChannelsKeepsAtMostSixtyPercentOfTheWeightsAndOnnxRuntimeAgrees(String name, @TempDir Path dir) throws Exception {
        assumeTrue(Files.isDirectory(FASHION), FASHION + " is not installed");
        Module model = OnnxImporter.read(RESNET.resolveSibling(name + ".onnx"));
        assertInstanceOf(Graph.class, model);
        long before = model.parameterCount();
        PruneResult r = new Pruner(Method.L1, Criterion.globalRatio(0.5)).prune(model, 1, 1, 28, 28);
        double kept = (double) model.parameterCount() / before;
        assertTrue(kept <= 0.6, "kept " + kept + " of the weights: " + r.after());
        Path file = dir.resolve("pruned.onnx");
        OnnxExporter.write(model, file, new int[]{1, 28, 28});

        Dataset test = Dataset.fromIdx(Idx.readImages(FASHION.resolve("t10k-images-idx3-ubyte.gz")),
                Idx.readLabels(FASHION.resolve("t10k-labels-idx1-ubyte.gz")));
        int n = Math.min(test.size(), Integer.getInteger("shears.fashion.images", 1000)), pixels = test.imageSize();
        Tensor x = Tensor.of(Arrays.copyOf(test.images(), n * pixels), n, 1, 28, 28);
        float[] shears;
        try (GradMode ignored = GradMode.off()) { shears = model.eval().forward(x).toArray(); }
        float[] ort = onnxRuntime(file, x);
        Close.assertClose("pruned resnet, Shears vs ONNX Runtime", shears, ort, 1e-4, 1e-4);
        int[] labels = Arrays.copyOf(test.labels(), n);
        assertEquals(correct(shears, labels), correct(ort, labels), "correctly classified test images");
        System.out.printf("pruned %s (L1, global 0.5): %.1f%% of %d weights kept, channels %s -> %s, notes %s; on %d test images "
                        + "Shears %d correct, ONNX Runtime %d correct%n", name, 100 * kept, before, r.channelsBefore(), r.channelsAfter(), r.notes(), n,
                correct(shears, labels), correct(ort, labels));
    }

    /** Each fixture (residual, depthwise-separable, concatenating, chain), pruned and exported, runs in ONNX Runtime. */
    @ParameterizedTest
    @ValueSource(strings = {"resnet", "resnet_bn", "mobilenet", "inception", "chain"})
    void everyFixturePrunedByHalfPerLayerRunsInOnnxRuntimeWithShearsLogits(String name, @TempDir Path dir) throws Exception {
        Path fixtures = RESNET.getParent();
        Module model = OnnxImporter.read(fixtures.resolve(name + ".onnx"));
        long before = model.parameterCount();
        PruneResult r = new Pruner(Method.L1, Criterion.perLayerRatio(0.5)).prune(model, 1, 1, 28, 28);
        assertTrue(model.parameterCount() < 0.6 * before, name + ": " + model.parameterCount() + " of " + before + " weights kept");
        Path file = dir.resolve(name + ".pruned.onnx");
        OnnxExporter.write(model, file, new int[]{1, 28, 28});
        var in = SafeTensors.read(fixtures.resolve(name + ".logits.safetensors")).tensors().get("input");
        Tensor x = Tensor.of(in.data(), in.shape());
        float[] shears;
        try (GradMode ignored = GradMode.off()) { shears = model.eval().forward(x).toArray(); }
        Close.assertClose(name + " pruned " + r.channelsBefore() + " -> " + r.channelsAfter() + ", Shears vs ONNX Runtime",
                shears, onnxRuntime(file, x), 1e-4, 1e-4);
    }

    static float[] onnxRuntime(Path file, Tensor x) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession session = env.createSession(file.toString(), new OrtSession.SessionOptions());
             OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x.toArray()), Arrays.stream(x.shape()).asLongStream().toArray());
             OrtSession.Result result = session.run(Map.of(session.getInputNames().iterator().next(), in))) {
            return ((OnnxTensor) result.get(0)).getFloatBuffer().array();
        }
    }

    /** How many rows of {@code logits} [n, 10] have their largest value at the label. */
    static int correct(float[] logits, int[] labels) {
        int[] predicted = Tensor.of(logits, labels.length, logits.length / labels.length).argmax();
        int c = 0;
        for (int i = 0; i < labels.length; i++) if (predicted[i] == labels[i]) c++;
        return c;
    }
}
