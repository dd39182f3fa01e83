package dev.shears.nn.io;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A full disk, simulated by an in-memory file system of 64 KiB (Jimfs): a checkpoint that does not fit fails
 * with an IOException, leaves no temporary file, and the checkpoint already there keeps its old contents.
 */
class SafeTensorsFullDiskTest {

    @Test
    void aWriteThatDoesNotFitFailsAndKeepsTheOldFile() throws IOException {
        try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix().toBuilder().setBlockSize(4096).setMaxSize(64 << 10).build())) {
            Path dir = Files.createDirectories(fs.getPath("/models"));
            Path file = dir.resolve("m.safetensors");
            SafeTensors.write(file, Map.of("w", new NamedArray(new int[]{2}, new float[]{1, 2})));

            NamedArray big = new NamedArray(new int[]{100_000}, new float[100_000]);   // 400 KB on a 64 KiB disk
            IOException e = assertThrows(IOException.class, () -> SafeTensors.write(file, Map.of("w", big)));
            assertTrue(e.getMessage() != null && !e.getMessage().isBlank(), "the error says something: " + e);

            try (Stream<Path> files = Files.list(dir)) {
                assertEquals(List.of(file), files.toList(), "no temporary file left behind");
            }
            assertArrayEquals(new float[]{1, 2}, SafeTensors.read(file).get("w").data(), "the old checkpoint is intact");
        }
    }
}
