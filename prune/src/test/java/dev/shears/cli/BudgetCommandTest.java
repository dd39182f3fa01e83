package dev.shears.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static dev.shears.cli.ShearsTest.shears;
import static org.junit.jupiter.api.Assertions.*;

/** {@code prune --target-*}: the budget met from below by all three models, and every budget option refused where it would be ignored. */
class BudgetCommandTest {
    @TempDir Path dir;

    @Test
    void aFlopBudgetIsMetBySearchUniformAndGlobalAndReported() throws Exception {
        Path trained = dir.resolve("t.safetensors"), pruned = dir.resolve("p.safetensors");
        var train = shears("train", "--epochs", "1", "--limit", "300", "--sparsity-l1", "1e-2", "--out", trained.toString(), "--quiet");
        assertEquals(0, train.exitCode(), train.err());
        var prune = shears("prune", "--model", trained.toString(), "--out", pruned.toString(), "--target-flops", "0.4",
                "--limit", "300", "--val-size", "60", "--finetune-epochs", "1", "--latency-repeats", "1", "--json", "--quiet");
        assertEquals(0, prune.exitCode(), prune.err());
        JsonNode j = prune.json();
        assertEquals(60, j.get("validation_images").asInt());
        JsonNode models = j.get("models");
        long flops0 = models.get(0).get("flops").asLong();
        for (int i = 1; i < 4; i++) {
            JsonNode m = models.get(i);
            assertTrue(m.get("flops").asLong() <= 0.4 * flops0, m.toString());
            assertTrue(m.get("meets_budget").asBoolean(), m.toString());
            assertTrue(m.get("test_accuracy_fine_tuned").isNumber(), m.toString());
        }
        String md = Files.readString(dir.resolve("p.report.md"));
        assertTrue(md.contains("uniform, ratio") && md.contains("global, ratio") && md.contains("## Search path") && md.contains("p.budget.png"), md);
        assertTrue(Files.size(dir.resolve("p.budget.png")) > 1000);
        var info = shears("info", "--model", pruned.toString(), "--json");
        assertEquals(0, info.exitCode(), info.err());

        // reconstruct: the search's widths, then channels re-selected and the next layers re-fitted by least squares
        Path rec = dir.resolve("r.safetensors");
        var r = shears("prune", "--model", trained.toString(), "--out", rec.toString(), "--target-params", "0.5", "--method", "reconstruct",
                "--select", "l1", "--samples", "100", "--limit", "300", "--val-size", "60", "--finetune-epochs", "0", "--latency-repeats", "1", "--json", "--quiet");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode rm = r.json().get("models");
        assertEquals(0, shears("info", "--model", rec.toString(), "--json").exitCode());
        for (int i = 1; i < 4; i++) assertTrue(rm.get(i).get("parameters").asLong() <= 0.5 * rm.get(0).get("parameters").asLong(), rm.get(i).toString());

        // --steps 2: the uniform and global models go through the same two stages; --probe-images: every candidate probed
        Path staged = dir.resolve("s.safetensors");
        var st = shears("prune", "--model", trained.toString(), "--out", staged.toString(), "--target-flops", "0.4", "--steps", "2",
                "--step-epochs", "0.1", "--probe-images", "64", "--limit", "300", "--val-size", "60", "--finetune-epochs", "0",
                "--latency-repeats", "1", "--json", "--quiet");
        assertEquals(0, st.exitCode(), st.err());
        assertEquals(64, st.json().get("probe_images").asInt());
        JsonNode sm = st.json().get("models");
        for (int i = 2; i < 4; i++) assertTrue(sm.get(i).get("name").asText().endsWith("in 2 stages"), sm.get(i).toString());
        String smd = Files.readString(dir.resolve("s.report.md"));
        assertTrue(smd.contains("2 stages for each model (searched, uniform, global), 0.1 epoch of fine-tuning after the first")
                && smd.contains("a short fine-tune of a copy on 64 training images"), smd);
    }

    @Test
    void demoWithAFlopBudgetWritesTheBudgetReportAndPlot() throws Exception {
        Path out = dir.resolve("demo");
        var d = shears("demo", "--limit", "300", "--epochs", "1", "--finetune-epochs", "0", "--no-baseline", "--no-sensitivity",
                "--target-flops", "0.5", "--latency-repeats", "1", "--out", out.toString(), "--json", "--quiet");
        assertEquals(0, d.exitCode(), d.err());
        assertEquals("budget 50% of the FLOPs", d.json().get("criterion").asText());
        assertTrue(d.json().get("models").get(1).get("meets_budget").asBoolean(), d.out());
        String md = Files.readString(out.resolve("report.md"));
        assertTrue(md.contains("# Budget pruning report") && md.contains("![budget.png](budget.png)"), md);
        assertTrue(Files.exists(out.resolve("budget.png")) && Files.exists(out.resolve("finetuned.safetensors")));
        var refused = shears("demo", "--target-latency", "5", "--global", "--out", out.toString());
        assertEquals(2, refused.exitCode(), refused.err());
        refused = shears("demo", "--ratio", "0.5", "--latency-batch", "8", "--out", out.toString());
        assertEquals(2, refused.exitCode(), refused.err());
    }

    @Test
    void budgetOptionsAreRefusedWhereTheyWouldBeIgnored() {
        String[][] refused = {
                {"--ratio", "0.5", "--steps", "2"}, {"--ratio", "0.5", "--finetune-epochs", "1"}, {"--threshold", "0.1", "--val-size", "10"},
                {"--ratio", "0.5", "--latency-batch", "8"}, {"--ratio", "0.5", "--search-images", "8"}, {"--ratio", "0.5", "--lr", "0.1"},
                {"--target-flops", "0.5", "--global"}, {"--target-flops", "0.5", "--method", "reconstruct", "--samples", "0"},
                {"--target-flops", "1.5"}, {"--target-params", "0"}, {"--target-latency", "-1"},
                {"--target-latency", "150%"}, {"--target-latency", "0%"}, {"--target-latency", "fast"}, {"--target-latency", "NaN%"},
                {"--target-flops", "0.5", "--latency-batch", "8"}, {"--target-flops", "0.5", "--step-epochs", "0.5"},
                {"--target-flops", "0.5", "--steps", "0"}, {"--target-flops", "0.5", "--ratio", "0.5"},
                {"--ratio", "0.5", "--probe-images", "8"}, {"--target-flops", "0.5", "--probe-images", "-1"},
                {"--ratio", "0.5", "--finetune-seeds", "2"}, {"--target-flops", "0.5", "--finetune-seeds", "0"},
                {"--ratio", "0.5", "--finalist-epochs", "0.25"}, {"--target-latency", "5", "--finalist-epochs", "0.25"},
                {"--target-flops", "0.5", "--steps", "2", "--finalist-epochs", "0.25"}, {"--target-flops", "0.5", "--finalist-epochs", "-1"},
        };
        for (String[] args : refused) {
            String[] full = new String[args.length + 6];
            full[0] = "prune"; full[1] = "--model"; full[2] = dir.resolve("none.safetensors").toString();
            full[3] = "--out"; full[4] = dir.resolve("o.safetensors").toString(); full[5] = "--quiet";
            System.arraycopy(args, 0, full, 6, args.length);
            ShearsTest.Run r = shears(full);
            assertEquals(2, r.exitCode(), String.join(" ", args) + ": " + r.err());
        }
    }
}
