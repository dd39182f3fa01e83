package dev.shears.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.shears.nn.SimpleCNN;
import dev.shears.nn.io.Checkpoints;
import dev.shears.nn.train.TrainingCheckpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static dev.shears.cli.ShearsTest.shears;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** --lr-schedule cosine through train and finetune: stepped per batch over the whole run, and the defaults. */
class LrScheduleCommandTest {
    @TempDir Path dir;

    @Test
    void trainAnnealsPerBatchToZeroOverTheRun() throws Exception {
        // 32 images in batches of 16: T = 2 epochs · 2 batches; after epoch 1, t = 2 = T/2
        var r = shears("train", "--epochs", "2", "--limit", "32", "--batch-size", "16", "--threads", "1", "--lr", "0.08",
                "--lr-schedule", "cosine", "--json", "--quiet");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode epochs = r.json().get("epochs");
        assertEquals(0.04, epochs.get(0).get("lr").asDouble(), 1e-8, "0.08·(1 + cos(π/2))/2 after half the batches");
        assertEquals(0.0, epochs.get(1).get("lr").asDouble(), 1e-8, "0.08·(1 + cos(π))/2 at the end");
        assertEquals("cosine", r.json().get("lr_schedule").asText());
    }

    @Test
    void finetuneStepsTheScheduleAfterEveryBatchAndSavesItsPosition() throws Exception {
        Path model = dir.resolve("m.safetensors"), ckpt = dir.resolve("ckpt");
        Checkpoints.save(SimpleCNN.create(4, 8, 16, 3), model);
        // 64 images in batches of 16, 3 epochs: T = 12 steps
        var r = shears("finetune", "--model", model.toString(), "--limit", "64", "--batch-size", "16", "--threads", "1",
                "--epochs", "3", "--lr", "0.05", "--lr-schedule", "cosine", "--out", dir.resolve("f.safetensors").toString(),
                "--checkpoint", ckpt.toString(), "--quiet");
        assertEquals(0, r.exitCode(), r.err());
        TrainingCheckpoint.State state = TrainingCheckpoint.load(ckpt);
        assertEquals(12, state.scheduleEpoch(), "one schedule step per batch");
        assertEquals(0f, state.lr(), 1e-9f, "annealed to 0 at t = T");
        assertEquals("12", state.sgd().get("schedule.cosine_steps"), state.sgd().toString());

        // a run of another length has another T: its checkpoint cannot be continued
        var longer = shears("finetune", "--resume", ckpt.toString(), "--epochs", "4", "--out", dir.resolve("g.safetensors").toString(), "--quiet");
        assertEquals(1, longer.exitCode(), longer.err());
        assertTrue(longer.err().contains("schedule.cosine_steps"), longer.err());
    }

    @Test
    void finetuneDefaultsToACosineFrom002TrainKeepsItsRecipe() throws Exception {
        String finetune = ShearsTest.helpOf("finetune"), train = ShearsTest.helpOf("train");
        assertTrue(finetune.replaceAll("\\s+", " ").contains("PyTorch's CosineAnnealingLR stepped per batch) (default: cosine)"), finetune);
        assertTrue(finetune.replaceAll("\\s+", " ").contains("SGD learning rate (default: 0.02)"), finetune);
        assertTrue(train.replaceAll("\\s+", " ").contains("stepped per batch) (default: step)"), train);
        assertTrue(finetune.replaceAll("\\s+", " ").contains("(unpruned: 89.7%)"), "the recipe's measurement, % escaped for picocli: " + finetune);
        assertTrue(train.replaceAll("\\s+", " ").contains("SGD learning rate (default: 0.01)"), train);

        Path model = dir.resolve("m.safetensors");
        Checkpoints.save(SimpleCNN.create(4, 8, 16, 3), model);
        var r = shears("finetune", "--model", model.toString(), "--limit", "32", "--epochs", "0",
                "--out", dir.resolve("f.safetensors").toString(), "--json", "--quiet");
        assertEquals(0, r.exitCode(), r.err());
        assertEquals(0.02, r.json().get("lr").asDouble(), 1e-7);
        assertEquals("cosine", r.json().get("lr_schedule").asText());
    }
}
