package dev.shears.examples;

import dev.shears.data.Dataset;
import dev.shears.data.Datasets;
import dev.shears.data.Mnist;
import dev.shears.nn.io.Checkpoints;
import dev.shears.prune.PruneResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/** prune/README.md's Java example is PruneExample.java, character for character, and it runs. */
class PruneExampleTest {

    @Test
    void readmeShowsExactlyTheExampleSource() throws Exception {
        Path root = ReadmeExampleTest.ROOT;
        String readme = Files.readString(root.resolve("prune/README.md"));
        Path source = root.resolve("prune/src/test/java/dev/shears/examples/PruneExample.java");
        Matcher m = Pattern.compile("<!-- example: prune/src/test/java/dev/shears/examples/PruneExample.java -->\\s*```java\\n(.*?)```",
                Pattern.DOTALL).matcher(readme);
        assertTrue(m.find(), "prune/README.md has no ```java block after the marker comment for PruneExample.java");
        assertEquals(Files.readString(source), m.group(1), "prune/README.md's example differs from " + root.relativize(source));
    }

    @Test
    void theExamplePrunesAndSavesASmallerModel(@TempDir Path dir) throws Exception {
        Mnist digits = Datasets.embeddedDigits();
        Path file = dir.resolve("slim.safetensors");
        PruneResult r = PruneExample.slim(first(digits.train(), 64), first(digits.test(), 32), 1, file);
        int kept = r.channelsAfter().values().stream().mapToInt(Integer::intValue).sum();
        assertTrue(kept >= 96 - (int) (0.7 * 96), "kept " + r.channelsAfter());   // more only where the minimum clamped
        assertTrue(r.channelsAfter().get("conv1") >= 4 && r.channelsAfter().get("conv2") >= 7, r.channelsAfter().toString());
        assertEquals(r.after().parameters(), Checkpoints.loadSimpleCNN(file).parameterCount());
    }

    private static Dataset first(Dataset d, int n) {
        return new Dataset(d.name(), Arrays.copyOf(d.images(), n * d.imageSize()), Arrays.copyOf(d.labels(), n), d.rows(), d.cols());
    }
}
