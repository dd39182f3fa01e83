package dev.shears.cli;

import dev.shears.core.Tensor;
import dev.shears.data.Dataset;
import dev.shears.data.Datasets;
import dev.shears.nn.Module;
import dev.shears.nn.SimpleCNN;
import dev.shears.nn.io.Checkpoints;
import dev.shears.nn.optim.SGD;
import dev.shears.nn.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The warm-up that {@code train} runs while its data loads leaves no trace in the run's results. */
class TrainCommandTest {
    @TempDir Path dir;

    /** One epoch of SimpleCNN (seed 0, batch 64) on the first 128 embedded digits with train's default recipe. */
    private static Module trainedDirectly(Dataset train) {
        Module model = SimpleCNN.create(0);
        new Trainer(model, new SGD(model.parameters(), 0.01f, 0.9f, 0f)).trainEpoch(train, 64, 0, 0);
        return model;
    }

    private static void assertSameBits(Module expected, Module actual) {
        Map<String, Tensor> e = expected.stateDict(), a = actual.stateDict();
        assertEquals(e.keySet(), a.keySet());
        for (String name : e.keySet())
            assertArrayEquals(e.get(name).toArray(), a.get(name).toArray(), name + " differs bit for bit");   // floatToIntBits equality
    }

    @Test
    void trainingAfterAWarmUpGivesTheSameBits() throws Exception {
        Dataset train = Datasets.embeddedDigits().train().first(128);
        Module before = trainedDirectly(train);
        Dataset loaded = TrainCommand.loadWhileWarmingUp(() -> train, SimpleCNN.create(0), 64, new int[]{1, 28, 28}, 3);
        assertSame(train, loaded);
        assertSameBits(before, trainedDirectly(loaded));
    }

    @Test
    void theTrainCommandGivesWhatTheApiGives() throws Exception {
        Path out = dir.resolve("m.safetensors");
        ShearsTest.Run run = ShearsTest.shears("train", "--epochs", "1", "--limit", "128", "--out", out.toString(), "--quiet");
        assertEquals(0, run.exitCode(), run.err());
        assertSameBits(trainedDirectly(Datasets.embeddedDigits().train().first(128)), Checkpoints.loadSimpleCNN(out));
    }

    @Test
    void whatTheLoadThrowsComesThroughAsItIs() {
        IOException missing = new IOException("no such file");
        IOException thrown = assertThrows(IOException.class, () -> TrainCommand.loadWhileWarmingUp(() -> {
            throw missing;
        }, SimpleCNN.create(0), 2, new int[]{1, 28, 28}, 1));
        assertSame(missing, thrown);
    }
}
