package dev.shears.onnx;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import onnx.Onnx;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An ONNX file read and checked: the opset, the one graph input (dimension 0 the batch, possibly dynamic,
 * the others fixed), the one graph output, the constants (initializers and Constant nodes, decoded), and
 * the remaining nodes in topological order.
 *
 * <p>The file is parsed with protobuf-java and the classes generated from ONNX's own {@code onnx.proto}.
 * Everything a hostile file could claim is checked before it is believed: a tensor's shape against the data
 * it holds (so nothing is allocated beyond what the file contains), negative or oversized dimensions, values
 * read before they are written (a cycle, or an unknown name), names written twice. Any of these, and any
 * protobuf decoding error, is an {@link OnnxFormatException} naming the file and the node or tensor.
 */
public record OnnxModel(Path source, int opset, String inputName, long[] inputShape, String outputName,
                        Map<String, OnnxTensor> constants, List<OnnxNode> nodes) {

    /** The ai.onnx opsets Shears reads: 11 to 17 (PyTorch 1.13 writes 14 unless told otherwise). */
    public static final int MIN_OPSET = 11, MAX_OPSET = 17;
    /** Files larger than this need ONNX's external-data layout, which Shears does not read. */
    static final long MAX_FILE_BYTES = Integer.MAX_VALUE - 16;
    /** A dynamic dimension (a {@code dim_param} or no value) in {@link #inputShape}. */
    public static final long DYNAMIC = -1;

    /** Reads and checks {@code file}. */
    public static OnnxModel read(Path file) throws IOException {
        long size = Files.size(file);
        if (size > MAX_FILE_BYTES)
            throw new OnnxFormatException(file + ": " + size + " bytes; Shears reads ONNX files up to 2 GiB (no external data)");
        return parse(Files.readAllBytes(file), file);
    }

    /** Parses the bytes of an ONNX file; {@code source} only names it in messages. */
    public static OnnxModel parse(byte[] bytes, Path source) throws OnnxFormatException {
        Onnx.ModelProto proto;
        try {
            CodedInputStream in = CodedInputStream.newInstance(bytes);
            proto = Onnx.ModelProto.parseFrom(in);
            in.checkLastTagWas(0);
        } catch (InvalidProtocolBufferException e) {
            throw new OnnxFormatException(source + ": not an ONNX model (protobuf decoding failed: " + e.getMessage() + ")", e);
        } catch (IOException e) {
            throw new OnnxFormatException(source + ": not an ONNX model (" + e.getMessage() + ")", e);
        }
        return new Reader(source).model(proto);
    }

    /** The input's shape without the batch dimension, e.g. [1, 28, 28]. */
    public int[] sampleShape() {
        int[] s = new int[inputShape.length - 1];
        for (int i = 0; i < s.length; i++) s[i] = (int) inputShape[i + 1];
        return s;
    }

    /** Checks and decodes one ModelProto; {@code file} prefixes every message. */
    private static final class Reader {
        private final Path file;

        Reader(Path file) { this.file = file; }

        private OnnxFormatException error(String message) { return new OnnxFormatException(file + ": " + message); }

        OnnxModel model(Onnx.ModelProto proto) throws OnnxFormatException {
            if (!proto.hasGraph()) throw error("no graph (an empty or truncated file, or not ONNX)");
            int opset = opset(proto);
            Onnx.GraphProto g = proto.getGraph();

            Map<String, OnnxTensor> constants = new LinkedHashMap<>();
            for (Onnx.TensorProto t : g.getInitializerList()) {
                OnnxTensor tensor = tensor(t, "initializer '" + t.getName() + "'");
                if (constants.put(t.getName(), tensor) != null) throw error("initializer '" + t.getName() + "' is defined twice");
            }

            List<Onnx.ValueInfoProto> inputs = new ArrayList<>();
            for (Onnx.ValueInfoProto v : g.getInputList()) if (!constants.containsKey(v.getName())) inputs.add(v);
            if (inputs.size() != 1)
                throw error("Shears models take one input; the graph has " + inputs.size() + " (besides initializers): "
                        + inputs.stream().map(Onnx.ValueInfoProto::getName).toList());
            if (g.getOutputCount() != 1)
                throw error("Shears models have one output; the graph has " + g.getOutputCount() + ": "
                        + g.getOutputList().stream().map(Onnx.ValueInfoProto::getName).toList());
            Onnx.ValueInfoProto input = inputs.get(0);
            long[] inputShape = inputShape(input);

            Set<String> defined = new HashSet<>(constants.keySet());
            defined.add(input.getName());
            List<OnnxNode> nodes = new ArrayList<>();
            int index = 0;
            for (Onnx.NodeProto n : g.getNodeList()) {
                String name = n.getName().isEmpty() ? n.getOpType() + "_" + index : n.getName();
                index++;
                String where = n.getOpType() + " node '" + name + "'";
                if (!n.getDomain().isEmpty() && !n.getDomain().equals("ai.onnx"))
                    throw error(where + " is in domain '" + n.getDomain() + "'; Shears reads the standard ai.onnx operators only");
                for (String in : n.getInputList())
                    if (!in.isEmpty() && !defined.contains(in))
                        throw error(where + " reads '" + in + "', which no earlier node, initializer or graph input writes "
                                + "(an unknown name, or a cycle: nodes must be in topological order)");
                Map<String, Object> attributes = attributes(n, where);
                if (n.getOpType().equals("Constant")) {
                    if (n.getOutputCount() != 1) throw error(where + " has " + n.getOutputCount() + " outputs, expected 1");
                    define(defined, n.getOutput(0), where);
                    constants.put(n.getOutput(0), constantValue(n.getOutput(0), attributes, where));
                    continue;
                }
                for (String out : n.getOutputList()) if (!out.isEmpty()) define(defined, out, where);
                nodes.add(new OnnxNode(name, n.getOpType(), List.copyOf(n.getInputList()), List.copyOf(n.getOutputList()), attributes));
            }
            String output = g.getOutput(0).getName();
            if (!defined.contains(output)) throw error("the graph output '" + output + "' is written by no node");
            return new OnnxModel(file, opset, input.getName(), inputShape, output, constants, List.copyOf(nodes));
        }

        private void define(Set<String> defined, String name, String where) throws OnnxFormatException {
            if (!defined.add(name)) throw error(where + " writes '" + name + "', which is already defined (ONNX values are written once)");
        }

        private int opset(Onnx.ModelProto proto) throws OnnxFormatException {
            Long found = null;
            for (Onnx.OperatorSetIdProto id : proto.getOpsetImportList())
                if (id.getDomain().isEmpty() || id.getDomain().equals("ai.onnx")) found = id.getVersion();
            if (found == null) throw error("no opset of the ai.onnx domain is imported (opset_import: " + proto.getOpsetImportList().stream()
                    .map(id -> "'" + id.getDomain() + "' " + id.getVersion()).toList() + ")");
            if (found < MIN_OPSET || found > MAX_OPSET)
                throw error("opset " + found + "; Shears reads opsets " + MIN_OPSET + " to " + MAX_OPSET
                        + " (re-export, e.g. torch.onnx.export(..., opset_version=14))");
            return found.intValue();
        }

        private long[] inputShape(Onnx.ValueInfoProto v) throws OnnxFormatException {
            String where = "graph input '" + v.getName() + "'";
            if (!v.getType().hasTensorType()) throw error(where + " is not a tensor");
            Onnx.TypeProto.Tensor t = v.getType().getTensorType();
            if (t.getElemType() != Onnx.TensorProto.DataType.FLOAT_VALUE)
                throw error(where + " has element type " + dataTypeName(t.getElemType()) + "; Shears models take FLOAT");
            if (!t.hasShape()) throw error(where + " has no shape; Shears needs every dimension but the batch");
            int rank = t.getShape().getDimCount();
            if (rank < 2) throw error(where + " has rank " + rank + "; Shears models take [N, ...] with at least 2 dimensions");
            long[] shape = new long[rank];
            for (int i = 0; i < rank; i++) {
                Onnx.TensorShapeProto.Dimension d = t.getShape().getDim(i);
                shape[i] = d.hasDimValue() ? d.getDimValue() : DYNAMIC;
                if (i > 0 && (shape[i] < 1 || shape[i] > 1 << 20))
                    throw error(where + ": dimension " + i + " is " + (d.hasDimValue() ? String.valueOf(shape[i]) : "'" + d.getDimParam() + "'")
                            + "; all but the batch dimension must be fixed, between 1 and 2^20");
                if (i == 0 && d.hasDimValue() && shape[0] < 1) throw error(where + ": batch dimension " + shape[0]);
            }
            return shape;
        }

        private Map<String, Object> attributes(Onnx.NodeProto n, String where) throws OnnxFormatException {
            Map<String, Object> out = new LinkedHashMap<>();
            for (Onnx.AttributeProto a : n.getAttributeList()) {
                Object value = switch (a.getType()) {
                    case INT -> a.getI();
                    case FLOAT -> a.getF();
                    case INTS -> a.getIntsList().stream().mapToLong(Long::longValue).toArray();
                    case FLOATS -> {
                        float[] f = new float[a.getFloatsCount()];
                        for (int i = 0; i < f.length; i++) f[i] = a.getFloats(i);
                        yield f;
                    }
                    case STRING -> a.getS().toStringUtf8();
                    case TENSOR -> tensor(a.getT(), where + ", attribute '" + a.getName() + "'");
                    default -> a.getType();   // graphs, sparse tensors, ...: kept opaque; no supported op takes them
                };
                if (out.put(a.getName(), value) != null) throw error(where + ": attribute '" + a.getName() + "' is given twice");
            }
            return out;
        }

        /** A Constant node's value: the {@code value} tensor, or {@code value_float(s)} / {@code value_int(s)}. */
        private OnnxTensor constantValue(String name, Map<String, Object> attributes, String where) throws OnnxFormatException {
            if (attributes.size() != 1) throw error(where + " must have exactly one value attribute, has " + attributes.keySet());
            var e = attributes.entrySet().iterator().next();
            Object v = e.getValue();
            OnnxTensor t = switch (e.getKey()) {
                case "value" -> v instanceof OnnxTensor x ? x : null;
                case "value_float" -> v instanceof Float f ? new OnnxTensor(name, new int[0], new float[]{f}, null) : null;
                case "value_floats" -> v instanceof float[] f ? new OnnxTensor(name, new int[]{f.length}, f, null) : null;
                case "value_int" -> v instanceof Long l ? new OnnxTensor(name, new int[0], null, new long[]{l}) : null;
                case "value_ints" -> v instanceof long[] l ? new OnnxTensor(name, new int[]{l.length}, null, l) : null;
                default -> throw error(where + ": value attribute '" + e.getKey() + "' is not supported (value, value_float(s), value_int(s) are)");
            };
            if (t == null) throw error(where + ": attribute '" + e.getKey() + "' has the wrong type");
            return new OnnxTensor(name, t.shape(), t.floats(), t.longs());
        }

        /**
         * Decodes a FLOAT or INT64 tensor. The element count its dims claim must equal what its data holds;
         * that is checked before anything is allocated, so a hostile shape costs nothing.
         */
        private OnnxTensor tensor(Onnx.TensorProto t, String where) throws OnnxFormatException {
            if (t.getDataLocation() == Onnx.TensorProto.DataLocation.EXTERNAL)
                throw error(where + " keeps its data in an external file; Shears reads self-contained ONNX files only");
            int[] shape = new int[t.getDimsCount()];
            long count = 1;
            for (int i = 0; i < shape.length; i++) {
                long d = t.getDims(i);
                if (d < 0 || d > Integer.MAX_VALUE) throw error(where + " has dimension " + i + " = " + d + " in " + t.getDimsList());
                shape[i] = (int) d;
                count = count * d;
                if (count > Integer.MAX_VALUE) throw error(where + " claims dims " + t.getDimsList() + ", more than 2^31 elements");
            }
            int n = (int) count;
            ByteString raw = t.getRawData();
            boolean hasRaw = t.hasRawData();
            switch (t.getDataType()) {
                case Onnx.TensorProto.DataType.FLOAT_VALUE -> {
                    int held = hasRaw ? raw.size() / 4 : t.getFloatDataCount();
                    checkCount(where, t, n, held, hasRaw && raw.size() % 4 != 0 ? raw.size() + " raw bytes (not a multiple of 4)" : null);
                    float[] f = new float[n];
                    if (hasRaw) raw.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
                    else for (int i = 0; i < n; i++) f[i] = t.getFloatData(i);
                    return new OnnxTensor(t.getName(), shape, f, null);
                }
                case Onnx.TensorProto.DataType.INT64_VALUE -> {
                    int held = hasRaw ? raw.size() / 8 : t.getInt64DataCount();
                    checkCount(where, t, n, held, hasRaw && raw.size() % 8 != 0 ? raw.size() + " raw bytes (not a multiple of 8)" : null);
                    long[] l = new long[n];
                    if (hasRaw) raw.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(l);
                    else for (int i = 0; i < n; i++) l[i] = t.getInt64Data(i);
                    return new OnnxTensor(t.getName(), shape, null, l);
                }
                default -> throw error(where + " has data type " + dataTypeName(t.getDataType()) + "; Shears reads FLOAT and INT64 tensors");
            }
        }

        private void checkCount(String where, Onnx.TensorProto t, int claimed, int held, String oddRaw) throws OnnxFormatException {
            if (oddRaw != null) throw error(where + " holds " + oddRaw);
            if (claimed != held)
                throw error(where + " claims dims " + t.getDimsList() + " (" + claimed + " elements) but holds " + held);
        }
    }

    static String dataTypeName(int type) {
        Onnx.TensorProto.DataType d = Onnx.TensorProto.DataType.forNumber(type);
        return d == null ? "#" + type : d.name();
    }

    @Override
    public String toString() {
        return "OnnxModel(" + source + ", opset " + opset + ", input " + inputName + Arrays.toString(inputShape) + ", "
                + nodes.size() + " nodes, " + constants.size() + " constants)";
    }
}
