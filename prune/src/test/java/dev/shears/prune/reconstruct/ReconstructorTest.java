package dev.shears.prune.reconstruct;

import dev.shears.core.Tensor;
import dev.shears.data.Dataset;
import dev.shears.data.Datasets;
import dev.shears.nn.BatchNorm2d;
import dev.shears.nn.Conv2d;
import dev.shears.nn.Flatten;
import dev.shears.nn.Linear;
import dev.shears.nn.MaxPool2d;
import dev.shears.nn.ReLU;
import dev.shears.nn.Sequential;
import dev.shears.nn.SimpleCNN;
import dev.shears.prune.DependencyGraph;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class ReconstructorTest {
    static Dataset digits, small;

    @BeforeAll
    static void load() throws IOException {
        Dataset test = Datasets.embeddedDigits().test();
        digits = test.first(300);
        small = test.first(40);
    }

    /** A narrow SimpleCNN whose BatchNorms are not the identity, so slicing them is visible. */
    static Sequential model(long seed) {
        Sequential m = SimpleCNN.create(6, 8, 12, seed);
        for (String bn : List.of("bn1", "bn2")) {
            BatchNorm2d b = (BatchNorm2d) m.child(bn);
            int c = b.channels();
            b.setParameter("weight", Tensor.uniform(seed + 1, 0.5f, 1.5f, c));
            b.setParameter("bias", Tensor.uniform(seed + 2, -0.2f, 0.2f, c));
            b.setParameter("running_mean", Tensor.uniform(seed + 3, -0.1f, 0.1f, c));
            b.setParameter("running_var", Tensor.uniform(seed + 4, 0.5f, 1.5f, c));
        }
        return m;
    }

    @Test
    void findsTheTwoSitesOfSimpleCNN() {
        Sequential model = SimpleCNN.create(6, 8, 12, 0);
        List<Site> sites = Site.find(model, DependencyGraph.analyze(model, 1, 1, 28, 28));
        assertEquals(2, sites.size());
        assertEquals(new Site(0, "conv1", "bn1", 4, "conv2", 6, 9), sites.get(0));
        assertEquals(new Site(4, "conv2", "bn2", 9, "fc1", 8, 49), sites.get(1));
    }

    @Test
    void keepingEveryChannelReproducesTheOriginalOutputs() {
        // with nothing removed, the sampled patches times the original weights must give the layer's output
        // exactly (up to float rounding): this checks that X and Y are sampled at the same positions
        ReconstructionResult r = Reconstructor.prune(model(1), 0.0, Selection.L1, new Samples(digits, 16, 5, 3));
        for (LayerReport l : r.layers()) {
            assertEquals(l.channelsBefore(), l.channelsAfter());
            assertTrue(l.naiveError() < 1e-5, l.consumer() + " naive " + l.naiveError());
            assertTrue(l.lsError() < 1e-3, l.consumer() + " LS " + l.lsError());
        }
    }

    @Test
    void leastSquaresBeatsNaiveSlicingAndTheModelShrinks() {
        Sequential model = model(2);
        Tensor x = Tensor.of(Arrays.copyOf(digits.images(), 2 * 784), 2, 1, 28, 28);
        ReconstructionResult r = Reconstructor.prune(model, 0.5, Selection.LASSO, new Samples(digits, 300, 4, 0));
        for (LayerReport l : r.layers()) {   // 300 rows for fc1's 4·49 unknowns: determined, so the errors mean something
            assertEquals(l.channelsBefore() / 2, l.channelsAfter());
            assertTrue(l.lsError() < 0.9 * l.naiveError(), l.consumer() + ": LS " + l.lsError() + " vs naive " + l.naiveError());
            assertTrue(l.lsError() > 0 && Double.isFinite(l.lsError()));
        }
        assertEquals(3, ((Conv2d) model.child("conv1")).outChannels());
        assertArrayEquals(new int[]{4, 3, 3, 3}, ((Conv2d) model.child("conv2")).weight().shape());
        assertEquals(4 * 49, ((Linear) model.child("fc1")).inFeatures());
        assertEquals(4, ((BatchNorm2d) model.child("bn2")).channels());
        assertArrayEquals(new int[]{2, 10}, model.forward(x).shape());
        assertTrue(r.parametersAfter() < r.parametersBefore() / 2);
        for (float v : model.forward(x).toArray()) assertTrue(Float.isFinite(v));
    }

    @Test
    void everySelectionRunsAndTheReportsRender() {
        for (Selection s : Selection.values()) {
            ReconstructionResult r = Reconstructor.prune(model(3), 0.5, s, new Samples(digits, 12, 4, 1));
            ReconstructionResult.Accuracy acc = r.accuracy(small);
            String md = r.toMarkdown(acc);
            Map<String, Object> map = r.toMap(acc);
            assertTrue(md.contains("conv1 → conv2") && md.contains("conv2 → fc1"), md);
            assertEquals(s.cliName(), map.get("selection"));
            assertEquals(2, ((List<?>) map.get("layers")).size());
            assertTrue(((Map<?, ?>) map.get("accuracy")).containsKey("naive"), map.toString());
        }
    }

    /** VGG-style: convs without bias before their BatchNorm, a conv with a bias and no BatchNorm, a Linear. */
    static Sequential vgg(long seed) {
        Random init = new Random(seed);
        Sequential m = new Sequential()
                .add("conv1", new Conv2d(1, 6, 3, 1, 1, false, init)).add("bn1", new BatchNorm2d(6)).add("relu1", new ReLU())
                .add("conv2", new Conv2d(6, 8, 3, 1, 1, false, init)).add("bn2", new BatchNorm2d(8)).add("relu2", new ReLU())
                .add("pool2", new MaxPool2d(2))
                .add("conv3", new Conv2d(8, 6, 3, 1, 1, true, init)).add("relu3", new ReLU()).add("pool3", new MaxPool2d(2))
                .add("flatten", new Flatten()).add("fc", new Linear(6 * 49, 10, init));
        for (String bn : List.of("bn1", "bn2")) {
            BatchNorm2d b = (BatchNorm2d) m.child(bn);
            b.setParameter("bias", Tensor.uniform(seed + 2, -0.2f, 0.2f, b.channels()));
            b.setParameter("running_mean", Tensor.uniform(seed + 3, -0.1f, 0.1f, b.channels()));
        }
        return m;
    }

    @Test
    void aConsumerWithoutBiasGetsItsInterceptInTheBatchNormAfterIt() {
        Tensor x = Tensor.of(Arrays.copyOf(digits.images(), 3 * 784), 3, 1, 28, 28);
        // nothing removed: the re-fitted conv2 (no bias: its intercept went into bn2's running mean) must compute
        // what the original did up to relu2, on images it was fitted on (fc, underdetermined here, is not compared)
        Sequential same = vgg(5);
        int[] three = {0, 1, 2};
        float[][] before = new float[1][], after = new float[1][];
        Activations.capture(same, digits, three, new int[]{6}, (l, v, shape, f) -> before[0] = v);
        Reconstructor.prune(same, 0.0, Selection.L1, new Samples(digits, 300, 4, 0));
        Activations.capture(same, digits, three, new int[]{6}, (l, v, shape, f) -> after[0] = v);
        for (int i = 0; i < before[0].length; i++) assertEquals(before[0][i], after[0][i], 1e-3 * (1 + Math.abs(before[0][i])));
        assertFalse(same.child("conv2").hasParameter("bias"));

        Sequential model = vgg(5);
        ReconstructionResult r = Reconstructor.prune(model, 0.5, Selection.GREEDY, new Samples(digits, 300, 4, 0));
        assertEquals(List.of("conv2", "conv3", "fc"), r.layers().stream().map(LayerReport::consumer).toList());
        for (LayerReport l : r.layers())
            assertTrue(l.lsError() < l.naiveError(), l.consumer() + ": LS " + l.lsError() + " vs naive " + l.naiveError());
        assertArrayEquals(new int[]{3, 10}, model.forward(x).shape());
    }

    @Test
    void fewSamplesForManyUnknownsUseTheRidgeAndSaySo() {
        // fc1 gets 4 rows for 4·49 unknowns: the system is rank-deficient, the weights must stay finite
        ReconstructionResult r = Reconstructor.prune(model(4), 0.5, Selection.L1, new Samples(digits, 4, 2, 0));
        LayerReport fc1 = r.layers().get(1);
        assertTrue(fc1.ridge() > 0, "ridge " + fc1.ridge());
        assertTrue(fc1.note().contains("rank-deficient"), fc1.note());
        for (float v : r.reconstructed().get("fc1.weight").data()) assertTrue(Float.isFinite(v));
    }

    @Test
    void selectionNamesParseAndUnknownOnesSayWhatIsExpected() {
        assertEquals(Selection.L1, Selection.parse("l1"));
        assertEquals(Selection.GREEDY, Selection.parse("Greedy"));
        var e = assertThrows(IllegalArgumentException.class, () -> Selection.parse("random"));
        assertTrue(e.getMessage().contains("lasso, greedy, gamma or l1"));
    }
}
