package dev.shears.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shears.core.Tensor;
import dev.shears.nn.BatchNorm2d;
import dev.shears.nn.Conv2d;
import dev.shears.nn.Graph;
import dev.shears.nn.Module;
import dev.shears.nn.Sequential;

import java.io.IOException;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** Each PyTorch-exported fixture imported and run by Shears gives PyTorch's logits within 1e-4. */
class OnnxImporterTest {

    @ParameterizedTest
    @ValueSource(strings = {"resnet", "resnet_bn", "mobilenet", "inception", "chain"})
    void importedModelsGivePyTorchsLogits(String name) throws IOException {
        Fixtures.Fixture f = Fixtures.load(name);
        Module model = OnnxImporter.read(f.onnx());
        Fixtures.assertClose(f.logits(), Fixtures.logits(model, f.input()), name);
    }

    /** Gemm with B not transposed and α, β ≠ 1, against values computed by hand. */
    @Test
    void gemmWithAlphaBetaAndAnUntransposedB() throws IOException {
        // y = 2 · x · B + 0.5 · C, x [N, 2], B [2, 3] = [[1, 2, 3], [4, 5, 6]], C = [10, 20, 30]
        onnx.Onnx.GraphProto.Builder g = OnnxHostileTest.tiny().getGraph().toBuilder().clearNode().clearInitializer();
        g.setInput(0, g.getInput(0).toBuilder().setType(onnx.Onnx.TypeProto.newBuilder().setTensorType(
                onnx.Onnx.TypeProto.Tensor.newBuilder().setElemType(1).setShape(onnx.Onnx.TensorShapeProto.newBuilder()
                        .addDim(onnx.Onnx.TensorShapeProto.Dimension.newBuilder().setDimParam("N"))
                        .addDim(onnx.Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(2))))));
        g.addInitializer(onnx.Onnx.TensorProto.newBuilder().setName("B").setDataType(1).addDims(2).addDims(3)
                .addAllFloatData(List.of(1f, 2f, 3f, 4f, 5f, 6f)));
        g.addInitializer(onnx.Onnx.TensorProto.newBuilder().setName("C").setDataType(1).addDims(3).addAllFloatData(List.of(10f, 20f, 30f)));
        g.addNode(OnnxHostileTest.node("Gemm", "gemm", "y", "x", "B", "C")
                .addAttribute(onnx.Onnx.AttributeProto.newBuilder().setName("alpha").setType(onnx.Onnx.AttributeProto.AttributeType.FLOAT).setF(2))
                .addAttribute(onnx.Onnx.AttributeProto.newBuilder().setName("beta").setType(onnx.Onnx.AttributeProto.AttributeType.FLOAT).setF(0.5f)));
        byte[] bytes = OnnxHostileTest.tiny().toBuilder().setGraph(g).build().toByteArray();
        Module m = OnnxImporter.build(OnnxModel.parse(bytes, java.nio.file.Path.of("gemm.onnx")));
        // x = [1, -1]: x·B = [1-4, 2-5, 3-6] = [-3, -3, -3] → 2·that + [5, 10, 15] = [-1, 4, 9]
        assertArrayEquals(new float[]{-1, 4, 9}, Fixtures.logits(m, Tensor.of(new float[]{1, -1}, 1, 2)), 1e-6f);
    }

    /** Dropout (opset 11's ratio attribute), Identity and Pad by zero change nothing at inference; Dropout stays a layer. */
    @Test
    void dropoutIdentityAndZeroPadAreTransparent() throws IOException {
        onnx.Onnx.ModelProto plain = OnnxHostileTest.tiny();
        onnx.Onnx.GraphProto.Builder g = plain.getGraph().toBuilder();
        g.setNode(1, OnnxHostileTest.node("Relu", "relu", "r0", "c"))
                .addInitializer(onnx.Onnx.TensorProto.newBuilder().setName("pads").setDataType(7).addDims(8).addAllInt64Data(List.of(0L, 0L, 0L, 0L, 0L, 0L, 0L, 0L)))
                .addNode(2, OnnxHostileTest.node("Dropout", "drop", "r1", "r0").addAttribute(onnx.Onnx.AttributeProto.newBuilder()
                        .setName("ratio").setType(onnx.Onnx.AttributeProto.AttributeType.FLOAT).setF(0.3f)))
                .addNode(3, OnnxHostileTest.node("Identity", "same", "r2", "r1"))
                .addNode(4, OnnxHostileTest.node("Pad", "pad", "r", "r2", "pads"));
        onnx.Onnx.ModelProto dressed = plain.toBuilder().setGraph(g)
                .setOpsetImport(0, plain.getOpsetImport(0).toBuilder().setVersion(11)).build();
        Module a = OnnxImporter.build(OnnxModel.parse(plain.toByteArray(), java.nio.file.Path.of("plain.onnx")));
        Module b = OnnxImporter.build(OnnxModel.parse(dressed.toByteArray(), java.nio.file.Path.of("dressed.onnx")));
        Tensor x = OnnxExporterTest.batch(1).reshape(4 * 49, 1, 4, 4);
        Fixtures.assertClose(Fixtures.logits(a, x), Fixtures.logits(b, x), "with and without the no-ops");
        Sequential s = assertInstanceOf(Sequential.class, b);
        assertTrue(s.layers().stream().anyMatch(m -> m instanceof dev.shears.nn.Dropout d && Math.abs(d.p() - 0.3f) < 1e-7), s.describe());
        assertEquals(a.stateDict().keySet(), b.stateDict().keySet());
    }

    @Test
    void theBatchDimensionIsFree() throws IOException {
        Fixtures.Fixture f = Fixtures.load("resnet");
        Module model = OnnxImporter.read(f.onnx());
        float[] one = Fixtures.logits(model, Tensor.of(java.util.Arrays.copyOf(f.input().toArray(), 28 * 28), 1, 1, 28, 28));
        Fixtures.assertClose(java.util.Arrays.copyOf(f.logits(), 10), one, "first sample alone");
    }

    @Test
    void aChainBecomesASequentialWithPyTorchsNames() throws IOException {
        Module model = OnnxImporter.read(Fixtures.load("chain").onnx());
        Sequential s = assertInstanceOf(Sequential.class, model);
        assertEquals(List.of("conv1.weight", "conv1.bias", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var",
                "bn1.num_batches_tracked", "conv2.weight", "conv2.bias", "bn2.weight", "bn2.bias", "bn2.running_mean",
                "bn2.running_var", "bn2.num_batches_tracked", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"),
                List.copyOf(s.stateDict().keySet()));
        assertInstanceOf(BatchNorm2d.class, s.child("bn1"));
        assertTrue(s.isTraining(), "a freshly imported model is in training mode, like a new one");
    }

    @Test
    void branchesBecomeAGraph() throws IOException {
        Graph g = assertInstanceOf(Graph.class, OnnxImporter.read(Fixtures.load("resnet").onnx()));
        // the exporter folded every BatchNorm into its conv: none is left, every conv has a bias
        assertTrue(g.nodeNames().stream().map(g::node).noneMatch(m -> m instanceof BatchNorm2d));
        assertTrue(g.nodeNames().stream().map(g::node).filter(m -> m instanceof Conv2d).allMatch(m -> ((Conv2d) m).bias() != null));
        assertTrue(g.nodeNames().stream().anyMatch(n -> g.inputsOf(n).size() == 2), "the residual adds read two nodes");
    }

    @Test
    void aResidualGraphExportedWithItsBatchNormsKeepsThemAsNodes() throws IOException {
        Graph g = assertInstanceOf(Graph.class, OnnxImporter.read(Fixtures.load("resnet_bn").onnx()));
        // TrainingMode.PRESERVE: every conv (bias=False in PyTorch) is followed by its own BatchNorm
        long norms = g.nodeNames().stream().map(g::node).filter(m -> m instanceof BatchNorm2d).count();
        long convs = g.nodeNames().stream().map(g::node).filter(m -> m instanceof Conv2d).count();
        assertEquals(convs, norms, g.describe());
        assertTrue(g.nodeNames().stream().map(g::node).filter(m -> m instanceof Conv2d).allMatch(m -> ((Conv2d) m).bias() == null));
        assertTrue(g.parameterCount() > 50_000, "parameters " + g.parameterCount());
    }

    @Test
    void depthwiseConvolutionsKeepTheirGroups() throws IOException {
        // MobileNet-style is a chain (its Shape/Gather/... flatten and Pad by zero leave no branch)
        Sequential s = assertInstanceOf(Sequential.class, OnnxImporter.read(Fixtures.load("mobilenet").onnx()));
        assertTrue(s.layers().stream().anyMatch(m -> m instanceof Conv2d c && c.groups() == c.inChannels() && c.groups() > 1));
    }
}
