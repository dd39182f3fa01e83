package dev.shears.nn.io;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
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

    /** Strict JSON: a duplicate name is an error, not "last one wins". Also writes headers. */
    static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    /** More dimensions than any real tensor has (PyTorch stops at 64); bounds the memory of one entry. */
    static final int MAX_RANK = 64;

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
        // A streaming parse, not a JSON tree: a tree of a 100 MB header could need gigabytes, while
        // this keeps only the entries themselves (each bounded by MAX_RANK).
        try (JsonParser p = JSON.createParser(json)) {
            List<Entry> entries = new ArrayList<>();
            Map<String, String> metadata = new LinkedHashMap<>();
            p.nextToken(); // the '{' checked above
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                p.nextToken();
                if (name.equals(METADATA)) {
                    metadata = metadata(file, p);
                } else {
                    entries.add(entry(file, name, p, bufferLength));
                }
            }
            if (p.nextToken() != null) {
                throw new SafeTensorsFormatException(file + ": header is not valid JSON: expected nothing but spaces after the"
                        + " object, found " + describe(p) + " at file byte offset " + (8 + p.currentTokenLocation().getByteOffset())
                        + " (Trailing token)");
            }
            checkTiling(file, entries, bufferLength);
            return new SafeTensorsHeader(entries, metadata);
        } catch (JacksonException e) {
            throw new SafeTensorsFormatException(file + ": header is not valid JSON: " + e.getOriginalMessage()
                    + (e.getLocation() != null ? " (file byte offset " + (8 + e.getLocation().getByteOffset()) + ")" : ""), e);
        } catch (SafeTensorsFormatException e) {
            throw e;
        } catch (IOException e) {
            throw new SafeTensorsFormatException(file + ": header could not be read as JSON: " + e.getMessage(), e);
        }
    }

    private static Map<String, String> metadata(String file, JsonParser p) throws IOException {
        String where = file + ": header field '" + METADATA + "'";
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw new SafeTensorsFormatException(where + ": expected an object of strings, found " + describe(p));
        }
        Map<String, String> out = new LinkedHashMap<>();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String key = p.currentName();
            if (p.nextToken() != JsonToken.VALUE_STRING) {
                throw new SafeTensorsFormatException(where + " key '" + key + "': expected a string value, found " + describe(p));
            }
            out.put(key, p.getText());
        }
        return out;
    }

    private static Entry entry(String file, String name, JsonParser p, long bufferLength) throws IOException {
        String where = file + ": tensor '" + name + "': ";
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw new SafeTensorsFormatException(where + "expected an object with dtype, shape and data_offsets, found " + describe(p));
        }
        DType dtype = null;
        int[] shape = null;
        long[] offsets = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            p.nextToken();
            switch (field) {
                case "dtype" -> dtype = dtype(where, p);
                case "shape" -> shape = shape(where, p);
                case "data_offsets" -> offsets = offsets(where, p);
                default -> p.skipChildren(); // unknown fields are ignored, as the reference implementation does
            }
        }
        if (dtype == null || shape == null || offsets == null) {
            String missing = dtype == null ? "dtype" : shape == null ? "shape" : "data_offsets";
            String expected = switch (missing) {
                case "dtype" -> "a string";
                case "shape" -> "an array of sizes";
                default -> "[begin, end]";
            };
            throw new SafeTensorsFormatException(where + "field '" + missing + "': expected " + expected + ", found nothing");
        }
        long count = 1;
        boolean overflow = false;
        for (int d : shape) {
            try {
                count = Math.multiplyExact(count, d);
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

    private static DType dtype(String where, JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.VALUE_STRING) {
            throw new SafeTensorsFormatException(where + "field 'dtype': expected a string, found " + describe(p));
        }
        String text = p.getText();
        for (DType t : DType.values()) {
            if (t.name().equals(text)) {
                return t;
            }
        }
        boolean known = List.of("BOOL", "U8", "I8", "I16", "U16", "U32", "U64", "F8_E4M3", "F8_E5M2").contains(text);
        throw new SafeTensorsFormatException(where + "field 'dtype': expected one of " + Arrays.toString(DType.values())
                + ", found '" + text + "'" + (known ? " (a safetensors dtype that Shears does not read)" : " (unknown dtype)"));
    }

    private static int[] shape(String where, JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_ARRAY) {
            throw new SafeTensorsFormatException(where + "field 'shape': expected an array of sizes, found " + describe(p));
        }
        int[] shape = new int[MAX_RANK];
        int rank = 0;
        while (p.nextToken() != JsonToken.END_ARRAY) {
            if (rank == MAX_RANK) {
                throw new SafeTensorsFormatException(where + "field 'shape': expected at most " + MAX_RANK
                        + " dimensions, found more");
            }
            shape[rank] = (int) integer(where, "shape[" + rank + "]", p, Integer.MAX_VALUE, "a size");
            rank++;
        }
        return Arrays.copyOf(shape, rank);
    }

    private static long[] offsets(String where, JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_ARRAY) {
            throw new SafeTensorsFormatException(where + "field 'data_offsets': expected [begin, end], found " + describe(p));
        }
        long[] out = new long[2];
        int n = 0;
        while (p.nextToken() != JsonToken.END_ARRAY) {
            if (n == 2) {
                throw new SafeTensorsFormatException(where + "field 'data_offsets': expected [begin, end], found more than 2 values");
            }
            out[n] = integer(where, "data_offsets[" + n + "]", p, Long.MAX_VALUE, "a byte offset");
            n++;
        }
        if (n != 2) {
            throw new SafeTensorsFormatException(where + "field 'data_offsets': expected [begin, end], found " + n + " value(s)");
        }
        return out;
    }

    /** A JSON integer in 0..max; fractions, strings, and numbers beyond a long are errors. */
    private static long integer(String where, String field, JsonParser p, long max, String what) throws IOException {
        if (p.currentToken() != JsonToken.VALUE_NUMBER_INT || p.getNumberType() == JsonParser.NumberType.BIG_INTEGER
                || p.getLongValue() < 0 || p.getLongValue() > max) {
            throw new SafeTensorsFormatException(where + "field '" + field + "': expected " + what + " in 0.." + max
                    + ", found " + describe(p));
        }
        return p.getLongValue();
    }

    /** The current token as a message shows it: scalars as written, structures by kind. */
    private static String describe(JsonParser p) throws IOException {
        JsonToken t = p.currentToken();
        if (t == null) {
            return "the end of the header";
        }
        return switch (t) {
            case START_OBJECT -> "an object";
            case START_ARRAY -> "an array";
            case VALUE_STRING -> "the string \"" + p.getText() + "\"";
            default -> p.getText();
        };
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
