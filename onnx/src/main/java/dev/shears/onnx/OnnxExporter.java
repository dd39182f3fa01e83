package dev.shears.onnx;

import com.google.protobuf.ByteString;
import dev.shears.core.GradMode;
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
import dev.shears.nn.Sequential;
import onnx.Onnx;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a Shears model (a Sequential such as SimpleCNN, or a Graph; pruned or not) as an ONNX file of opset
 * {@value #OPSET} with a dynamic batch dimension: input {@code "input"} [N, ...sample], output {@code "logits"}.
 *
 * <p>Each layer becomes one standard operator (Conv, BatchNormalization, Relu, MaxPool, AveragePool,
 * GlobalAveragePool, Flatten, Gemm for Linear, Add or Sum, Concat, Identity, Dropout) and each parameter
 * and buffer an initializer with its state-dict name ({@code conv1.weight}), so the file reads back into the
 * same layers with the same names. The file is written atomically (a temporary file, then a rename).
 */
public final class OnnxExporter {
    public static final int OPSET = 14;
    /** ONNX IR version 8 (ONNX 1.10): every runtime that runs opset 14 reads it. */
    static final int IR_VERSION = 8;

    private final Onnx.GraphProto.Builder graph = Onnx.GraphProto.newBuilder().setName("shears");
    private final Map<String, Integer> nodeNames = new HashMap<>();

    private OnnxExporter() {}

    /**
     * Writes {@code model} to {@code file} for inputs of shape [N, ...inputShapeWithoutBatch]. The model is run
     * once on a zero sample (in eval mode, without grad; its mode is restored) to find the output's width.
     *
     * @throws IllegalArgumentException naming a layer that has no ONNX counterpart here
     */
    public static void write(Module model, Path file, int[] inputShapeWithoutBatch) throws IOException {
        byte[] bytes = toProto(model, inputShapeWithoutBatch).toByteArray();
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (OutputStream out = Files.newOutputStream(tmp)) {
            out.write(bytes);
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** The ONNX model of {@code model}, as {@link #write} saves it. */
    public static Onnx.ModelProto toProto(Module model, int[] inputShapeWithoutBatch) {
        int[] sample = new int[inputShapeWithoutBatch.length + 1];
        sample[0] = 1;
        System.arraycopy(inputShapeWithoutBatch, 0, sample, 1, inputShapeWithoutBatch.length);
        int[] outShape;
        boolean training = model.isTraining();
        try (var noGrad = GradMode.off()) {
            model.eval();
            outShape = model.forward(Tensor.zeros(model.backend(), sample)).shape();
        } finally {
            model.train(training);
        }
        OnnxExporter e = new OnnxExporter();
        e.graph.addInput(valueInfo("input", sample));
        String out = e.emit(model, "", List.of("input"));
        if (out.equals("input")) throw new IllegalArgumentException("cannot export " + model.describe() + ": it computes nothing");
        e.rename(out, "logits");
        e.graph.addOutput(valueInfo("logits", outShape));
        return Onnx.ModelProto.newBuilder()
                .setIrVersion(IR_VERSION)
                .setProducerName("shears")
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
                .setGraph(e.graph)
                .build();
    }

    /**
     * Emits the nodes of {@code m} reading the values {@code inputs}; returns the name of its output value.
     * {@code prefix} is the state-dict prefix of m ("block1." or "").
     */
    private String emit(Module m, String prefix, List<String> inputs) {
        if (m instanceof Sequential s) {
            String x = single(m, inputs);
            for (var e : s.children().entrySet()) x = emit(e.getValue(), prefix + e.getKey() + ".", List.of(x));
            return x;
        }
        if (m instanceof Graph g) {
            Map<String, String> value = new HashMap<>(Map.of(Graph.INPUT, single(m, inputs)));
            for (String name : g.nodeNames()) {
                List<String> in = g.inputsOf(name).stream().map(value::get).toList();
                value.put(name, emit(g.node(name), prefix + name + ".", in));
            }
            return value.get(g.outputName());
        }
        String name = prefix.isEmpty() ? m.getClass().getSimpleName().toLowerCase() : prefix.substring(0, prefix.length() - 1);
        switch (m) {
            case Conv2d c -> {
                List<String> in = new ArrayList<>(List.of(single(m, inputs), initializer(prefix + "weight", c.weight())));
                if (c.bias() != null) in.add(initializer(prefix + "bias", c.bias()));
                Onnx.NodeProto.Builder n = node("Conv", name, in);
                ints(n, "kernel_shape", c.kernel(), c.kernel());
                ints(n, "strides", c.stride(), c.stride());
                ints(n, "pads", c.padding(), c.padding(), c.padding(), c.padding());
                ints(n, "dilations", 1, 1);
                n.addAttribute(intAttr("group", c.groups()));
                return add(n);
            }
            case BatchNorm2d b -> {
                Onnx.NodeProto.Builder n = node("BatchNormalization", name, List.of(single(m, inputs),
                        initializer(prefix + "weight", b.weight()), initializer(prefix + "bias", b.bias()),
                        initializer(prefix + "running_mean", b.runningMean()), initializer(prefix + "running_var", b.runningVar())));
                n.addAttribute(floatAttr("epsilon", b.eps()));
                n.addAttribute(floatAttr("momentum", 1 - b.momentum()));
                return add(n);
            }
            case ReLU r -> { return add(node("Relu", name, inputs(m, inputs, 1))); }
            case MaxPool2d p -> {
                Onnx.NodeProto.Builder n = node("MaxPool", name, inputs(m, inputs, 1));
                pool(n, p.kernel(), p.stride(), p.padding());
                return add(n);
            }
            case AvgPool2d p -> {
                Onnx.NodeProto.Builder n = node("AveragePool", name, inputs(m, inputs, 1));
                pool(n, p.kernel(), p.stride(), p.padding());
                n.addAttribute(intAttr("count_include_pad", p.countIncludePad() ? 1 : 0));
                return add(n);
            }
            case GlobalAvgPool2d p -> { return add(node("GlobalAveragePool", name, inputs(m, inputs, 1))); }
            case Flatten f -> { return add(node("Flatten", name, inputs(m, inputs, 1)).addAttribute(intAttr("axis", 1))); }
            case Linear l -> {
                List<String> in = new ArrayList<>(List.of(single(m, inputs), initializer(prefix + "weight", l.weight())));
                if (l.bias() != null) in.add(initializer(prefix + "bias", l.bias()));
                return add(node("Gemm", name, in).addAttribute(intAttr("transB", 1)));
            }
            case Identity i -> { return add(node("Identity", name, inputs(m, inputs, 1))); }
            case Dropout d -> {
                String ratio = initializer(prefix + "ratio", Tensor.of(new float[]{d.p()}));
                return add(node("Dropout", name, List.of(single(m, inputs), ratio)));
            }
            case Add a -> { return add(node(inputs.size() == 2 ? "Add" : "Sum", name, inputs)); }
            case Concat c -> { return add(node("Concat", name, inputs).addAttribute(intAttr("axis", c.dim()))); }
            default -> throw new IllegalArgumentException("cannot export layer '" + name + "' to ONNX: " + m.describe()
                    + " has no ONNX counterpart in Shears' exporter");
        }
    }

    private static String single(Module m, List<String> inputs) { return inputs(m, inputs, 1).get(0); }

    private static List<String> inputs(Module m, List<String> inputs, int expected) {
        if (inputs.size() != expected)
            throw new IllegalArgumentException(m.describe() + " takes " + expected + " input(s), the graph gives it " + inputs.size());
        return inputs;
    }

    /** A node whose one output value is named like the node (unique); the caller adds attributes, then {@link #add}. */
    private Onnx.NodeProto.Builder node(String op, String name, List<String> inputs) {
        int k = nodeNames.merge(name, 1, Integer::sum);
        String unique = k == 1 ? name : name + "_" + k;
        return Onnx.NodeProto.newBuilder().setOpType(op).setName(unique).addAllInput(inputs).addOutput(unique);
    }

    private String add(Onnx.NodeProto.Builder n) {
        graph.addNode(n);
        return n.getOutput(0);
    }

    /** Renames a value wherever it is written or read. */
    private void rename(String from, String to) {
        for (Onnx.NodeProto.Builder n : graph.getNodeBuilderList()) {
            for (int i = 0; i < n.getInputCount(); i++) if (n.getInput(i).equals(from)) n.setInput(i, to);
            for (int i = 0; i < n.getOutputCount(); i++) if (n.getOutput(i).equals(from)) n.setOutput(i, to);
        }
    }

    private String initializer(String name, Tensor t) {
        float[] data = t.toArray();
        ByteBuffer raw = ByteBuffer.allocate(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        raw.asFloatBuffer().put(data);
        Onnx.TensorProto.Builder p = Onnx.TensorProto.newBuilder().setName(name)
                .setDataType(Onnx.TensorProto.DataType.FLOAT_VALUE).setRawData(ByteString.copyFrom(raw.array()));
        for (int d : t.shape()) p.addDims(d);
        graph.addInitializer(p);
        return name;
    }

    private static void pool(Onnx.NodeProto.Builder n, int kernel, int stride, int padding) {
        ints(n, "kernel_shape", kernel, kernel);
        ints(n, "strides", stride, stride);
        ints(n, "pads", padding, padding, padding, padding);
    }

    private static void ints(Onnx.NodeProto.Builder n, String name, long... values) {
        Onnx.AttributeProto.Builder a = Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.INTS);
        for (long v : values) a.addInts(v);
        n.addAttribute(a);
    }

    private static Onnx.AttributeProto intAttr(String name, long v) {
        return Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.INT).setI(v).build();
    }

    private static Onnx.AttributeProto floatAttr(String name, float v) {
        return Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.FLOAT).setF(v).build();
    }

    /** A FLOAT tensor value of shape [N, shape[1], ...]: dimension 0 is the symbolic batch N. */
    private static Onnx.ValueInfoProto valueInfo(String name, int[] shape) {
        Onnx.TensorShapeProto.Builder s = Onnx.TensorShapeProto.newBuilder();
        s.addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimParam("N"));
        for (int i = 1; i < shape.length; i++) s.addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(shape[i]));
        return Onnx.ValueInfoProto.newBuilder().setName(name).setType(Onnx.TypeProto.newBuilder().setTensorType(
                Onnx.TypeProto.Tensor.newBuilder().setElemType(Onnx.TensorProto.DataType.FLOAT_VALUE).setShape(s))).build();
    }

}
