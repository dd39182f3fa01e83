package dev.shears.nn;

import dev.shears.core.GradMode;
import dev.shears.core.Tensor;
import dev.shears.core.testing.GradCheck;
import dev.shears.data.Dataset;
import dev.shears.data.Datasets;
import dev.shears.nn.io.Architecture;
import dev.shears.nn.io.Checkpoints;
import dev.shears.nn.io.SafeTensors;
import dev.shears.nn.optim.SGD;
import dev.shears.nn.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static dev.shears.core.testing.Close.assertClose;
import static org.junit.jupiter.api.Assertions.*;

class GraphTest {
    @TempDir Path dir;

    /**
     * A small ResNet-style network on 28×28 digits with every new node type: a residual block whose second
     * convolution is depthwise, a downsampling branch (stride-2 conv) concatenated with an average-pooled
     * shortcut, dropout, and features from average pooling beside global average pooling.
     */
    static Graph residualNet(long seed) {
        Random init = new Random(seed);
        return new Graph()
                .add("conv1", new Conv2d(1, 8, 3, 1, 1, false, init))
                .add("bn1", new BatchNorm2d(8))
                .add("relu1", new ReLU())
                .add("b_conv1", new Conv2d(8, 8, 3, 1, 1, false, init))
                .add("b_bn1", new BatchNorm2d(8))
                .add("b_relu", new ReLU())
                .add("b_conv2", new Conv2d(8, 8, 3, 1, 1, 8, false, init))
                .add("b_bn2", new BatchNorm2d(8))
                .add("add", new Add(), "b_bn2", "relu1")
                .add("relu2", new ReLU())
                .add("down", new Conv2d(8, 8, 3, 2, 1, true, init))
                .add("pool", new AvgPool2d(2), "relu2")
                .add("cat", new Concat(1), "down", "pool")
                .add("drop", new Dropout(0.1f))
                .add("pool2", new AvgPool2d(2))
                .add("flat", new Flatten())
                .add("gap", new GlobalAvgPool2d(), "drop")
                .add("gflat", new Flatten())
                .add("features", new Concat(1), "flat", "gflat")
                .add("fc", new Linear(16 * 49 + 16, 10, init));
    }

    /** The same network composed by hand: the oracle for the graph's wiring. */
    static Tensor byHand(Graph g, Tensor x) {
        Tensor r1 = g.node("relu1").forward(g.node("bn1").forward(g.node("conv1").forward(x)));
        Tensor b = g.node("b_relu").forward(g.node("b_bn1").forward(g.node("b_conv1").forward(r1)));
        b = g.node("b_bn2").forward(g.node("b_conv2").forward(b));
        Tensor r2 = b.add(r1).relu();
        Tensor cat = ((Concat) g.node("cat")).forward(List.of(g.node("down").forward(r2), g.node("pool").forward(r2)));
        Tensor d = g.node("drop").forward(cat);
        Tensor pooled = g.node("pool2").forward(d).flatten(1), gap = g.node("gap").forward(d).flatten(1);
        return g.node("fc").forward(((Concat) g.node("features")).forward(List.of(pooled, gap)));
    }

    @Test
    void forwardMatchesTheLayersComposedByHandInBothModes() {
        Tensor x = Tensor.randn(1, 3, 1, 28, 28);
        for (boolean training : new boolean[]{false, true}) {
            Graph g = residualNet(7), h = residualNet(7);   // twins: a training pass moves BN statistics
            g.node("drop").eval();
            h.node("drop").eval();                          // dropout's mask is the one random part
            g.train(training);
            h.train(training);
            if (training) { g.node("drop").eval(); h.node("drop").eval(); }
            Tensor y = g.forward(x), expected = byHand(h, x);
            assertArrayEquals(new int[]{3, 10}, y.shape());
            assertClose("graph vs. by hand, training=" + training, expected.toArray(), y.toArray(), 0, 0);
        }
    }

    @Test
    void inferenceFoldsConvBatchNormAndMatchesTheRecordedPass() {
        Graph g = residualNet(3);
        Tensor x = Tensor.randn(2, 4, 1, 28, 28);
        for (int i = 0; i < 3; i++) g.forward(x);          // BN statistics away from 0 and 1
        g.eval();
        Tensor recorded = g.forward(x);                    // gradients on: no rewrites
        Tensor folded;
        try (GradMode ignored = GradMode.off()) { folded = g.forward(x); }
        assertClose("folded inference vs. plain eval", recorded.toArray(), folded.toArray(), 1e-4, 1e-4);
        assertNotNull(((Conv2d) g.node("b_conv2")).fold, "the depthwise conv's BatchNorm was folded");
        assertNull(((Conv2d) g.node("down")).fold, "down is read by a Concat, not a BatchNorm");
    }

    /** A chain as a Graph runs through Inference's rewrites, exactly as the Sequential of the same layers. */
    @Test
    void aChainInferenceIsTheSequentialsBitForBit() {
        Sequential seq = SimpleCNN.create(6, 10, 20, 3);
        seq.forward(Tensor.randn(1, 4, 1, 28, 28));   // BN statistics away from 0 and 1
        Graph g = new Graph();
        for (String name : seq.names()) g.add(name, seq.child(name));
        seq.eval();
        Tensor x = Tensor.randn(2, 5, 1, 28, 28);
        try (GradMode ignored = GradMode.off()) {
            assertArrayEquals(seq.forward(x).toArray(), g.forward(x).toArray());
            assertArrayEquals(seq.forward(x).toArray(), g.forward(x).toArray(), "a second call: recycled arrays reused");
        }
        float[] recorded = g.forward(x).toArray();       // gradients on: no rewrites
        assertClose("folded vs. recorded", recorded, seq.forward(x).toArray(), 1e-4, 1e-4);
    }

    @Test
    void gradientsFlowThroughBothBranchesOfAResidual() {
        Random init = new Random(5);
        Graph g = new Graph()
                .add("conv", new Conv2d(2, 2, 3, 1, 1, true, init))
                .add("dw", new Conv2d(2, 4, 3, 2, 1, 2, true, init))
                .add("up", new Conv2d(2, 4, 1, 2, 0, true, init), Graph.INPUT)
                .add("dead", new Conv2d(2, 4, 1, 2, 0, true, init), Graph.INPUT)   // read by no one
                .add("sum", new Add(), "dw", "up", "dw")           // a node read twice by one node
                .add("cat", new Concat(1), "sum", "up")
                .add("pool", new AvgPool2d(2, 1, 1, false))
                .add("pf", new Flatten())
                .add("gap", new GlobalAvgPool2d(), "cat")
                .add("gf", new Flatten())
                .add("both", new Concat(1), "pf", "gf")
                .add("id", new Identity());
        GradCheck.check("graph", t -> g.forward(t[0]), Tensor.randn(1, 2, 2, 5, 6));
        for (var e : g.namedParameters().entrySet()) {
            if (e.getKey().startsWith("dead.")) assertNull(e.getValue().grad(), "dead is not on a path to the output");
            else assertNotNull(e.getValue().grad(), e.getKey());
        }
    }

    @Test
    void outputMayBeAnEarlierNodeAndIsKeptUntilTheEnd() {
        Graph g = new Graph()
                .add("a", new ReLU())
                .add("b", new Identity())
                .add("c", new Add(), "a", "b")
                .output("a");
        Tensor x = Tensor.of(new float[]{-1, 2}, 1, 2);
        assertArrayEquals(new float[]{0, 2}, g.forward(x).toArray());
        assertEquals("a", g.outputName());
        assertEquals(List.of("a", "b", "c"), g.nodeNames());
        assertEquals(List.of("a", "b"), g.inputsOf("c"));
        assertEquals(List.of(Graph.INPUT), g.inputsOf("a"));
    }

    @Test
    void badNamesUnknownInputsAndWrongArityAreErrorsNamingThem() {
        Graph g = new Graph().add("a", new ReLU());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> g.add("x.y", new ReLU())).getMessage().contains("x.y"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> g.add("a", new ReLU())).getMessage().contains("'a'"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> g.add(Graph.INPUT, new ReLU())).getMessage().contains(Graph.INPUT));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> g.add("b", new ReLU(), "zz")).getMessage().contains("zz"));
        var e = assertThrows(IllegalArgumentException.class, () -> g.add("b", new ReLU(), "a", Graph.INPUT));
        assertTrue(e.getMessage().contains("ReLU") && e.getMessage().contains("2"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> g.output("nope"));
        assertThrows(IllegalArgumentException.class, () -> g.replace("nope", new ReLU()));
        var add = assertThrows(IllegalArgumentException.class, () -> new Add().forward(List.of(Tensor.zeros(1, 2), Tensor.zeros(2, 1))));
        assertTrue(add.getMessage().contains("[2, 1]") && add.getMessage().contains("[1, 2]"), add.getMessage());
        assertThrows(IllegalStateException.class, () -> new Graph().forward(Tensor.zeros(1)));
    }

    @Test
    void replaceSwapsTheModuleAndKeepsTheWiring() {
        Graph g = new Graph().add("a", new ReLU()).add("b", new Identity()).add("c", new Add(), "a", "b");
        g.replace("b", new Dropout(0.5f));
        assertInstanceOf(Dropout.class, g.node("b"));
        var e = assertThrows(IllegalArgumentException.class, () -> g.replace("c", new ReLU()));
        assertTrue(e.getMessage().contains("'c'"), e.getMessage());
        g.eval();
        assertArrayEquals(new float[]{2, 0}, g.forward(Tensor.of(new float[]{1, -1}, 1, 2)).toArray());
    }

    @Test
    void checkpointRebuildsTheGraphFromItsMetadata() throws Exception {
        Graph g = residualNet(11);
        Graph outer = new Graph()
                .add("body", g)
                .add("head", new Sequential().add("act", new ReLU()).add("fc", new Linear(10, 3, false, new Random(1))));
        outer.forward(Tensor.randn(3, 2, 1, 28, 28));      // move BN statistics
        outer.eval();
        Path file = dir.resolve("graph.safetensors");
        Checkpoints.save(outer, file);
        assertNotNull(SafeTensors.read(file).metadata().get(Architecture.KEY));

        Module back = Checkpoints.loadModel(file);
        Graph loaded = assertInstanceOf(Graph.class, back);
        assertEquals(Architecture.toJson(outer), Architecture.toJson(loaded));
        assertEquals(List.of("b_bn2", "relu1"), ((Graph) loaded.node("body")).inputsOf("add"));
        assertEquals(8, ((Conv2d) ((Graph) loaded.node("body")).node("b_conv2")).groups());
        loaded.eval();
        Tensor x = Tensor.randn(4, 2, 1, 28, 28);
        assertClose("reloaded graph", outer.forward(x).toArray(), loaded.forward(x).toArray(), 0, 0);

        Path cnn = dir.resolve("cnn.safetensors");
        Checkpoints.save(SimpleCNN.create(3, 4, 5, 1), cnn);
        assertInstanceOf(Sequential.class, Checkpoints.loadModel(cnn), "no architecture metadata: a SimpleCNN");
    }

    @Test
    void architectureErrorsNameTheProblem() {
        var e = assertThrows(IllegalArgumentException.class, () -> Architecture.fromJson(
                "{\"type\":\"Graph\",\"output\":\"a\",\"nodes\":[{\"name\":\"a\",\"inputs\":[\"input\"],\"module\":{\"type\":\"Softmax\"}}]}"));
        assertTrue(e.getMessage().contains("Softmax") && e.getMessage().contains("model.a"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Architecture.fromJson(
                "{\"type\":\"Graph\",\"output\":\"a\",\"nodes\":[{\"name\":\"a\",\"inputs\":[\"input\"],\"module\":{\"type\":\"Conv2d\",\"in\":1}}]}"));
        assertTrue(e.getMessage().contains("'out'"), e.getMessage());
        Module custom = new Module() { @Override public Tensor forward(Tensor x) { return x; } };
        assertThrows(IllegalArgumentException.class, () -> Architecture.toJson(new Graph().add("c", custom)));
    }

    @Test
    void summaryListsEveryNodeWithGroupedConvolutionFlops() {
        Graph g = residualNet(1);
        List<Summary.Layer> rows = Summary.of(g, 1, 28, 28);
        assertEquals(g.nodeNames(), rows.stream().map(Summary.Layer::name).toList());
        Summary.Layer dw = rows.get(g.nodeNames().indexOf("b_conv2"));
        assertEquals(2L * 1 * 9 * 8 * 28 * 28, dw.flops(), "depthwise: one input channel per filter");
        assertEquals(8 * 9, dw.parameters());
        Summary.Layer cat = rows.get(g.nodeNames().indexOf("cat"));
        assertArrayEquals(new int[]{16, 14, 14}, cat.outputShape());
        assertEquals(8L * 28 * 28, rows.get(g.nodeNames().indexOf("add")).flops());
        assertEquals(16L * 14 * 14, rows.get(g.nodeNames().indexOf("gap")).flops());
        assertTrue(g.isTraining(), "Summary restores the mode");
    }

    @Test
    void dropoutZeroesAboutPAndScalesTheRestInTrainingOnly() {
        Dropout d = new Dropout(0.25f, 3);
        Tensor x = Tensor.ones(1, 4000).requiresGrad(true);
        float[] y = d.forward(x).toArray();
        int zeros = 0;
        for (float v : y) {
            if (v == 0) zeros++;
            else assertEquals(1f / 0.75f, v, 1e-6);
        }
        assertEquals(1000, zeros, 100, "about p of the elements are dropped");
        d.eval();
        assertSame(x, d.forward(x), "identity in evaluation");
        d.train();
        Tensor out = d.forward(x);
        out.sum().backward();
        assertArrayEquals(out.toArray(), x.grad().toArray(), "the gradient is the mask");
    }

    @Test
    void trainsOnDigits() throws Exception {
        Dataset data = Datasets.embeddedDigits().train().first(160);
        Graph g = residualNet(2);
        Trainer trainer = new Trainer(g, new SGD(g.parameters(), 0.05f, 0.9f, 0f));
        double[] loss = new double[3];
        for (int epoch = 0; epoch < loss.length; epoch++) loss[epoch] = trainer.trainEpoch(data, 32, 1, epoch).loss();
        System.out.println("graph training losses " + Arrays.toString(loss) + ", eval " + Trainer.evaluate(g, data, 128));
        assertTrue(loss[2] < loss[0] * 0.5, "training loss by epoch " + Arrays.toString(loss));
    }
}
