package dev.shears.onnx;

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
import dev.shears.nn.Linear;
import dev.shears.nn.MaxPool2d;
import dev.shears.nn.Module;
import dev.shears.nn.MultiInput;
import dev.shears.nn.ReLU;
import dev.shears.nn.Sequential;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

/**
 * Builds a Shears model from an {@link OnnxModel}: a {@link Sequential} when the graph is a chain, else a
 * {@link Graph}. Initializers become parameters, BatchNorm statistics buffers.
 *
 * <p>What exporters write is matched back into layers: {@code MatMul} followed by {@code Add} of a constant,
 * and {@code Gemm}, become {@link Linear}; {@code Flatten}, and a {@code Reshape} to [batch, -1] (including the
 * {@code Shape → Gather → Unsqueeze → Concat} chain that {@code x.view(x.size(0), -1)} exports to), become
 * {@link Flatten}; {@code Identity}, and {@code Pad} by zero, are dropped. Shape arithmetic is evaluated while
 * importing, with the batch dimension kept symbolic, so the imported model takes any batch size.
 *
 * <p>Every layer is run once, as it is built, on a zero sample (batch 1, eval mode, no grad): that gives each
 * value's shape, which the checks and the flatten matching need, and proves the layer accepts its input.
 */
public final class OnnxImporter {
    /** The operators Shears imports, for the message that refuses any other. */
    public static final Set<String> SUPPORTED = new TreeSet<>(List.of("Add", "AveragePool", "BatchNormalization", "Concat",
            "Constant", "Conv", "Dropout", "Flatten", "Gather", "Gemm", "GlobalAveragePool", "Identity", "MatMul", "MaxPool",
            "Pad", "Relu", "Reshape", "Shape", "Sum", "Unsqueeze"));

    /**
     * The most values one sample may have in any layer's input or output (2^24): the import runs every layer on
     * a sample, and a hostile shape must not make it allocate gigabytes. Convolutions and concatenations, the
     * layers whose output can outgrow both their input and the file, are checked before they run.
     */
    static final long MAX_SAMPLE = 1 << 24;
    /** The most padding on a side that Shears imports: more is not a CNN, and would make huge outputs. */
    static final long MAX_PAD = 64;
    /** The largest pooling window or stride Shears imports (what an int holds is not the point: 2^16 is no CNN). */
    static final long MAX_WINDOW = 1 << 16;

    /** A value of the ONNX graph while importing: the output of a Shears layer, a constant, or a shape vector. */
    private sealed interface Value permits Runtime, Constant, ShapeVector {}

    /** The output of graph node {@code node} (or the graph input); {@code example} is its value for a zero sample. */
    private record Runtime(String node, Tensor example) implements Value {}

    private record Constant(OnnxTensor tensor) implements Value {}

    /**
     * Integers computed from shapes, e.g. {@code Shape(x)} = [N, 16, 7, 7]; {@code batch[i]} marks the entries
     * that are the batch size (symbolic), {@code scalar} a rank-0 value (what Gather with a scalar index gives).
     */
    private record ShapeVector(long[] values, boolean[] batch, boolean scalar) implements Value {}

    private final OnnxModel model;
    private final Map<String, Value> values = new HashMap<>();
    /** Layers in order: name → module, and the names of the layers (or Graph.INPUT) they read. */
    private final Map<String, Module> layers = new LinkedHashMap<>();
    private final Map<String, List<String>> layerInputs = new LinkedHashMap<>();
    /** How many nodes read each value, to fuse MatMul + Add only when nothing else reads the product. */
    private final Map<String, Integer> readers = new HashMap<>();
    /** Nodes folded into an earlier layer (the Add after a MatMul). */
    private final Set<OnnxNode> fused = new HashSet<>();

    private OnnxImporter(OnnxModel model) { this.model = model; }

    /** Reads {@code file} and builds its model. */
    public static Module read(Path file) throws IOException {
        return build(OnnxModel.read(file));
    }

    /** Builds the Shears model of {@code model}, on the default backend, in training mode (as a new module is). */
    public static Module build(OnnxModel model) throws OnnxFormatException {
        return new OnnxImporter(model).build();
    }

    private Module build() throws OnnxFormatException {
        checkSupported();
        for (OnnxNode n : model.nodes()) for (String in : n.inputs()) readers.merge(in, 1, Integer::sum);
        model.constants().forEach((name, t) -> values.put(name, new Constant(t)));
        int[] sample = new int[model.inputShape().length];
        sample[0] = 1;
        long size = 1;
        for (int i = 1; i < sample.length; i++) {
            size *= sample[i] = (int) model.inputShape()[i];   // each factor is at most 2^20: no overflow before the check
            if (size > MAX_SAMPLE)
                throw error("input '" + model.inputName() + "' " + Arrays.toString(model.inputShape()) + " has more than "
                        + MAX_SAMPLE + " values per sample, the most Shears imports");
        }
        values.put(model.inputName(), new Runtime(Graph.INPUT, Tensor.zeros(sample)));
        OnnxNode current = null;
        try (var noGrad = GradMode.off()) {
            for (OnnxNode n : model.nodes()) {
                current = n;
                if (!fused.contains(n)) node(n, model.nodes());
                release(n);
            }
        } catch (RuntimeException e) {
            // a layer refused its input (shapes that do not fit, say): the file describes an inconsistent model
            throw error(current.describe() + ": " + e.getMessage());
        }
        Value out = values.get(model.outputName());
        if (!(out instanceof Runtime r) || r.node().equals(Graph.INPUT))
            throw error("the graph output '" + model.outputName() + "' is not computed by any layer from the input");
        return assemble(r.node()).train();
    }

    /** Drops the example values that no later node reads, so a long graph holds only the live ones. */
    private void release(OnnxNode n) {
        for (String in : n.inputs())
            if (readers.merge(in, -1, Integer::sum) == 0 && !in.equals(model.outputName()) && values.get(in) instanceof Runtime r)
                values.put(in, new Runtime(r.node(), null));
    }

    private void checkSupported() throws OnnxFormatException {
        for (OnnxNode n : model.nodes())
            if (!SUPPORTED.contains(n.opType()))
                throw error(n.describe() + ": operator " + n.opType() + " is not supported; Shears imports " + String.join(", ", SUPPORTED));
    }

    private OnnxFormatException error(String message) { return new OnnxFormatException(model.source() + ": " + message); }

    // ---- one node ----

    private void node(OnnxNode n, List<OnnxNode> nodes) throws OnnxFormatException {
        String out = n.outputs().isEmpty() ? null : n.outputs().get(0);
        if (out == null || out.isEmpty()) throw error(n.describe() + " has no output");
        for (int i = 1; i < n.outputs().size(); i++)
            if (!n.outputs().get(i).isEmpty() && readers.containsKey(n.outputs().get(i)))
                throw error(n.describe() + ": its output " + i + " ('" + n.outputs().get(i) + "') is read by another node; Shears computes only the first output");
        switch (n.opType()) {
            case "Identity" -> values.put(out, value(n, 0));
            case "Relu" -> layer(n, new ReLU(), runtime(n, 0));
            case "GlobalAveragePool" -> layer(n, new GlobalAvgPool2d(), runtime(n, 0));
            case "Conv" -> conv(n);
            case "BatchNormalization" -> batchNorm(n);
            case "MaxPool", "AveragePool" -> pool(n);
            case "Gemm" -> gemm(n);
            case "MatMul" -> matMul(n, nodes);
            case "Add", "Sum" -> add(n);
            case "Concat" -> concat(n);
            case "Flatten" -> flatten(n);
            case "Reshape" -> reshape(n);
            case "Dropout" -> dropout(n);
            case "Pad" -> pad(n);
            case "Shape" -> shape(n);
            case "Gather" -> gather(n);
            case "Unsqueeze" -> unsqueeze(n);
            default -> throw new AssertionError(n.opType());
        }
    }

    private void conv(OnnxNode n) throws OnnxFormatException {
        Runtime x = runtime(n, 0);
        OnnxTensor w = floatConstant(n, 1, "weight");
        OnnxTensor b = n.input(2) == null ? null : floatConstant(n, 2, "bias");
        if (w.rank() != 4) throw error(n.describe() + ": weight " + w + " is not [out, in/groups, kh, kw]; Shears does 2-d convolutions");
        long group = n.intAttr("group", 1);
        int out = w.shape()[0], k = w.shape()[2];
        if (group < 1 || group > out || out % group != 0)
            throw error(n.describe() + ": group " + group + " does not divide the " + out + " output channels");
        int groups = (int) group, in = w.shape()[1] * groups;
        if (w.shape()[3] != k) throw error(n.describe() + ": kernel " + w.shape()[2] + "x" + w.shape()[3] + " is not square; Shears supports square kernels only");
        window(n, k, "kernel_shape");
        if (b != null && !Arrays.equals(b.shape(), new int[]{out})) throw error(n.describe() + ": bias " + b + " is not [" + out + "]");
        int stride = stride(n), pad = padding(n);
        int[] xs = x.example().shape();
        if (xs.length != 4) throw error(n.describe() + ": input of shape " + shapeText(xs) + "; Conv needs [N, C, H, W]");
        long p = ((long) xs[2] + 2L * pad - k) / stride + 1, q = ((long) xs[3] + 2L * pad - k) / stride + 1;
        checkSize(n, (long) out * Math.max(p, 0) * Math.max(q, 0));
        Conv2d conv = new Conv2d(in, out, k, stride, pad, groups, b != null, new Random(0));
        conv.setParameter("weight", Tensor.of(w.floats(), w.shape()));
        if (b != null) conv.setParameter("bias", Tensor.of(b.floats(), out));
        layer(n, conv, x, w.name());
    }

    private void batchNorm(OnnxNode n) throws OnnxFormatException {
        Runtime x = runtime(n, 0);
        if (n.intAttr("training_mode", 0) != 0) throw error(n.describe() + ": training_mode = 1; Shears imports inference graphs");
        OnnxTensor scale = floatConstant(n, 1, "scale"), bias = floatConstant(n, 2, "bias"),
                mean = floatConstant(n, 3, "mean"), var = floatConstant(n, 4, "var");
        int c = scale.size();
        for (OnnxTensor t : List.of(scale, bias, mean, var))
            if (!Arrays.equals(t.shape(), new int[]{c})) throw error(n.describe() + ": " + t + " is not [" + c + "] like the scale");
        // ONNX's momentum weighs the running value (0.9), PyTorch's the new batch (0.1)
        BatchNorm2d bn = new BatchNorm2d(c, n.floatAttr("epsilon", 1e-5f), 1 - n.floatAttr("momentum", 0.9f));
        bn.setParameter("weight", Tensor.of(scale.floats(), c));
        bn.setParameter("bias", Tensor.of(bias.floats(), c));
        bn.setParameter("running_mean", Tensor.of(mean.floats(), c));
        bn.setParameter("running_var", Tensor.of(var.floats(), c));
        layer(n, bn, x, scale.name());
    }

    private void pool(OnnxNode n) throws OnnxFormatException {
        Runtime x = runtime(n, 0);
        long[] kernel = n.intsAttr("kernel_shape", null);
        if (kernel == null || kernel.length != 2 || kernel[0] != kernel[1] || kernel[0] < 1 || kernel[0] > MAX_WINDOW)
            throw error(n.describe() + ": kernel_shape " + Arrays.toString(kernel) + "; Shears pools with square 2-d windows");
        if (n.intAttr("ceil_mode", 0) != 0) throw error(n.describe() + ": ceil_mode = 1 is not supported");
        int k = (int) kernel[0], stride = stride(n), pad = padding(n);
        Module pool;
        if (n.opType().equals("MaxPool")) {
            if (n.intAttr("storage_order", 0) != 0) throw error(n.describe() + ": storage_order = 1 is not supported");
            pool = new MaxPool2d(k, stride, pad);
        } else {
            pool = new AvgPool2d(k, stride, pad, n.intAttr("count_include_pad", 0) != 0);
        }
        layer(n, pool, x);
    }

    /** Gemm(A, B, C) = α·A·op(B) + β·C with A the input: a Linear of weight α·op(B)ᵀ and bias β·C. */
    private void gemm(OnnxNode n) throws OnnxFormatException {
        Runtime x = runtime(n, 0);
        if (n.intAttr("transA", 0) != 0) throw error(n.describe() + ": transA = 1 is not supported (the input must be [batch, features])");
        OnnxTensor b = floatConstant(n, 1, "B");
        if (b.rank() != 2) throw error(n.describe() + ": B " + b + " is not a matrix");
        float alpha = n.floatAttr("alpha", 1), beta = n.floatAttr("beta", 1);
        boolean transB = n.intAttr("transB", 0) != 0;
        float[] weight = transB ? b.floats().clone() : transpose(b.floats(), b.shape()[0], b.shape()[1]);
        int out = transB ? b.shape()[0] : b.shape()[1], in = transB ? b.shape()[1] : b.shape()[0];
        for (int i = 0; i < weight.length; i++) weight[i] *= alpha;
        float[] bias = null;
        if (n.input(2) != null) {
            OnnxTensor c = floatConstant(n, 2, "C");
            if (c.size() != out || c.rank() > 2) throw error(n.describe() + ": C " + c + " is not [" + out + "] or [1, " + out + "]");
            bias = c.floats().clone();
            for (int i = 0; i < bias.length; i++) bias[i] *= beta;
        }
        layer(n, linear(in, out, weight, bias), x, b.name());
    }

    /** MatMul(x, W) with W [in, out] constant: a Linear of weight Wᵀ, taking the bias of an Add right after it. */
    private void matMul(OnnxNode n, List<OnnxNode> nodes) throws OnnxFormatException {
        Runtime x = runtime(n, 0);
        OnnxTensor w = floatConstant(n, 1, "weight");
        if (w.rank() != 2) throw error(n.describe() + ": the second input " + w + " is not a matrix; Shears imports MatMul as a Linear layer");
        int in = w.shape()[0], out = w.shape()[1];
        float[] bias = null;
        String product = n.outputs().get(0);
        OnnxNode add = readers.getOrDefault(product, 0) == 1 ? readerOf(product, nodes) : null;
        if (add != null && add.opType().equals("Add") && add.inputs().size() == 2) {
            String other = add.inputs().get(0).equals(product) ? add.inputs().get(1) : add.inputs().get(0);
            if (values.get(other) instanceof Constant(OnnxTensor c) && c.isFloat() && c.size() == out && c.rank() <= 2) {
                bias = c.floats();
                fused.add(add);
            }
        }
        layer(n, linear(in, out, transpose(w.floats(), in, out), bias), x, w.name());
        if (bias != null) values.put(add.outputs().get(0), values.get(product));
    }

    private OnnxNode readerOf(String value, List<OnnxNode> nodes) {
        for (OnnxNode m : nodes) if (m.inputs().contains(value)) return m;
        return null;
    }

    private static Linear linear(int in, int out, float[] weight, float[] bias) {
        Linear l = new Linear(in, out, bias != null, new Random(0));
        l.setParameter("weight", Tensor.of(weight, out, in));
        if (bias != null) l.setParameter("bias", Tensor.of(bias, out));
        return l;
    }

    private void add(OnnxNode n) throws OnnxFormatException {
        List<Runtime> in = new ArrayList<>();
        for (int i = 0; i < n.inputs().size(); i++) {
            if (values.get(n.inputs().get(i)) instanceof Constant)
                throw error(n.describe() + ": adding the constant '" + n.inputs().get(i) + "' is supported only as the bias right after a MatMul");
            in.add(runtime(n, i));
        }
        if (in.isEmpty()) throw error(n.describe() + " has no inputs");
        for (Runtime r : in)
            if (!Arrays.equals(r.example().shape(), in.get(0).example().shape()))
                throw error(n.describe() + ": inputs of shapes " + Arrays.toString(in.get(0).example().shape()) + " and "
                        + Arrays.toString(r.example().shape()) + " (for one sample); Shears adds equal shapes only, without broadcasting");
        if (in.size() == 1) values.put(n.outputs().get(0), in.get(0));
        else layer(n, new Add(), in.toArray(Runtime[]::new));
    }

    private void concat(OnnxNode n) throws OnnxFormatException {
        long axis = n.intAttr("axis", Long.MIN_VALUE);
        if (axis == Long.MIN_VALUE) throw error(n.describe() + " has no axis attribute");
        if (n.inputs().stream().allMatch(i -> values.get(i) instanceof ShapeVector || values.get(i) instanceof Constant)) {
            List<Long> v = new ArrayList<>();
            List<Boolean> batch = new ArrayList<>();
            for (int i = 0; i < n.inputs().size(); i++) {
                ShapeVector s = shapeVector(n, i);
                for (int j = 0; j < s.values().length; j++) { v.add(s.values()[j]); batch.add(s.batch()[j]); }
            }
            boolean[] b = new boolean[batch.size()];
            for (int i = 0; i < b.length; i++) b[i] = batch.get(i);
            values.put(n.outputs().get(0), new ShapeVector(v.stream().mapToLong(Long::longValue).toArray(), b, false));
            return;
        }
        Runtime[] in = new Runtime[n.inputs().size()];
        long total = 0;
        for (int i = 0; i < in.length; i++) total += (in[i] = runtime(n, i)).example().size();
        checkSize(n, total);
        int rank = in[0].example().rank();
        int dim = (int) (axis < 0 ? axis + rank : axis);
        if (dim < 1 || dim >= rank) throw error(n.describe() + ": axis " + axis + " for inputs of rank " + rank + "; Shears concatenates along a non-batch axis");
        layer(n, new Concat(dim), in);
    }

    private void flatten(OnnxNode n) throws OnnxFormatException {
        Runtime x = runtime(n, 0);
        long axis = n.intAttr("axis", 1);
        if (axis < 0) axis += x.example().rank();
        if (axis != 1) throw error(n.describe() + ": axis " + n.intAttr("axis", 1) + "; Shears flattens from axis 1 (keeping the batch) only");
        layer(n, new Flatten(), x);
    }

    /** Reshape to [batch, everything else], the only reshape a CNN exporter writes, becomes a Flatten. */
    private void reshape(OnnxNode n) throws OnnxFormatException {
        Runtime x = runtime(n, 0);
        ShapeVector target = shapeVector(n, 1);
        int[] shape = x.example().shape();
        long rest = x.example().size() / shape[0];
        long[] t = target.values();
        // [N, -1], [0, -1], [N, rest], or [-1, rest] (x.view(-1, 16 * 7 * 7)); N symbolic, or the file's fixed batch
        boolean batchFirst = t.length == 2 && (target.batch()[0] || t[0] == 0 || (t[0] == model.inputShape()[0] && t[0] > 0)
                || (t[0] == -1 && t[1] == rest));
        boolean restSecond = t.length == 2 && !target.batch()[1] && (t[1] == -1 || t[1] == rest);
        if (!batchFirst || !restSecond)
            throw error(n.describe() + ": reshape of " + shapeText(shape) + " to " + shapeText(target)
                    + "; Shears imports only a reshape to [batch, -1] (a flatten)");
        layer(n, new Flatten(), x);
    }

    private void dropout(OnnxNode n) throws OnnxFormatException {
        Runtime x = runtime(n, 0);
        float ratio = n.floatAttr("ratio", 0.5f);
        if (n.input(1) != null) {
            OnnxTensor r = floatConstant(n, 1, "ratio");
            if (r.size() != 1) throw error(n.describe() + ": ratio " + r + " is not a scalar");
            ratio = r.floats()[0];
        }
        if (n.input(2) != null && values.get(n.input(2)) instanceof Constant(OnnxTensor t) && t.size() == 1
                && (t.isFloat() ? t.floats()[0] != 0 : t.longs()[0] != 0))
            throw error(n.describe() + ": training_mode is true; Shears imports inference graphs");
        if (!(ratio >= 0 && ratio < 1)) throw error(n.describe() + ": ratio " + ratio + " is not in [0, 1)");
        layer(n, new Dropout(ratio), x);
    }

    /** Pad by zero everywhere (PyTorch 1.13 writes one before AveragePool at opset 11) is the identity. */
    private void pad(OnnxNode n) throws OnnxFormatException {
        Value x = value(n, 0);
        if (!n.stringAttr("mode", "constant").equals("constant")) throw error(n.describe() + ": mode '" + n.stringAttr("mode", "") + "' is not supported");
        long[] pads = n.input(1) != null ? shapeVector(n, 1).values() : n.intsAttr("pads", new long[0]);
        if (Arrays.stream(pads).anyMatch(p -> p != 0))
            throw error(n.describe() + ": pads " + Arrays.toString(pads) + "; Shears imports a Pad only when it pads nothing (pad through Conv or pooling attributes instead)");
        values.put(n.outputs().get(0), x);
    }

    private void shape(OnnxNode n) throws OnnxFormatException {
        int[] s = runtime(n, 0).example().shape();
        int start = (int) Math.clamp(n.intAttr("start", 0), -s.length, s.length), end = (int) Math.clamp(n.intAttr("end", s.length), -s.length, s.length);
        if (start < 0) start += s.length;
        if (end < 0) end += s.length;
        start = Math.clamp(start, 0, s.length);
        end = Math.clamp(end, start, s.length);
        long[] v = new long[end - start];
        boolean[] batch = new boolean[v.length];
        for (int i = start; i < end; i++) { v[i - start] = s[i]; batch[i - start] = i == 0; }
        values.put(n.outputs().get(0), new ShapeVector(v, batch, false));
    }

    private void gather(OnnxNode n) throws OnnxFormatException {
        ShapeVector data = shapeVector(n, 0);
        if (n.intAttr("axis", 0) != 0) throw error(n.describe() + ": axis " + n.intAttr("axis", 0) + " on shape arithmetic; only 0");
        if (!(values.get(n.inputs().get(1)) instanceof Constant(OnnxTensor idx)) || idx.isFloat() || idx.rank() > 1)
            throw error(n.describe() + ": the indices must be a constant INT64 scalar or vector");
        long[] v = new long[idx.size()];
        boolean[] batch = new boolean[v.length];
        for (int i = 0; i < v.length; i++) {
            long j = idx.longs()[i] < 0 ? idx.longs()[i] + data.values().length : idx.longs()[i];
            if (j < 0 || j >= data.values().length)
                throw error(n.describe() + ": index " + idx.longs()[i] + " out of range for " + shapeText(data));
            v[i] = data.values()[(int) j];
            batch[i] = data.batch()[(int) j];
        }
        values.put(n.outputs().get(0), new ShapeVector(v, batch, idx.rank() == 0));
    }

    private void unsqueeze(OnnxNode n) throws OnnxFormatException {
        ShapeVector s = shapeVector(n, 0);
        long[] axes = n.input(1) != null ? shapeVector(n, 1).values() : n.intsAttr("axes", null);
        if (!s.scalar() || axes == null || axes.length != 1 || (axes[0] != 0 && axes[0] != -1))
            throw error(n.describe() + ": Shears evaluates Unsqueeze only of a scalar along axis 0 (shape arithmetic), got "
                    + shapeText(s) + " with axes " + Arrays.toString(axes));
        values.put(n.outputs().get(0), new ShapeVector(s.values(), s.batch(), false));
    }

    private void checkSize(OnnxNode n, long values) throws OnnxFormatException {
        if (values > MAX_SAMPLE)
            throw error(n.describe() + ": its output would have " + values + " values per sample; Shears imports models of up to " + MAX_SAMPLE);
    }

    // ---- inputs of a node ----

    private Value value(OnnxNode n, int index) throws OnnxFormatException {
        String name = n.input(index);
        if (name == null) throw error(n.describe() + ": input " + index + " is missing");
        Value v = values.get(name);
        if (v == null) throw new AssertionError("OnnxModel checked that '" + name + "' is defined");
        return v;
    }

    private Runtime runtime(OnnxNode n, int index) throws OnnxFormatException {
        Value v = value(n, index);
        if (!(v instanceof Runtime r))
            throw error(n.describe() + ": input " + index + " ('" + n.input(index) + "') is "
                    + (v instanceof Constant ? "a constant" : "shape arithmetic") + "; Shears expects a tensor computed from the graph input");
        return r;
    }

    private OnnxTensor floatConstant(OnnxNode n, int index, String role) throws OnnxFormatException {
        Value v = value(n, index);
        if (!(v instanceof Constant(OnnxTensor t)) || !t.isFloat())
            throw error(n.describe() + ": the " + role + " ('" + n.input(index) + "') must be a FLOAT initializer or constant");
        return t;
    }

    /** A shape vector, or an INT64 constant read as one (no entry is the batch). */
    private ShapeVector shapeVector(OnnxNode n, int index) throws OnnxFormatException {
        Value v = value(n, index);
        if (v instanceof ShapeVector s) return s;
        if (v instanceof Constant(OnnxTensor t) && !t.isFloat() && t.rank() <= 1)
            return new ShapeVector(t.longs(), new boolean[t.size()], t.rank() == 0);
        throw error(n.describe() + ": input " + index + " ('" + n.input(index) + "') must be an INT64 constant or computed from shapes");
    }

    // ---- attributes of Conv and pooling (square, symmetric, no dilation) ----

    private void window(OnnxNode n, int k, String key) throws OnnxFormatException {
        long[] kernel = n.intsAttr(key, null);
        if (kernel != null && (kernel.length != 2 || kernel[0] != k || kernel[1] != k))
            throw error(n.describe() + ": " + key + " " + Arrays.toString(kernel) + " does not match the weight's " + k + "x" + k);
    }

    private int stride(OnnxNode n) throws OnnxFormatException {
        long[] s = n.intsAttr("strides", new long[]{1, 1});
        if (s.length != 2 || s[0] != s[1] || s[0] < 1 || s[0] > MAX_WINDOW) throw error(n.describe() + ": strides " + Arrays.toString(s) + "; Shears supports equal strides only");
        long[] d = n.intsAttr("dilations", new long[]{1, 1});
        if (Arrays.stream(d).anyMatch(x -> x != 1)) throw error(n.describe() + ": dilations " + Arrays.toString(d) + " are not supported");
        return (int) s[0];
    }

    private int padding(OnnxNode n) throws OnnxFormatException {
        String autoPad = n.stringAttr("auto_pad", "NOTSET");
        long[] p = n.intsAttr("pads", new long[4]);
        if (!autoPad.equals("NOTSET") && !(autoPad.equals("VALID") && Arrays.stream(p).allMatch(x -> x == 0)))
            throw error(n.describe() + ": auto_pad " + autoPad + " is not supported (explicit pads are)");
        if (p.length != 4 || Arrays.stream(p).anyMatch(x -> x != p[0]) || p[0] < 0)
            throw error(n.describe() + ": pads " + Arrays.toString(p) + "; Shears supports the same padding on every side only");
        if (p[0] > MAX_PAD) throw error(n.describe() + ": pads " + Arrays.toString(p) + " of more than " + MAX_PAD);
        return (int) p[0];
    }

    // ---- layers ----

    /**
     * Adds a layer for node {@code n} reading {@code inputs}, runs it on their example values, and records its
     * output. Its name comes from the initializer that holds its weights ("conv1.weight" → "conv1", so a model
     * exported from PyTorch keeps its state-dict names) or else from the node's name.
     */
    private void layer(OnnxNode n, Module module, Runtime[] inputs, String weightName) throws OnnxFormatException {
        module.eval();
        Tensor example;
        if (module instanceof MultiInput multi) example = multi.forward(Arrays.stream(inputs).map(Runtime::example).toList());
        else example = module.forward(inputs[0].example());
        String name = uniqueName(weightName != null && weightName.endsWith(".weight") && !weightName.contains("::")
                ? weightName.substring(0, weightName.length() - ".weight".length()) : n.name(), n.opType());
        layers.put(name, module);
        layerInputs.put(name, Arrays.stream(inputs).map(Runtime::node).toList());
        values.put(n.outputs().get(0), new Runtime(name, example));
    }

    private void layer(OnnxNode n, Module module, Runtime... inputs) throws OnnxFormatException {
        layer(n, module, inputs, null);
    }

    private void layer(OnnxNode n, Module module, Runtime input, String weightName) throws OnnxFormatException {
        layer(n, module, new Runtime[]{input}, weightName);
    }

    /** A state-dict-safe name: runs of other characters than [A-Za-z0-9_] become '_', made unique with a suffix. */
    private String uniqueName(String raw, String opType) {
        String base = raw.replaceAll("[^A-Za-z0-9_]+", "_").replaceAll("^_+|_+$", "");
        if (base.isEmpty() || base.equals(Graph.INPUT)) base = opType.toLowerCase();
        String name = base;
        for (int i = 2; layers.containsKey(name); i++) name = base + "_" + i;
        return name;
    }

    /**
     * The layers that the output depends on, as a Sequential when each reads the one before it (a chain),
     * else as a Graph.
     */
    private Module assemble(String output) {
        Set<String> live = new HashSet<>();
        List<String> work = new ArrayList<>(List.of(output));
        while (!work.isEmpty()) {
            String name = work.removeLast();
            if (name.equals(Graph.INPUT) || !live.add(name)) continue;
            work.addAll(layerInputs.get(name));
        }
        List<String> order = layers.keySet().stream().filter(live::contains).toList();
        boolean chain = order.getLast().equals(output);
        String previous = Graph.INPUT;
        for (String name : order) {
            chain &= layerInputs.get(name).equals(List.of(previous)) && !(layers.get(name) instanceof MultiInput);
            previous = name;
        }
        if (chain) {
            Sequential s = new Sequential();
            for (String name : order) s.add(name, layers.get(name));
            return s;
        }
        Graph g = new Graph();
        for (String name : order) g.add(name, layers.get(name), layerInputs.get(name).toArray(String[]::new));
        return g.output(output);
    }

    // ---- small helpers ----

    private static float[] transpose(float[] a, int rows, int cols) {
        float[] t = new float[a.length];
        for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
        return t;
    }

    private static String shapeText(int[] shape) {
        StringBuilder sb = new StringBuilder("[N");
        for (int i = 1; i < shape.length; i++) sb.append(", ").append(shape[i]);
        return sb.append(']').toString();
    }

    private static String shapeText(ShapeVector s) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < s.values().length; i++) sb.append(i > 0 ? ", " : "").append(s.batch()[i] ? "N" : String.valueOf(s.values()[i]));
        return sb.append(']').toString();
    }
}
