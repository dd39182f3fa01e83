package dev.shears.prune;

import dev.shears.core.GradMode;
import dev.shears.core.Tensor;
import dev.shears.core.testing.Close;
import dev.shears.nn.Conv2d;
import dev.shears.nn.Linear;
import dev.shears.nn.Module;
import dev.shears.nn.Sequential;
import dev.shears.nn.SimpleCNN;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class SlicerTest {

    private static float[] run(Module m, Tensor x) {
        m.eval();
        try (GradMode ignored = GradMode.off()) { return m.forward(x).toArray(); }
    }

    @Test
    void slicedSimpleCnnHasThePlannedShapesAndTheParameterCountOfTheNarrowerNetwork() {
        Sequential m = SimpleCNN.create(6, 8, 12, 1);
        DependencyGraph g = DependencyGraph.analyze(m, 1, 1, 28, 28);
        Slicer.slice(m, g, Map.of("conv1", new int[]{0, 2, 5}, "conv2", new int[]{1, 3, 4, 7}, "fc1", new int[]{0, 1, 2, 3, 4, 11}), true);
        assertEquals(SimpleCNN.create(3, 4, 6, 0).parameterCount(), m.parameterCount());
        assertArrayEquals(new int[]{3, 1, 3, 3}, ((Conv2d) m.child("conv1")).weight().shape());
        assertArrayEquals(new int[]{4, 3, 3, 3}, ((Conv2d) m.child("conv2")).weight().shape());
        assertArrayEquals(new int[]{3}, m.child("bn1").buffer("running_var").shape());
        assertEquals(4 * 49, ((Linear) m.child("fc1")).inFeatures());
        assertArrayEquals(new int[]{2, 10}, m.forward(Tensor.randn(3, 2, 1, 28, 28)).shape());
    }

    @Test
    void keptChannelsKeepTheirWeights() {
        Sequential m = SimpleCNN.create(6, 8, 12, 1);
        float[] w2 = ((Conv2d) m.child("conv2")).weight().toArray();   // [8, 6, 3, 3]
        float[] fc1 = ((Linear) m.child("fc1")).weight().toArray();   // [12, 8·49]
        Slicer.slice(m, DependencyGraph.analyze(m, 1, 1, 28, 28), Map.of("conv1", new int[]{1, 4}, "conv2", new int[]{2, 6}), false);
        float[] w2s = ((Conv2d) m.child("conv2")).weight().toArray();   // [2, 2, 3, 3]
        // output 1 (was 6), input 1 (was 4), tap 5
        assertEquals(w2[(6 * 6 + 4) * 9 + 5], w2s[(1 * 2 + 1) * 9 + 5]);
        float[] fc1s = ((Linear) m.child("fc1")).weight().toArray();    // [12, 2·49]
        // row 3, channel 1 (was 6), feature 10 of its 49
        assertEquals(fc1[3 * 392 + 6 * 49 + 10], fc1s[3 * 98 + 49 + 10]);
    }

    @Test
    void channelsWithZeroGammaBeforeAFlattenAndLinearLeaveTheOutputsUnchanged() {
        Sequential m = SimpleCNN.create(4, 6, 8, 2);
        Nets.randomiseNorms(m, 3);
        Nets.set(m.child("bn2"), "weight", new int[]{0, 3, 4}, 0f);    // β of channel 0 and 3 and 4 stays: positive or negative
        Tensor x = Tensor.randn(4, 2, 1, 28, 28);
        float[] expected = run(m, x);
        Slicer.slice(m, DependencyGraph.analyze(m, 1, 1, 28, 28), Map.of("conv2", new int[]{1, 2, 5}), true);
        assertEquals(3 * 49, ((Linear) m.child("fc1")).inFeatures());
        Close.assertClose("SimpleCNN, conv2 pruned where γ = 0", expected, run(m, x), 1e-5, 0);
    }

    @Test
    void channelsWithZeroGammaBeforeAnUnpaddedConvLeaveTheOutputsUnchanged() {
        Sequential m = Nets.vgg(4);
        Nets.randomiseNorms(m, 5);
        // b1.conv feeds b2.conv (unpadded, no bias: the constant goes into b2.bn's running mean);
        // b2.conv feeds b3.conv (unpadded, with bias)
        Nets.set(m.module("b1.bn"), "weight", new int[]{1, 2, 4}, 0f);
        Nets.set(m.module("b2.bn"), "weight", new int[]{0, 5, 6, 7}, 0f);
        Tensor x = Tensor.randn(6, 3, 1, 12, 12);
        float[] expected = run(m, x);
        var r = Slicer.slice(m, DependencyGraph.analyze(m, 1, 1, 12, 12),
                Map.of("b1.conv", new int[]{0, 3, 5}, "b2.conv", new int[]{1, 2, 3, 4}), true);
        assertTrue(r.notes().isEmpty(), r.notes().toString());
        assertEquals(3, ((Conv2d) m.module("b2.conv")).inChannels());
        Close.assertClose("VGG, unpadded consumers", expected, run(m, x), 1e-5, 0);
    }

    @Test
    void withoutFoldingTheSameCutChangesTheOutputs() {
        Sequential m = Nets.vgg(4);
        Nets.randomiseNorms(m, 5);
        Nets.set(m.module("b2.bn"), "weight", new int[]{0, 5, 6, 7}, 0f);
        Tensor x = Tensor.randn(6, 3, 1, 12, 12);
        float[] expected = run(m, x);
        Slicer.slice(m, DependencyGraph.analyze(m, 1, 1, 12, 12), Map.of("b2.conv", new int[]{1, 2, 3, 4}), false);
        float[] actual = run(m, x);
        double max = 0;
        for (int i = 0; i < actual.length; i++) max = Math.max(max, Math.abs(actual[i] - expected[i]));
        assertTrue(max > 1e-3, "β of the pruned channels should matter, max difference " + max);
    }

    @Test
    void deadLinearUnitsFoldIntoAnAddedBias() {
        Sequential m = Nets.mlp(6);
        // fc1 units 2 and 7 see no input: they output relu(bias) for every sample, which fc2 (no bias) must absorb
        Module fc1 = m.child("fc1");
        float[] w = fc1.parameter("weight").toArray();
        for (int unit : new int[]{2, 7}) for (int j = 0; j < 16; j++) w[unit * 16 + j] = 0f;
        fc1.setParameter("weight", Tensor.of(w, 10, 16));
        Nets.set(fc1, "bias", new int[]{2}, 0.7f);
        Tensor x = Tensor.randn(7, 5, 16);
        float[] expected = run(m, x);
        var r = Slicer.slice(m, DependencyGraph.analyze(m, 1, 16), Map.of("fc1", new int[]{0, 1, 3, 4, 5, 6, 8, 9}), true);
        assertTrue(m.child("fc2").hasParameter("bias"));
        assertEquals(1, r.notes().size(), r.notes().toString());
        Close.assertClose("MLP, fc1 pruned", expected, run(m, x), 1e-5, 0);
    }

    @Test
    void aPaddedConsumerIsFoldedApproximatelyAndSaysSo() {
        Sequential m = SimpleCNN.create(4, 6, 8, 2);
        Nets.randomiseNorms(m, 3);
        var r = Slicer.slice(m, DependencyGraph.analyze(m, 1, 1, 28, 28), Map.of("conv1", new int[]{0, 1}), true);
        assertTrue(r.notes().getFirst().contains("padding"), r.notes().toString());
    }

    @Test
    void keepingNoChannelOrUnsortedChannelsIsRefused() {
        Sequential m = SimpleCNN.create(4, 6, 8, 2);
        DependencyGraph g = DependencyGraph.analyze(m, 1, 1, 28, 28);
        assertThrows(IllegalArgumentException.class, () -> Slicer.slice(m, g, Map.of("conv1", new int[0]), true));
        assertThrows(IllegalArgumentException.class, () -> Slicer.slice(m, g, Map.of("conv1", new int[]{2, 1}), true));
        assertThrows(IllegalArgumentException.class, () -> Slicer.slice(m, g, Map.of("nope", new int[]{1}), true));
        assertEquals(4, ((Conv2d) m.child("conv1")).outChannels());
    }
}
