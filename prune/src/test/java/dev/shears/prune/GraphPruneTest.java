package dev.shears.prune;

import dev.shears.core.GradMode;
import dev.shears.core.Tensor;
import dev.shears.core.testing.Close;
import dev.shears.nn.Add;
import dev.shears.nn.AvgPool2d;
import dev.shears.nn.BatchNorm2d;
import dev.shears.nn.Concat;
import dev.shears.nn.Conv2d;
import dev.shears.nn.Flatten;
import dev.shears.nn.GlobalAvgPool2d;
import dev.shears.nn.Graph;
import dev.shears.nn.Linear;
import dev.shears.nn.MaxPool2d;
import dev.shears.nn.Module;
import dev.shears.nn.ReLU;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Pruning {@link Graph} models, one coupling type at a time. The oracle is masking instead of slicing: the
 * original model with the removed channels zeroed out at their source (producer rows and biases, BatchNorm γ
 * and β, depthwise filters) must give the sliced model's logits; with folding, zeroing only what a pruned
 * channel computes (weights, γ) keeps its constant, which the folded biases must reproduce.
 */
class GraphPruneTest {

    /** stem → residual block (identity shortcut) → stride-2 block with a 1×1 projection → GAP → fc. 1×8×8 in. */
    static Graph resnet(long seed, int pad) {
        Random r = new Random(seed);
        int k = pad == 0 ? 1 : 3;
        return new Graph()
                .add("stem", new Conv2d(1, 6, k, 1, pad, true, r)).add("stem_bn", new BatchNorm2d(6)).add("stem_relu", new ReLU())
                .add("a1", new Conv2d(6, 6, k, 1, pad, false, r)).add("a1_bn", new BatchNorm2d(6)).add("a1_relu", new ReLU())
                .add("b1", new Conv2d(6, 6, k, 1, pad, true, r))
                .add("add1", new Add(), "b1", "stem_relu").add("relu1", new ReLU())
                .add("a2", new Conv2d(6, 8, k, 2, pad, true, r)).add("a2_relu", new ReLU())
                .add("b2", new Conv2d(8, 8, k, 1, pad, true, r)).add("b2_bn", new BatchNorm2d(8))
                .add("proj", new Conv2d(6, 8, 1, 2, 0, true, r), "relu1")
                .add("add2", new Add(), "b2_bn", "proj").add("relu2", new ReLU())
                .add("gap", new GlobalAvgPool2d()).add("flat", new Flatten())
                .add("fc", new Linear(8, 4, r));
    }

    /** stem → (1×1 | 1×1 → depthwise 3×3 | avg-pool → 1×1) concatenated → BN → conv → max-pool → Flatten → fc. */
    static Graph inception(long seed) {
        Random r = new Random(seed);
        return new Graph()
                .add("stem", new Conv2d(1, 6, 3, 1, 1, true, r)).add("stem_relu", new ReLU())
                .add("p1", new Conv2d(6, 3, 1, 1, 0, true, r), "stem_relu")
                .add("p2", new Conv2d(6, 4, 1, 1, 0, true, r), "stem_relu").add("p2_relu", new ReLU())
                .add("dw", new Conv2d(4, 4, 3, 1, 1, 4, true, r)).add("dw_bn", new BatchNorm2d(4))
                .add("pool", new AvgPool2d(3, 1, 1, false), "stem_relu").add("p3", new Conv2d(6, 2, 1, 1, 0, true, r))
                .add("cat", new Concat(1), "p1", "dw_bn", "p3").add("bn", new BatchNorm2d(9)).add("relu", new ReLU())
                .add("head", new Conv2d(9, 5, 3, 1, 1, true, r)).add("head_relu", new ReLU()).add("mp", new MaxPool2d(2))
                .add("flat", new Flatten()).add("fc", new Linear(5 * 16, 4, r));
    }

    private static float[] run(Module m, Tensor x) {
        m.eval();
        try (GradMode ignored = GradMode.off()) { return m.forward(x).toArray(); }
    }

    @Test
    void aResidualAddJoinsItsInputsIntoOneGroupAndTheFinalLinearIsNeverPruned() {
        DependencyGraph g = DependencyGraph.analyze(resnet(0, 1), 1, 1, 8, 8);
        assertEquals(List.of("stem", "a1", "a2", "b2"), g.groups().stream().map(ChannelGroup::name).toList());
        ChannelGroup res1 = g.group("stem"), res2 = g.group("b2");
        assertEquals(List.of("stem", "b1"), res1.producers());
        assertEquals(List.of("stem_bn"), res1.norms());
        assertEquals(List.of("a1", "a2", "proj"), res1.consumers().stream().map(Consumer::path).toList());
        assertEquals(List.of("b2", "proj"), res2.producers());
        assertEquals(new Consumer("fc", 1, 0), res2.consumers().get(0));   // GAP → Flatten → Linear: one feature per channel
    }

    @Test
    void aConcatPlacesEachBranchAtItsOffsetAndADepthwiseConvJoinsItsChannels() {
        DependencyGraph g = DependencyGraph.analyze(inception(0), 1, 1, 8, 8);
        assertEquals(List.of("stem", "p1", "p2", "p3", "head"), g.groups().stream().map(ChannelGroup::name).toList());
        assertEquals(List.of(new Consumer("head", 1, 0)), g.group("p1").consumers());
        ChannelGroup p2 = g.group("p2");
        assertEquals(List.of("dw"), p2.depthwise());
        assertEquals(List.of("dw_bn", "bn"), p2.norms());
        assertEquals(3, p2.offsetIn("bn"));
        assertEquals(List.of(new Consumer("head", 1, 7)), g.group("p3").consumers());
        assertEquals(List.of(new Consumer("fc", 16, 0)), g.group("head").consumers());
    }

    @Test
    void aResidualGroupIsRankedByTheMeanOfItsProducersFilterNorms() {
        Graph m = resnet(4, 1);
        ChannelGroup res = DependencyGraph.analyze(m, 1, 1, 8, 8).group("b2");
        float[] b2 = ((Conv2d) m.node("b2")).weight().toArray(), proj = ((Conv2d) m.node("proj")).weight().toArray();
        double expected = 0;
        for (int j = 0; j < 8 * 9; j++) expected += Math.abs(b2[3 * 8 * 9 + j]) / (8 * 9);   // filter 3 of b2: [8, 3, 3]
        for (int j = 0; j < 6; j++) expected += Math.abs(proj[3 * 6 + j]) / 6;               // filter 3 of proj: [6, 1, 1]
        assertEquals(expected / 2, Importance.filterL1(m, res, true)[3], 1e-6);
    }

    @Test
    void aGroupedConvThatIsNotDepthwiseStopsTheAnalysis() {
        Graph m = new Graph().add("c1", new Conv2d(1, 4, 1, 0, new Random(0)))
                .add("c2", new Conv2d(4, 4, 1, 1, 0, 2, true, new Random(0))).add("flat", new Flatten()).add("fc", new Linear(4, 2, new Random(0)));
        var e = assertThrows(IllegalArgumentException.class, () -> DependencyGraph.analyze(m, 1, 1, 1, 1));
        assertTrue(e.getMessage().contains("c2") && e.getMessage().contains("groups=2"), e.getMessage());
    }

    /** The kept channels of every group: a few, not the first ones. */
    private static Map<String, int[]> plan(DependencyGraph g) {
        Map<String, int[]> keep = new HashMap<>();
        for (ChannelGroup group : g.groups()) {
            int n = group.channels();
            keep.put(group.name(), n <= 2 ? new int[]{n - 1} : new int[]{0, n / 2, n - 1});
        }
        return keep;
    }

    /** Zeroes channel c of every member of each group not kept: exactly, or keeping its constant ({@code keepConstant}). */
    private static void mask(Module m, DependencyGraph g, Map<String, int[]> keep, boolean keepConstant) {
        for (ChannelGroup group : g.groups()) {
            if (!keep.containsKey(group.name())) continue;
            for (int c : Slices.complement(keep.get(group.name()), group.channels())) {
                for (String p : group.producers()) {
                    Nets.setRow(m.module(p), "weight", c, 0f);
                    if (!keepConstant && m.module(p).hasParameter("bias")) Nets.setRow(m.module(p), "bias", c, 0f);
                }
                for (String n : group.norms()) {
                    Nets.setRow(m.module(n), "weight", group.offsetIn(n) + c, 0f);
                    if (!keepConstant) Nets.setRow(m.module(n), "bias", group.offsetIn(n) + c, 0f);
                }
                for (String d : group.depthwise())
                    if (!keepConstant) {
                        Nets.setRow(m.module(d), "weight", group.offsetIn(d) + c, 0f);
                        Nets.setRow(m.module(d), "bias", group.offsetIn(d) + c, 0f);
                    }
            }
        }
    }

    private static void checkAgainstMask(Graph sliced, Graph masked, int size, boolean fold, Set<String> groups, String what) {
        Nets.randomiseNorms(sliced, 5);
        Nets.randomiseNorms(masked, 5);
        Tensor x = Tensor.randn(7, 3, 1, size, size);
        DependencyGraph g = DependencyGraph.analyze(sliced, 1, 1, size, size);
        Map<String, int[]> keep = plan(g);
        keep.keySet().retainAll(groups);
        long before = sliced.parameterCount();
        mask(masked, g, keep, fold);
        Slicer.slice(sliced, g, keep, fold);
        assertTrue(sliced.parameterCount() < before, what + ": " + sliced.parameterCount() + " of " + before + " parameters left");
        Close.assertClose(what, run(masked, x), run(sliced, x), 1e-4, 1e-4);
    }

    @Test
    void slicedResNetEqualsTheMaskedOne() {
        checkAgainstMask(resnet(1, 1), resnet(1, 1), 8, false, Set.of("stem", "a1", "a2", "b2"), "residual graph, channels zeroed");
    }

    @Test
    void slicedInceptionWithDepthwiseEqualsTheMaskedOne() {
        checkAgainstMask(inception(2), inception(2), 8, false, Set.of("stem", "p1", "p2", "p3", "head"), "concat + depthwise graph, channels zeroed");
    }

    /**
     * The mask keeps a pruned channel's bias but zeroes its whole weight row, so the groups pruned together here
     * do not feed each other's producers (where they do, the slicer also folds the upstream constant into the
     * pruned row's bias, which the mask cannot show).
     */
    @Test
    void foldingCarriesTheConstantsThroughResidualAddsExactlyWithoutPadding() {
        for (Set<String> groups : List.of(Set.of("stem"), Set.of("a2"), Set.of("a1", "b2")))
            checkAgainstMask(resnet(3, 0), resnet(3, 0), 8, true, groups, "1×1 residual graph, " + groups + " folded");
    }
}
