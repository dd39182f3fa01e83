package dev.shears.examples;

import dev.shears.data.Dataset;
import dev.shears.data.Datasets;
import dev.shears.data.Mnist;
import dev.shears.nn.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/** The README's Java example is this package's ReadmeExample.java, character for character, and it runs. */
class ReadmeExampleTest {
    static final Path ROOT = Path.of(System.getProperty("basedir", ".")).toAbsolutePath().getParent();

    @Test
    void readmeShowsExactlyTheExampleSource() throws Exception {
        String readme = Files.readString(ROOT.resolve("README.md"));
        Path source = ROOT.resolve("prune/src/test/java/dev/shears/examples/ReadmeExample.java");
        // the block right after the marker comment that names the file
        Matcher m = Pattern.compile("<!-- example: prune/src/test/java/dev/shears/examples/ReadmeExample.java -->\\s*```java\\n(.*?)```",
                Pattern.DOTALL).matcher(readme);
        assertTrue(m.find(), "README.md has no ```java block after the marker comment for ReadmeExample.java");
        assertEquals(Files.readString(source), m.group(1),
                "README.md's example differs from " + ROOT.relativize(source) + ": copy the file into the README block");
    }

    @Test
    void theExampleTrainsEvaluatesAndSaves(@TempDir Path dir) throws Exception {
        Mnist digits = Datasets.embeddedDigits();
        Path file = dir.resolve("simplecnn.safetensors");
        Trainer.Evaluation test = ReadmeExample.trainOneEpoch(first(digits.train(), 128), first(digits.test(), 64), file);
        assertEquals(64, test.samples());
        assertTrue(Files.size(file) > 421_834 * 4, "the checkpoint holds every parameter");
    }

    private static Dataset first(Dataset d, int n) {
        return new Dataset(d.name(), Arrays.copyOf(d.images(), n * d.imageSize()), Arrays.copyOf(d.labels(), n), d.rows(), d.cols());
    }
}
