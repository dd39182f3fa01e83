package dev.shears.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static dev.shears.cli.ShearsTest.shears;
import static org.junit.jupiter.api.Assertions.*;

/** prune and finetune on a model trained for one tiny epoch: exit codes, the JSON, the files. */
class PruneCommandsTest {
    @TempDir Path dir;

    @Test
    void trainSparsePruneFinetuneRoundTrip() throws Exception {
        Path trained = dir.resolve("t.safetensors"), pruned = dir.resolve("p.safetensors"), tuned = dir.resolve("f.safetensors");
        var train = shears("train", "--epochs", "1", "--limit", "64", "--batch-size", "32", "--sparsity-l1", "1e-2",
                "--out", trained.toString(), "--json", "--quiet");
        assertEquals(0, train.exitCode(), train.err());
        assertEquals(0.01, train.json().get("sparsity_l1").asDouble(), 1e-6);

        var prune = shears("prune", "--method", "slim", "--model", trained.toString(), "--out", pruned.toString(),
                "--ratio", "0.5", "--global", "--limit", "32", "--latency-repeats", "1", "--json", "--quiet");
        assertEquals(0, prune.exitCode(), prune.err());
        JsonNode p = prune.json();
        assertEquals(32, p.get("channels").get("conv1").get("before").asInt());
        assertEquals(96 / 2, p.get("channels").get("conv1").get("after").asInt() + p.get("channels").get("conv2").get("after").asInt());
        assertTrue(p.get("parameters").get("after").asLong() < p.get("parameters").get("before").asLong());
        assertTrue(p.get("flops").get("after").asLong() < p.get("flops").get("before").asLong());
        assertTrue(p.get("accuracy").has("before") && p.get("accuracy").has("pruned"), p.toString());
        assertTrue(Files.exists(pruned) && Files.exists(dir.resolve("p.report.md")));
        String md = Files.readString(dir.resolve("p.report.md"));
        assertTrue(md.contains("Latency: the median of 1 timed pass per model") && md.contains("threads="), md);

        var ft = shears("finetune", "--model", pruned.toString(), "--out", tuned.toString(), "--epochs", "1",
                "--limit", "32", "--json", "--quiet");
        assertEquals(0, ft.exitCode(), ft.err());
        assertEquals(p.get("parameters").get("after").asLong(), ft.json().get("parameters").asLong());
    }

    @Test
    void pruneNeedsExactlyOneOfThresholdAndRatio() {
        var both = shears("prune", "--model", "x", "--out", "y", "--threshold", "0.1", "--ratio", "0.5");
        assertEquals(2, both.exitCode());
        var none = shears("prune", "--model", "x", "--out", "y");
        assertEquals(2, none.exitCode());
        var globalThreshold = shears("prune", "--model", "x", "--out", "y", "--threshold", "0.1", "--global");
        assertEquals(2, globalThreshold.exitCode(), globalThreshold.err());
    }
}
