package dev.shears.onnx;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * One operator of an ONNX graph: its type, the names of the values it reads and writes, and its attributes
 * decoded to Java values (Long, long[], Float, float[], String or {@link OnnxTensor}). An empty input name is
 * ONNX's "optional input left out". An attribute of the wrong type is an IllegalArgumentException, which
 * the importer reports with the file and the node.
 */
public record OnnxNode(String name, String opType, List<String> inputs, List<String> outputs, Map<String, Object> attributes) {

    /** "Conv node '/stem/Conv'", for messages. */
    public String describe() { return opType + " node '" + name + "'"; }

    public long intAttr(String key, long fallback) {
        return attributes.containsKey(key) ? get(key, Long.class) : fallback;
    }

    public float floatAttr(String key, float fallback) {
        return attributes.containsKey(key) ? get(key, Float.class) : fallback;
    }

    public String stringAttr(String key, String fallback) {
        return attributes.containsKey(key) ? get(key, String.class) : fallback;
    }

    /** An INTS attribute, or {@code fallback} (which may be null) when it is absent. */
    public long[] intsAttr(String key, long[] fallback) {
        return attributes.containsKey(key) ? get(key, long[].class) : fallback;
    }

    /** The input at {@code index}, or null when the node has fewer or leaves it out (""). */
    public String input(int index) {
        return index < inputs.size() && !inputs.get(index).isEmpty() ? inputs.get(index) : null;
    }

    private <T> T get(String key, Class<T> type) {
        Object v = attributes.get(key);
        if (!type.isInstance(v))
            throw new IllegalArgumentException("attribute '" + key + "' is " + typeName(v) + ", expected " + typeName(type));
        return type.cast(v);
    }

    private static String typeName(Object v) {
        return v instanceof long[] a ? "INTS " + Arrays.toString(a) : v instanceof float[] a ? "FLOATS " + Arrays.toString(a)
                : v instanceof Long l ? "INT " + l : v instanceof Float f ? "FLOAT " + f : v instanceof String s ? "STRING '" + s + "'"
                : v instanceof OnnxTensor t ? "TENSOR " + t : "unsupported";
    }

    private static String typeName(Class<?> type) {
        return type == Long.class ? "INT" : type == Float.class ? "FLOAT" : type == String.class ? "STRING"
                : type == long[].class ? "INTS" : "FLOATS";
    }
}
