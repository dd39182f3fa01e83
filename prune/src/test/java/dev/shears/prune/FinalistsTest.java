package dev.shears.prune;

import dev.shears.core.Tensor;
import dev.shears.data.Datasets;
import dev.shears.data.Mnist;
import dev.shears.nn.Conv2d;
import dev.shears.nn.Module;
import dev.shears.nn.Sequential;
import dev.shears.nn.SimpleCNN;
import dev.shears.nn.train.Trainer;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The finalists of a budget run: widths between and beyond, fitted to the budget, the pick after a short fine-tune, the seeds. */
class FinalistsTest {
    static final int[] ONE = {1, 1, 28, 28};
    static final Map<String, Integer> FULL = widths(32, 64);

    static Map<String, Integer> widths(int conv1, int conv2) {
        Map<String, Integer> w = new LinkedHashMap<>();
        w.put("conv1", conv1);
        w.put("conv2", conv2);
        return w;
    }

    /** round(a + t·(b − a)) per group, by hand; clamped to [min-keep, full]. */
    @Test
    void widthsBetweenAndBeyondAreRoundedAndClamped() {
        Map<String, Integer> a = widths(16, 27), b = widths(15, 29);
        assertEquals(widths(16, 28), Finalists.between(a, b, 0.5, FULL, MinKeep.ONE));     // 15.5 → 16, 28
        assertEquals(widths(17, 26), Finalists.between(a, b, -0.5, FULL, MinKeep.ONE));    // 16.5 → 17, 26
        assertEquals(widths(32, 4), Finalists.between(widths(30, 8), widths(10, 48), -0.2, FULL, MinKeep.count(4)));  // 34 → 32, 0 → 4
        assertThrows(IllegalArgumentException.class, () -> Finalists.between(a, Map.of("conv1", 3), 0.5, FULL, MinKeep.ONE));
    }

    /**
     * Widths over the budget are scaled down until they meet it: the FLOPs of SimpleCNN(c1, c2, 128) counted by hand
     * as the cost, the fitted widths at most the asked ones and meeting the target, and one more 1/1024 of scale over it.
     */
    @Test
    void widthsOverTheBudgetAreScaledDownToIt() {
        java.util.function.ToDoubleFunction<Module> flops = m -> {
            int c1 = ((Conv2d) ((Sequential) m).child("conv1")).outChannels(), c2 = ((Conv2d) ((Sequential) m).child("conv2")).outChannels();
            return 2.0 * c1 * 28 * 28 * 9 + 2.0 * c2 * 14 * 14 * c1 * 9 + 2.0 * c2 * 49 * 128 + 2.0 * 128 * 10;
        };
        java.util.function.Function<Map<String, Integer>, Module> at = w -> SimpleCNN.create(w.get("conv1"), w.get("conv2"), 128, 0);
        double target = flops.applyAsDouble(at.apply(widths(16, 28))) - 1;   // (16, 28) is just over
        Finalists.Candidate c = Finalists.fit("x", widths(16, 28), FULL, MinKeep.ONE, at, flops, target);
        assertNotNull(c);
        assertTrue(c.cost() <= target, c.cost() + " > " + target);
        assertEquals(flops.applyAsDouble(c.model()), c.cost());
        assertTrue(c.widths().get("conv1") <= 16 && c.widths().get("conv2") <= 28, c.widths().toString());
        assertTrue(c.cost() >= 0.9 * target, "scaled down further than needed: " + c.widths());
        Finalists.Candidate within = Finalists.fit("y", widths(8, 8), FULL, MinKeep.ONE, at, flops, target);
        assertEquals(widths(8, 8), within.widths(), "widths within the budget stay as they are");
        assertNull(Finalists.fit("z", widths(16, 28), FULL, MinKeep.count(40), at, flops, 1), "not even the minimum meets it");
    }

    /**
     * The pick, with fixed scores (the judge reads a planted number from conv1's bias): the most accurate wins, the
     * lower loss breaks a tie, a repeated width vector is scored once, and only copies are tuned.
     */
    @Test
    void theMostAccurateFinalistAfterTheShortFineTuneIsPicked() {
        double[][] scores = {{0.80, 0.50}, {0.85, 0.40}, {0.85, 0.30}, {0.90, 0.10}, {0.70, 0.60}};   // accuracy, loss by candidate
        List<Finalists.Candidate> cs = new ArrayList<>();
        int[][] w = {{16, 27}, {15, 29}, {14, 30}, {15, 29}, {17, 26}};   // the fourth repeats the second: skipped, its 0.90 unseen
        for (int i = 0; i < w.length; i++) {
            Sequential m = SimpleCNN.create(w[i][0], w[i][1], 16, 0);
            setBias(m, i);
            cs.add(new Finalists.Candidate("c" + i, m, widths(w[i][0], w[i][1]), i));
        }
        List<Integer> tuned = new ArrayList<>();
        Finalists.Pick p = Finalists.choose(cs, m -> { tuned.add(marker(m)); setBias(m, 99); }, m -> {
            assertEquals(99, marker(m), "judged before the short fine-tune");
            int i = tuned.get(tuned.size() - 1);
            return new Trainer.Evaluation(scores[i][0], scores[i][1], 100, 0);
        }, line -> {});
        assertEquals(List.of(0, 1, 2, 4), tuned, "each width vector tuned once, in order");
        assertEquals(4, p.scored().size());
        assertEquals("c2", p.picked().candidate().name(), "0.85 with loss 0.30 beats 0.85 with 0.40 and 0.80, 0.70");
        for (Finalists.Candidate c : cs) assertNotEquals(99, marker(c.model()), c.name() + " itself was tuned, not a copy");
    }

    /**
     * On a residual graph the finalists' widths are keyed by group id, as the search's are: a PruneResult names a
     * residual group by all its members ("stem+b1 (residual)"), and mixing the two failed the run once the search was done.
     */
    @Test
    void residualGroupsGetTheSameKeysInEveryFinalist() {
        dev.shears.nn.Graph m = GraphPruneTest.resnet(2, 1);
        int[] shape = {1, 1, 8, 8};
        java.util.Random r = new java.util.Random(3);
        float[] images = new float[240 * 64];
        int[] labels = new int[240];
        for (int i = 0; i < images.length; i++) images[i] = (float) r.nextGaussian();
        for (int i = 0; i < labels.length; i++) labels[i] = r.nextInt(4);
        dev.shears.data.Dataset tiny = new dev.shears.data.Dataset("random 8×8", images, labels, 8, 8);
        var setup = new BudgetRun.Setup(Method.L1, Budget.flops(0.5), MinKeep.ONE, true, 1, 0, 0, Training.Options.defaults(1), 40, 0, 0, 0.25, 1);
        BudgetReport report = BudgetRun.run(m, shape, ValidationSplit.of(tiny, 40, 1), tiny, setup, line -> {});
        assertTrue(report.finalists().size() >= 2, "finalists: " + report.finalists().size());
        for (Finalists.Scored f : report.finalists())
            assertEquals(report.finalists().get(0).candidate().widths().keySet(), f.candidate().widths().keySet(), f.candidate().name());
    }

    /** The model a run goes on with becomes the pick: its widths and every tensor, bit for bit. */
    @Test
    void thePickedFinalistReplacesTheSearchedModelInPlace() throws Exception {
        Sequential searched = SimpleCNN.create(16, 27, 32, 1), uniform = SimpleCNN.create(15, 29, 32, 2);
        Map<String, Integer> w = Finalists.adopt(searched, new Finalists.Candidate("uniform", uniform, widths(15, 29), 0));
        assertEquals(widths(15, 29), w);
        assertEquals(29, ((Conv2d) searched.child("conv2")).outChannels());
        uniform.stateDict().forEach((k, t) -> assertArrayEquals(t.toArray(), searched.stateDict().get(k).toArray(), k));
        // the uniform row is fine-tuned from where it was: tuning the searched model must not move its tensors
        float[] before = uniform.child("conv2").parameter("weight").toArray();
        Training.fineTune(searched, Datasets.embeddedDigits().train().first(64), Training.Options.defaults(1).withLr(0.1f), null);
        assertArrayEquals(before, uniform.child("conv2").parameter("weight").toArray(), "the pick shares its tensors with the uniform model");
        assertFalse(Arrays.equals(before, searched.child("conv2").parameter("weight").toArray()), "the fine-tune moved nothing");
    }

    private static void setBias(Module m, float v) {
        Tensor b = m.child("conv1").parameter("bias");
        float[] a = new float[(int) b.size()];
        java.util.Arrays.fill(a, v);
        m.child("conv1").setParameter("bias", Tensor.of(b.backend(), a, b.shape()));
    }

    private static int marker(Module m) { return (int) m.child("conv1").parameter("bias").toArray()[0]; }

    /**
     * A FLOP budget with finalists and two fine-tune seeds, end to end on a few digits: the searched row has the
     * picked finalist's widths (the model too), the pick is the best on validation among the finalists, every
     * finalist and every row meets the budget, and each row carries both seeds' accuracies, the first its own.
     */
    @Test
    void aBudgetRunKeepsThePickedFinalistAndReportsEverySeed() throws Exception {
        Mnist digits = Datasets.embeddedDigits();
        ValidationSplit split = ValidationSplit.of(digits.train().first(640), 160, 3);
        Sequential model = SimpleCNN.create(8, 16, 16, 5);
        Training.train(model, split.fit(), Training.Options.defaults(2).withLr(0.05f), null, null);
        long flops0 = ModelCost.of(model, ONE).flops();
        var setup = new BudgetRun.Setup(Method.L1, Budget.flops(0.3), MinKeep.ONE, true, 1, 0, 1, Training.Options.defaults(1).withLr(0.05f),
                160, 0, 0, 0.25, 2);
        BudgetReport r = BudgetRun.run(model, ONE, split, digits.test().first(200), setup, line -> {});
        assertTrue(r.finalists().size() >= 3, "searched, uniform and global at least (fewer only where widths repeat): " + r.finalists().size());
        Finalists.Scored picked = r.finalists().get(Finalists.best(r.finalists()));
        for (Finalists.Scored f : r.finalists()) {
            assertTrue(f.accuracy() <= picked.accuracy(), f.candidate().name() + " scored above the pick");
            assertTrue(f.candidate().cost() <= 0.3 * flops0, f.candidate().name() + " is over the budget");
        }
        BudgetReport.Row searched = r.searched();
        assertTrue(searched.name().contains(picked.candidate().name()), searched.name());
        assertEquals(picked.candidate().widths(), searched.widths());
        assertEquals(picked.candidate().widths().get("conv2"), ((Conv2d) model.child("conv2")).outChannels(), "the model kept is the pick");
        assertEquals(picked.candidate().cost(), (double) searched.flops());
        for (BudgetReport.Row row : r.rows().subList(1, 4)) {
            assertTrue(r.meets(row), row.name());
            assertEquals(2, row.testSeeds().size(), row.name());
            assertEquals(row.testSeeds().get(0), row.testTuned());
        }
        assertTrue(r.toMarkdown().contains("(picked)"), "the report names the pick");
    }
}
