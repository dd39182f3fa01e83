package dev.shears.nn;

import dev.shears.core.Tensor;
import dev.shears.core.reference.ReferenceBackend;
import dev.shears.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static dev.shears.core.testing.Close.assertClose;
import static org.junit.jupiter.api.Assertions.*;

/**
 * {@link Predictor} on {@link Graph} models built by hand, against the graph's own eval-mode forward pass on
 * the scalar ReferenceBackend (an independent oracle: other kernels, no rewrites of the Predictor's): residual
 * additions (one of three inputs, one read twice), a stride-2 block with a 1×1 shortcut, a depthwise conv, a
 * concatenation, average and global average pooling, a BatchNorm and a ReLU on values that other nodes read
 * too, Dropout, Identity, and a Sequential inside the graph. (The ONNX fixtures are in the onnx module's tests.)
 */
class PredictorGraphTest {

    private static final int[] EXAMPLE = {3, 12, 10};

    /** The graph described above; node names say what each does. */
    static Graph model(long seed) {
        Random init = new Random(seed);
        return new Graph()
                .add("stem", new Sequential()
                        .add("conv", new Conv2d(3, 8, 3, 1, 1, false, init))
                        .add("bn", new BatchNorm2d(8))
                        .add("relu", new ReLU()))
                .add("conv1", new Conv2d(8, 8, 3, 1, 1, false, init))
                .add("bn1", new BatchNorm2d(8))
                .add("relu1", new ReLU())
                .add("conv2", new Conv2d(8, 8, 3, 1, 1, false, init))
                .add("bn2", new BatchNorm2d(8))
                .add("add1", new Add(), "bn2", "stem", "stem")             // stem read twice more: never written over
                .add("relu2", new ReLU())
                .add("down", new Conv2d(8, 12, 3, 2, 1, false, init))      // [12, 6, 5]
                .add("bn3", new BatchNorm2d(12))
                .add("short", new Conv2d(8, 12, 1, 2, 0, true, init), "relu2")
                .add("add2", new Add(), "bn3", "short")
                .add("relu3", new ReLU())                                   // add2 is read by avg too: not in place
                .add("dw", new Conv2d(12, 12, 3, 1, 1, 12, false, init), "relu3")
                .add("bn4", new BatchNorm2d(12))
                .add("relu4", new ReLU())
                .add("pw", new Conv2d(12, 6, 1, 1, 0, true, init))
                .add("avg", new AvgPool2d(3, 1, 1, false), "add2")
                .add("proj", new Conv2d(12, 4, 1, 1, 0, true, init))
                .add("cat", new Concat(1), "pw", "proj", "relu3")          // [22, 6, 5]
                .add("bn5", new BatchNorm2d(22))                            // a BatchNorm with no conv before it
                .add("pool", new MaxPool2d(2))                              // [22, 3, 2]
                .add("relu5", new ReLU())
                .add("gap", new GlobalAvgPool2d())
                .add("flat", new Flatten())
                .add("drop", new Dropout(0.5f))
                .add("fc", new Linear(22, 5, init))
                .add("out", new Identity());
    }

    private static void randomiseBatchNorms(Module model, long seed) { PredictorTest.randomiseBatchNorms(model, seed); }

    private static float[] forward(Module model, float[] images, int n, int... example) {
        return PredictorTest.forward(model, images, n, example);
    }

    private static int size(int[] shape) { return PredictorTest.size(shape); }

    private static float[] predict(Predictor p, float[] images, int n) { return PredictorTest.predict(p, images, n); }

    @Test
    void aGraphGivesTheReferenceBackendsForwardPass() {
        Graph model = model(5);
        randomiseBatchNorms(model, 3);
        model.train();                                     // eval-mode semantics whatever the mode (Dropout too)
        assertTrue(Predictor.supports(model));
        Predictor p = Predictor.of(model, 4, EXAMPLE);
        assertArrayEquals(new int[]{5}, p.outputShape());
        assertEquals("Predictor([3, 12, 10] → [5], batches up to 4, on " + model.backend() + ": stem.conv+stem.bn+stem.relu → "
                + "conv1+bn1+relu1 → conv2+bn2 → add1+relu2 → down+bn3 → short+add2 → relu3 → dw+bn4+relu4 → pw → avg → proj → "
                + "cat → bn5 → pool+relu5 → gap → fc)", p.toString());
        Graph onReference = model(5);
        randomiseBatchNorms(onReference, 3);
        onReference.to(ReferenceBackend.INSTANCE);
        float[] images = Tensor.randn(9, 4 * size(EXAMPLE)).toArray();
        float[] expected = forward(onReference, images, 4, EXAMPLE);
        assertClose("graph, batch 4", expected, predict(p, images, 4), 1e-5, 1e-4);
        assertClose("graph, batch 1", Arrays.copyOf(expected, 5), predict(p, images, 1), 1e-5, 1e-4);
        assertClose("graph, the model's own forward", forward(model, images, 3, EXAMPLE), predict(p, images, 3), 1e-5, 1e-4);
        assertTrue(model.isTraining(), "building and calling leave the model's mode alone");
        Predictor ref = Predictor.of(onReference, 4, EXAMPLE);
        assertClose("graph on the reference backend", expected, predict(ref, images, 4), 1e-6, 1e-5);
    }

    /**
     * A batch of at least two chunks per thread runs chunk by chunk, each chunk through every step on one
     * thread: the same bits as each chunk predicted on its own (the same kernels for the same number of
     * examples), and the reference backend's values.
     */
    @Test
    void aLargeBatchOnTwoThreadsRunsInChunksWithTheSameBits() {
        Graph model = model(5);
        randomiseBatchNorms(model, 3);
        Graph onReference = model(5);
        randomiseBatchNorms(onReference, 3);
        onReference.to(ReferenceBackend.INSTANCE);
        model.to(new CpuBackend(true, 2));
        int n = 4 * Predictor.CHUNK + 6, size = size(EXAMPLE);   // four chunks of CHUNK + 1 or + 2 examples
        Predictor p = Predictor.of(model, n, EXAMPLE);
        float[] images = Tensor.randn(11, n * size).toArray();
        float[] all = predict(p, images, n);
        for (int c = 0; c < 4; c++) {
            int first = c * n / 4, count = (c + 1) * n / 4 - first;
            float[] alone = predict(p, Arrays.copyOfRange(images, first * size, (first + count) * size), count);
            assertArrayEquals(alone, Arrays.copyOfRange(all, first * 5, (first + count) * 5), "chunk " + c + " of a batch of " + n);
        }
        assertClose("graph, batch " + n + " in chunks", forward(onReference, images, n, EXAMPLE), all, 1e-5, 1e-4);
    }

    /**
     * A residual Add (and its ReLU) runs in the convolution that computes one of its inputs: written over the
     * shortcut where nothing reads it afterwards, into a copy of it where something does, and not at all when
     * the shortcut is the convolution's own input (the sum would overwrite what the convolution reads).
     */
    @Test
    void aResidualAddRunsInItsConvolution() {
        Random init = new Random(2);
        Graph g = new Graph()
                .add("c0", new Conv2d(4, 6, 3, 1, 1, true, init))
                .add("c1", new Conv2d(6, 6, 3, 1, 1, true, init))
                .add("c2", new Conv2d(6, 6, 3, 1, 1, true, init))
                .add("self", new Add(), "c2", "c0")                       // c0 read again by "again": into a copy
                .add("r1", new ReLU())
                .add("c3", new Conv2d(6, 6, 3, 1, 1, false, init), "r1")
                .add("bn3", new BatchNorm2d(6))
                .add("add2", new Add(), "bn3", "c1")                      // c1's last reader: in place
                .add("c4", new Conv2d(6, 6, 3, 1, 1, true, init))
                .add("own", new Add(), "c4", "add2")                      // the shortcut is c4's own input: no fusion
                .add("again", new Add(), "own", "c0");
        randomiseBatchNorms(g, 4);
        Predictor p = Predictor.of(g, 3, 4, 7, 9);
        assertEquals("Predictor([4, 7, 9] → [6, 7, 9], batches up to 3, on " + g.backend() + ": c0 → c1 → c2+self+r1 → c3+bn3+add2 → "
                + "c4 → own → again)", p.toString());
        float[] images = Tensor.randn(3, 3 * 4 * 7 * 9).toArray();
        assertClose("residual adds in their convolutions", forward(g, images, 3, 4, 7, 9), predict(p, images, 3), 1e-5, 1e-4);
    }

    /** Values live at once, not one buffer per node: the plan reuses buffers after their last reader. */
    @Test
    void buffersAreReusedAfterTheirLastReader() {
        Graph chain = new Graph();
        Random init = new Random(1);
        chain.add("c0", new Conv2d(4, 4, 3, 1, 1, true, init));
        for (int i = 1; i < 12; i++) chain.add("r" + i, new ReLU()).add("c" + i, new Conv2d(4, 4, 3, 1, 1, true, init));
        chain.add("a", new Add(), "c11", "c0");
        Predictor p = Predictor.of(chain, 2, 4, 8, 8);
        assertTrue(p.workspaceBuffers() <= 4, "12 convolutions, 11 ReLUs and an add need at most the input, c0, and two "
                + "alternating buffers, found " + p.workspaceBuffers() + ": " + p);
        float[] images = Tensor.randn(2, 2 * 256).toArray();
        assertClose("chain with a long residual", forward(chain, images, 2, 4, 8, 8), predict(p, images, 2), 1e-5, 1e-4);
    }

    @Test
    void aGraphIsWatchedForChangesLikeASequential() {
        Graph model = model(2);
        Predictor p = Predictor.of(model, 1, EXAMPLE);
        float[] image = Tensor.randn(4, size(EXAMPLE)).toArray();
        assertTrue(p.isCurrent());
        model.replace("fc", new Linear(22, 5, new Random(9)));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> p.classify(image));
        assertTrue(e.getMessage().contains("of the model was replaced"), e.getMessage());
        Predictor q = Predictor.of(model, 1, EXAMPLE);
        ((BatchNorm2d) model.node("stem").child("bn")).runningMean().markModified();
        e = assertThrows(IllegalStateException.class, () -> q.classify(image));
        assertTrue(e.getMessage().contains("stem.bn.running_mean was modified in place"), e.getMessage());
    }

    @Test
    void refusesWhatItCannotCompileNamingTheNode() {
        Module doubler = new Module() {
            @Override public Tensor forward(Tensor x) { return x.mul(2f); }
        };
        Graph g = new Graph().add("conv", new Conv2d(1, 2, 3, 1, 1, true, new Random(0))).add("twice", doubler);
        assertFalse(Predictor.supports(g));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Predictor.of(g, 1, 1, 5, 5));
        assertTrue(e.getMessage().contains("layer twice of type"), e.getMessage());
        Graph bad = new Graph().add("a", new Conv2d(1, 2, 3, 1, 1, true, new Random(0)))
                .add("b", new Conv2d(1, 3, 3, 1, 1, true, new Random(0)), Graph.INPUT)
                .add("sum", new Add(), "a", "b");
        e = assertThrows(IllegalArgumentException.class, () -> Predictor.of(bad, 1, 1, 5, 5));
        assertEquals("Predictor: sum (Add): input 1 has shape [3, 5, 5] but input 0 has [2, 5, 5]", e.getMessage());
    }

    @Test
    void eightThreadsGiveTheSerialResultsBitForBit() throws Exception {
        Graph model = model(4);
        randomiseBatchNorms(model, 4);
        Predictor p = Predictor.of(model, 2, EXAMPLE);
        int images = 16, threads = 8, calls = 2_000;
        float[][] inputs = new float[images][], serial = new float[images][];
        for (int i = 0; i < images; i++) {
            inputs[i] = Tensor.randn(100 + i, 2 * size(EXAMPLE)).toArray();
            serial[i] = predict(p, inputs[i], 1 + i % 2);
        }
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<String>> results = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                results.add(pool.submit(() -> {
                    float[] out = new float[10];
                    for (int c = 0; c < calls; c++) {
                        int i = (c * 7 + thread) % images, n = 1 + i % 2;
                        p.predict(inputs[i], n, out);
                        if (!Arrays.equals(serial[i], Arrays.copyOf(out, 5 * n)))
                            return "thread " + thread + ", call " + c + ": " + Arrays.toString(out) + " vs " + Arrays.toString(serial[i]);
                    }
                    return null;
                }));
            }
            for (Future<String> f : results) assertNull(f.get());
        } finally {
            pool.shutdown();
        }
    }
}
