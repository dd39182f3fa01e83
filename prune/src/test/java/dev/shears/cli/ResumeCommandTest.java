package dev.shears.cli;

import dev.shears.nn.SimpleCNN;
import dev.shears.nn.io.Checkpoints;
import dev.shears.nn.io.NamedArray;
import dev.shears.nn.io.SafeTensors;
import dev.shears.nn.train.TrainingCheckpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static dev.shears.cli.ShearsTest.shears;
import static org.junit.jupiter.api.Assertions.*;

/** Divergence, --checkpoint and --resume through the command line, in-process. */
class ResumeCommandTest {
    @TempDir Path dir;

    /** A short run: 64 images in 4 batches, one thread, a schedule that changes the rate after every epoch. */
    private static String[] train(String... more) {
        return concat(new String[]{"train", "--limit", "64", "--batch-size", "16", "--threads", "1", "--lr-step", "1",
                "--lr-gamma", "0.5", "--weight-decay", "1e-4", "--quiet"}, more);
    }

    @Test
    void aResumedTrainingEndsBitIdenticalToAnUninterruptedOne() throws Exception {
        Path straight = dir.resolve("straight"), split = dir.resolve("split");
        var a = shears(train("--epochs", "2", "--checkpoint", straight.toString()));
        assertEquals(0, a.exitCode(), a.err());
        var b = shears(train("--epochs", "1", "--checkpoint", split.toString()));
        assertEquals(0, b.exitCode(), b.err());
        // only --epochs: the rest of the recipe comes from the checkpoint
        var c = shears("train", "--resume", split.toString(), "--epochs", "2", "--threads", "1", "--json", "--quiet");
        assertEquals(0, c.exitCode(), c.err());
        assertEquals(1, c.json().get("resumed_from_epoch").asInt());
        assertEquals(1, c.json().get("epochs").size(), "only the second epoch ran");
        assertEquals(0.005, c.json().get("epochs").get(0).get("lr").asDouble(), 1e-9, "0.01 · 0.5 after one epoch");

        Map<String, NamedArray> expected = SafeTensors.read(straight.resolve(TrainingCheckpoint.STATE_FILE)).tensors();
        Map<String, NamedArray> resumed = SafeTensors.read(split.resolve(TrainingCheckpoint.STATE_FILE)).tensors();
        assertEquals(expected.keySet(), resumed.keySet());
        assertTrue(expected.keySet().stream().anyMatch(k -> k.startsWith("momentum.")), "momentum buffers are saved: " + expected.keySet());
        expected.forEach((name, t) -> assertArrayEquals(t.data(), resumed.get(name).data(), 0f, name));
        assertArrayEquals(Files.readAllBytes(straight.resolve(TrainingCheckpoint.MODEL_FILE)),
                Files.readAllBytes(split.resolve(TrainingCheckpoint.MODEL_FILE)), "the model files are byte for byte the same");

        var other = shears("train", "--resume", split.toString(), "--epochs", "3", "--lr", "0.02", "--seed", "5", "--quiet");
        assertEquals(2, other.exitCode());
        assertTrue(other.err().contains("the checkpoint was made with another recipe: --lr: 0.01 in the checkpoint, 0.02 now; "
                + "--seed: 0 in the checkpoint, 5 now"), other.err());
        var none = shears("train", "--resume", dir.resolve("nothing").toString(), "--quiet");
        assertEquals(2, none.exitCode());
        assertTrue(none.err().contains("no training-state.safetensors there"), none.err());
        var fewer = shears("train", "--resume", split.toString(), "--epochs", "1", "--quiet");
        assertEquals(2, fewer.exitCode());
        assertTrue(fewer.err().contains("has 2 epochs done, more than --epochs 1"), fewer.err());
        var fromFinetune = shears("finetune", "--resume", split.toString(), "--out", dir.resolve("f.safetensors").toString(), "--quiet");
        assertEquals(2, fromFinetune.exitCode());
        assertTrue(fromFinetune.err().contains("command: train in the checkpoint, finetune now"), fromFinetune.err());
    }

    @Test
    void finetuneResumesToo() throws Exception {
        Path model = dir.resolve("m.safetensors"), straight = dir.resolve("straight"), split = dir.resolve("split");
        Checkpoints.save(SimpleCNN.create(4, 8, 16, 3), model);   // a pruned-width model: fine-tuning is what pruning is for
        String[] tune = {"finetune", "--model", model.toString(), "--limit", "64", "--batch-size", "16", "--threads", "1", "--quiet",
                "--lr-schedule", "constant"};   // a cosine's length is the run's: --epochs 1 then 2 is another schedule
        var a = shears(concat(tune, "--epochs", "2", "--out", dir.resolve("a.safetensors").toString(), "--checkpoint", straight.toString()));
        assertEquals(0, a.exitCode(), a.err());
        var one = shears(concat(tune, "--epochs", "1", "--out", dir.resolve("b.safetensors").toString(), "--checkpoint", split.toString(), "--json"));
        assertEquals(0, one.exitCode(), one.err());
        var b = shears("finetune", "--resume", split.toString(), "--epochs", "2", "--out", dir.resolve("b.safetensors").toString(), "--json", "--quiet");
        assertEquals(0, b.exitCode(), b.err());
        // "before" is the checkpoint's model, as the first run measured it after its epoch (not fresh weights)
        assertEquals(one.json().get("epochs").get(0).get("test_accuracy").asDouble(), b.json().get("accuracy_before").asDouble());
        assertArrayEquals(Files.readAllBytes(straight.resolve(TrainingCheckpoint.STATE_FILE)),
                Files.readAllBytes(split.resolve(TrainingCheckpoint.STATE_FILE)), "momentum, weights and metadata alike");
    }

    @Test
    void aDivergingRunExitsWith1AndKeepsTheLastGoodFiles() throws Exception {
        Path out = dir.resolve("out.safetensors"), ckpt = dir.resolve("ckpt");
        Files.writeString(out, "an earlier model");
        var r = shears(train("--epochs", "1", "--lr", "1000", "--out", out.toString(), "--checkpoint", ckpt.toString()));
        assertEquals(1, r.exitCode(), r.err());
        assertTrue(r.err().matches("(?s)shears train: training diverged at epoch 1, step \\d of 4: the loss is (NaN|-?Infinity) "
                + "with learning rate 1000\\.0; nothing written to .*ckpt; .*out\\.safetensors not written; try a lower --lr\\s*"), r.err());
        assertEquals("an earlier model", Files.readString(out));
        assertFalse(TrainingCheckpoint.exists(ckpt));

        // a good first epoch, then a rate that diverges: the checkpoint keeps epoch 1
        assertEquals(0, shears(train("--epochs", "1", "--checkpoint", ckpt.toString())).exitCode());
        byte[] state = Files.readAllBytes(ckpt.resolve(TrainingCheckpoint.STATE_FILE));
        var e = shears("finetune", "--model", ckpt.resolve(TrainingCheckpoint.MODEL_FILE).toString(), "--limit", "64", "--batch-size", "16",
                "--lr", "1000", "--epochs", "1", "--out", out.toString(), "--quiet");
        assertEquals(1, e.exitCode(), e.err());
        assertTrue(e.err().startsWith("shears finetune: training diverged at epoch 1") && e.err().contains("try a lower --lr"), e.err());
        assertEquals("an earlier model", Files.readString(out));
        assertArrayEquals(state, Files.readAllBytes(ckpt.resolve(TrainingCheckpoint.STATE_FILE)));

        var demo = shears("demo", "--limit", "64", "--epochs", "1", "--lr", "1000", "--no-baseline", "--no-sensitivity",
                "--out", dir.resolve("demo").toString(), "--quiet");
        assertEquals(1, demo.exitCode(), demo.err());
        assertTrue(demo.err().startsWith("shears demo: training diverged at epoch ") && demo.err().contains("try a lower --lr"), demo.err());
        // with one step per epoch it may diverge in sparse training or only in fine-tuning: what it wrote is finite
        try (var files = Files.list(dir.resolve("demo"))) {
            for (Path f : files.filter(f -> f.toString().endsWith(".safetensors")).toList())
                SafeTensors.read(f).tensors().forEach((name, t) -> assertEquals(-1, t.firstNonFinite(), f + " " + name));
        }
    }

    @Test
    void helpDescribesTheNewOptions() {
        var help = shears("help", "train");
        assertEquals(0, help.exitCode());
        assertTrue(help.out().contains("--checkpoint=DIR") && help.out().contains("--resume=DIR") && help.out().contains("bit-identical"), help.out());
        assertTrue(shears("help", "finetune").out().contains("--resume=DIR"));
    }

    /**
     * A recipe is every option of its command except those that leave the course of the run alone (how far,
     * where results go, what computes, what is printed or measured): an option added to train or finetune, or moved between
     * mixins, must be placed on one side or the other.
     */
    @Test
    void eachRecipeIsEveryOptionOfItsCommandButThoseThatLeaveTheCourseAlone() {
        Set<String> notRecipe = Set.of("--epochs", "--out", "--checkpoint", "--resume", "--device", "--threads",
                "--json", "--quiet", "--help", "--version");
        var subcommands = Shears.commandLine().getSubcommands();
        Map.of("train", TrainCommand.RECIPE, "finetune", FinetuneCommand.RECIPE).forEach((command, recipe) -> {
            Set<String> options = new TreeSet<>();
            subcommands.get(command).getCommandSpec().options().forEach(o -> options.add(o.longestName()));
            Set<String> expected = new TreeSet<>(recipe);
            expected.addAll(notRecipe);
            if (command.equals("train")) expected.add("--measure-heap");   // train's alone: it only reports the heap
            assertEquals(expected, options, command);
        });
    }

    private static String[] concat(String[] a, String... b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
