package dev.shears.examples;

import dev.shears.data.Datasets;
import dev.shears.data.Mnist;
import dev.shears.nn.io.Checkpoints;
import dev.shears.prune.PruneResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** prune/README.md's Java example is PruneExample.java, character for character, and it runs. */
class PruneExampleTest {

    @Test
    void readmeShowsExactlyTheExampleSource() throws Exception {
        ReadmeBlocks.assertShowsExample("prune/README.md", "PruneExample");
    }

    @Test
    void theExamplePrunesAndSavesASmallerModel(@TempDir Path dir) throws Exception {
        Mnist digits = Datasets.embeddedDigits();
        Path file = dir.resolve("slim.safetensors");
        PruneResult r = PruneExample.slim(digits.train().first(64), digits.test().first(32), 1, file);
        int kept = r.channelsAfter().values().stream().mapToInt(Integer::intValue).sum();
        assertTrue(kept >= 96 - (int) (0.7 * 96), "kept " + r.channelsAfter());   // more only where the minimum clamped
        assertTrue(r.channelsAfter().get("conv1") >= 4 && r.channelsAfter().get("conv2") >= 7, r.channelsAfter().toString());
        assertEquals(r.after().parameters(), Checkpoints.loadSimpleCNN(file).parameterCount());
    }

}
