package dev.shears.onnx;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.protobuf.ByteString;
import onnx.Onnx;
import onnx.Onnx.AttributeProto;
import onnx.Onnx.GraphProto;
import onnx.Onnx.ModelProto;
import onnx.Onnx.NodeProto;
import onnx.Onnx.TensorProto;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * Corrupt and hostile ONNX files: each gets one {@link OnnxFormatException} whose message says what is wrong,
 * and nothing else (no other exception, no allocation beyond the file).
 */
class OnnxHostileTest {
    private static final Path SOURCE = Path.of("test.onnx");

    /** A valid tiny model: input [N, 1, 4, 4] → Conv 1→2 (3×3, pad 1) → Relu → Flatten → Gemm 32→3. */
    static ModelProto tiny() {
        GraphProto.Builder g = GraphProto.newBuilder().setName("tiny")
                .addInput(Onnx.ValueInfoProto.newBuilder().setName("x").setType(Onnx.TypeProto.newBuilder().setTensorType(
                        Onnx.TypeProto.Tensor.newBuilder().setElemType(1).setShape(Onnx.TensorShapeProto.newBuilder()
                                .addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimParam("N"))
                                .addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(1))
                                .addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(4))
                                .addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(4))))))
                .addOutput(Onnx.ValueInfoProto.newBuilder().setName("y"))
                .addInitializer(floats("w", 18, 2, 1, 3, 3))
                .addInitializer(floats("fc", 96, 3, 32))
                .addNode(node("Conv", "conv", "c", "x", "w").addAttribute(ints("pads", 1, 1, 1, 1)))
                .addNode(node("Relu", "relu", "r", "c"))
                .addNode(node("Flatten", "flatten", "f", "r"))
                .addNode(node("Gemm", "gemm", "y", "f", "fc").addAttribute(AttributeProto.newBuilder().setName("transB")
                        .setType(AttributeProto.AttributeType.INT).setI(1)));
        return ModelProto.newBuilder().setIrVersion(8)
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain("").setVersion(14)).setGraph(g).build();
    }

    static TensorProto.Builder floats(String name, int count, long... dims) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(1);
        for (long d : dims) t.addDims(d);
        for (int i = 0; i < count; i++) t.addFloatData((i % 7) * 0.1f - 0.3f);
        return t;
    }

    static NodeProto.Builder node(String op, String name, String output, String... inputs) {
        NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setName(name).addOutput(output);
        for (String in : inputs) n.addInput(in);
        return n;
    }

    static AttributeProto ints(String name, long... v) {
        AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
        for (long x : v) a.addInts(x);
        return a.build();
    }

    /** Imports {@code bytes}: either a model or an OnnxFormatException, whose message is returned (null if none). */
    static String importOrMessage(byte[] bytes) {
        try {
            OnnxImporter.build(OnnxModel.parse(bytes, SOURCE));
            return null;
        } catch (OnnxFormatException e) {
            assertTrue(e.getMessage().startsWith(SOURCE.toString()), "the message names the file: " + e.getMessage());
            return e.getMessage();
        } catch (RuntimeException | StackOverflowError e) {
            throw new AssertionError("not an OnnxFormatException: " + e, e);
        }
    }

    static void assertRefused(ModelProto m, String... expectedParts) {
        String message = importOrMessage(m.toByteArray());
        if (message == null) fail("accepted; expected an error saying " + String.join(", ", expectedParts));
        for (String part : expectedParts) assertTrue(message.contains(part), "'" + part + "' is not in: " + message);
    }

    static ModelProto editGraph(UnaryOperator<GraphProto.Builder> edit) {
        ModelProto m = tiny();
        return m.toBuilder().setGraph(edit.apply(m.getGraph().toBuilder())).build();
    }

    @Test
    void theTinyModelImports() {
        assertTrue(importOrMessage(tiny().toByteArray()) == null);
    }

    @Test
    void notOnnx() {
        assertRefused(ModelProto.getDefaultInstance(), "no graph");
        assertTrue(importOrMessage("hello, world: not protobuf at all".getBytes()).contains("not an ONNX model"));
        assertTrue(importOrMessage(new byte[0]).contains("no graph"));
    }

    @Test
    void aShapeThatClaimsMoreThanTheDataHolds() {
        assertRefused(editGraph(g -> g.setInitializer(0, floats("w", 18, 2, 1, 3, 4))), "initializer 'w'", "claims dims [2, 1, 3, 4]", "24 elements", "holds 18");
        // a billion by a billion: refused from the claim, before anything is allocated
        assertRefused(editGraph(g -> g.setInitializer(0, floats("w", 18, 1_000_000_000L, 1_000_000_000L))), "initializer 'w'", "more than 2^31");
        assertRefused(editGraph(g -> g.setInitializer(0, floats("w", 18, 2, -1, 3, 3))), "initializer 'w'", "dimension 1 = -1");
        assertRefused(editGraph(g -> g.setInitializer(0, floats("w", 0, 2, 1, 3, 3).setRawData(ByteString.copyFrom(new byte[71])))),
                "71 raw bytes (not a multiple of 4)");
        assertRefused(editGraph(g -> g.setInitializer(0, floats("w", 18, 2, 1, 3, 3).setDataType(11))), "data type DOUBLE");
        assertRefused(editGraph(g -> g.setInitializer(0, floats("w", 18, 2, 1, 3, 3)
                .setDataLocation(TensorProto.DataLocation.EXTERNAL))), "external file");
    }

    @Test
    void cyclesUnknownNamesAndValuesWrittenTwice() {
        // relu reads its own output: a cycle, and ONNX requires topological order anyway
        assertRefused(editGraph(g -> g.setNode(1, node("Relu", "relu", "r", "r"))), "Relu node 'relu' reads 'r'", "cycle");
        assertRefused(editGraph(g -> g.setNode(1, node("Relu", "relu", "r", "nowhere"))), "reads 'nowhere'");
        assertRefused(editGraph(g -> g.setNode(2, node("Flatten", "flatten", "c", "r"))), "writes 'c', which is already defined");
        assertRefused(editGraph(g -> g.setOutput(0, Onnx.ValueInfoProto.newBuilder().setName("zz"))), "graph output 'zz'");
    }

    @Test
    void anUnsupportedOperatorIsNamedWithTheSupportedList() {
        assertRefused(editGraph(g -> g.setNode(1, node("Softmax", "soft", "r", "c"))),
                "Softmax node 'soft'", "operator Softmax is not supported", "AveragePool, BatchNormalization", "Unsqueeze");
        assertRefused(editGraph(g -> g.setNode(1, node("Relu", "relu", "r", "c").setDomain("com.microsoft"))), "domain 'com.microsoft'");
    }

    @Test
    void opsetsOutsideElevenToSeventeen() {
        ModelProto m = tiny();
        assertRefused(m.toBuilder().setOpsetImport(0, m.getOpsetImport(0).toBuilder().setVersion(9)).build(), "opset 9", "11 to 17");
        assertRefused(m.toBuilder().setOpsetImport(0, m.getOpsetImport(0).toBuilder().setVersion(18)).build(), "opset 18");
        assertRefused(m.toBuilder().clearOpsetImport().build(), "no opset");
    }

    @Test
    void layersShearsDoesNotHave() {
        assertRefused(editGraph(g -> g.setInitializer(0, floats("w", 12, 2, 1, 3, 2))), "kernel 3x2 is not square");
        assertRefused(editGraph(g -> g.setNode(0, g.getNode(0).toBuilder().addAttribute(ints("strides", 1, 2)))), "strides [1, 2]");
        assertRefused(editGraph(g -> g.setNode(0, g.getNode(0).toBuilder().setAttribute(0, ints("pads", 1, 1, 0, 0)))), "pads [1, 1, 0, 0]");
        assertRefused(editGraph(g -> g.setNode(0, g.getNode(0).toBuilder().addAttribute(ints("dilations", 2, 2)))), "dilations [2, 2]");
        // 2^32 + 1 groups would be 1 group if it were cast to an int unchecked
        assertRefused(editGraph(g -> g.setNode(0, g.getNode(0).toBuilder().addAttribute(AttributeProto.newBuilder().setName("group")
                .setType(AttributeProto.AttributeType.INT).setI((1L << 32) + 1)))), "group 4294967297");
        // Reshape to something else than [batch, -1]
        assertRefused(editGraph(g -> g.addInitializer(TensorProto.newBuilder().setName("s").setDataType(7).addDims(3)
                        .addInt64Data(-1).addInt64Data(2).addInt64Data(16))
                .setNode(2, node("Reshape", "reshape", "f", "r", "s"))), "Reshape node 'reshape'", "[-1, 2, 16]", "only a reshape to [batch, -1]");
    }

    /** The reshapes to [batch, features] that exporters write are a Flatten: x.view(-1, 32), [0, -1], [N, 32]. */
    @Test
    void reshapesThatFlatten() {
        for (long[] shape : new long[][]{{-1, 32}, {0, -1}, {0, 32}})
            assertTrue(importOrMessage(editGraph(g -> g.addInitializer(TensorProto.newBuilder().setName("s").setDataType(7).addDims(2)
                    .addInt64Data(shape[0]).addInt64Data(shape[1])).setNode(2, node("Reshape", "reshape", "f", "r", "s"))).toByteArray()) == null,
                    java.util.Arrays.toString(shape));
        assertRefused(editGraph(g -> g.addInitializer(TensorProto.newBuilder().setName("s").setDataType(7).addDims(2)
                .addInt64Data(-1).addInt64Data(16)).setNode(2, node("Reshape", "reshape", "f", "r", "s"))), "[-1, 16]");
    }

    /** A file exported for batch 1 only (input [1, 1, 4, 4], Reshape to [1, 32]) still takes any batch once imported. */
    @Test
    void aFixedBatchOfOneBecomesFree() throws IOException {
        ModelProto m = editGraph(g -> {
            var dims = g.getInput(0).getType().getTensorType().getShape().toBuilder()
                    .setDim(0, Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(1));
            return g.setInput(0, g.getInput(0).toBuilder().setType(Onnx.TypeProto.newBuilder().setTensorType(
                            g.getInput(0).getType().getTensorType().toBuilder().setShape(dims))))
                    .addInitializer(TensorProto.newBuilder().setName("s").setDataType(7).addDims(2).addInt64Data(1).addInt64Data(32))
                    .setNode(2, node("Reshape", "reshape", "f", "r", "s"));
        });
        var model = OnnxImporter.build(OnnxModel.parse(m.toByteArray(), SOURCE));
        float[] x = new float[3 * 16];
        for (int i = 0; i < x.length; i++) x[i] = (i % 5) - 2;
        float[] three = Fixtures.logits(model, dev.shears.core.Tensor.of(x, 3, 1, 4, 4));
        float[] last = Fixtures.logits(model, dev.shears.core.Tensor.of(java.util.Arrays.copyOfRange(x, 32, 48), 1, 1, 4, 4));
        Fixtures.assertClose(last, java.util.Arrays.copyOfRange(three, 6, 9), "the third sample alone and in a batch of 3");
    }

    @Test
    void shapesThatDoNotFitEachOther() {
        // Gemm expects 32 features, the conv gives 2·4·4 = 32; with 5 filters it gives 80
        assertRefused(editGraph(g -> g.setInitializer(0, floats("w", 45, 5, 1, 3, 3))), "Gemm node 'gemm'");
    }

    @Test
    void hugeInputsAndOutputsAreRefusedBeforeTheyAreAllocated() {
        assertRefused(editGraph(g -> {
            var dims = g.getInput(0).getType().getTensorType().getShape().toBuilder()
                    .setDim(2, Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(1 << 20))
                    .setDim(3, Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(1 << 20));
            return g.setInput(0, g.getInput(0).toBuilder().setType(Onnx.TypeProto.newBuilder().setTensorType(
                    g.getInput(0).getType().getTensorType().toBuilder().setShape(dims))));
        }), "values per sample");
        // 4096 filters of 1×1 on 1×4×4 with padding 64: 4096·(4+128)² values
        assertRefused(editGraph(g -> g.setInitializer(0, floats("w", 4096, 4096, 1, 1, 1))
                .setNode(0, g.getNode(0).toBuilder().setAttribute(0, ints("pads", 64, 64, 64, 64)))), "Conv node 'conv'", "values per sample");
    }

    /** Random byte flips, truncations and insertions of a real fixture: a model or an OnnxFormatException, nothing else. */
    @Test
    void fuzzedFixtures() throws IOException {
        byte[] original = Files.readAllBytes(Fixtures.resource("chain.onnx"));
        Random r = new Random(42);
        int refused = 0;
        for (int trial = 0; trial < 400; trial++) {
            byte[] b = original.clone();
            switch (trial % 3) {
                case 0 -> { for (int k = 1 + r.nextInt(4); k > 0; k--) b[r.nextInt(b.length)] = (byte) r.nextInt(256); }
                case 1 -> b = java.util.Arrays.copyOf(b, r.nextInt(b.length));
                default -> {   // overwrite a run with small varints, which protobuf reads as tags and lengths
                    int at = r.nextInt(b.length - 8);
                    for (int k = 0; k < 8; k++) b[at + k] = (byte) (r.nextInt(16) * 8 + r.nextInt(3));
                }
            }
            if (importOrMessage(b) != null) refused++;
        }
        assertTrue(refused > 100, "most damaged files are refused, got " + refused + " of 400");
    }
}
