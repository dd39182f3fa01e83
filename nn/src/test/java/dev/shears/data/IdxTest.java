package dev.shears.data;

import static dev.shears.data.IdxFiles.concat;
import static dev.shears.data.IdxFiles.gzip;
import static dev.shears.data.IdxFiles.idx;
import static dev.shears.data.IdxFiles.images;
import static dev.shears.data.IdxFiles.labels;
import static dev.shears.data.IdxFiles.prefix;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class IdxTest {

    @TempDir
    Path dir;

    @Test
    void readsRawAndGzippedImagesAndLabels() throws IOException {
        byte[] raw = images(3, 4, 5);
        for (byte[] content : List.of(raw, gzip(raw))) {
            Idx.Array a = Idx.readImages(IdxFiles.write(dir, "im", content));
            assertArrayEquals(new int[] {3, 4, 5}, a.dims());
            assertArrayEquals(prefix(java.util.Arrays.copyOfRange(raw, 16, raw.length), 60), a.data());
        }
        Idx.Array l = Idx.readLabels(IdxFiles.write(dir, "lab.gz", gzip(labels(9, 0, 255))));
        assertArrayEquals(new int[] {3}, l.dims());
        assertEquals(255, l.data()[2] & 0xFF);
    }

    @Test
    void acceptsAnEmptyArray() throws IOException {
        Idx.Array a = Idx.readImages(IdxFiles.write(dir, "empty", images(0, 28, 28)));
        assertEquals(0, a.data().length);
    }

    /** One row per corruption: the file's content, the rank it is read as, and what the message must say. */
    static Stream<Arguments> corruptFiles() {
        byte[] good = images(2, 28, 28); // 16-byte header + 1568 data bytes
        return Stream.of(
                row("empty file", new byte[0], 3, "field 'magic (truncated header)' at byte offset 0", "expected 4 bytes, found 0"),
                row("bad magic (a zip file)", concat(new byte[] {'P', 'K', 3, 4}, new byte[20]), 3,
                        "field 'magic' at byte offset 0", "expected 0x00000803", "found 0x504B0304 (not an IDX file)"),
                row("wrong dtype (float)", idx(0x00000D03, new int[] {1, 1, 1}, new byte[4]), 3,
                        "field 'data type (magic byte 2)' at byte offset 2", "expected 0x08 (unsigned byte)", "found 0x0D (float)"),
                row("labels read as images", labels(1, 2, 3), 3,
                        "number of dimensions (magic byte 3)' at byte offset 3", "expected 3, found 1"),
                row("truncated header", prefix(good, 10), 3,
                        "field 'dimension 1 (truncated header)' at byte offset 8", "expected 4 bytes, found 2 before the end of the file"),
                row("truncated data", prefix(good, good.length - 1), 3,
                        "field 'data (truncated data)' at byte offset 16", "expected 1568 bytes for dimensions [2, 28, 28]",
                        "found 1567 bytes up to the end of the file"),
                row("trailing garbage", concat(good, new byte[] {1, 2, 3}), 3,
                        "field 'data (trailing bytes after the data)' at byte offset 16", "found 1571 bytes up to the end"),
                row("truncated data, gzipped", gzip(prefix(good, 1000)), 3,
                        "field 'data (truncated data)' at byte offset 16", "expected 1568 bytes",
                        "found 984 bytes before the end of the decompressed stream"),
                row("trailing garbage, gzipped", gzip(concat(good, new byte[] {1, 2, 3})), 3,
                        "field 'data (trailing bytes after the data)' at byte offset 1584", "found 3 more bytes"),
                row("absurd count 2^31-1", idx(0x00000801, new int[] {Integer.MAX_VALUE}, new byte[8]), 1,
                        "field 'dimension 0' at byte offset 4", "expected a payload of at most 1073741824 bytes",
                        "found 2147483647"),
                row("absurd product of dimensions", idx(0x00000803, new int[] {100_000, 100_000, 28}, new byte[8]), 3,
                        "field 'dimension 1' at byte offset 8", "dimensions [100000, 100000, ...] need 10000000000 or more bytes"),
                row("negative dimension", idx(0x00000803, new int[] {2, -28, 28}, new byte[8]), 3,
                        "field 'dimension 1' at byte offset 8", "expected a size >= 0, found -28"),
                row("gzip claims 1e9 bytes but holds 8", gzip(idx(0x00000803, new int[] {1000, 1000, 1000}, new byte[8])), 3,
                        "data (truncated data)' at byte offset 16", "expected 1000000000 bytes", "found 8 bytes"),
                row("gzip with a broken CRC", flipByte(gzip(good), -8), 3,
                        "field 'gzip stream'", "expected a valid gzip stream", "Corrupt GZIP trailer"),
                row("gzip cut short", prefix(gzip(good), 40), 3,
                        "field 'gzip stream'", "expected a valid gzip stream", "Unexpected end of ZLIB input stream"),
                row("gzip header only", prefix(gzip(good), 5), 3,
                        "field 'gzip stream' at byte offset 0", "expected a valid gzip stream"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corruptFiles")
    void rejectsCorruptFileWithAPreciseMessage(byte[] content, int rank, List<String> expected) throws IOException {
        Path file = IdxFiles.write(dir, "bad-idx", content);
        IdxFormatException e = assertThrows(IdxFormatException.class, () -> Idx.read(file, rank, Idx.DEFAULT_MAX_BYTES));
        assertTrue(e.getMessage().startsWith(file.toString() + ": "), e.getMessage());
        for (String part : expected) {
            assertTrue(e.getMessage().contains(part), "message lacks «" + part + "»: " + e.getMessage());
        }
    }

    @Test
    void streamOfUnknownLengthIsCheckedToo() {
        byte[] good = images(1, 2, 2);
        IdxFormatException e = assertThrows(IdxFormatException.class, () -> Idx.read(
                new ByteArrayInputStream(concat(good, new byte[5])), "mem", -1, 3, Idx.DEFAULT_MAX_BYTES));
        assertTrue(e.getMessage().contains("mem: field 'data (trailing bytes after the data)' at byte offset 20"), e.getMessage());
    }

    @Test
    void capIsConfigurable() {
        IdxFormatException e = assertThrows(IdxFormatException.class, () -> Idx.read(
                new ByteArrayInputStream(images(2, 28, 28)), "mem", -1, 3, 1000));
        assertTrue(e.getMessage().contains("at most 1000 bytes"), e.getMessage());
    }

    private static Arguments row(String name, byte[] content, int rank, String... expected) {
        return Arguments.of(Named.of(name, content), rank, List.of(expected));
    }

    private static byte[] flipByte(byte[] content, int fromEnd) {
        byte[] copy = content.clone();
        copy[copy.length + fromEnd] ^= 0x5A;
        return copy;
    }
}
