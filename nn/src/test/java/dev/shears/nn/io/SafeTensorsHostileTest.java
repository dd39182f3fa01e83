package dev.shears.nn.io;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Corrupt and hostile safetensors files: each must fail with a message that says what is wrong and where. */
class SafeTensorsHostileTest {

    @TempDir
    Path dir;

    private static String t(String name, String dtype, String shape, long begin, long end) {
        return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" + begin + "," + end + "]}";
    }

    /** One row per problem: the header JSON, the byte buffer's length, and what the message must say. */
    static Stream<Arguments> hostileHeaders() {
        return Stream.of(
                row("invalid JSON", "{\"a\":{\"dtype\":", 0, "header is not valid JSON"),
                row("not an object", "[1, 2]", 0, "header at byte offset 8: expected a JSON object starting with '{', found byte 0x5B"),
                row("text after the object", "{} {}", 0, "header is not valid JSON", "Trailing token"),
                row("duplicate tensor name", "{" + t("a", "F32", "[1]", 0, 4) + "," + t("a", "F32", "[1]", 0, 4) + "}", 4,
                        "header is not valid JSON", "Duplicate field 'a'"),
                row("entry not an object", "{\"a\":3}", 0, "tensor 'a': expected an object with dtype, shape and data_offsets, found 3"),
                row("unknown dtype", "{" + t("w", "Q7", "[1]", 0, 4) + "}", 4,
                        "tensor 'w': field 'dtype': expected one of [F64, F32, F16, BF16, I64, I32], found 'Q7' (unknown dtype)"),
                row("valid but unsupported dtype", "{" + t("w", "U8", "[1]", 0, 1) + "}", 1,
                        "tensor 'w': field 'dtype'", "found 'U8' (a safetensors dtype that Shears does not read)"),
                row("missing shape", "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4,
                        "tensor 'w': field 'shape': expected an array of sizes, found nothing"),
                row("missing data_offsets", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4,
                        "tensor 'w': field 'data_offsets': expected [begin, end], found nothing"),
                row("negative dimension", "{" + t("w", "F32", "[2,-3]", 0, 4) + "}", 4,
                        "tensor 'w': field 'shape[1]': expected a size in 0..2147483647, found -3"),
                row("fractional dimension", "{" + t("w", "F32", "[2.5]", 0, 4) + "}", 4, "field 'shape[0]'", "found 2.5"),
                row("dimension beyond int", "{" + t("w", "F32", "[3000000000]", 0, 4) + "}", 4, "field 'shape[0]'", "found 3000000000"),
                row("shape product overflow", "{" + t("w", "F32", "[2147483647,2147483647,2147483647]", 0, 4) + "}", 4,
                        "tensor 'w': shape [2147483647, 2147483647, 2147483647] has more than 2^63 elements", "(shape product overflow)"),
                row("more elements than a Java array", "{" + t("w", "F32", "[65536,65536]", 0, 4) + "}", 4,
                        "has 4294967296 elements; expected at most 2147483639"),
                row("one offset", "{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0]}}", 0,
                        "field 'data_offsets': expected [begin, end], found 1 value(s)"),
                row("offset as a string", "{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[\"0\",0]}}", 0,
                        "field 'data_offsets[0]'", "found the string \"0\""),
                row("offset beyond a long", "{" + t("w", "F32", "[0]", 0, 0).replace("[0,0]", "[0,99999999999999999999]") + "}", 0,
                        "field 'data_offsets[1]'", "found 99999999999999999999"),
                row("65 dimensions", "{" + t("w", "F32", "[" + "1,".repeat(64) + "1]", 0, 4) + "}", 4,
                        "field 'shape': expected at most 64 dimensions, found more"),
                row("shape is not an array", "{" + t("w", "F32", "{}", 0, 4) + "}", 4,
                        "field 'shape': expected an array of sizes, found an object"),
                row("unclosed object", "{" + t("w", "F32", "[1]", 0, 4), 4, "header is not valid JSON", "end-of-input"),
                row("unknown fields are ignored, but the tensor must still fit", "{\"w\":{\"extra\":[1,{}],\"dtype\":\"F32\","
                        + "\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "hold 4 bytes; expected 8"),
                row("negative offset", "{" + t("w", "F32", "[1]", -4, 0) + "}", 4,
                        "tensor 'w': field 'data_offsets[0]': expected a byte offset in 0..9223372036854775807, found -4"),
                row("three offsets", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 4,
                        "field 'data_offsets': expected [begin, end], found more than 2 values"),
                row("end before begin", "{" + t("w", "F32", "[0]", 4, 0) + "}", 4, "tensor 'w': data_offsets [4, 0]: end < begin"),
                row("offsets beyond the buffer", "{" + t("w", "F32", "[4]", 0, 16) + "}", 8,
                        "tensor 'w': data_offsets [0, 16]: expected end <= 8 (the byte buffer's length), found 16"),
                row("byte length does not match the shape", "{" + t("w", "F32", "[3]", 0, 8) + "}", 8,
                        "tensor 'w': data_offsets [0, 8] hold 8 bytes; expected 12 for dtype F32 and shape [3] (3 elements x 4 bytes)"),
                row("overlapping tensors", "{" + t("a", "F32", "[2]", 0, 8) + "," + t("b", "F32", "[2]", 4, 12) + "}", 12,
                        "tensor 'b': data_offsets [4, 12] overlap tensor 'a', which ends at 8"),
                row("hole between tensors", "{" + t("a", "F32", "[1]", 0, 4) + "," + t("b", "F32", "[1]", 8, 12) + "}", 12,
                        "tensor 'b': data_offsets [8, 12] leave a hole: expected begin 4 (where tensor 'a' ends), found 8"),
                row("bytes after the last tensor", "{" + t("a", "F32", "[1]", 0, 4) + "}", 12,
                        "byte buffer has 8 bytes after the last tensor", "buffer length 12", "ending at 4"),
                row("metadata value not a string", "{\"__metadata__\":{\"epoch\":3}}", 0,
                        "header field '__metadata__' key 'epoch': expected a string value, found 3"),
                row("deeply nested JSON", "{\"m\":{\"x\":" + "[".repeat(5000) + "]".repeat(5000) + "}}", 0, "header is not valid JSON", "nesting depth"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("hostileHeaders")
    void rejectsHostileHeader(String header, int bufferLength, List<String> expected) throws IOException {
        Path file = SafeTensorsFiles.write(dir, header, new byte[bufferLength]);
        assertMessage(file, expected);
    }

    @Test
    void rejectsFileShorterThanTheLengthField() throws IOException {
        Path file = Files.write(dir.resolve("short.safetensors"), new byte[] {1, 0, 0});
        assertMessage(file, List.of("header length at byte offset 0: expected 8 bytes, found a file of 3 bytes"));
    }

    @Test
    void rejectsHeaderLengthBeyondTheFile() throws IOException {
        Path file = SafeTensorsFiles.raw(dir, 1000, "{}".getBytes(), new byte[0]);
        assertMessage(file, List.of("header length at byte offset 0: expected at most 2 (the bytes left in the file), found 1000"));
    }

    @Test
    void rejectsAbsurdHeaderLengthBeforeAllocating() throws IOException {
        Path file = SafeTensorsFiles.raw(dir, 1L << 40, "{}".getBytes(), new byte[0]);
        assertMessage(file, List.of("expected at most 100000000 bytes, found 1099511627776"));
        Path negative = SafeTensorsFiles.raw(dir, -1, "{}".getBytes(), new byte[0]);
        assertMessage(negative, List.of("expected at most 100000000 bytes, found 18446744073709551615"));
    }

    private static void assertMessage(Path file, List<String> expected) {
        SafeTensorsFormatException e = assertThrows(SafeTensorsFormatException.class, () -> SafeTensors.read(file));
        assertTrue(e.getMessage().startsWith(file + ": "), e.getMessage());
        for (String part : expected) {
            assertTrue(e.getMessage().contains(part), "message lacks «" + part + "»: " + e.getMessage());
        }
    }

    private static Arguments row(String name, String header, int bufferLength, String... expected) {
        return Arguments.of(Named.of(name, header), bufferLength, List.of(expected));
    }
}
