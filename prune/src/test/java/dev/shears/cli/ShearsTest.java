package dev.shears.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** The command line in-process: exit codes, stdout holding exactly one JSON object, errors on stderr. */
class ShearsTest {
    @TempDir Path dir;

    record Run(int exitCode, String out, String err) {
        JsonNode json() throws Exception { return new ObjectMapper().readTree(out); }
    }

    static Run shears(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cli = Shears.commandLine(args);   // as bin/shears runs them: the named subcommand alone
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        int code = cli.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    /** The launcher builds only the subcommand it runs: each one's usage is the same as in the full command line. */
    @Test
    void aSubcommandAloneHasTheSameUsageAsInTheFullCommandLine() {
        CommandLine full = Shears.commandLine();
        assertEquals(Shears.SUBCOMMANDS.size(), full.getSubcommands().size());
        for (String name : full.getSubcommands().keySet()) {
            CommandLine alone = Shears.commandLine(name, "--help");
            assertEquals("help".equals(name) ? full.getSubcommands().keySet() : java.util.Set.of(name),
                    alone.getSubcommands().keySet(), name);
            assertEquals(full.getSubcommands().get(name).getUsageMessage(), alone.getSubcommands().get(name).getUsageMessage(), name);
        }
        assertEquals(full.getUsageMessage(), Shears.commandLine("--help").getUsageMessage());
        assertEquals(full.getUsageMessage(), Shears.commandLine("trian").getUsageMessage());
    }

    @Test
    void infoListsEveryLayerWithTotals() throws Exception {
        Run r = shears("info", "--json");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode j = r.json();
        assertEquals(421_834, j.get("parameters").asLong());
        assertEquals(12, j.get("layers").size());
        assertEquals("[64,7,7]", j.get("layers").get(7).get("output_shape").toString());
        // conv2 alone: 2·32·3·3 multiply-adds per output, 64·14·14 outputs, plus the bias
        assertEquals(2L * 32 * 9 * 64 * 14 * 14 + 64 * 14 * 14, j.get("layers").get(4).get("flops").asLong());
    }

    @Test
    void infoReadsASavedGraphModel() throws Exception {
        java.util.Random init = new java.util.Random(1);
        dev.shears.nn.Graph g = new dev.shears.nn.Graph()
                .add("conv", new dev.shears.nn.Conv2d(1, 4, 3, 2, 1, true, init))
                .add("dw", new dev.shears.nn.Conv2d(4, 4, 3, 1, 1, 4, false, init))
                .add("add", new dev.shears.nn.Add(), "conv", "dw")
                .add("gap", new dev.shears.nn.GlobalAvgPool2d())
                .add("flatten", new dev.shears.nn.Flatten())
                .add("fc", new dev.shears.nn.Linear(4, 10, init));
        Path file = dir.resolve("graph.safetensors");
        dev.shears.nn.io.Checkpoints.save(g, file);
        Run r = shears("info", "--json", "--model", file.toString());
        assertEquals(0, r.exitCode(), r.err());
        JsonNode j = r.json();
        assertEquals(g.parameterCount(), j.get("parameters").asLong());
        assertEquals(6, j.get("layers").size());
        assertEquals("[4,14,14]", j.get("layers").get(2).get("output_shape").toString());
        assertEquals(2L * 9 * 4 * 14 * 14, j.get("layers").get(1).get("flops").asLong(), "depthwise: one channel per filter");
    }

    @Test
    void devicesListsTheCpuBackendsAndEveryOpenClDeviceOrWhyThereIsNone() throws Exception {
        Run r = shears("devices", "--json");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode j = r.json();
        assertEquals("cpu", j.get("devices").get(0).get("device").asText());
        assertEquals("reference", j.get("devices").get(1).get("device").asText());
        boolean anyOpenCl = j.get("devices").size() > 2;
        // either devices are listed by the name --device takes, or the reason there are none is given
        assertTrue(anyOpenCl ? j.get("devices").get(2).get("device").asText().startsWith("opencl:") : !j.get("opencl_problem").isNull(), j.toString());
        Run text = shears("devices");
        assertTrue(text.out().contains("cpu(simd="), text.out());
    }

    @Test
    void tuneTimesTheBlockingsAndWritesTheWisdomWhereTold() throws Exception {
        Run dry = shears("tune", "--json", "--dry-run");
        assertEquals(0, dry.exitCode(), dry.err());
        JsonNode j = dry.json();
        assertTrue(j.get("file").isNull(), j.toString());
        assertTrue(j.get("trials").size() >= 2, j.toString());
        assertEquals(j.get("best").asText(), j.get("trials").get(0).get("blocking").asText(), "best first");
        for (JsonNode t : j.get("trials")) assertTrue(t.get("gflops_512").asDouble() > 0, t.toString());
        assertTrue(j.get("machine").asText().contains("lanes"), j.toString());
    }

    @Test
    void trainSavesAModelThatEvalAndInfoRead() throws Exception {
        Path model = dir.resolve("m.safetensors");
        Run train = shears("train", "--epochs", "1", "--limit", "96", "--batch-size", "32", "--out", model.toString(), "--json", "--quiet");
        assertEquals(0, train.exitCode(), train.err());
        JsonNode t = train.json();
        assertEquals(1, t.get("epochs").size());
        for (String key : new String[]{"loss", "accuracy", "samples_per_s", "test_accuracy"})
            assertTrue(t.get("epochs").get(0).has(key), key + " in " + t);
        assertEquals(96, t.get("epochs").get(0).get("samples").asInt());
        assertTrue(Files.exists(model));
        // where the time went: the phases add up to no more than the command, the rate is samples over train_seconds
        double startup = t.get("startup_seconds").asDouble(), training = t.get("train_seconds").asDouble(),
                testing = t.get("eval_seconds").asDouble(), total = t.get("total_seconds").asDouble();
        assertTrue(startup > 0 && training > 0 && testing > 0, t.toString());
        assertTrue(startup + training + testing <= total, t.toString());
        // the same split in the process's CPU time (within 1 ms: each figure is rounded on its own)
        double startupCpu = t.get("startup_cpu_seconds").asDouble(), trainingCpu = t.get("train_cpu_seconds").asDouble(),
                testingCpu = t.get("eval_cpu_seconds").asDouble(), totalCpu = t.get("total_cpu_seconds").asDouble();
        assertTrue(startupCpu > 0 && trainingCpu > 0 && testingCpu > 0, t.toString());
        assertTrue(startupCpu + trainingCpu + testingCpu <= totalCpu + 1e-3, t.toString());
        assertEquals(96 / training, t.get("samples_per_s").asDouble(), 1e-9 * 96 / training);
        assertEquals(testing, t.get("epochs").get(0).get("test_seconds").asDouble(), 1e-12, "one epoch, one test pass");
        // three batches of 32: the second half is the last two, 64 samples, in less time than the whole epoch
        double secondHalf = t.get("epochs").get(0).get("second_half_samples_per_s").asDouble();
        assertTrue(secondHalf > 64 / training, secondHalf + " samples/s in the second half, " + t);

        Run eval = shears("eval", "--model", model.toString(), "--limit", "50", "--json", "--quiet");
        assertEquals(0, eval.exitCode(), eval.err());
        JsonNode e = eval.json();
        assertEquals(50, e.get("samples").asInt());
        assertTrue(e.get("accuracy").asDouble() >= 0 && e.get("accuracy").asDouble() <= 1);
        assertTrue(e.get("loss").asDouble() > 0);

        Run text = shears("eval", "--model", model.toString(), "--limit", "50");
        assertTrue(text.out().contains("accuracy"), text.out());
        assertTrue(text.err().contains("model: " + model), text.err());
    }

    /** {@code shears help COMMAND} with its line breaks and indents as single spaces. */
    static String helpOf(String command) {
        return shears("help", command).out().replaceAll("\\s+", " ");
    }

    @Test
    void lrStepMultipliesTheRateEveryNEpochs() throws Exception {
        Run r = shears("train", "--epochs", "3", "--limit", "32", "--batch-size", "32", "--lr", "0.08",
                "--lr-step", "2", "--lr-gamma", "0.25", "--json", "--quiet");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode epochs = r.json().get("epochs");
        assertEquals(0.08, epochs.get(0).get("lr").asDouble(), 1e-6);
        assertEquals(0.08, epochs.get(1).get("lr").asDouble(), 1e-6);
        assertEquals(0.02, epochs.get(2).get("lr").asDouble(), 1e-6, "after two epochs: 0.08 · 0.25");
        assertEquals(2, r.json().get("lr_step").asInt());

        // the default recipe steps the rate down after two epochs (0.01 → 0.001); --lr-step 0 keeps it constant
        Run recipe = shears("train", "--epochs", "3", "--limit", "32", "--batch-size", "32", "--json", "--quiet");
        assertEquals(0, recipe.exitCode(), recipe.err());
        assertEquals(0.01, recipe.json().get("epochs").get(1).get("lr").asDouble(), 1e-6);
        assertEquals(0.001, recipe.json().get("epochs").get(2).get("lr").asDouble(), 1e-6);
        assertEquals(2, recipe.json().get("lr_step").asInt());
        Run constant = shears("train", "--epochs", "3", "--limit", "32", "--batch-size", "32", "--lr-step", "0", "--json", "--quiet");
        assertEquals(0.01, constant.json().get("epochs").get(2).get("lr").asDouble(), 1e-6);
        // finetune keeps a constant rate unless asked: its help shows its own default
        assertTrue(helpOf("finetune").contains("a constant rate (default: 0)"), helpOf("finetune"));
        assertTrue(helpOf("train").contains("a constant rate (default: 2)"), helpOf("train"));

        Run bad = shears("finetune", "--model", "x.safetensors", "--out", "y.safetensors", "--lr-step", "-1");
        assertEquals(2, bad.exitCode());
        assertTrue(bad.err().contains("--lr-step must be >= 0"), bad.err());
        Run nanLr = shears("train", "--lr", "NaN", "--limit", "32", "--epochs", "1", "--quiet");
        assertEquals(1, nanLr.exitCode());
        assertTrue(nanLr.err().contains("lr must be finite and >= 0, got NaN"), nanLr.err());
        Run threads = shears("train", "--threads", "100000");
        assertEquals(2, threads.exitCode());
        assertTrue(threads.err().contains("--threads must be between 1 and 1024, got 100000"), threads.err());
        Run hugeBatch = shears("bench", "--infer-batch-size", "2000000000");
        assertEquals(2, hugeBatch.exitCode());
        assertTrue(hugeBatch.err().contains("--infer-batch-size 2000000000"), hugeBatch.err());
        Run nanL1 = shears("train", "--sparsity-l1", "NaN");
        assertEquals(2, nanL1.exitCode());
        assertTrue(nanL1.err().contains("--sparsity-l1 must be finite and >= 0, got NaN"), nanL1.err());
        Run nanThreshold = shears("prune", "--model", "m.safetensors", "--out", "p.safetensors", "--threshold", "NaN");
        assertEquals(1, nanThreshold.exitCode());
        assertTrue(nanThreshold.err().contains("a pruning threshold must be finite and >= 0, got NaN"), nanThreshold.err());
        Run missing = shears("eval", "--model", dir.resolve("missing.safetensors").toString());
        assertEquals(1, missing.exitCode());
        assertTrue(missing.err().contains("no such file: " + dir.resolve("missing.safetensors")), missing.err());
        Run badGamma = shears("train", "--lr-step", "1", "--lr-gamma", "0");
        assertEquals(2, badGamma.exitCode());
        assertTrue(badGamma.err().contains("--lr-gamma must be a positive number, got 0.0"), badGamma.err());
    }

    @Test
    void benchReportsTheMedianOfItsRuns() throws Exception {
        Run r = shears("bench", "--warmup", "0", "--runs", "3", "--steps", "1", "--batch-size", "4", "--infer-batch-size", "8",
                "--limit", "16", "--json", "--quiet");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode j = r.json();
        assertEquals(4, j.get("train").get("batch_size").asInt());
        assertEquals(8, j.get("inference").get("batch_size").asInt());
        assertEquals(3, j.get("train").get("runs_samples_per_s").size());
        double[] runs = new double[3];
        for (int i = 0; i < 3; i++) runs[i] = j.get("inference").get("runs_samples_per_s").get(i).asDouble();
        java.util.Arrays.sort(runs);
        assertEquals(runs[1], j.get("inference").get("samples_per_s").asDouble());
    }

    @Test
    void badArgumentsGiveUsageAndExitCode2() {
        Run unknown = shears("train", "--bogus");
        assertEquals(2, unknown.exitCode());
        assertTrue(unknown.err().contains("Unknown option: '--bogus'") && unknown.err().contains("Usage: shears train"), unknown.err());
        assertEquals(2, shears("train", "--epochs", "three").exitCode());
        assertEquals(2, shears("eval").exitCode(), "eval needs --model");
        assertEquals(2, shears().exitCode(), "a subcommand is required");
        assertEquals(2, shears("bench", "--batch-size", "0").exitCode());
    }

    @Test
    void failuresAreOneLineOnStderrWithExitCode1() {
        Run r = shears("eval", "--model", dir.resolve("missing.safetensors").toString());
        assertEquals(1, r.exitCode());
        assertTrue(r.err().startsWith("shears eval: ") && r.err().contains("missing.safetensors"), r.err());
        Run device = shears("info", "--device", "tpu");
        assertEquals(1, device.exitCode());
        assertTrue(device.err().contains("no backend named 'tpu'"), device.err());
    }
}
