package dev.shears.examples;

import dev.shears.data.Dataset;
import dev.shears.data.Datasets;
import dev.shears.data.Mnist;
import dev.shears.nn.Conv2d;
import dev.shears.nn.Sequential;
import dev.shears.nn.SimpleCNN;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/** prune/README.md's reconstruction example is ReconstructExample.java, character for character, and it runs. */
class ReconstructExampleTest {

    @Test
    void readmeShowsExactlyTheExampleSource() throws Exception {
        Path root = ReadmeExampleTest.ROOT;
        String readme = Files.readString(root.resolve("prune/README.md"));
        Path source = root.resolve("prune/src/test/java/dev/shears/examples/ReconstructExample.java");
        Matcher m = Pattern.compile("<!-- example: prune/src/test/java/dev/shears/examples/ReconstructExample.java -->\\s*```java\\n(.*?)```",
                Pattern.DOTALL).matcher(readme);
        assertTrue(m.find(), "prune/README.md has no ```java block after the marker comment for ReconstructExample.java");
        assertEquals(Files.readString(source), m.group(1), "prune/README.md's example differs from " + root.relativize(source));
    }

    @Test
    void theExampleHalvesTheConvLayers() throws Exception {
        Mnist digits = Datasets.embeddedDigits();
        Mnist small = new Mnist(first(digits.train(), 200), first(digits.test(), 50));
        Sequential model = SimpleCNN.create(8, 8, 16, 0);
        var acc = ReconstructExample.reconstruct(model, small, 200);
        assertEquals(4, ((Conv2d) model.child("conv1")).outChannels());
        assertEquals(4, ((Conv2d) model.child("conv2")).outChannels());
        assertTrue(acc.reconstructed() >= 0 && acc.reconstructed() <= 1);
    }

    private static Dataset first(Dataset d, int n) {
        return new Dataset(d.name(), Arrays.copyOf(d.images(), n * d.imageSize()), Arrays.copyOf(d.labels(), n), d.rows(), d.cols());
    }
}
