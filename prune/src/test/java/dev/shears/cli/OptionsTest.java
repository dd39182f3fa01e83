package dev.shears.cli;

import dev.shears.nn.io.SafeTensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static dev.shears.cli.ShearsTest.shears;
import static org.junit.jupiter.api.Assertions.*;

/** Every option a command accepts has an effect there: the others are refused, and the honoured ones reach the work. */
class OptionsTest {
    @TempDir Path dir;

    @Test
    void optionsACommandWouldIgnoreAreUnknownThere() {
        String[][] refused = {
                {"eval", "--out", "x.safetensors"}, {"eval", "--seed", "1"},
                {"info", "--out", "x.safetensors"}, {"info", "--data", "digits"}, {"info", "--batch-size", "8"}, {"info", "--seed", "1"},
                {"info", "--limit", "8"},
                {"bench", "--out", "x.safetensors"}, {"bench", "--seed", "1"},
                {"devices", "--out", "x.safetensors"}, {"devices", "--device", "cpu"}, {"devices", "--threads", "1"},
                {"devices", "--data", "digits"}, {"devices", "--model", "m.safetensors"},
                {"demo", "--model", "m.safetensors"},
                {"prune", "--batch-size", "32"},
        };
        for (String[] args : refused) {
            ShearsTest.Run r = shears(args);
            assertEquals(2, r.exitCode(), String.join(" ", args) + ": " + r.err());
            // picocli: "Unknown option: '--out'", or "Unknown options: '--out', 'x.safetensors'" when a value follows
            assertTrue(r.err().contains("Unknown option") && r.err().contains("'" + args[1] + "'"), String.join(" ", args) + ": " + r.err());
        }
    }

    /** --lr-step and --lr-gamma mean something only to the step schedule: with constant or cosine (finetune's default) they are refused. */
    @Test
    void stepOptionsAreRefusedWithAnotherSchedule() {
        var train = shears("train", "--lr-schedule", "cosine", "--lr-step", "1", "--limit", "32", "--epochs", "1", "--quiet");
        assertEquals(2, train.exitCode());
        assertTrue(train.err().contains("--lr-step applies to --lr-schedule step, not cosine"), train.err());
        var tune = shears("finetune", "--model", "x.safetensors", "--out", "y.safetensors", "--lr-schedule", "constant", "--lr-gamma", "0.5");
        assertEquals(2, tune.exitCode());
        assertTrue(tune.err().contains("--lr-gamma applies to --lr-schedule step, not constant"), tune.err());
        var byDefault = shears("finetune", "--model", "x.safetensors", "--out", "y.safetensors", "--lr-step", "1");
        assertEquals(2, byDefault.exitCode());
        assertTrue(byDefault.err().contains("--lr-step applies to --lr-schedule step, not cosine"), byDefault.err());
        var unknown = shears("train", "--lr-schedule", "linear");
        assertEquals(2, unknown.exitCode());
        assertTrue(unknown.err().contains("constant, step, cosine"), unknown.err());
    }

    @Test
    void outIntoAMissingDirectoryNamesTheDirectoryBeforeAnyWork() {
        Path missing = dir.resolve("no-such-dir");
        Path out = missing.resolve("m.safetensors");
        for (String command : new String[]{"train", "finetune", "prune"}) {
            ShearsTest.Run r = shears(command, "--out", out.toString(), "--model", "m.safetensors", "--ratio", "0.5", "--quiet");
            assertEquals(2, r.exitCode(), command + ": " + r.err());
            assertTrue(r.err().contains("--out " + out + ": directory " + missing + " does not exist"), command + ": " + r.err());
        }
    }

    @Test
    void safeTensorsWriteIntoAMissingDirectoryNamesIt() {
        Path missing = dir.resolve("gone");
        var e = assertThrows(java.nio.file.NoSuchFileException.class,
                () -> SafeTensors.write(missing.resolve("m.safetensors"), java.util.Map.of()));
        assertEquals(missing.resolve("m.safetensors") + ": directory " + missing + " does not exist",
                e.getFile() + ": " + e.getReason());
    }

    /** demo's --batch-size reaches its training: its sparse model is train's with the same batch, seed and λ. */
    @Test
    void demoTrainsAtTheBatchSizeItIsGiven() throws Exception {
        Path demo = dir.resolve("demo"), trained = dir.resolve("t.safetensors");
        var d = shears("demo", "--limit", "32", "--batch-size", "16", "--epochs", "1", "--finetune-epochs", "0", "--no-baseline",
                "--no-sensitivity", "--latency-repeats", "1", "--out", demo.toString(), "--quiet");
        assertEquals(0, d.exitCode(), d.err());
        var t = shears("train", "--limit", "32", "--batch-size", "16", "--epochs", "1", "--sparsity-l1", "2e-2",
                "--out", trained.toString(), "--quiet");
        assertEquals(0, t.exitCode(), t.err());
        var sparse = SafeTensors.read(demo.resolve("sparse.safetensors")).tensors();
        SafeTensors.read(trained).tensors().forEach((name, a) ->
                assertArrayEquals(a.data(), sparse.get(name).data(), name));
        assertTrue(Files.readString(demo.resolve("report.md")).contains("batch 16;"));
    }
}
