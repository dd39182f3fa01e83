package dev.shears.examples;

import dev.shears.data.Datasets;
import dev.shears.data.Mnist;
import dev.shears.nn.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** The README's Java example is this package's ReadmeExample.java, character for character, and it runs. */
class ReadmeExampleTest {

    @Test
    void readmeShowsExactlyTheExampleSource() throws Exception {
        ReadmeBlocks.assertShowsExample("README.md", "ReadmeExample");
    }

    @Test
    void theExampleTrainsEvaluatesAndSaves(@TempDir Path dir) throws Exception {
        Mnist digits = Datasets.embeddedDigits();
        Path file = dir.resolve("simplecnn.safetensors");
        Trainer.Evaluation test = ReadmeExample.trainOneEpoch(digits.train().first(128), digits.test().first(64), file);
        assertEquals(64, test.samples());
        assertTrue(Files.size(file) > 421_834 * 4, "the checkpoint holds every parameter");
    }

}
