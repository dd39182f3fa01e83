package dev.shears.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static dev.shears.cli.ShearsTest.shears;
import static org.junit.jupiter.api.Assertions.*;

/** The README's main command, shrunk to a few hundred images: every file it promises, and the JSON. */
class DemoCommandTest {
    @TempDir Path dir;

    @Test
    void sparseTrainPruneFineTuneReport() throws Exception {
        Path out = dir.resolve("demo");
        var r = shears("demo", "--limit", "256", "--epochs", "1", "--finetune-epochs", "2", "--finetune-lr-step", "1",
                "--no-sensitivity", "--latency-repeats", "2", "--out", out.toString(), "--json", "--quiet");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode j = r.json();
        assertEquals("demo", j.get("command").asText());
        int c1 = j.get("channels").get("conv1").get("after").asInt(), c2 = j.get("channels").get("conv2").get("after").asInt();
        assertEquals(96 - Math.round(0.7 * 96), c1 + c2, "the default cut removes 70% of the conv channels: " + j);
        assertTrue(j.get("parameters").get("after").asLong() < j.get("parameters").get("before").asLong());
        for (String k : new String[]{"before", "pruned", "fine_tuned", "normal_training"})
            assertTrue(j.get("accuracy").has(k), "accuracy." + k + " missing: " + j);
        assertTrue(j.get("latency").get("batch1_ms").get("after").asDouble() > 0, j.toString());
        for (String f : new String[]{"sparse.safetensors", "pruned.safetensors", "finetuned.safetensors", "report.md",
                                     "report.json", "gamma-histogram.png"})
            assertTrue(Files.size(out.resolve(f)) > 0, f);
        String md = Files.readString(out.resolve("report.md"));
        assertTrue(md.contains("fine-tuning 2 epochs, lr × 0.1 every 1 epochs"), md);
        assertTrue(md.contains("Latency: the median of 2 timed passes per model and batch size") && md.contains("threads="),
                "the report says how its latencies were measured: " + md);

        var bad = shears("demo", "--finetune-lr-step", "-1");
        assertEquals(2, bad.exitCode());
        assertTrue(bad.err().contains("--finetune-lr-step must be >= 0"), bad.err());
    }
}
