package dev.shears.nn.io;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.shears.core.testing.FuzzCheck;
import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import java.io.IOException;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;

/**
 * Fuzz target of the safetensors reader: any bytes give the file's tensors or a
 * {@link SafeTensorsFormatException}, within a memory bound and in bounded time.
 * Corpus: {@code src/test/resources/dev/shears/nn/io/SafeTensorsFuzzTestInputs/read/}.
 */
class SafeTensorsFuzzTest {

    /**
     * Per byte of file: 4 for the floats that 2-byte dtypes (F16, BF16) widen to, plus the header's bytes and
     * the objects its JSON parses into (a name, an entry, its shape). Plus the 1 MiB read buffer and messages.
     */
    private static final long PER_BYTE = 16, SLACK = 4L << 20;

    /** In memory (Jimfs): writing and reading a file on this machine's disk took 3 ms per input, 100 inputs a second. */
    private static FileSystem memory;
    private static Path file;

    @BeforeAll
    static void createFile() {
        memory = Jimfs.newFileSystem(Configuration.unix());
        file = memory.getPath("/fuzz.safetensors");
    }

    @AfterAll
    static void closeFileSystem() throws IOException {
        memory.close();
    }

    @FuzzTest
    @Timeout(value = 10, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)   // a blocked read cannot be interrupted
    void read(byte[] input) throws IOException {
        Files.write(file, input);
        FuzzCheck.expectOnly(PER_BYTE * input.length + SLACK, () -> SafeTensors.read(file),
                SafeTensorsFormatException.class);
    }
}
