package dev.shears.prune;

import dev.shears.core.Tensor;
import dev.shears.nn.Conv2d;
import dev.shears.nn.Sequential;
import dev.shears.nn.SimpleCNN;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class PrunerTest {

    @Test
    void aThresholdThatWouldEmptyALayerKeepsTheMinimumAndWarns() {
        Sequential m = SimpleCNN.create(4, 6, 8, 0);   // every γ is 1
        PruneResult r = new Pruner(Method.SLIM, Criterion.threshold(2.0)).prune(m, 1, 1, 28, 28);
        assertEquals(Map.of("conv1", 1, "conv2", 1), r.channelsAfter());
        assertEquals(2, r.warnings().size(), r.warnings().toString());
        assertTrue(r.warnings().getFirst().startsWith("conv1: threshold 2.0 would keep 0 of 4"), r.warnings().getFirst());
        assertArrayEquals(new int[]{1, 10}, m.forward(Tensor.randn(1, 1, 1, 28, 28)).shape());
    }

    @Test
    void theMinimumCanBeAFraction() {
        Sequential m = SimpleCNN.create(4, 6, 8, 0);
        PruneResult r = new Pruner(Method.SLIM, Criterion.threshold(2.0)).minKeep(MinKeep.fraction(0.5)).prune(m, 1, 1, 28, 28);
        assertEquals(Map.of("conv1", 2, "conv2", 3), r.channelsAfter());
    }

    @Test
    void aGlobalRatioRemovesThatShareOfAllGammasWhereverTheyAre() {
        Map<String, float[]> s = new LinkedHashMap<>();
        s.put("a", new float[]{0.5f, 0.01f, 0.9f, 0.02f});
        s.put("b", new float[]{0.03f, 0.8f, 0.7f, 0.6f, 0.04f, 0.05f});
        PruningPlan p = PruningPlan.select(s, Criterion.globalRatio(0.5), MinKeep.ONE);
        assertArrayEquals(new int[]{0, 2}, p.keep().get("a"));
        assertArrayEquals(new int[]{1, 2, 3}, p.keep().get("b"));
        assertEquals(5, p.removed());
        assertTrue(p.warnings().isEmpty());
        PruningPlan layer = PruningPlan.select(s, Criterion.perLayerRatio(0.5), MinKeep.ONE);
        assertArrayEquals(new int[]{0, 2}, layer.keep().get("a"));
        assertArrayEquals(new int[]{1, 2, 3}, layer.keep().get("b"));
    }

    @Test
    void slimmingLeavesConvsWithoutBatchNormAloneAndCountsWhatItSaves() {
        Sequential m = Nets.vgg(1);
        Nets.randomiseNorms(m, 2);
        PruneResult r = new Pruner(Method.SLIM, Criterion.perLayerRatio(0.5)).prune(m, 1, 1, 12, 12);
        assertEquals(List.of("b1.conv", "b2.conv"), List.copyOf(r.channelsAfter().keySet()));
        assertEquals(Map.of("b1.conv", 3, "b2.conv", 4), r.channelsAfter());
        // b1: 3·9+3 + BN 2·3; b2: 4·3·9 + BN 2·4; b3: 10·4·9+10; fc1 40·12+12; fc2 12·5+5
        assertEquals(30 + 6 + 108 + 8 + 370 + 492 + 65, r.after().parameters());
        assertEquals(Nets.vgg(1).parameterCount(), r.before().parameters());
        // FLOPs per image, 2·MACs: b1 6·6 → 12·12·3·9; b2 4·4·4·3·9; b3 2·2·10·4·9; fc 40·12 + 12·5
        assertEquals(2L * (144 * 27 + 16 * 108 + 4 * 360 + 480 + 60), r.after().flops());
        assertArrayEquals(new int[]{2, 5}, m.forward(Tensor.randn(1, 2, 1, 12, 12)).shape());
    }

    @Test
    void l1FilterPruningRemovesTheSmallestFilters() {
        Sequential m = Nets.vgg(1);
        Conv2d c3 = (Conv2d) m.module("b3.conv");
        float[] w = c3.weight().toArray();
        for (int j = 0; j < 72; j++) { w[4 * 72 + j] *= 0.01f; w[9 * 72 + j] *= 0.02f; }
        c3.setParameter("weight", Tensor.of(w, 10, 8, 3, 3));
        PruneResult r = new Pruner(Method.L1, Criterion.perLayerRatio(0.2)).prune(m, 1, 1, 12, 12);
        assertArrayEquals(new int[]{0, 1, 2, 3, 5, 6, 7, 8}, r.plan().keep().get("b3.conv"));
        assertEquals(List.of("b1.conv", "b2.conv", "b3.conv"), List.copyOf(r.channelsAfter().keySet()));
        assertEquals(8 * 4, ((dev.shears.nn.Linear) m.child("fc1")).inFeatures());
    }

    @Test
    void l1CanPruneHiddenUnitsOfALinearChain() {
        Sequential m = Nets.mlp(3);
        PruneResult r = new Pruner(Method.L1, Criterion.perLayerRatio(0.5)).includeLinear(true).prune(m, 1, 16);
        assertEquals(Map.of("fc1", 5, "fc2", 4), r.channelsAfter());
        // fc1 16·5+5, fc2 5·4 (no bias at first; the folded constants of fc1's pruned units add one: +4), fc3 4·3+3
        assertEquals(85 + 20 + 4 + 15, r.after().parameters());
        assertArrayEquals(new int[]{2, 3}, m.forward(Tensor.randn(4, 2, 16)).shape());
        assertThrows(IllegalArgumentException.class, () -> new Pruner(Method.L1, Criterion.perLayerRatio(0.5)).prune(Nets.mlp(3), 1, 16));
    }

    @Test
    void sparsityPenaltyIsLambdaTimesTheSumOfAbsoluteGammas() {
        Sequential m = SimpleCNN.create(2, 3, 4, 0);
        Nets.set(m.child("bn1"), "weight", new int[]{0}, -0.5f);
        Sparsity s = Sparsity.bnScales(0.1f);
        assertEquals(0.1f * (0.5f + 1 + 3), s.penalty(m).item(), 1e-6);
        s.addSubgradient(m);
        assertArrayEquals(new float[]{-0.1f, 0.1f}, m.child("bn1").parameter("weight").grad().toArray(), 1e-7f);
        assertEquals(2, Sparsity.convWeights(1f).targets(m).size());
    }
}
