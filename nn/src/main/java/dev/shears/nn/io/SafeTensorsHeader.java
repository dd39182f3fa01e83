package dev.shears.nn.io;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON header of a safetensors file, parsed and checked against the size of the byte buffer
 * that follows it. After {@link #parse} returns, every tensor's byte range lies inside the buffer,
 * matches its shape and dtype, and the ranges tile the buffer exactly (the spec forbids holes
 * and overlaps), so reading the data can neither overrun nor allocate more than the file holds.
 */
final class SafeTensorsHeader {

    static final String METADATA = "__metadata__";

    /** Strict JSON: a duplicate name or text after the closing brace is an error, not "last one wins". */
    static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /** One tensor's header entry; {@code begin} and {@code end} are offsets into the byte buffer. */
    record Entry(String name, DType dtype, int[] shape, int count, long begin, long end) {
    }

    final List<Entry> entries;
    final Map<String, String> metadata;

    private SafeTensorsHeader(List<Entry> entries, Map<String, String> metadata) {
        this.entries = entries;
        this.metadata = metadata;
    }

    /**
     * @param file         used in messages only
     * @param json         the header bytes, trailing space padding included
     * @param bufferLength bytes after the header up to the end of the file
     */
    static SafeTensorsHeader parse(String file, byte[] json, long bufferLength) throws SafeTensorsFormatException {
        if (json.length == 0 || json[0] != '{') {
            throw new SafeTensorsFormatException(file + ": header at byte offset 8: expected a JSON object starting with '{', found "
                    + (json.length == 0 ? "an empty header" : String.format("byte 0x%02X", json[0] & 0xFF)));
        }
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JacksonException e) {
            throw new SafeTensorsFormatException(file + ": header is not valid JSON: " + e.getOriginalMessage()
                    + (e.getLocation() != null ? " (header byte " + e.getLocation().getByteOffset() + ", file byte offset "
                    + (8 + e.getLocation().getByteOffset()) + ")" : ""), e);
        } catch (java.io.IOException e) {
            throw new SafeTensorsFormatException(file + ": header could not be read as JSON: " + e.getMessage(), e);
        }
        List<Entry> entries = new ArrayList<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> field : root.properties()) {
            String name = field.getKey();
            if (name.equals(METADATA)) {
                metadata = metadata(file, field.getValue());
            } else {
                entries.add(entry(file, name, field.getValue(), bufferLength));
            }
        }
        checkTiling(file, entries, bufferLength);
        return new SafeTensorsHeader(entries, metadata);
    }

    private static Map<String, String> metadata(String file, JsonNode node) throws SafeTensorsFormatException {
        if (!node.isObject()) {
            throw new SafeTensorsFormatException(file + ": header field '" + METADATA
                    + "': expected an object of strings, found " + node.getNodeType());
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            if (!e.getValue().isTextual()) {
                throw new SafeTensorsFormatException(file + ": header field '" + METADATA + "' key '" + e.getKey()
                        + "': expected a string value, found " + e.getValue().getNodeType());
            }
            out.put(e.getKey(), e.getValue().textValue());
        }
        return out;
    }

    private static Entry entry(String file, String name, JsonNode node, long bufferLength) throws SafeTensorsFormatException {
        String where = file + ": tensor '" + name + "': ";
        if (!node.isObject()) {
            throw new SafeTensorsFormatException(where + "expected an object with dtype, shape and data_offsets, found "
                    + node.getNodeType());
        }
        DType dtype = dtype(where, node.get("dtype"));
        JsonNode shapeNode = node.get("shape");
        if (shapeNode == null || !shapeNode.isArray()) {
            throw new SafeTensorsFormatException(where + "field 'shape': expected an array of sizes, found "
                    + (shapeNode == null ? "nothing" : shapeNode.getNodeType()));
        }
        int[] shape = new int[shapeNode.size()];
        long count = 1;
        boolean overflow = false;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToLong() || d.longValue() < 0 || d.longValue() > Integer.MAX_VALUE) {
                throw new SafeTensorsFormatException(where + "field 'shape[" + i + "]': expected a size in 0.."
                        + Integer.MAX_VALUE + ", found " + d);
            }
            shape[i] = d.intValue();
            try {
                count = Math.multiplyExact(count, shape[i]);
            } catch (ArithmeticException e) {
                overflow = true;
            }
        }
        // A zero anywhere makes the tensor empty, even if the other sizes overflowed on the way.
        if (Arrays.stream(shape).anyMatch(d -> d == 0)) {
            count = 0;
            overflow = false;
        }
        // Java arrays end a little below 2^31; a float[] is what this tensor becomes.
        if (overflow || count > Integer.MAX_VALUE - 8) {
            throw new SafeTensorsFormatException(where + "shape " + Arrays.toString(shape)
                    + " has " + (overflow ? "more than 2^63" : String.valueOf(count))
                    + " elements; expected at most " + (Integer.MAX_VALUE - 8) + " (shape product overflow)");
        }
        long[] offsets = offsets(where, node.get("data_offsets"));
        long begin = offsets[0], end = offsets[1];
        if (end < begin) {
            throw new SafeTensorsFormatException(where + "data_offsets [" + begin + ", " + end + "]: end < begin");
        }
        if (end > bufferLength) {
            throw new SafeTensorsFormatException(where + "data_offsets [" + begin + ", " + end
                    + "]: expected end <= " + bufferLength + " (the byte buffer's length), found " + end);
        }
        long bytes = count * dtype.size;
        if (end - begin != bytes) {
            throw new SafeTensorsFormatException(where + "data_offsets [" + begin + ", " + end + "] hold " + (end - begin)
                    + " bytes; expected " + bytes + " for dtype " + dtype + " and shape " + Arrays.toString(shape)
                    + " (" + count + " elements x " + dtype.size + " bytes)");
        }
        return new Entry(name, dtype, shape, (int) count, begin, end);
    }

    private static DType dtype(String where, JsonNode node) throws SafeTensorsFormatException {
        if (node == null || !node.isTextual()) {
            throw new SafeTensorsFormatException(where + "field 'dtype': expected a string, found "
                    + (node == null ? "nothing" : node.getNodeType()));
        }
        String text = node.textValue();
        for (DType t : DType.values()) {
            if (t.name().equals(text)) {
                return t;
            }
        }
        boolean known = List.of("BOOL", "U8", "I8", "I16", "U16", "U32", "U64", "F8_E4M3", "F8_E5M2").contains(text);
        throw new SafeTensorsFormatException(where + "field 'dtype': expected one of " + Arrays.toString(DType.values())
                + ", found '" + text + "'" + (known ? " (a safetensors dtype that Shears does not read)" : " (unknown dtype)"));
    }

    private static long[] offsets(String where, JsonNode node) throws SafeTensorsFormatException {
        if (node == null || !node.isArray() || node.size() != 2) {
            throw new SafeTensorsFormatException(where + "field 'data_offsets': expected [begin, end], found "
                    + (node == null ? "nothing" : node));
        }
        long[] out = new long[2];
        for (int i = 0; i < 2; i++) {
            JsonNode v = node.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) {
                throw new SafeTensorsFormatException(where + "field 'data_offsets[" + i
                        + "]': expected a byte offset >= 0, found " + v);
            }
            out[i] = v.longValue();
        }
        return out;
    }

    /** Sorted by offset, each tensor must start where the previous one ended, and the last end the buffer. */
    private static void checkTiling(String file, List<Entry> entries, long bufferLength) throws SafeTensorsFormatException {
        List<Entry> sorted = new ArrayList<>(entries);
        sorted.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        long cursor = 0;
        String previous = null;
        for (Entry e : sorted) {
            if (e.begin() < cursor) {
                throw new SafeTensorsFormatException(file + ": tensor '" + e.name() + "': data_offsets [" + e.begin() + ", "
                        + e.end() + "] overlap tensor '" + previous + "', which ends at " + cursor);
            }
            if (e.begin() > cursor) {
                throw new SafeTensorsFormatException(file + ": tensor '" + e.name() + "': data_offsets [" + e.begin() + ", "
                        + e.end() + "] leave a hole: expected begin " + cursor + (previous == null ? " (the buffer's start)"
                        : " (where tensor '" + previous + "' ends)") + ", found " + e.begin());
            }
            cursor = e.end();
            previous = e.name();
        }
        if (cursor != bufferLength) {
            throw new SafeTensorsFormatException(file + ": byte buffer has " + (bufferLength - cursor)
                    + " bytes after the last tensor: expected the tensors to end at the end of the file (buffer length "
                    + bufferLength + "), found their last byte range ending at " + cursor);
        }
    }
}
