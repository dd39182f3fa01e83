package dev.shears.prune.reconstruct;

import dev.shears.core.GradMode;
import dev.shears.core.Tensor;
import dev.shears.core.testing.Close;
import dev.shears.data.Dataset;
import dev.shears.data.Datasets;
import dev.shears.nn.Add;
import dev.shears.nn.BatchNorm2d;
import dev.shears.nn.Concat;
import dev.shears.nn.Conv2d;
import dev.shears.nn.Flatten;
import dev.shears.nn.GlobalAvgPool2d;
import dev.shears.nn.Graph;
import dev.shears.nn.Module;
import dev.shears.nn.ReLU;
import dev.shears.prune.Criterion;
import dev.shears.prune.Method;
import dev.shears.prune.Pruner;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Reconstruction on a graph with a residual add and a concatenation, where exact compensation exists: every
 * removed channel is a positive multiple of a kept one (relu(a·z) = a·relu(z) for a &gt; 0, and an eval-mode
 * BatchNorm keeps the ratio when its μ and β are scaled alike), and the re-fitted consumers are 1×1 convs
 * without padding. L1 at half of every group then removes exactly the copies (their filters are smaller), and
 * least squares must give back the original network's outputs; naive slicing must not.
 */
class GraphReconstructorTest {
    static Dataset digits;

    @BeforeAll
    static void load() throws IOException {
        digits = Datasets.embeddedDigits().test().first(200);
    }

    /** channel → (source channel, scale): the filter (and bias) of the key is scale × the source's. */
    static final Map<Integer, double[]> STEM = Map.of(2, new double[]{0, 0.5}, 3, new double[]{1, 0.4}),
            BRANCH = Map.of(0, new double[]{1, 0.5}, 2, new double[]{3, 0.3}, 4, new double[]{5, 0.6}),
            SIDE = Map.of(3, new double[]{0, 0.5}, 1, new double[]{2, 0.4});

    /**
     * input → stem (3×3, pad 1) → relu ─┬─ a (1×1, no bias) → bn_a ─┐
     *                                   ├─ b (1×1) ────────────────── add → relu_add ─┐
     *                                   └─ c (1×1) → relu_c ──────────────────────── cat → head (1×1, no bias) → bn_h → gap → flatten
     */
    static Graph model(long seed) {
        Random init = new Random(seed);
        Graph g = new Graph()
                .add("stem", new Conv2d(1, 4, 3, 1, 1, true, init))
                .add("relu", new ReLU())
                .add("a", new Conv2d(4, 6, 1, 1, 0, false, init), "relu")
                .add("bn_a", new BatchNorm2d(6), "a")
                .add("b", new Conv2d(4, 6, 1, 1, 0, true, init), "relu")
                .add("add", new Add(), "bn_a", "b")
                .add("relu_add", new ReLU())
                .add("c", new Conv2d(4, 4, 1, 1, 0, true, init), "relu")
                .add("relu_c", new ReLU())
                .add("cat", new Concat(1), "relu_add", "relu_c")
                .add("head", new Conv2d(10, 10, 1, 1, 0, false, init))
                .add("bn_h", new BatchNorm2d(10))
                .add("gap", new GlobalAvgPool2d())
                .add("flatten", new Flatten());
        copies(g.node("stem"), STEM);
        copies(g.node("a"), BRANCH);
        copies(g.node("b"), BRANCH);
        copies(g.node("c"), SIDE);
        norm((BatchNorm2d) g.node("bn_a"), BRANCH, seed);
        norm((BatchNorm2d) g.node("bn_h"), Map.of(), seed + 1);
        return g;
    }

    /** Each source filter scaled to Σ|W| = 1, then each copy set to its scale times the source. */
    static void copies(Module conv, Map<Integer, double[]> copies) {
        Tensor wt = conv.parameter("weight");
        float[] w = wt.toArray(), b = conv.hasParameter("bias") ? conv.parameter("bias").toArray() : null;
        int per = w.length / wt.dim(0);
        for (int c = 0; c < wt.dim(0); c++) {
            if (copies.containsKey(c)) continue;
            double l1 = 0;
            for (int j = 0; j < per; j++) l1 += Math.abs(w[c * per + j]);
            for (int j = 0; j < per; j++) w[c * per + j] /= (float) l1;
            if (b != null) b[c] /= (float) l1;
        }
        copies.forEach((t, src) -> {
            int s = (int) src[0];
            for (int j = 0; j < per; j++) w[t * per + j] = (float) (src[1] * w[s * per + j]);
            if (b != null) b[t] = (float) (src[1] * b[s]);
        });
        conv.setParameter("weight", Tensor.of(w, wt.shape()));
        if (b != null) conv.setParameter("bias", Tensor.of(b, b.length));
    }

    /** Random statistics and affine map; a copy gets its source's γ and variance and scaled μ and β. */
    static void norm(BatchNorm2d bn, Map<Integer, double[]> copies, long seed) {
        int n = bn.channels();
        float[] gamma = Tensor.uniform(seed, 0.5f, 1.5f, n).toArray(), beta = Tensor.uniform(seed + 1, -0.3f, 0.3f, n).toArray(),
                mean = Tensor.uniform(seed + 2, -0.2f, 0.2f, n).toArray(), var = Tensor.uniform(seed + 3, 0.5f, 1.5f, n).toArray();
        copies.forEach((t, src) -> {
            int s = (int) src[0];
            gamma[t] = gamma[s];
            var[t] = var[s];
            mean[t] = (float) (src[1] * mean[s]);
            beta[t] = (float) (src[1] * beta[s]);
        });
        bn.setParameter("weight", Tensor.of(gamma, n));
        bn.setParameter("bias", Tensor.of(beta, n));
        bn.setParameter("running_mean", Tensor.of(mean, n));
        bn.setParameter("running_var", Tensor.of(var, n));
    }

    static float[] outputs(Module m, int n) {
        Tensor x = Tensor.of(Arrays.copyOf(digits.images(), n * 784), n, 1, 28, 28);
        try (GradMode ignored = GradMode.off()) { return m.eval().forward(x).toArray(); }
    }

    static final Pruner HALF = new Pruner(Method.L1, Criterion.perLayerRatio(0.5));

    /** The value of node {@code name} for the first {@code n} digits, as [n, C, H, W] channel planes. */
    static float[][] planes(Graph g, String name, int n) {
        g.output(name);
        float[] v = outputs(g, n);
        g.output("flatten");
        int c = v.length / (n * 784);
        float[][] out = new float[c][n * 784];
        for (int i = 0; i < n; i++) for (int ch = 0; ch < c; ch++) System.arraycopy(v, (i * c + ch) * 784, out[ch], i * 784, 784);
        return out;
    }

    /** Channel {@code kept[j]} of the original's node equals channel j of the reconstructed one's, within 1e-4. */
    static void assertKeptChannelsMatch(Graph original, Graph reconstructed, String node, int[] kept) {
        float[][] a = planes(original, node, 8), b = planes(reconstructed, node, 8);
        assertEquals(kept.length, b.length, node + "'s channels");
        for (int j = 0; j < kept.length; j++) Close.assertClose(node + " channel " + kept[j], a[kept[j]], b[j], 1e-4, 1e-4);
    }

    @Test
    void removedCopiesAreCompensatedExactlyThroughTheAddAndTheConcat() {
        Graph original = model(1);
        float[] before = outputs(original, 50);
        Graph model = model(1);
        long params = model.parameterCount();
        ReconstructionResult r = GraphReconstructor.prune(model, HALF, Selection.L1, 0.5, new Samples(digits, 100, 10, 0), 0);

        // the copies went: stem 2, 3; the residual group (a, b) 0, 2, 4; c 1, 3 — so head keeps inputs 1, 3, 5 and 6, 8
        Map<String, LayerReport> byConsumer = r.layers().stream().collect(Collectors.toMap(LayerReport::consumer, l -> l));
        assertEquals("[a, b, c, head]", byConsumer.keySet().stream().sorted().toList().toString());
        assertArrayEquals(new int[]{0, 1}, byConsumer.get("a").kept());
        assertArrayEquals(new int[]{1, 3, 5, 6, 8}, byConsumer.get("head").kept());
        assertEquals("a+b (residual), c", byConsumer.get("head").producer(), "head reads the residual group and c's");
        assertTrue(model.parameterCount() < params, model.parameterCount() + " of " + params);
        // each re-fitted layer reproduces the original's kept channels, not only the end result (which the last
        // re-fit could repair by itself): the residual sum and the concatenation
        assertKeptChannelsMatch(original, model, "add", new int[]{1, 3, 5});
        assertKeptChannelsMatch(original, model, "cat", new int[]{1, 3, 5, 6, 8});
        Close.assertClose("reconstructed vs original", before, outputs(model, 50), 1e-4, 1e-4);
        for (LayerReport l : r.layers()) assertTrue(l.lsError() < 1e-4, l.consumer() + ": LS error " + l.lsError());

        // naive slicing of the same channels loses what the copies carried (the test would pass vacuously otherwise)
        Graph naive = model(1);
        HALF.prune(naive, 1, 1, 28, 28);
        float[] sliced = outputs(naive, 50);
        double worst = 0;
        for (int i = 0; i < before.length; i++) worst = Math.max(worst, Math.abs(before[i] - sliced[i]));
        assertTrue(worst > 1e-2, "naive slicing should change the outputs, largest difference " + worst);
        assertTrue(byConsumer.get("head").naiveError() > 1e-2, "head's naive error " + byConsumer.get("head").naiveError());
    }

    @Test
    void theResultComparesTheThreeStatesAndNotesTheResidualGroup() {
        Graph model = model(2);
        ReconstructionResult r = GraphReconstructor.prune(model, HALF, Selection.L1, 0.5, new Samples(digits, 60, 5, 1), 0);
        ReconstructionResult.Accuracy acc = r.accuracy(digits.first(60));
        assertTrue(acc.reconstructed() >= acc.naive() - 1e-9, acc.toString());
        assertEquals(acc.original(), acc.reconstructed(), 1e-9, "exact compensation: the same predictions");
        assertTrue(r.layers().stream().filter(l -> l.consumer().equals("head")).findFirst().orElseThrow().note().contains("residual"));
        assertTrue(r.parametersAfter() < r.parametersBefore());
    }
}
