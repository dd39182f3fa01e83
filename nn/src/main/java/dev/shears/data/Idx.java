package dev.shears.data;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Reader for IDX files, the format of MNIST and Fashion-MNIST, optionally gzipped.
 *
 * <p>Layout (all integers big-endian): {@code 00 00 <dtype> <rank>}, then {@code rank} int32
 * dimension sizes, then the elements in row-major order. Only dtype {@code 0x08} (unsigned byte)
 * is supported, which is what every MNIST-style file uses; so the magic is {@code 0x00000801} for
 * labels and {@code 0x00000803} for images.
 *
 * <p>Hostile input: every size is checked against a cap and, for an uncompressed file, against the
 * real file length <em>before</em> anything is allocated; for a gzip stream (whose real length is
 * only known by reading it) the buffer grows with the bytes that actually arrive, so memory stays
 * within twice the real data. Byte offsets in messages count from the start of the decompressed
 * content.
 *
 * <p>Known gap: bytes after the last gzip member (outside the compressed data) are skipped
 * silently by {@link GZIPInputStream}, as {@code gzip -d} skips them with a warning; the IDX
 * content itself is still checked to the byte.
 */
public final class Idx {

    /** Data type code of unsigned bytes in the third magic byte. */
    public static final int UBYTE = 0x08;
    /** Largest payload read by default: 1 GiB, far above MNIST's 47 MB and below Java's array limit. */
    public static final long DEFAULT_MAX_BYTES = 1L << 30;

    private static final int FIRST_CHUNK = 1 << 20;

    private Idx() {
    }

    /**
     * An IDX array of unsigned bytes. {@code data} holds {@code product(dims)} bytes row-major;
     * read them with {@code data[i] & 0xFF}. Arrays are shared, not copied.
     */
    public record Array(String source, int[] dims, byte[] data) {
        /** Size of dimension {@code i}; dimension 0 is the number of items. */
        public int dim(int i) {
            return dims[i];
        }

        public int rank() {
            return dims.length;
        }

        @Override
        public String toString() {
            return "Idx.Array[" + source + ", dims=" + Arrays.toString(dims) + "]";
        }
    }

    /** Reads an image file: rank 3, {@code [count, rows, cols]}. */
    public static Array readImages(Path file) throws IOException {
        return read(file, 3, DEFAULT_MAX_BYTES);
    }

    /** Reads a label file: rank 1, {@code [count]}. */
    public static Array readLabels(Path file) throws IOException {
        return read(file, 1, DEFAULT_MAX_BYTES);
    }

    /** Reads {@code file}, gzipped or raw, and checks that it has rank {@code expectedRank}. */
    public static Array read(Path file, int expectedRank, long maxBytes) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return read(in, file.toString(), Files.size(file), expectedRank, maxBytes);
        }
    }

    /**
     * Reads an IDX array from a stream, gzipped or raw (detected by the gzip magic {@code 1f 8b}).
     *
     * @param source       name used in error messages (a path or a resource name)
     * @param streamLength length of the stream in bytes if known, or -1; lets a raw file that is too
     *                     short or too long be rejected before allocating
     * @param maxBytes     largest payload accepted
     */
    public static Array read(InputStream in, String source, long streamLength, int expectedRank, long maxBytes)
            throws IOException {
        BufferedInputStream buffered = new BufferedInputStream(in);
        buffered.mark(2);
        int b0 = buffered.read();
        int b1 = buffered.read();
        buffered.reset();
        boolean gzip = b0 == 0x1f && b1 == 0x8b;
        InputStream content = buffered;
        if (gzip) {
            try {
                content = new GZIPInputStream(buffered, 1 << 16);
            } catch (ZipException | EOFException e) {
                throw corruptGzip(source, 0, e);
            }
        }
        Cursor cursor = new Cursor(content, source, gzip);
        return parse(cursor, gzip ? -1 : streamLength, expectedRank, maxBytes);
    }

    private static Array parse(Cursor in, long streamLength, int expectedRank, long maxBytes) throws IOException {
        String source = in.source;
        maxBytes = Math.min(maxBytes, Integer.MAX_VALUE - 8); // the payload becomes one byte[]
        int magic = in.readInt("magic");
        int expectedMagic = (UBYTE << 8) | expectedRank;
        String expectedText = hex(expectedMagic) + " (IDX, unsigned bytes, " + expectedRank + " dimension"
                + (expectedRank == 1 ? ")" : "s)");
        if ((magic >>> 16) != 0) {
            throw IdxFormatException.at(source, "magic", 0, expectedText, hex(magic) + " (not an IDX file)");
        }
        int dtype = (magic >>> 8) & 0xFF;
        if (dtype != UBYTE) {
            throw IdxFormatException.at(source, "data type (magic byte 2)", 2, "0x08 (unsigned byte)",
                    String.format("0x%02X (%s)", dtype, dtypeName(dtype)));
        }
        int rank = magic & 0xFF;
        if (rank != expectedRank) {
            throw IdxFormatException.at(source, "number of dimensions (magic byte 3)", 3,
                    String.valueOf(expectedRank), String.valueOf(rank));
        }
        int[] dims = new int[rank];
        long bytes = 1;
        for (int d = 0; d < rank; d++) {
            long offset = in.offset;
            dims[d] = in.readInt("dimension " + d);
            if (dims[d] < 0) {
                throw IdxFormatException.at(source, "dimension " + d, offset, "a size >= 0", String.valueOf(dims[d]));
            }
            // bytes <= maxBytes < 2^62 before this product and dims[d] < 2^31, so it cannot overflow a long.
            bytes *= dims[d];
            if (bytes > maxBytes) {
                throw IdxFormatException.at(source, "dimension " + d, offset,
                        "a payload of at most " + maxBytes + " bytes",
                        dims[d] + ", which makes the dimensions " + describe(dims, d) + " need " + bytes
                                + (d + 1 < rank ? " or more" : "") + " bytes");
            }
        }
        long headerEnd = in.offset;
        if (streamLength >= 0 && streamLength - headerEnd != bytes) {
            long actual = streamLength - headerEnd;
            String problem = actual < bytes ? "truncated data" : "trailing bytes after the data";
            throw IdxFormatException.at(source, "data (" + problem + ")", headerEnd,
                    bytes + " bytes for dimensions " + Arrays.toString(dims),
                    actual + " bytes up to the end of the file");
        }
        byte[] data = in.readPayload((int) bytes, Arrays.toString(dims));
        in.expectEnd(Arrays.toString(dims));
        return new Array(source, dims, data);
    }

    private static String describe(int[] dims, int upTo) {
        return Arrays.toString(Arrays.copyOf(dims, upTo + 1)).replace("]", upTo + 1 < dims.length ? ", ...]" : "]");
    }

    private static String hex(int v) {
        return String.format("0x%08X", v);
    }

    private static String dtypeName(int dtype) {
        return switch (dtype) {
            case 0x09 -> "signed byte";
            case 0x0B -> "short";
            case 0x0C -> "int";
            case 0x0D -> "float";
            case 0x0E -> "double";
            default -> "not an IDX data type";
        };
    }

    static IdxFormatException corruptGzip(String source, long offset, IOException cause) {
        return IdxFormatException.at(source, "gzip stream", offset, "a valid gzip stream",
                "a corrupt one (" + cause.getMessage() + ")");
    }

    /** A stream with a byte offset, so every error can say where it happened. */
    private static final class Cursor {
        final InputStream in;
        final String source;
        final boolean gzip;
        long offset;

        Cursor(InputStream in, String source, boolean gzip) {
            this.in = in;
            this.source = source;
            this.gzip = gzip;
        }

        int readInt(String field) throws IOException {
            byte[] b = new byte[4];
            int got = fill(b, 0, 4);
            if (got < 4) {
                throw IdxFormatException.at(source, field + " (truncated header)", offset - got,
                        "4 bytes", got + " before the end of the " + (gzip ? "decompressed stream" : "file"));
            }
            return ((b[0] & 0xFF) << 24) | ((b[1] & 0xFF) << 16) | ((b[2] & 0xFF) << 8) | (b[3] & 0xFF);
        }

        /** Reads exactly {@code size} bytes, growing the buffer only as bytes arrive. */
        byte[] readPayload(int size, String dims) throws IOException {
            long start = offset;
            byte[] buf = new byte[Math.min(size, FIRST_CHUNK)];
            int filled = 0;
            while (filled < size) {
                if (filled == buf.length) {
                    buf = Arrays.copyOf(buf, (int) Math.min(size, 2L * buf.length));
                }
                int got = fill(buf, filled, buf.length - filled);
                filled += got;
                if (filled < buf.length) {
                    throw IdxFormatException.at(source, "data (truncated data)", start,
                            size + " bytes for dimensions " + dims,
                            filled + " bytes before the end of the " + (gzip ? "decompressed stream" : "file"));
                }
            }
            return buf;
        }

        /** Fails if anything follows the payload; reading to the end also makes gzip check its CRC. */
        void expectEnd(String dims) throws IOException {
            long end = offset;
            byte[] probe = new byte[8192];
            long extra = 0;
            int got;
            // Count at most a few MB of trailing bytes: enough for the message, bounded for a gzip bomb.
            while (extra < (4 << 20) && (got = fill(probe, 0, probe.length)) > 0) {
                extra += got;
            }
            if (extra > 0) {
                throw IdxFormatException.at(source, "data (trailing bytes after the data)", end,
                        "the end of the " + (gzip ? "decompressed stream" : "file") + " after dimensions " + dims,
                        (extra >= (4 << 20) ? "at least " : "") + extra + " more bytes");
            }
        }

        /** Reads until {@code len} bytes or the end of the stream; returns how many it got. */
        private int fill(byte[] b, int off, int len) throws IOException {
            int total = 0;
            while (total < len) {
                int n;
                try {
                    n = in.read(b, off + total, len - total);
                } catch (ZipException | EOFException e) {
                    // ZipException: bad deflate data or CRC; EOFException: the gzip file itself is cut short.
                    throw corruptGzip(source, offset + total, e);
                }
                if (n < 0) {
                    break;
                }
                total += n;
            }
            offset += total;
            return total;
        }
    }
}
