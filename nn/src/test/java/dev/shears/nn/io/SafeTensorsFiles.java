package dev.shears.nn.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Builds safetensors files byte by byte for the tests, so that a hostile header is written as-is. */
final class SafeTensorsFiles {

    private SafeTensorsFiles() {
    }

    static Path write(Path dir, String header, byte[] buffer) throws IOException {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        return raw(dir, json.length, json, buffer);
    }

    /** A file whose length field says {@code n}, whatever follows. */
    static Path raw(Path dir, long n, byte[] json, byte[] buffer) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8 + json.length + buffer.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(n).put(json).put(buffer);
        return Files.write(dir.resolve("hostile.safetensors"), b.array());
    }
}
