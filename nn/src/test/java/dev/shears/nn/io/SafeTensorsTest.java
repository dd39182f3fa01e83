package dev.shears.nn.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsTest {

    @TempDir
    Path dir;

    @Test
    void roundTripKeepsOrderShapesValuesDtypesAndMetadata() throws IOException {
        Map<String, NamedArray> in = new LinkedHashMap<>();
        in.put("z.weight", new NamedArray(new int[] {2, 3}, new float[] {1, -2, 3.5f, Float.MIN_VALUE, Float.MAX_VALUE, Float.NaN}));
        in.put("a.scalar", new NamedArray(new int[] {}, new float[] {42}));
        in.put("empty", new NamedArray(new int[] {0, 5}, new float[0]));
        in.put("bn.num_batches_tracked", NamedArray.forPyTorch("bn.num_batches_tracked", new int[] {}, new float[] {7}));
        in.put("f64", new NamedArray(new int[] {2}, new float[] {0.1f, -3}, DType.F64));
        in.put("i32", new NamedArray(new int[] {3}, new float[] {-5, 0, 1 << 24}, DType.I32));
        in.put("f16", new NamedArray(new int[] {3}, new float[] {0.5f, -2048, 65504}, DType.F16));
        in.put("bf16", new NamedArray(new int[] {2}, new float[] {1.5f, -0x1p100f}, DType.BF16));
        Path file = dir.resolve("m.safetensors");
        SafeTensors.write(file, in, Map.of("format", "pt"));

        SafeTensors.Contents out = SafeTensors.read(file);
        assertEquals(List.copyOf(in.keySet()), List.copyOf(out.tensors().keySet()));
        assertEquals(Map.of("format", "pt"), out.metadata());
        for (String name : in.keySet()) {
            assertArrayEquals(in.get(name).shape(), out.get(name).shape(), name);
            assertArrayEquals(in.get(name).data(), out.get(name).data(), name);
            assertEquals(in.get(name).dtype(), out.get(name).dtype(), name);
        }
        assertEquals(DType.I64, out.get("bn.num_batches_tracked").dtype());
        assertEquals(0, Files.list(dir).filter(p -> p.toString().endsWith(".tmp")).count());
    }

    @Test
    void headerIsSpacePaddedToEightBytes() throws IOException {
        Path file = dir.resolve("pad.safetensors");
        SafeTensors.write(file, Map.of("x", new NamedArray(new int[] {1}, new float[] {1})));
        byte[] bytes = Files.readAllBytes(file);
        long n = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, n % 8);
        String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
        assertEquals("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", header.stripTrailing());
        assertEquals(8 + n + 4, bytes.length);
    }

    @Test
    void readsAHandWrittenFileLikePythonsSafetensors() throws IOException {
        // What safetensors.torch.save_file writes for {"a": tensor([1., 2.]), "n": tensor(3)}: metadata first, no spaces.
        ByteBuffer data = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(3).putFloat(1).putFloat(2);
        Path file = SafeTensorsFiles.write(dir, "{\"__metadata__\":{\"format\":\"pt\"},\"n\":{\"dtype\":\"I64\",\"shape\":[],"
                + "\"data_offsets\":[0,8]},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", data.array());
        SafeTensors.Contents c = SafeTensors.read(file);
        assertArrayEquals(new float[] {1, 2}, c.get("a").data());
        assertArrayEquals(new float[] {3}, c.get("n").data());
        assertEquals("pt", c.metadata().get("format"));
    }

    @Test
    void bfloat16AndFloat16RoundToNearestEven() {
        assertEquals((short) 0x3F80, DType.toBfloat16(1f));
        assertEquals((short) 0x3F80, DType.toBfloat16(Float.intBitsToFloat(0x3F808000))); // tie, even stays
        assertEquals((short) 0x3F82, DType.toBfloat16(Float.intBitsToFloat(0x3F818000))); // tie, odd rounds up
        assertEquals((short) 0x7FC0, DType.toBfloat16(Float.NaN));
    }

    @Test
    void failedWriteLeavesNoFileAndKeepsTheOldOne() throws IOException {
        Path file = dir.resolve("ckpt.safetensors");
        Map<String, NamedArray> good = Map.of("w", new NamedArray(new int[] {1}, new float[] {1}));
        SafeTensors.write(file, good);
        byte[] before = Files.readAllBytes(file);

        Map<String, NamedArray> bad = new LinkedHashMap<>();
        bad.put("w", new NamedArray(new int[] {2}, new float[] {1, 2}));
        bad.put("bn.num_batches_tracked", new NamedArray(new int[] {1}, new float[] {0.5f}, DType.I64));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SafeTensors.write(file, bad));
        assertTrue(e.getMessage().contains("tensor 'bn.num_batches_tracked': value 0.5 at index 0 cannot be stored as I64"), e.getMessage());
        assertArrayEquals(before, Files.readAllBytes(file), "the old file must be untouched");
        assertEquals(List.of(file), listing());

        Path fresh = dir.resolve("fresh.safetensors");
        assertThrows(IllegalArgumentException.class, () -> SafeTensors.write(fresh, bad));
        assertEquals(List.of(file), listing(), "no file, no temporary file");
    }

    @Test
    void failedRenameLeavesNoTemporaryFile() throws IOException {
        Path target = Files.createDirectories(dir.resolve("occupied"));
        Files.writeString(target.resolve("child"), "x"); // a non-empty directory cannot be replaced
        assertThrows(IOException.class, () -> SafeTensors.write(target, Map.of("w", new NamedArray(new int[] {1}, new float[] {1}))));
        assertEquals(List.of(target), listing());
    }

    @Test
    void writeIntoAReadOnlyDirectoryFailsCleanly() throws IOException {
        Path ro = Files.createDirectories(dir.resolve("ro"));
        Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("r-xr-xr-x"));
        try {
            Assumptions.assumeFalse(Files.isWritable(ro), "running as root: permissions do not stop writes");
            Path file = ro.resolve("w.safetensors");
            assertThrows(IOException.class, () -> SafeTensors.write(file, Map.of("w", new NamedArray(new int[] {1}, new float[] {1}))));
            try (Stream<Path> s = Files.list(ro)) {
                assertEquals(List.of(), s.toList());
            }
        } finally {
            Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }

    @Test
    void rejectsBadNames() {
        Path file = dir.resolve("x.safetensors");
        for (String name : List.of("", "__metadata__")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> SafeTensors.write(file, Map.of(name, new NamedArray(new int[] {1}, new float[] {1}))));
            assertTrue(e.getMessage().contains("cannot write tensor named '" + name + "'"), e.getMessage());
        }
        assertTrue(!Files.exists(file));
    }

    @Test
    void namedArrayChecksItsShape() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new NamedArray(new int[] {2, 3}, new float[5]));
        assertEquals("shape [2, 3] needs 6 values, found 5", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new NamedArray(new int[] {-1}, new float[0]));
        assertThrows(IllegalArgumentException.class, () -> new NamedArray(new int[] {1 << 30, 1 << 30, 4}, new float[4]));
        assertEquals(0, new NamedArray(new int[] {1 << 30, 1 << 30, 0}, new float[0]).numel());
    }

    private List<Path> listing() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        }
    }
}
