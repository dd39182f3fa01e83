package dev.shears.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.onnxruntime.OrtException;
import dev.shears.core.Tensor;
import dev.shears.nn.Add;
import dev.shears.nn.AvgPool2d;
import dev.shears.nn.BatchNorm2d;
import dev.shears.nn.Concat;
import dev.shears.nn.Conv2d;
import dev.shears.nn.Dropout;
import dev.shears.nn.Flatten;
import dev.shears.nn.GlobalAvgPool2d;
import dev.shears.nn.Graph;
import dev.shears.nn.Identity;
import dev.shears.nn.Linear;
import dev.shears.nn.MaxPool2d;
import dev.shears.nn.Module;
import dev.shears.nn.ReLU;
import dev.shears.nn.SimpleCNN;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Models exported by Shears run in ONNX Runtime (an independent implementation) with Shears' logits within
 * 1e-4, and read back into Shears unchanged.
 */
class OnnxExporterTest {
    private static final int[] SAMPLE = {1, 28, 28};

    @TempDir Path dir;

    /** A batch of 4 reproducible inputs in [-1, 1], like normalised images. */
    static Tensor batch(long seed) {
        Random r = new Random(seed);
        float[] x = new float[4 * 28 * 28];
        for (int i = 0; i < x.length; i++) x[i] = r.nextFloat() * 2 - 1;
        return Tensor.of(x, 4, 1, 28, 28);
    }

    /** Gives BatchNorm layers statistics other than 0 and 1, so a mix-up of mean and variance would show. */
    static Module withStatistics(Module m, long seed) {
        Random r = new Random(seed);
        m.stateDict().forEach((name, t) -> {
            if (name.endsWith("running_mean") || name.endsWith("running_var") || (name.endsWith(".weight") && t.rank() == 1)) {
                float[] v = new float[t.size()];
                for (int i = 0; i < v.length; i++) v[i] = name.endsWith("running_mean") ? r.nextFloat() - 0.5f : 0.5f + r.nextFloat();
                int dot = name.lastIndexOf('.');
                m.module(name.substring(0, dot)).setParameter(name.substring(dot + 1), Tensor.of(v, t.shape()));
            }
        });
        return m;
    }

    private void assertRunsInOnnxRuntime(Module model, Tensor x, String what) throws IOException, OrtException {
        Path file = dir.resolve(what + ".onnx");
        OnnxExporter.write(model, file, SAMPLE);
        float[] shears = Fixtures.logits(model, x);
        Fixtures.assertClose(shears, Fixtures.onnxRuntime(file, x), what + " in ONNX Runtime");
        Module back = OnnxImporter.read(file);
        Fixtures.assertClose(shears, Fixtures.logits(back, x), what + " read back");
        assertEquals(model.stateDict().keySet().stream().filter(k -> !k.endsWith("num_batches_tracked")).toList(),
                back.stateDict().keySet().stream().filter(k -> !k.endsWith("num_batches_tracked")).toList(), what + ": names");
    }

    @Test
    void simpleCnn() throws Exception {
        assertRunsInOnnxRuntime(withStatistics(SimpleCNN.create(1), 2), batch(3), "simplecnn");
    }

    @Test
    void prunedSimpleCnn() throws Exception {
        assertRunsInOnnxRuntime(withStatistics(SimpleCNN.create(5, 7, 11, 4), 5), batch(6), "pruned");
    }

    @ParameterizedTest
    @ValueSource(strings = {"resnet", "resnet_bn", "mobilenet", "inception", "chain"})
    void importedFixtures(String name) throws Exception {
        Fixtures.Fixture f = Fixtures.load(name);
        assertRunsInOnnxRuntime(OnnxImporter.read(f.onnx()), f.input(), name);
    }

    /** Every layer the exporter knows, in branches: grouped conv, both poolings, Add of three, Concat, Dropout, Identity. */
    @Test
    void graphOfEveryLayer() throws Exception {
        Random init = new Random(7);
        Graph g = new Graph()
                .add("stem", new Conv2d(1, 6, 3, 2, 1, 1, true, init))
                .add("bn", new BatchNorm2d(6), "stem")
                .add("relu", new ReLU(), "bn")
                .add("dw", new Conv2d(6, 6, 3, 1, 1, 6, false, init), "relu")
                .add("avg", new AvgPool2d(3, 1, 1, false), "relu")
                .add("same", new Identity(), "relu")
                .add("sum", new Add(), "dw", "avg", "same")
                .add("pool", new MaxPool2d(2), "sum")
                .add("wide", new Conv2d(6, 4, 1, 1, 0, 1, true, init), "pool")
                .add("cat", new Concat(1), "pool", "wide")
                .add("gap", new GlobalAvgPool2d(), "cat")
                .add("flat", new Flatten(), "gap")
                .add("drop", new Dropout(0.3f), "flat")
                .add("fc", new Linear(10, 10, init), "drop");
        assertRunsInOnnxRuntime(withStatistics(g, 8), batch(9), "graph");
    }

    @Test
    void plainAddAndCountIncludePad() throws Exception {
        Random init = new Random(10);
        Graph g = new Graph()
                .add("a", new Conv2d(1, 3, 3, 1, 1, 1, true, init))
                .add("b", new Conv2d(1, 3, 3, 1, 1, 1, true, init), Graph.INPUT)
                .add("p", new AvgPool2d(3, 2, 1, true), "a")
                .add("q", new AvgPool2d(3, 2, 1, false), "b")
                .add("s", new Add(), "p", "q")
                .add("flat", new Flatten(), "s")
                .add("fc", new Linear(3 * 14 * 14, 10, init), "flat");
        assertRunsInOnnxRuntime(g, batch(11), "avgpools");
    }

    @Test
    void theFileDeclaresADynamicBatch() throws Exception {
        Path file = dir.resolve("m.onnx");
        OnnxExporter.write(SimpleCNN.create(1), file, SAMPLE);
        OnnxModel m = OnnxModel.read(file);
        assertEquals(OnnxModel.DYNAMIC, m.inputShape()[0]);
        assertEquals(List.of(1, 28, 28), java.util.Arrays.stream(m.sampleShape()).boxed().toList());
        assertEquals(OnnxExporter.OPSET, m.opset());
    }
}
