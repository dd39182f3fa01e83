package dev.shears.prune;

import dev.shears.core.Tensor;
import dev.shears.nn.Module;
import dev.shears.nn.ReLU;
import dev.shears.nn.Sequential;
import dev.shears.nn.SimpleCNN;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class DependencyGraphTest {

    @Test
    void simpleCnnHasThreeGroupsAndFlattenOwnsFortyNineFeaturesPerChannel() {
        DependencyGraph g = DependencyGraph.analyze(SimpleCNN.create(4, 6, 8, 0), 1, 1, 28, 28);
        assertEquals(List.of("conv1", "conv2", "fc1"), g.groups().stream().map(ChannelGroup::name).toList());
        ChannelGroup c1 = g.group("conv1"), c2 = g.group("conv2"), fc1 = g.group("fc1");
        assertEquals(List.of("bn1"), c1.norms());
        assertEquals(List.of("bn1", "relu1", "pool1"), c1.between());
        assertEquals(List.of(new Consumer("conv2", 1)), c1.consumers());
        assertEquals(List.of(new Consumer("fc1", 49)), c2.consumers());
        assertEquals(6, c2.channels());
        assertFalse(fc1.hasNorm());
        assertEquals(List.of(new Consumer("fc2", 1)), fc1.consumers());
        assertArrayEquals(new int[]{1, 6, 7, 7}, g.inputShapeOf("flatten"));
    }

    @Test
    void nestedBlocksAreOneChain() {
        DependencyGraph g = DependencyGraph.analyze(Nets.vgg(0), 1, 1, 12, 12);
        assertEquals(List.of("b1.conv", "b2.conv", "b3.conv", "fc1"), g.groups().stream().map(ChannelGroup::name).toList());
        assertEquals(List.of(new Consumer("fc1", 4)), g.group("b3.conv").consumers());
        assertFalse(g.group("b3.conv").hasNorm());
    }

    @Test
    void linearChainsAreGroupsToo() {
        DependencyGraph g = DependencyGraph.analyze(Nets.mlp(0), 2, 16);
        assertEquals(List.of("fc1", "fc2"), g.groups().stream().map(ChannelGroup::name).toList());
    }

    @Test
    void anUnknownLayerStopsTheAnalysisWithItsName() {
        Module odd = new Module() { @Override public Tensor forward(Tensor x) { return x; } };
        Sequential m = new Sequential().add("relu", new ReLU()).add("mystery", odd);
        var e = assertThrows(IllegalArgumentException.class, () -> DependencyGraph.analyze(m, 1, 4));
        assertTrue(e.getMessage().contains("mystery"), e.getMessage());
    }

    @Test
    void theDummyForwardLeavesRunningStatisticsAndModeAlone() {
        Sequential m = SimpleCNN.create(4, 6, 8, 0);
        m.train();
        DependencyGraph.analyze(m, 1, 1, 28, 28);
        assertTrue(m.isTraining());
        assertEquals(0f, m.stateDict().get("bn1.num_batches_tracked").item());
    }
}
