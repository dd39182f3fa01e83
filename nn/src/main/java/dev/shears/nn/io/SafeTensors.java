package dev.shears.nn.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Reads and writes the safetensors format (https://github.com/huggingface/safetensors), which
 * PyTorch and Hugging Face use for checkpoints.
 *
 * <p>Layout: an unsigned 64-bit little-endian header length N; N bytes of UTF-8 JSON
 * {@code {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
 * "__metadata__": {"key": "value"}}}, padded with spaces; then the byte buffer, in which each
 * tensor occupies {@code [begin, end)} little-endian and row-major.
 *
 * <p>Reading accepts F32, F64, F16, BF16, I64 and I32 and converts to float. Every header field is
 * checked against the file's real size before any tensor is allocated (see {@link SafeTensorsHeader}).
 * Writing is atomic: the file appears complete under its name or not at all.
 */
public final class SafeTensors {

    /** Largest header accepted, as the reference implementation does: 100 MB is millions of tensors. */
    public static final long MAX_HEADER_BYTES = 100_000_000;

    /** Conversion happens through a buffer of this size, so reading and writing need no second copy of a tensor. */
    private static final int CHUNK = 1 << 20; // a multiple of every dtype size

    private SafeTensors() {
    }

    /**
     * A file's tensors in the order of its header (and of the map given to write), and its metadata.
     * Both maps are unmodifiable.
     */
    public record Contents(Map<String, NamedArray> tensors, Map<String, String> metadata) {
        /** The tensor called {@code name}; throws naming the available ones if there is none. */
        public NamedArray get(String name) {
            NamedArray a = tensors.get(name);
            if (a == null) {
                throw new IllegalArgumentException("no tensor '" + name + "'; the file has " + tensors.keySet());
            }
            return a;
        }
    }

    public static Contents read(Path file) throws IOException {
        String source = file.toString();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) {
                throw new SafeTensorsFormatException(source + ": header length at byte offset 0: expected 8 bytes, found a file of "
                        + size + " bytes");
            }
            ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lengthBytes, 0, source);
            long n = lengthBytes.getLong(0);
            if (Long.compareUnsigned(n, MAX_HEADER_BYTES) > 0) {
                throw new SafeTensorsFormatException(source + ": header length at byte offset 0: expected at most "
                        + MAX_HEADER_BYTES + " bytes, found " + Long.toUnsignedString(n));
            }
            if (n > size - 8) {
                throw new SafeTensorsFormatException(source + ": header length at byte offset 0: expected at most "
                        + (size - 8) + " (the bytes left in the file), found " + n);
            }
            ByteBuffer json = ByteBuffer.allocate((int) n);
            readFully(ch, json, 8, source);
            SafeTensorsHeader header = SafeTensorsHeader.parse(source, json.array(), size - 8 - n);

            Map<String, NamedArray> tensors = new LinkedHashMap<>();
            ByteBuffer chunk = ByteBuffer.allocate((int) Math.min(CHUNK, size)).order(ByteOrder.LITTLE_ENDIAN);
            for (SafeTensorsHeader.Entry e : header.entries) {
                float[] data = new float[e.count()];
                long pos = 8 + n + e.begin();
                int done = 0;
                int perChunk = chunk.capacity() / e.dtype().size;
                while (done < e.count()) {
                    int k = Math.min(perChunk, e.count() - done);
                    chunk.clear().limit(k * e.dtype().size);
                    readFully(ch, chunk, pos, source);
                    chunk.flip();
                    e.dtype().decode(chunk, data, done, k);
                    done += k;
                    pos += (long) k * e.dtype().size;
                }
                tensors.put(e.name(), new NamedArray(e.shape(), data, e.dtype()));
            }
            return new Contents(Collections.unmodifiableMap(tensors), Collections.unmodifiableMap(header.metadata));
        }
    }

    public static void write(Path file, Map<String, NamedArray> tensors) throws IOException {
        write(file, tensors, Map.of());
    }

    /**
     * Writes the tensors in the map's iteration order, each in its {@link NamedArray#dtype()}.
     * The file is built under a temporary name in the same directory, flushed to disk, then
     * renamed atomically; on any failure the temporary file is deleted and an existing file of
     * that name is left untouched.
     *
     * @throws IllegalArgumentException if a name is empty or {@code __metadata__}, or a value
     *                                  does not fit its integer dtype (checked while writing)
     */
    public static void write(Path file, Map<String, NamedArray> tensors, Map<String, String> metadata) throws IOException {
        byte[] header = header(file, tensors, metadata);
        Path dir = file.toAbsolutePath().getParent();
        Path temp = dir.resolve("." + file.getFileName() + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
        boolean moved = false;
        try {
            try (FileChannel ch = create(file, temp)) {
                ByteBuffer buf = ByteBuffer.allocate(CHUNK).order(ByteOrder.LITTLE_ENDIAN);
                buf.putLong(header.length).flip();
                writeAll(ch, buf);
                writeAll(ch, ByteBuffer.wrap(header));
                for (Map.Entry<String, NamedArray> e : tensors.entrySet()) {
                    writeData(file, e.getKey(), e.getValue(), ch, buf);
                }
                ch.force(true);
            }
            Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            moved = true;
            syncDirectory(dir);
        } finally {
            if (!moved) {
                Files.deleteIfExists(temp);
            }
        }
    }

    /** Opens the temporary file; a missing directory is reported for {@code file}, the name the caller gave. */
    private static FileChannel create(Path file, Path temp) throws IOException {
        try {
            return FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        } catch (NoSuchFileException e) {
            NoSuchFileException named = new NoSuchFileException(file.toString(), null, "directory " + temp.getParent() + " does not exist");
            named.initCause(e);
            throw named;
        }
    }

    /** The JSON header, padded with spaces so that the byte buffer starts 8-byte aligned. */
    private static byte[] header(Path file, Map<String, NamedArray> tensors, Map<String, String> metadata) {
        Map<String, Object> json = new LinkedHashMap<>();
        if (!metadata.isEmpty()) {
            json.put(SafeTensorsHeader.METADATA, metadata);
        }
        long offset = 0;
        for (Map.Entry<String, NamedArray> e : tensors.entrySet()) {
            String name = e.getKey();
            if (name == null || name.isEmpty() || name.equals(SafeTensorsHeader.METADATA) || e.getValue() == null) {
                throw new IllegalArgumentException(file + ": cannot write tensor named '" + name + "' with value "
                        + e.getValue() + ": names must be non-empty and not " + SafeTensorsHeader.METADATA);
            }
            NamedArray a = e.getValue();
            long end = offset + (long) a.numel() * a.dtype().size;
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("dtype", a.dtype().name());
            entry.put("shape", a.shape());
            entry.put("data_offsets", List.of(offset, end));
            json.put(name, entry);
            offset = end;
        }
        byte[] text;
        try {
            text = SafeTensorsHeader.JSON.writeValueAsString(json).getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("plain maps of strings and numbers always serialise", e);
        }
        int padded = (text.length + 7) & ~7;
        byte[] out = Arrays.copyOf(text, padded);
        Arrays.fill(out, text.length, padded, (byte) ' ');
        return out;
    }

    private static void writeData(Path file, String name, NamedArray a, FileChannel ch, ByteBuffer buf) throws IOException {
        int perChunk = CHUNK / a.dtype().size;
        for (int done = 0; done < a.numel(); ) {
            int k = Math.min(perChunk, a.numel() - done);
            buf.clear();
            int bad = a.dtype().encode(a.data(), done, k, buf);
            if (bad >= 0) {
                throw new IllegalArgumentException(file + ": tensor '" + name + "': value " + a.data()[bad]
                        + " at index " + bad + " cannot be stored as " + a.dtype() + "; expected an integer in its range");
            }
            writeAll(ch, buf.flip());
            done += k;
        }
    }

    private static void writeAll(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos, String source) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos);
            if (n < 0) {
                throw new SafeTensorsFormatException(source + ": file ended at byte offset " + pos
                        + " while " + buf.remaining() + " more bytes were expected (did it shrink while being read?)");
            }
            pos += n;
        }
    }

    /** Makes the rename itself durable. Not every platform can open a directory (Windows cannot); then skip it. */
    private static void syncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException ignored) {
            // The file's own data is already on disk; only the directory entry may lag.
        }
    }
}
