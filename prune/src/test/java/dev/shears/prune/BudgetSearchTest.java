package dev.shears.prune;

import dev.shears.data.Dataset;
import dev.shears.data.Datasets;
import dev.shears.data.Mnist;
import dev.shears.nn.BatchNorm2d;
import dev.shears.nn.Conv2d;
import dev.shears.nn.Graph;
import dev.shears.nn.Module;
import dev.shears.nn.Sequential;
import dev.shears.nn.SimpleCNN;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/** Budget-driven pruning: the budget met from below, coupled groups cut as one, the cheap cut found, the splits apart. */
class BudgetSearchTest {
    static final int[] ONE = {1, 1, 28, 28};
    static Mnist digits;
    static Dataset val;

    @BeforeAll
    static void data() throws Exception {
        digits = Datasets.embeddedDigits();
        val = ValidationSplit.of(digits.train().first(3000), 300, 7).validation();
    }

    /** FLOPs and parameters of SimpleCNN(c1, c2, hidden) counted by hand (2 × MACs; weights, biases, γ and β). */
    @Test
    void simpleCnnCostsMatchHandCounts() {
        for (int[] w : new int[][]{{32, 64, 128}, {16, 24, 128}, {3, 5, 7}}) {
            int c1 = w[0], c2 = w[1], h = w[2];
            long flops = 2L * c1 * 28 * 28 * 9 + 2L * c2 * 14 * 14 * c1 * 9 + 2L * c2 * 49 * h + 2L * h * 10;
            long params = (c1 * 9 + c1) + 2 * c1 + (c2 * c1 * 9 + c2) + 2 * c2 + (c2 * 49 * h + h) + (h * 10 + 10);
            ModelCost c = ModelCost.of(SimpleCNN.create(c1, c2, h, 0), ONE);
            assertEquals(flops, c.flops(), Arrays.toString(w));
            assertEquals(params, c.parameters(), Arrays.toString(w));
        }
    }

    @Test
    void flopAndParameterBudgetsAreMetFromBelowOnSimpleCnn() {
        for (Budget b : new Budget[]{Budget.flops(0.3), Budget.params(0.4)}) {
            Sequential m = SimpleCNN.create(1);
            ModelCost before = ModelCost.of(m, ONE);
            BudgetSearch.Result r = new BudgetSearch(Method.L1, b).validation(val.first(100)).search(m, ONE);
            ModelCost after = ModelCost.of(m, ONE);
            double asked = b.value() * (b.kind() == Budget.Kind.FLOPS ? before.flops() : before.parameters());
            double got = b.kind() == Budget.Kind.FLOPS ? after.flops() : after.parameters();
            assertTrue(got <= asked, b.describe() + ": " + got + " > " + asked);
            assertTrue(got >= 0.9 * asked, b.describe() + ": " + got + " far below " + asked + " (the last move overshot)");
            assertEquals(got, r.costAfter(), b.describe());
            assertEquals(r.widthsAfter().get("conv2"), ((Conv2d) m.child("conv2")).outChannels());
        }
    }

    /** With two stages the first stops at cost₀·√B (the geometric split) and is followed by one fine-tune. */
    @Test
    void stagesSplitTheBudgetGeometricallyWithAFineTuneBetween() {
        Sequential m = SimpleCNN.create(3);
        int[] tunes = {0};
        BudgetSearch.Result r = new BudgetSearch(Method.L1, Budget.flops(0.36)).validation(val.first(50)).steps(2)
                .fineTuneBetweenSteps((x, k) -> tunes[0]++).search(m, ONE);
        assertEquals(1, tunes[0]);
        int stage = 0;
        while (!r.path().get(stage).move().startsWith("fine-tuned")) stage++;
        double first = r.path().get(stage).fraction();
        assertTrue(first <= 0.6 && first > 0.36, "stage 1 ended at " + first + " of the FLOPs; its target was 0.6");
        assertTrue(r.path().get(r.path().size() - 1).fraction() <= 0.36);
    }

    /** The table's estimate: the full latency plus each group's change, linear between the measured widths. */
    @Test
    void theLatencyTableAddsEachGroupsInterpolatedChange() {
        var t = new LatencyTable(64, 5.0, java.util.Map.of("a", new int[]{1, 8, 16, 32}, "b", new int[]{2, 4}),
                java.util.Map.of("a", new double[]{1, 2, 3, 5}, "b", new double[]{4.5, 5}));
        assertEquals(5.0, t.estimate(java.util.Map.of("a", 32, "b", 4)), 1e-12);
        assertEquals(5 + (2.5 - 5), t.estimate(java.util.Map.of("a", 12)), 1e-12);
        assertEquals(5 + (4 - 5) + (4.5 - 5), t.estimate(java.util.Map.of("a", 24, "b", 2)), 1e-12);
        assertEquals(5 + (1 - 5), t.estimate(java.util.Map.of("a", 1, "c", 7)), 1e-12);
        // a row whose full-width end is not the full latency (pooled): changes are taken along the row
        var pooled = new LatencyTable(64, 5.0, java.util.Map.of("a", new int[]{1, 2}), java.util.Map.of("a", new double[]{6, 6}));
        assertEquals(5.0, pooled.estimate(java.util.Map.of("a", 1)), 1e-12);
        // a row made non-decreasing: violators pooled to their mean (hand-computed)
        assertArrayEquals(new double[]{1, 2, 2, 2, 5}, LatencyTable.nonDecreasing(new double[]{1, 3, 1, 2, 5}), 1e-12);
        assertArrayEquals(new double[]{6.5, 6.5, 6.5, 7}, LatencyTable.nonDecreasing(new double[]{6.97, 6.54, 5.99, 7}), 1e-9);
    }

    /** A residual Add couples stem with b1 and b2 with proj: each pair is one decision and keeps one width. */
    @Test
    void aResidualGroupGetsOneWidthAndTheBudgetIsMet() {
        Graph m = GraphPruneTest.resnet(2, 1);
        int[] shape = {1, 1, 8, 8};
        Random r = new Random(3);
        float[] images = new float[200 * 64];
        int[] labels = new int[200];
        for (int i = 0; i < images.length; i++) images[i] = (float) r.nextGaussian();
        for (int i = 0; i < labels.length; i++) labels[i] = r.nextInt(4);
        Dataset tiny = new Dataset("random 8×8", images, labels, 8, 8);
        long before = ModelCost.of(m, shape).flops();
        new BudgetSearch(Method.L1, Budget.flops(0.5)).validation(tiny).search(m, shape);
        assertTrue(ModelCost.of(m, shape).flops() <= 0.5 * before, ModelCost.of(m, shape).flops() + " > half of " + before);
        int stem = ((Conv2d) m.node("stem")).outChannels(), b2 = ((Conv2d) m.node("b2")).outChannels();
        assertEquals(stem, ((Conv2d) m.node("b1")).outChannels());
        assertEquals(stem, ((BatchNorm2d) m.node("stem_bn")).channels());
        assertEquals(b2, ((Conv2d) m.node("proj")).outChannels());
        m.forward(dev.shears.core.Tensor.zeros(m.parameters().get(0).backend(), 2, 1, 8, 8));   // still runs
    }

    /**
     * Half of conv2's filters zeroed (and their γ, β): those channels carry nothing, so cutting them loses no
     * accuracy while any conv1 cut does. At a budget that those channels alone meet, the search cuts conv2 only, and
     * the cut model scores what the uncut one does with the same BN statistics. Each move re-estimates them once
     * ({@link BudgetSearch#recalibrate}: 4 batches of the 300 validation images at momentum 0.1 leave 66% of the old
     * ones), so the uncut model is recalibrated once per move the search took: recalibrated once instead, it read
     * 0.8633 against the cut model's 0.8467 after 4 moves (64 → 56 → 48 → 40 → 32), a difference of statistics, not
     * of channels. Planted: the search keeping the uncut model's statistics after a move (take without loadStateDict)
     * fails it, 0.87 against 0.8467.
     */
    @Test
    void theSearchCutsTheGroupThatCostsNoAccuracy() {
        Sequential m = SimpleCNN.create(5);
        Training.train(m, digits.train().first(3000), Training.Options.defaults(1), null, null);
        float[] w = m.child("conv2").parameter("weight").toArray(), gamma = m.child("bn2").parameter("weight").toArray(),
                beta = m.child("bn2").parameter("bias").toArray(), bias = m.child("conv2").parameter("bias").toArray();
        for (int c = 32; c < 64; c++) {
            Arrays.fill(w, c * 32 * 9, (c + 1) * 32 * 9, 0f);
            gamma[c] = beta[c] = bias[c] = 0;
        }
        for (var e : java.util.Map.of("conv2.weight", w, "bn2.weight", gamma, "bn2.bias", beta, "conv2.bias", bias).entrySet()) {
            String[] p = e.getKey().split("\\.");
            var t = m.child(p[0]).parameter(p[1]);
            m.child(p[0]).setParameter(p[1], dev.shears.core.Tensor.of(t.backend(), e.getValue(), t.shape()));
        }
        Module uncut = Copies.of(m);
        // SimpleCNN(32, 32, 128) costs 52.7% of the FLOPs
        BudgetSearch.Result r = new BudgetSearch(Method.L1, Budget.flops(0.53)).validation(val).search(m, ONE);
        assertEquals(32, ((Conv2d) m.child("conv1")).outChannels(), "conv1 was cut");
        assertEquals(32, ((Conv2d) m.child("conv2")).outChannels());
        int moves = r.path().size() - 1;   // the first point is the unpruned model
        for (int i = 0; i < moves; i++) BudgetSearch.recalibrate(uncut, val, ONE);
        // the same function up to the order of fc1's sums: within half an image of 300
        assertEquals(Training.accuracy(uncut, val), Training.accuracy(m, val), 0.5 / val.size(),
                "the cut channels carried nothing (" + moves + " moves: " + r.path() + ")");
    }

    @Test
    void uniformAndGlobalRatiosFoundByBisectionMeetTheBudgetAtTheSmallestRatio() {
        Sequential unpruned = SimpleCNN.create(2);
        long flops0 = ModelCost.of(unpruned, ONE).flops();
        for (boolean global : new boolean[]{false, true}) {
            java.util.function.DoubleFunction<PruneResult> prune = ratio -> new Pruner(Method.SLIM,
                    global ? Criterion.globalRatio(ratio) : Criterion.perLayerRatio(ratio)).prune(Copies.of(unpruned), ONE);
            double target = 0.35 * flops0;
            var b = BudgetSearch.bisect(prune, p -> p.after().flops(), target, "ratio");
            assertTrue(b.value().after().flops() <= target);
            assertTrue(prune.apply(b.ratio() - 2e-4).after().flops() > target, "a smaller ratio meets it too: " + b.ratio());
        }
    }

    /**
     * With K = 3 stages a comparison row follows the search's schedule: stage k ends within cost₀·B^(k/3), the
     * between-stages hook gets the model after stages 1 and 2 (not after the last), the next stage prunes the model the
     * hook left (a marker written into conv1's bias at stage 1 is still there), and the last stage meets the budget.
     */
    @Test
    void uniformAndGlobalComparisonsFollowTheSearchsStages() {
        Sequential unpruned = SimpleCNN.create(4);
        long flops0 = ModelCost.of(unpruned, ONE).flops();
        double budget = 0.3, target = budget * flops0;
        var setup = new BudgetRun.Setup(Method.L1, Budget.flops(budget), MinKeep.ONE, true, 3, 0.25, 0, Training.Options.defaults(1), 100, 0);
        for (boolean global : new boolean[]{false, true}) {
            java.util.List<Integer> stages = new java.util.ArrayList<>();
            BudgetRun.Staged st = BudgetRun.staged(unpruned, global ? Criterion::globalRatio : Criterion::perLayerRatio, p -> p.after().flops(),
                    flops0, target, 3, (m, k) -> {
                        stages.add(k);
                        double f = ModelCost.of(m, ONE).flops();
                        assertTrue(f <= flops0 * Math.pow(budget, k / 3.0) && f > flops0 * Math.pow(budget, (k + 1) / 3.0),
                                "stage " + k + " ended at " + f / flops0 + " of the FLOPs");
                        var bias = m.child("conv1").parameter("bias");
                        if (k == 1) m.child("conv1").setParameter("bias", dev.shears.core.Tensor.of(bias.backend(), filled(bias.size(), 7f), bias.shape()));
                        else assertArrayEquals(filled(bias.size(), 7f), bias.toArray(), "stage 2 pruned the model stage 1's fine-tune left");
                    }, setup, ONE, "ratio", line -> {});
            assertEquals(java.util.List.of(1, 2), stages, global ? "global" : "uniform");
            assertEquals(3, st.stageRatios().size());
            assertTrue(st.last().after().flops() <= target, st.last().after().flops() + " > " + target);
            assertArrayEquals(filled(((Conv2d) st.last().model().child("conv1")).outChannels(), 7f),
                    st.last().model().child("conv1").parameter("bias").toArray());
        }
        assertEquals(flops0, ModelCost.of(unpruned, ONE).flops(), "the unpruned model is left as it was");
    }

    private static float[] filled(long n, float v) {
        float[] a = new float[(int) n];
        Arrays.fill(a, v);
        return a;
    }

    /**
     * The probe fine-tunes copies only: with it on (and no BN re-estimation), every conv1 filter of the searched model
     * is one of the unpruned model's, bit for bit and in order; the search trained nothing.
     */
    @Test
    void probingFineTunesCopiesOnly() {
        Sequential m = SimpleCNN.create(6);
        float[] w0 = m.child("conv1").parameter("weight").toArray();
        new BudgetSearch(Method.L1, Budget.flops(0.5)).validation(val.first(100)).adaptiveBatchNorm(false)
                .probe(digits.train().first(128), Training.Options.defaults(1).withLr(0.05f)).search(m, ONE);
        float[] w = m.child("conv1").parameter("weight").toArray();
        int per = 9, j = 0;   // one input channel, 3×3
        for (int c = 0; c < w.length / per; c++) {
            float[] filter = Arrays.copyOfRange(w, c * per, (c + 1) * per);
            while (j < w0.length / per && !Arrays.equals(filter, Arrays.copyOfRange(w0, j * per, (j + 1) * per))) j++;
            assertTrue(j < w0.length / per, "conv1 filter " + c + " is none of the unpruned filters: the search trained the model");
            j++;
        }
    }

    @Test
    void theValidationSplitIsCarvedFromTrainingDataApartFromWhatFineTuningSeesAndFromTheTestSet() {
        Dataset train = digits.train();
        ValidationSplit s = ValidationSplit.of(train, 11);
        assertEquals(800, s.validation().size());
        assertEquals(train.size(), s.fit().size() + s.validation().size());
        Set<String> fit = new HashSet<>(), test = new HashSet<>();
        for (int i = 0; i < s.fit().size(); i++) fit.add(key(s.fit(), i));
        for (int i = 0; i < digits.test().size(); i++) test.add(key(digits.test(), i));
        int inFit = 0, inTest = 0;
        for (int i = 0; i < s.validation().size(); i++) {
            String k = key(s.validation(), i);
            assertEquals(k, key(train, s.validationIndices()[i]));   // a training image
            if (fit.contains(k)) inFit++;
            if (test.contains(k)) inTest++;
        }
        assertEquals(0, inFit, "validation images that fine-tuning trains on");
        assertEquals(0, inTest, "validation images in the test set");
        assertArrayEquals(s.validationIndices(), ValidationSplit.of(train, 11).validationIndices(), "the same seed, the same split");
    }

    /**
     * Adaptive batch norm: after {@link BudgetSearch#recalibrate}, bn1's running mean is the mean of conv1's output over
     * the recalibration images (computed here directly, in double), to within the 0.9^30 left of the old, planted
     * statistics; the weights do not move and the model is back in eval mode.
     */
    @Test
    void recalibrationReestimatesBatchNormStatisticsOnly() {
        Sequential m = SimpleCNN.create(3);
        BatchNorm2d bn = (BatchNorm2d) m.child("bn1");
        Conv2d conv = (Conv2d) m.child("conv1");
        float[] planted = new float[bn.channels()];
        Arrays.fill(planted, 50f);
        bn.runningMean().backend().copy(c0(bn), dev.shears.core.Tensor.of(planted, c0(bn)).storage(), bn.runningMean().storage());
        float[] w = conv.weight().toArray();
        Dataset data = digits.train().first(BudgetSearch.RECALIBRATION_BATCHES * 64);
        BudgetSearch.recalibrate(m, data, ONE);

        float[] y;
        try (var ignored = dev.shears.core.GradMode.off()) {
            y = conv.forward(dev.shears.core.Tensor.of(data.images(), data.size(), 1, 28, 28)).toArray();
        }
        int c = bn.channels(), hw = y.length / (data.size() * c);
        float[] mean = bn.runningMean().toArray();
        for (int ch = 0; ch < c; ch++) {
            double sum = 0;
            for (int i = 0; i < data.size(); i++) for (int j = 0; j < hw; j++) sum += y[(i * c + ch) * hw + j];
            double expected = sum / ((double) data.size() * hw), leftover = 50 * Math.pow(0.9, BudgetSearch.RECALIBRATION_BATCHES);
            assertEquals(expected, mean[ch], 0.05 + leftover + 0.05 * Math.abs(expected), "bn1 running mean, channel " + ch);
        }
        assertArrayEquals(w, conv.weight().toArray(), "conv1's weights must not move");
        assertFalse(m.isTraining(), "back in eval mode");
    }

    private static int c0(BatchNorm2d bn) { return bn.channels(); }

    private static String key(Dataset d, int i) {
        return d.labels()[i] + ":" + Arrays.hashCode(Arrays.copyOfRange(d.images(), i * d.imageSize(), (i + 1) * d.imageSize()));
    }

    /**
     * A fake latency of SimpleCNN at batch 64 that mimics kernel regimes: 0.05 ms per channel of conv1 and conv2, plus
     * 2 ms while conv2 has more than 40 channels (as if a wide conv2 ran a slower kernel). Deterministic: the landing
     * logic is tested without timing.
     */
    static double regimeMillis(Module m) {
        int c1 = ((Conv2d) m.child("conv1")).outChannels(), c2 = ((Conv2d) m.child("conv2")).outChannels();
        return 0.05 * (c1 + c2) + (c2 > 40 ? 2 : 0);
    }

    /** The same without the step: what a table measured under one kernel regime would believe. */
    static double smoothMillis(Module m) {
        int c1 = ((Conv2d) m.child("conv1")).outChannels(), c2 = ((Conv2d) m.child("conv2")).outChannels();
        return 0.05 * (c1 + c2) + 2 * c2 / 64.0;
    }

    /** Measures every model by {@code f}. */
    static BudgetSearch.LatencyMeter meter(java.util.function.ToDoubleFunction<Module> f) {
        return models -> models.stream().mapToDouble(f).toArray();
    }

    /**
     * A latency budget lands in [0.9, 1]·budget on a step-shaped latency, whether the table knows the step or not
     * (a table that does not — many models measured at once — sees smooth costs, so the last move overshoots far
     * below the budget and is backed off on measured latency); the model is left at the widths reported and its
     * measured latency is the meter's. With the blind table at 3.4 ms no cut of the model before the last move lands
     * in the band (conv1 at 16, conv2 at 48, 5.2 ms: conv2 at 41 measures 4.85 ms, at 40 2.8 ms, and no cut of conv1
     * alone meets the budget): width vectors nearby are measured, and one with conv1 given channels back lands.
     * With the table that knows the step, 4.5 ms is landed by a back-off (conv2 cut to 40 measured 3.2 ms; conv1 cut
     * instead, 4.35 ms).
     */
    @Test
    void aLatencyBudgetLandsWithinTenPercentBelowItOnAStepShapedLatency() {
        int backOffs = 0, twoGroupBackOffs = 0, nearby = 0;
        for (boolean tableKnowsTheStep : new boolean[]{true, false})
            for (double budget : new double[]{5.5, 5.0, 4.5, 3.4, 2.5}) {
                Sequential m = SimpleCNN.create(1);
                BudgetSearch.LatencyMeter fake = tableKnowsTheStep ? meter(BudgetSearchTest::regimeMillis)
                        : models -> models.size() > 4 ? meter(BudgetSearchTest::smoothMillis).millis(models) : meter(BudgetSearchTest::regimeMillis).millis(models);
                BudgetSearch.Result r = new BudgetSearch(Method.L1, Budget.latency(budget, 64)).validation(val.first(100))
                        .latencyMeter(fake).search(m, ONE);
                String what = "budget " + budget + (tableKnowsTheStep ? "" : ", table blind to the step") + ": widths " + r.widthsAfter()
                        + ", path " + r.path().stream().map(BudgetSearch.Point::move).toList();
                assertEquals(regimeMillis(m), r.measuredMillis(), 1e-9, what);
                assertTrue(r.measuredMillis() <= budget && r.measuredMillis() >= 0.9 * budget, r.measuredMillis() + " ms; " + what);
                if (r.path().stream().anyMatch(p -> p.move().startsWith("nearby"))) nearby++;
                if (r.path().stream().anyMatch(p -> p.move().startsWith("back-off"))) backOffs++;
                if (r.path().stream().anyMatch(p -> p.move().startsWith("back-off") && p.move().contains(", "))) twoGroupBackOffs++;
                assertEquals(r.widthsAfter().get("conv1"), ((Conv2d) m.child("conv1")).outChannels(), what);
                assertEquals(r.widthsAfter().get("conv2"), ((Conv2d) m.child("conv2")).outChannels(), what);
                assertEquals(10, m.forward(dev.shears.core.Tensor.randn(1, 2, 1, 28, 28)).shape()[1], what);
            }
        assertTrue(backOffs >= 1, "the back-off was taken in " + backOffs + " runs");
        assertTrue(twoGroupBackOffs >= 1, "no back-off needed a second group (4.5 with the blind table does)");
        assertTrue(nearby >= 1, "no width vector nearby was taken (3.4 with the blind table needs one)");
    }

    /**
     * A fake latency shaped like SimpleCNN's measured at batch 64 on a Zen 4 core (prune/README, 2026-12-07): roughly
     * linear in each width, flat for conv1 from 14 to 16 channels then a jump at 17, jumps where conv2 passes 16 and
     * 32, and a bump that makes conv2 at 38–44 channels slower than at 48 while conv1 has at most 16 (another kernel
     * regime).
     */
    static double cliffMillis(Module m) {
        int c1 = ((Conv2d) m.child("conv1")).outChannels(), c2 = ((Conv2d) m.child("conv2")).outChannels();
        double conv1 = 0.077 * Math.min(c1, 14) + (c1 > 16 ? 0.2 + 0.045 * (c1 - 16) : 0);
        double conv2 = 0.037 * Math.min(c2, 16) + (c2 > 16 ? 0.35 + 0.01 * (Math.min(c2, 32) - 16) : 0) + (c2 > 32 ? 0.5 + 0.02 * (c2 - 32) : 0);
        return 0.3 + conv1 + conv2 + (c1 <= 16 && c2 >= 38 && c2 <= 44 ? 0.4 : 0);
    }

    /**
     * On a latency that is not monotone in a width (conv2 at 40 slower than at 48 while conv1 has 16), budgets from
     * 57.5% to 80% of the unpruned latency, every 1.25%, land in [0.9, 1]·budget, with every group kept at half its
     * width or more. As in a slim-trained SimpleCNN, half of conv1's channels are dead (zero weights, bias and BN
     * affine), so the search first cuts conv1 to 16 at no loss, then conv2 to 32, under the band; from there only
     * width vectors {@linkplain BudgetSearch#nearby nearby} land (conv1 given channels back past its jump at 17).
     * Planted: with no nearby rounds, 6 of the 19 budgets ended at 16, 32 (2.48 ms, 71–89% of the budget).
     */
    @Test
    void aLatencyBudgetLandsWhenLatencyIsNotMonotoneInAWidth() {
        double full = cliffMillis(SimpleCNN.create(1));
        int nearby = 0;
        for (double share = 0.8; share > 0.57; share -= 0.0125) {   // under 57%: below (16, 32), the least that min-keep allows
            double budget = share * full;
            Sequential m = SimpleCNN.create(1);
            zeroChannels(m, "conv1", "bn1", 16);
            BudgetSearch.Result r = new BudgetSearch(Method.L1, Budget.latency(budget, 64)).validation(val.first(100))
                    .minKeep(MinKeep.fraction(0.5)).latencyMeter(meter(BudgetSearchTest::cliffMillis)).search(m, ONE);
            String what = String.format(java.util.Locale.ROOT, "budget %.3f: widths %s, path %s", budget, r.widthsAfter(),
                    r.path().stream().map(p -> p.move() + String.format(java.util.Locale.ROOT, " %.3f", p.cost())).toList());
            assertEquals(cliffMillis(m), r.measuredMillis(), 1e-9, what);
            assertTrue(r.measuredMillis() <= budget && r.measuredMillis() >= 0.9 * budget, r.measuredMillis() + " ms; " + what);
            assertEquals(r.widthsAfter().get("conv1"), ((Conv2d) m.child("conv1")).outChannels(), what);
            assertEquals(r.widthsAfter().get("conv2"), ((Conv2d) m.child("conv2")).outChannels(), what);
            if (r.path().stream().anyMatch(p -> p.move().startsWith("nearby"))) nearby++;
        }
        assertTrue(nearby >= 1, "no budget needed a width vector nearby");
    }

    /** Zeroes the output channels from {@code from} on of {@code conv} and its BatchNorm {@code bn}: weights, bias, γ and β. */
    static void zeroChannels(Module m, String conv, String bn, int from) {
        for (String[] p : new String[][]{{conv, "weight"}, {conv, "bias"}, {bn, "weight"}, {bn, "bias"}}) {
            var t = m.child(p[0]).parameter(p[1]);
            float[] v = t.toArray();
            int per = v.length / t.shape()[0];
            Arrays.fill(v, from * per, v.length, 0f);
            m.child(p[0]).setParameter(p[1], dev.shears.core.Tensor.of(t.backend(), v, t.shape()));
        }
    }

    /**
     * A latency budget given as a share of the unpruned latency is resolved against the unpruned model as the meter reads
     * it (here the fake's 5.2 ms at full width), and then met like one given in milliseconds.
     */
    @Test
    void aShareOfTheUnprunedLatencyIsResolvedAgainstTheMeterAndMet() {
        Sequential m = SimpleCNN.create(1);
        double full = regimeMillis(m);
        List<String> log = new java.util.ArrayList<>();
        BudgetSearch.Result r = new BudgetSearch(Method.L1, Budget.latencyShare(0.5, 64)).validation(val.first(100))
                .latencyMeter(meter(BudgetSearchTest::regimeMillis)).log(log::add).search(m, ONE);
        assertTrue(log.contains(String.format(java.util.Locale.ROOT, "budget: %.3f ms at batch 64 (50%% of the unpruned %.3f ms)", 0.5 * full, full)), log.toString());
        assertTrue(r.measuredMillis() <= 0.5 * full && r.measuredMillis() >= 0.45 * full, r.measuredMillis() + " ms against " + full);
        assertEquals(regimeMillis(m), r.measuredMillis(), 1e-9);
        assertThrows(IllegalArgumentException.class, () -> Budget.latencyShare(1.5, 64));
        assertThrows(IllegalArgumentException.class, () -> Budget.latencyShare(Double.NaN, 64));
        assertEquals(Budget.latency(2.5, 8), Budget.latency(2.5, 8).resolve(99), "a budget in milliseconds stays");
    }

    /** {@link BudgetSearch#neighbours}: one group ±1, ±2, ... up to a quarter of its width, or two groups in opposite directions. */
    @Test
    void neighboursMoveOneGroupOrTradeBetweenTwo() {
        Map<String, Integer> full = new java.util.LinkedHashMap<>(Map.of("a", 8)), w = new java.util.LinkedHashMap<>(Map.of("a", 4));
        full.put("b", 4);
        w.put("b", 4);
        var n = BudgetSearch.neighbours(w, full, MinKeep.ONE);
        // a: ±1, ±2 (a quarter of 8); b: ±1 (a quarter of 4), +1 over its full width; trades a+d/b−1 (2), b+1 never fits
        assertEquals(java.util.Set.of(Map.of("a", 5, "b", 4), Map.of("a", 3, "b", 4), Map.of("a", 6, "b", 4), Map.of("a", 2, "b", 4),
                Map.of("a", 4, "b", 3), Map.of("a", 5, "b", 3), Map.of("a", 6, "b", 3)), new java.util.HashSet<>(n));
    }

    /** The spread that decides whether {@link Latency#steadyCompare} times more passes: (q₃ − q₁) / median, by hand. */
    @Test
    void theSpreadOfTimedPassesIsTheInterquartileRangeOverTheMedian() {
        assertEquals(2.0 / 3, Latency.maxSpread(new double[][]{{5, 1, 4, 2, 3}}), 1e-12);   // q₁ 2, q₃ 4, median 3
        assertEquals(0.5, Latency.maxSpread(new double[][]{{2, 2, 2, 2, 2}, {3, 1, 2, 5, 4, 2, 2}}), 1e-12);   // the second: 2, 3, 2
        assertEquals(0, Latency.maxSpread(new double[][]{{7}}), 0);
    }

    /**
     * One scale for every reading: the reference is calibrated once (the first call, load 1 here), and then every model
     * reads as its ratio to the reference in the same call times that scale, whatever the load of later calls (3, 1.5,
     * 2, 0.8); the per-move {@code millis} and the final {@code reading} agree. (The scale used to be the reference's
     * fastest median so far, which a faster later call — 0.8 — moved, so the report read the same model lower than the
     * search had.)
     */
    @Test
    void aRelativeMeterReadsEachModelAsItsRatioToTheReferenceTimesOneCalibratedScale() {
        Sequential reference = SimpleCNN.create(32, 64, 128, 0), half = SimpleCNN.create(16, 32, 128, 0);
        double[] load = {1, 3, 1.5, 2, 0.8};
        int[] call = {0};
        BudgetSearch.LatencyMeter loaded = models -> {
            double f = load[call[0]++ % load.length];
            return models.stream().mapToDouble(m -> f * regimeMillis(m)).toArray();
        };
        BudgetSearch.LatencyMeter meter = BudgetSearch.relativeTo(reference, loaded);
        double truth = regimeMillis(half);
        assertEquals(truth, meter.millis(java.util.List.of(half))[0], 1e-9);   // calibrated at load 1, measured at 3
        assertEquals(truth, meter.reading(half).millis(), 1e-9);   // 1.5
        assertArrayEquals(new double[]{truth, regimeMillis(reference)}, meter.millis(java.util.List.of(half, reference)), 1e-9);   // 2
        assertEquals(truth, meter.reading(half).millis(), 1e-9);   // 0.8
        assertEquals(5, call[0]);
        // the table's many models go to the clock as they are
        call[0] = 1;
        assertEquals(3 * truth, meter.millis(java.util.Collections.nCopies(5, half))[0], 1e-9);
    }

    /**
     * A paired reading is the median over blocks of (model's block median / reference's block median), by hand: a
     * block where load doubles both models reads the same ratio, an outlier inside a block is outvoted, and the
     * interval holds the estimate within the block ratios' range.
     */
    @Test
    void aPairedReadingIsTheMedianOfBlockRatios() {
        int b = Latency.BLOCK;
        double[] ref = new double[3 * b], model = new double[3 * b];
        for (int i = 0; i < b; i++) {
            ref[i] = 2; model[i] = 1;               // block 0: 0.5
            ref[b + i] = 4; model[b + i] = 2;       // block 1: both twice as slow, 0.5
            ref[2 * b + i] = 2; model[2 * b + i] = 1.2;   // block 2: 0.6
        }
        ref[3] = 20;   // an outlier in block 0
        assertArrayEquals(new double[]{0.5, 0.5, 0.6}, Latency.blockRatios(ref, model), 1e-12);
        Latency.Ratio r = Latency.ratio(new double[][]{ref, model});
        assertEquals(0.5, r.ratio(), 1e-12);
        assertEquals(3, r.blocks());
        assertEquals(2, r.referenceMillis(), 1e-12);   // the median of all 30 reference passes
        assertTrue(r.low() >= 0.5 && r.high() <= 0.6 && r.low() <= r.ratio() && r.ratio() <= r.high(), r.toString());
        double[] same = Latency.bootstrapMedian(new double[]{0.7, 0.7, 0.7, 0.7}, 500, 1);
        assertArrayEquals(new double[]{0.7, 0.7}, same, 0);
        assertThrows(IllegalArgumentException.class, () -> Latency.blockRatios(new double[3], new double[4]));
    }

    /**
     * The final reading decides: with per-move measurements that read 10% low or 10% high against the final reading
     * (the report's), the search still ends with a final reading in [0.9, 1]·budget, and reports that reading of the
     * model it leaves. The final reading moves the search once more — greedy moves when over, a back-off when under —
     * with its per-move measurements corrected by the final reading over the per-move one.
     */
    @Test
    void theFinalReadingMovesTheSearchWhenPerMoveMeasurementsAreBiased() {
        int moved = 0;
        for (double bias : new double[]{0.9, 1.1})
            for (double budget : new double[]{5.0, 4.5, 2.5}) {
                Sequential m = SimpleCNN.create(1);
                BudgetSearch.LatencyMeter biased = new BudgetSearch.LatencyMeter() {
                    @Override public double[] millis(java.util.List<? extends Module> models) {
                        return models.stream().mapToDouble(x -> bias * regimeMillis(x)).toArray();
                    }
                    @Override public BudgetSearch.Reading reading(Module x) {
                        double ms = regimeMillis(x);
                        return new BudgetSearch.Reading(ms, ms, ms);
                    }
                };
                int[] readings = {0};
                BudgetSearch.Result r = new BudgetSearch(Method.L1, Budget.latency(budget, 64)).validation(val.first(100))
                        .latencyMeter(biased).log(line -> { if (line.startsWith("final reading")) readings[0]++; }).search(m, ONE);
                String what = "bias " + bias + ", budget " + budget + ": widths " + r.widthsAfter() + ", path "
                        + r.path().stream().map(p -> p.move() + String.format(java.util.Locale.ROOT, " %.3f", p.cost())).toList();
                assertEquals(regimeMillis(m), r.measuredMillis(), 1e-9, what);
                assertTrue(r.measuredMillis() <= budget && r.measuredMillis() >= 0.9 * budget, r.measuredMillis() + " ms; " + what);
                if (readings[0] == 2) moved++;   // the first final reading was out of [0.92, 0.98]·budget: moved, read again
            }
        assertTrue(moved >= 2, "the final reading moved the search in " + moved + " runs");
    }
}
