package dev.shears.examples;

import dev.shears.core.GradMode;
import dev.shears.core.Tensor;
import dev.shears.core.TensorScope;
import dev.shears.data.Datasets;
import dev.shears.data.Mnist;
import dev.shears.nn.Predictor;
import dev.shears.nn.Sequential;
import dev.shears.nn.io.Checkpoints;
import dev.shears.nn.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

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

        // predict (batch 1: the threads split each image's filters) agrees with a batch of 32 in eval mode
        Sequential model = Checkpoints.loadSimpleCNN(file);
        Predictor predictor = Predictor.of(model, 1, 1, 28, 28);
        int n = 32, size = 28 * 28;
        float[] images = Arrays.copyOf(digits.test().images(), n * size), logits;
        model.eval();
        try (GradMode off = GradMode.off(); TensorScope scope = TensorScope.open()) {
            logits = model.forward(Tensor.of(images, n, 1, 28, 28)).toArray();
        }
        for (int i = 0; i < n; i++) {
            int best = 0;
            for (int k = 1; k < 10; k++) if (logits[i * 10 + k] > logits[i * 10 + best]) best = k;
            assertEquals(best, ReadmeExample.predict(predictor, Arrays.copyOfRange(images, i * size, (i + 1) * size)), "image " + i);
        }
    }

}
