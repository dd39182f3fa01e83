package dev.shears.data;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.shears.core.testing.FuzzCheck;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Timeout;

/**
 * Fuzz target of the IDX reader: any bytes, raw or gzipped, give an array or an {@link IdxFormatException}
 *, within a memory bound and in bounded time.
 * Corpus: {@code src/test/resources/dev/shears/data/IdxFuzzTestInputs/read/}.
 */
class IdxFuzzTest {

    /** Buffers of the reader (gzip window, first payload chunk of 1 MiB, probe) and of the exception messages. */
    private static final long SLACK = 4L << 20;

    @FuzzTest
    @Timeout(value = 10, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)   // a blocked read cannot be interrupted
    void read(byte[] input) {
        // the rank asked for comes from the input's fourth byte, so every rank the reader knows is reached
        int rank = input.length > 3 ? input[3] & 3 : 3;
        // The payload can be at most the file (raw) or what it inflates to (gzip), and the reader grows its
        // buffer by doubling: anything beyond twice that is an allocation the file's content did not pay for.
        long limit = 2 * Math.max(input.length, inflatedLength(input)) + SLACK;
        FuzzCheck.expectOnly(limit,
                () -> Idx.read(new ByteArrayInputStream(input), "fuzz", input.length, rank, Idx.DEFAULT_MAX_BYTES),
                IdxFormatException.class);
    }

    /** Bytes a gzip stream inflates to before it ends or breaks (independent of the reader); 0 if not gzip. */
    private static long inflatedLength(byte[] input) {
        if (input.length < 2 || (input[0] & 0xFF) != 0x1f || (input[1] & 0xFF) != 0x8b) {
            return 0;
        }
        long total = 0;
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(input))) {
            byte[] buf = new byte[8192];
            for (int n; (n = in.read(buf)) > 0; ) {
                total += n;
            }
        } catch (IOException | RuntimeException e) {
            // a broken stream: what came before the break is what the reader can have seen
        }
        return total;
    }
}
