package dev.shears.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static dev.shears.cli.ShearsTest.shears;
import static org.junit.jupiter.api.Assertions.*;

/** prune --method reconstruct on a model trained for one tiny epoch: the JSON, the files, the usage errors. */
class ReconstructCommandTest {
    @TempDir Path dir;

    @Test
    void reconstructReportsLikeTheOtherMethodsPlusItsErrors() throws Exception {
        Path trained = dir.resolve("t.safetensors"), pruned = dir.resolve("r.safetensors");
        var train = shears("train", "--epochs", "1", "--limit", "64", "--batch-size", "32", "--out", trained.toString(), "--json", "--quiet");
        assertEquals(0, train.exitCode(), train.err());

        var prune = shears("prune", "--method", "reconstruct", "--select", "l1", "--ratio", "0.5", "--samples", "48",
                "--positions", "4", "--model", trained.toString(), "--out", pruned.toString(), "--limit", "48",
                "--latency-repeats", "1", "--json", "--quiet");
        assertEquals(0, prune.exitCode(), prune.err());
        JsonNode p = prune.json();
        assertEquals("reconstruct", p.get("method").asText());
        assertEquals(32, p.get("channels").get("conv1").get("before").asInt());
        assertEquals(16, p.get("channels").get("conv1").get("after").asInt());
        assertEquals(32, p.get("channels").get("conv2").get("after").asInt());
        assertTrue(p.get("parameters").get("after").asLong() < p.get("parameters").get("before").asLong());
        assertTrue(p.get("accuracy").has("before") && p.get("accuracy").has("pruned"), p.toString());
        JsonNode rec = p.get("reconstruction");
        assertEquals("l1", rec.get("selection").asText());
        assertEquals(2, rec.get("layers").size());
        JsonNode conv2 = rec.get("layers").get(0);
        assertEquals("conv2", conv2.get("consumer").asText());
        assertTrue(conv2.get("relative_error_ls").asDouble() < conv2.get("relative_error_naive").asDouble(), conv2.toString());
        assertTrue(rec.get("accuracy").has("naive"), rec.toString());
        assertTrue(Files.exists(pruned));
        assertTrue(Files.readString(dir.resolve("r.report.md")).contains("rel. error LS"));

        // the pruned checkpoint loads with its new widths
        var eval = shears("eval", "--model", pruned.toString(), "--limit", "16", "--json", "--quiet");
        assertEquals(0, eval.exitCode(), eval.err());
    }

    @Test
    void reconstructRejectsWhatDoesNotApply() {
        var threshold = shears("prune", "--method", "reconstruct", "--model", "x", "--out", "y", "--threshold", "0.1");
        assertEquals(2, threshold.exitCode(), threshold.err());
        // --global is for graph models (a chain's reconstruction prunes a share of every layer)
        String chain = OnnxCommandsTest.FIXTURES.resolve("chain.onnx").toString();
        var global = shears("prune", "--method", "reconstruct", "--model", chain, "--out", dir.resolve("y.onnx").toString(),
                "--ratio", "0.5", "--global");
        assertEquals(2, global.exitCode(), global.err());
        assertTrue(global.err().contains("--global applies to graph models only"), global.err());
        var select = shears("prune", "--method", "reconstruct", "--model", "x", "--out", "y", "--ratio", "0.5", "--select", "random");
        assertEquals(2, select.exitCode(), select.err());
        assertTrue(select.err().contains("lasso, greedy, gamma or l1"), select.err());
    }
}
