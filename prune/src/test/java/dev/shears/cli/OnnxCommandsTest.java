package dev.shears.cli;

import static dev.shears.cli.ShearsTest.shears;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.shears.cli.ShearsTest.Run;
import dev.shears.nn.Conv2d;
import dev.shears.nn.Flatten;
import dev.shears.nn.GlobalAvgPool2d;
import dev.shears.nn.Linear;
import dev.shears.nn.Sequential;
import dev.shears.nn.io.Architecture;
import dev.shears.nn.io.SafeTensors;
import dev.shears.nn.train.TrainingCheckpoint;
import dev.shears.onnx.OnnxExporter;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --model X.onnx} and {@code --out Y.onnx} through the commands, in-process. */
class OnnxCommandsTest {
    /** The PyTorch-exported models of the onnx module's tests (a ResNet-style graph and a SimpleCNN-style chain). */
    static final Path FIXTURES = Path.of("../onnx/src/test/resources/fixtures");

    @TempDir Path dir;

    private static Run ok(String... args) {
        Run r = shears(args);
        assertEquals(0, r.exitCode(), String.join(" ", args) + ": " + r.err());
        return r;
    }

    @Test
    void anOnnxFileEvaluatesLikeTheCheckpointItWasWrittenFrom() throws Exception {
        Path st = dir.resolve("m.safetensors"), onnx = dir.resolve("m.onnx");
        ok("train", "--epochs", "1", "--limit", "96", "--batch-size", "32", "--out", st.toString(), "--quiet");
        ok("finetune", "--epochs", "0", "--model", st.toString(), "--out", onnx.toString(), "--limit", "96", "--quiet");
        JsonNode a = ok("eval", "--model", st.toString(), "--limit", "200", "--json", "--quiet").json();
        JsonNode b = ok("eval", "--model", onnx.toString(), "--limit", "200", "--json", "--quiet").json();
        assertEquals(a.get("accuracy").asDouble(), b.get("accuracy").asDouble());
        assertEquals(a.get("loss").asDouble(), b.get("loss").asDouble(), 1e-5);
        assertEquals(a.get("parameters").asLong(), b.get("parameters").asLong());
        JsonNode info = ok("info", "--model", onnx.toString(), "--json").json();
        assertEquals(a.get("parameters").asLong(), info.get("parameters").asLong());
        // and back: the SimpleCNN read from ONNX is saved with PyTorch's names, as a plain SimpleCNN checkpoint
        Path back = dir.resolve("back.safetensors");
        ok("finetune", "--epochs", "0", "--model", onnx.toString(), "--out", back.toString(), "--limit", "96", "--quiet");
        assertEquals(SafeTensors.read(st).tensors().keySet(), SafeTensors.read(back).tensors().keySet());
        assertTrue(!SafeTensors.read(back).metadata().containsKey(Architecture.KEY), "no architecture needed for SimpleCNN");
        JsonNode c = ok("eval", "--model", back.toString(), "--limit", "200", "--json", "--quiet").json();
        assertEquals(a.get("loss").asDouble(), c.get("loss").asDouble(), 1e-5);
    }

    @Test
    void aGraphModelTrainsBenchesAndIsWrittenBackToOnnx() throws Exception {
        Path resnet = FIXTURES.resolve("resnet.onnx"), out = dir.resolve("r.onnx");
        JsonNode t = ok("train", "--model", resnet.toString(), "--epochs", "1", "--limit", "64", "--out", out.toString(), "--json", "--quiet").json();
        assertEquals(1, t.get("epochs").size());
        assertTrue(Files.size(out) > 1000);
        ok("eval", "--model", out.toString(), "--limit", "64", "--quiet");
        JsonNode bench = ok("bench", "--model", resnet.toString(), "--warmup", "0", "--runs", "1", "--steps", "1", "--limit", "64",
                "--infer-batch-size", "16", "--json", "--quiet").json();
        assertTrue(bench.toString().contains("inference"), bench.toString());
    }

    /**
     * --checkpoint/--resume with a graph model from ONNX: the resumed run is rebuilt from its --model (restored
     * from the recipe), not as a SimpleCNN of the state's widths, and ends where an uninterrupted run does.
     */
    @Test
    void aGraphModelFromOnnxResumesBitIdentically() throws Exception {
        Path straight = dir.resolve("straight"), split = dir.resolve("split"), out = dir.resolve("r.onnx");
        String[] run = {"train", "--model", FIXTURES.resolve("resnet.onnx").toString(), "--limit", "32", "--batch-size", "16",
                "--threads", "1", "--quiet"};
        ok(concat(run, "--epochs", "2", "--checkpoint", straight.toString()));
        ok(concat(run, "--epochs", "1", "--checkpoint", split.toString()));
        JsonNode resumed = ok("train", "--resume", split.toString(), "--epochs", "2", "--threads", "1", "--out", out.toString(),
                "--json", "--quiet").json();
        assertEquals(1, resumed.get("resumed_from_epoch").asInt());
        assertArrayEquals(Files.readAllBytes(straight.resolve(TrainingCheckpoint.STATE_FILE)),
                Files.readAllBytes(split.resolve(TrainingCheckpoint.STATE_FILE)), "momentum, weights and metadata alike");
        assertTrue(Files.size(out) > 1000, "written as ONNX, with the model's input shape");
    }

    private static String[] concat(String[] a, String... b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    @Test
    void aChainAndAGraphPrune() throws Exception {
        Path pruned = dir.resolve("p.onnx");
        ok("prune", "--method", "l1", "--ratio", "0.5", "--model", FIXTURES.resolve("chain.onnx").toString(), "--out", pruned.toString(),
                "--limit", "64", "--latency-repeats", "2", "--quiet");
        JsonNode info = ok("info", "--model", pruned.toString(), "--json").json();
        assertTrue(info.get("parameters").asLong() < 6_700, "pruned: " + info.get("parameters"));
        String resnet = FIXTURES.resolve("resnet.onnx").toString();
        Path prunedGraph = dir.resolve("r.onnx");
        ok("prune", "--method", "l1", "--ratio", "0.5", "--global", "--model", resnet, "--out", prunedGraph.toString(),
                "--limit", "64", "--quiet");
        long before = ok("info", "--model", resnet, "--json").json().get("parameters").asLong();
        long after = ok("info", "--model", prunedGraph.toString(), "--json").json().get("parameters").asLong();
        assertTrue(after <= 0.6 * before, "residual graph pruned: " + after + " of " + before + " parameters");
    }

    /** Reconstruction on the ResNet-style fixture whose BatchNorms are nodes: the same cut as L1, every consumer re-fitted. */
    @Test
    void aGraphPrunedByReconstructionAtAGlobalRatio() throws Exception {
        String resnet = FIXTURES.resolve("resnet_bn.onnx").toString();
        Path out = dir.resolve("x.onnx");
        JsonNode r = ok("prune", "--method", "reconstruct", "--ratio", "0.5", "--global", "--model", resnet, "--out", out.toString(),
                "--limit", "200", "--samples", "200", "--latency-repeats", "0", "--json", "--quiet").json();
        long before = ok("info", "--model", resnet, "--json").json().get("parameters").asLong();
        long after = ok("info", "--model", out.toString(), "--json").json().get("parameters").asLong();
        assertTrue(after <= 0.6 * before, "reconstructed graph: " + after + " of " + before + " parameters");
        JsonNode rec = r.get("reconstruction");
        assertEquals("l1", rec.get("selection").asText());
        assertEquals(after, rec.get("parameters").get("after").asLong());
        assertTrue(rec.get("layers").size() >= 8, rec.get("layers").toString());
        for (JsonNode l : rec.get("layers"))
            assertTrue(l.get("relative_error_ls").asDouble() <= l.get("relative_error_naive").asDouble() + 1e-6, l.toString());
        assertTrue(r.toString().contains("(residual)"), "a residual group is named as one: " + r);
        JsonNode acc = rec.get("accuracy");
        assertTrue(acc.get("reconstructed").asDouble() >= acc.get("naive").asDouble(), acc.toString());
        // the file holds the re-fitted network: evaluated again, it scores what the report says
        JsonNode eval = ok("eval", "--model", out.toString(), "--limit", "200", "--json", "--quiet").json();
        assertEquals(acc.get("reconstructed").asDouble(), eval.get("accuracy").asDouble(), 1e-9);
        Run lasso = shears("prune", "--method", "reconstruct", "--ratio", "0.5", "--select", "lasso", "--model", resnet,
                "--out", dir.resolve("y.onnx").toString(), "--limit", "64", "--quiet");
        assertEquals(2, lasso.exitCode());
        assertTrue(lasso.err().contains("--select lasso takes chain models"), lasso.err());
    }

    @Test
    void anImportedChainSavedAsSafetensorsLoadsAgain() throws Exception {
        Path st = dir.resolve("mobilenet.safetensors");
        String mobilenet = FIXTURES.resolve("mobilenet.onnx").toString();
        ok("finetune", "--epochs", "0", "--model", mobilenet, "--out", st.toString(), "--limit", "64", "--quiet");
        JsonNode a = ok("eval", "--model", mobilenet, "--limit", "100", "--json", "--quiet").json();
        JsonNode b = ok("eval", "--model", st.toString(), "--limit", "100", "--json", "--quiet").json();
        assertEquals(a.get("loss").asDouble(), b.get("loss").asDouble(), 1e-6);
    }

    @Test
    void dataOfAnotherShapeIsRefusedNamingBothShapes() throws Exception {
        Random init = new Random(1);
        Sequential m = new Sequential().add("conv", new Conv2d(1, 4, 3, 1, init)).add("gap", new GlobalAvgPool2d())
                .add("flat", new Flatten()).add("fc", new Linear(4, 10, init));
        Path file = dir.resolve("m32.onnx");
        OnnxExporter.write(m, file, new int[]{1, 32, 32});
        Run r = shears("eval", "--model", file.toString(), "--limit", "10", "--quiet");
        assertEquals(1, r.exitCode(), r.err());
        assertTrue(r.err().contains("[1, 28, 28]") && r.err().contains("[1, 32, 32]"), r.err());
    }

    @Test
    void aBrokenOnnxFileIsOneLineOfError() throws Exception {
        Path file = dir.resolve("broken.onnx");
        Files.write(file, new byte[]{8, 7, 18, 3, 1, 2});
        Run r = shears("eval", "--model", file.toString(), "--quiet");
        assertEquals(1, r.exitCode());
        assertTrue(r.err().contains("broken.onnx") && r.err().strip().lines().count() == 1, r.err());
    }
}
