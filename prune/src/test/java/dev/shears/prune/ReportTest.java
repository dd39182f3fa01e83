package dev.shears.prune;

import dev.shears.nn.Sequential;
import dev.shears.nn.SimpleCNN;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class ReportTest {
    @TempDir Path dir;

    @Test
    void tableAndMarkdownCarryEveryNumber() {
        Sequential m = SimpleCNN.create(4, 6, 8, 0);
        PruneResult r = new Pruner(Method.SLIM, Criterion.perLayerRatio(0.5)).prune(m, 1, 1, 28, 28);
        PruneReport report = new PruneReport("Pruning report", "test", r, 0.9, 0.5, 0.89, Double.NaN, 2.0, 1.0, 20.0, 5.0, List.of("x.png"), List.of("shears demo"));
        String t = report.toTerminal();
        // conv1's row: 4 channels before, 2 after (a ratio of 0.5), −50%
        assertTrue(java.util.regex.Pattern.compile("channels conv1 +\\| +4 \\| +2 \\| −50\\.0%").matcher(t).find(), t);
        double flopCut = (double) r.before().flops() / r.after().flops();
        assertTrue(t.contains(String.format(java.util.Locale.ROOT, "4.00× faster (%.2f of the FLOP cut)", 4 / flopCut)), t);
        assertTrue(t.contains(String.format(java.util.Locale.ROOT, "2.00× faster (%.2f of the FLOP cut)", 2 / flopCut)), t);
        assertTrue(t.contains("-40.00 pts"), t);
        String md = report.toMarkdown();
        assertTrue(md.contains("| channels conv2 | 6 | 3 | −50.0% |"), md);
        assertTrue(md.contains("![x.png](x.png)") && md.contains("shears demo"), md);
        Map<String, Object> json = report.toMap();
        assertEquals(Map.of("before", 6, "after", 3), ((Map<?, ?>) json.get("channels")).get("conv2"));
    }

    @Test
    void latencyIsMeasuredForEveryModelAndEveryLayer() {
        Sequential wide = SimpleCNN.create(4, 6, 8, 0), narrow = SimpleCNN.create(2, 3, 8, 0);
        double[] ms = Latency.compare(List.of(wide, narrow), 1, 3, 2, 1, 28, 28);
        assertTrue(ms[0] > 0 && ms[1] > 0, java.util.Arrays.toString(ms));
        var layers = Latency.perLayer(List.of(wide, narrow), 1, 3, 2, 1, 28, 28);
        assertEquals(List.copyOf(wide.children().keySet()), List.copyOf(layers.get(1).keySet()));
        assertTrue(wide.isTraining(), "the mode is restored");
    }

    /** Records which of two models ran each pass; the identity on its input. */
    private static final class Recorder extends dev.shears.nn.Module {
        final int id;
        final List<Integer> calls;
        Recorder(int id, List<Integer> calls) {
            this.id = id;
            this.calls = calls;
            registerParameter("w", dev.shears.core.Tensor.zeros(1));
        }
        @Override public dev.shears.core.Tensor forward(dev.shears.core.Tensor x) { calls.add(id); return x; }
    }

    @Test
    void latencyTimesEachModelInBlocksThatOpenWithAnUntimedPass() {
        List<Integer> calls = new java.util.ArrayList<>();
        Latency.compare(List.of(new Recorder(0, calls), new Recorder(1, calls)), 1, 13, 1, 1, 2, 2);
        // after the warm-up: per block of BLOCK timed passes, model 0's untimed pass and its timed ones, then model 1's
        int b = Latency.BLOCK;
        List<Integer> expected = new java.util.ArrayList<>();
        for (int first = 0; first < 13; first += b)
            for (int k = 0; k < 2; k++) expected.addAll(java.util.Collections.nCopies(1 + Math.min(b, 13 - first), k));
        assertEquals(expected, calls.subList(calls.size() - expected.size(), calls.size()));
        // the warm-up interleaves single passes, so the measured part starts after a pass of model 1
        assertEquals(1, calls.get(calls.size() - expected.size() - 1));
    }

    @Test
    void plotsArePngFiles() throws Exception {
        Path hist = dir.resolve("h.png"), sens = dir.resolve("s.png");
        Plots.gammaHistogram(Plots.of("normal", new float[]{1f, 0.9f, 1.1f}, "sparse", new float[]{0.001f, 0.5f, 0f}), 10, hist);
        Plots.sensitivity(List.of(new Sensitivity.Curve("conv1", new double[]{0, 0.5}, new double[]{0.9, 0.6})), "t", sens);
        for (Path p : List.of(hist, sens)) {
            byte[] head = Files.readAllBytes(p);
            assertEquals((byte) 0x89, head[0]);
            assertEquals('P', head[1]);
        }
    }
}
