package dev.shears.nn.train;

import dev.shears.core.Tensor;
import dev.shears.data.Dataset;
import dev.shears.nn.BatchNorm2d;
import dev.shears.nn.Sequential;
import dev.shears.nn.SimpleCNN;
import dev.shears.nn.optim.SGD;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class TrainerTest {

    /** 40 tiny images whose class is which quarter holds a bright square: learnable in a few steps. */
    static Dataset quarters(long seed) {
        Random r = new Random(seed);
        int n = 40, side = 12;
        float[] x = new float[n * side * side];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = i % 4;
            for (int p = 0; p < side * side; p++) x[i * side * side + p] = (float) (r.nextGaussian() * 0.1) - 1;
            int r0 = (y[i] / 2) * 6, c0 = (y[i] % 2) * 6;
            for (int a = 1; a < 5; a++) for (int b = 1; b < 5; b++) x[i * side * side + (r0 + a) * side + c0 + b] = 1;
        }
        return new Dataset("quarters", x, y, side, side);
    }

    static Sequential tinyNet(long seed) {
        // SimpleCNN's layer order on 12×12 images: two 2×2 pools leave 3×3 maps
        Random init = new Random(seed);
        return new Sequential()
                .add("conv1", new dev.shears.nn.Conv2d(1, 4, 3, 1, init)).add("bn1", new BatchNorm2d(4))
                .add("relu1", new dev.shears.nn.ReLU()).add("pool1", new dev.shears.nn.MaxPool2d(2))
                .add("conv2", new dev.shears.nn.Conv2d(4, 4, 3, 1, init)).add("bn2", new BatchNorm2d(4))
                .add("relu2", new dev.shears.nn.ReLU()).add("pool2", new dev.shears.nn.MaxPool2d(2))
                .add("flatten", new dev.shears.nn.Flatten()).add("fc", new dev.shears.nn.Linear(36, 4, init));
    }

    @Test
    void trainsAnEpochReportsProgressAndEvaluatesInEvalModeWithoutChangingTheModel() {
        Dataset data = quarters(1);
        Sequential model = tinyNet(3);
        List<Integer> seen = new ArrayList<>();
        Trainer trainer = new Trainer(model, new SGD(model.parameters(), 0.05f, 0.9f, 0f))
                .progress((epoch, batch, batches, samples, loss, acc, rate) -> {
                    assertEquals(4, batches);
                    seen.add(samples);
                });
        Trainer.EpochResult first = null, last = null;
        for (int epoch = 0; epoch < 6; epoch++) {
            last = trainer.trainEpoch(data, 12, 7, epoch);
            if (first == null) first = last;
        }
        assertEquals(List.of(12, 24, 36, 40), seen.subList(0, 4), "running sample counts, the last batch partial");
        assertEquals(40, last.samples());
        assertTrue(last.loss() < first.loss(), first + " then " + last);

        float[] runningMean = ((BatchNorm2d) model.child("bn1")).runningMean().toArray();
        Trainer.Evaluation ev = Trainer.evaluate(model, data, 16);
        assertEquals(40, ev.samples());
        assertTrue(ev.accuracy() >= 0.9, "accuracy " + ev.accuracy());
        assertArrayEquals(runningMean, ((BatchNorm2d) model.child("bn1")).runningMean().toArray(), "eval must not touch BN statistics");
        assertTrue(model.isTraining(), "the mode is restored");
    }

    /**
     * The two test-pass paths are different code (BatchNorm folded into the convolution and fused with the
     * pooling, against convolution, BatchNorm + ReLU and max-pool one by one with a graph recorded): each is
     * the other's oracle. The step-kernel path must be in eval mode (running statistics, left untouched) and
     * leave no gradient behind.
     */
    @Test
    void evaluatingThroughTheStepKernelsGivesTheInferenceKernelsValuesAndChangesNothing() {
        Dataset data = quarters(2);
        Sequential model = tinyNet(5);
        Trainer trainer = new Trainer(model, new SGD(model.parameters(), 0.05f, 0.9f, 0f));
        for (int epoch = 0; epoch < 3; epoch++) trainer.trainEpoch(data, 12, 7, epoch);   // running statistics away from 0, 1
        BatchNorm2d bn1 = (BatchNorm2d) model.child("bn1");
        float[] mean = bn1.runningMean().toArray(), var = bn1.runningVar().toArray();

        Trainer.Evaluation inference = Trainer.evaluate(model, data, 16);
        Trainer.Evaluation steps = Trainer.evaluateWithStepKernels(model, data, 16);
        assertEquals(40, steps.samples());
        assertEquals(inference.accuracy(), steps.accuracy(), "accuracy through the two paths");
        assertEquals(inference.loss(), steps.loss(), 1e-5 * Math.max(1, inference.loss()), "loss through the two paths");
        assertArrayEquals(mean, bn1.runningMean().toArray(), "eval must not touch BN's running mean");
        assertArrayEquals(var, bn1.runningVar().toArray(), "eval must not touch BN's running variance");
        assertTrue(model.isTraining(), "the mode is restored");
        for (Tensor p : model.parameters()) assertNull(p.grad(), "no gradient left behind");
    }

    @Test
    void theRegularizerIsAddedToTheObjectiveButNotToTheReportedLoss() {
        Dataset data = quarters(2);
        float[] x = java.util.Arrays.copyOf(data.images(), 8 * 144);
        int[] y = java.util.Arrays.copyOf(data.labels(), 8);
        float lambda = 0.5f;
        Sequential plain = tinyNet(5), slim = tinyNet(5);
        // SGD without momentum: the two models differ after one step exactly by lr·λ·sign(γ) on the BN weights
        Trainer.StepResult a = new Trainer(plain, new SGD(plain.parameters(), 0.1f, 0f, 0f)).step(x, y, 1, 12, 12);
        Trainer.StepResult b = new Trainer(slim, new SGD(slim.parameters(), 0.1f, 0f, 0f))
                .regularizer(m -> ((BatchNorm2d) m.child("bn1")).weight().abs().sum().mul(lambda))
                .step(x, y, 1, 12, 12);
        assertEquals(a.loss(), b.loss(), 1e-6f);
        float[] g1 = ((BatchNorm2d) plain.child("bn1")).weight().toArray(), g2 = ((BatchNorm2d) slim.child("bn1")).weight().toArray();
        for (int c = 0; c < g1.length; c++) assertEquals(g1[c] - 0.1f * lambda, g2[c], 1e-5f, "channel " + c);
        assertNull(plain.parameters().getFirst().grad(), "gradients are dropped with the step's scope");
    }

    @Test
    void batchesGoToTheModelsBackend() {
        Sequential model = SimpleCNN.create(2, 2, 4, 0);
        Tensor in = Trainer.input(model, new float[2 * 784], 2, 1, 28, 28);
        assertSame(model.backend(), in.backend());
        assertArrayEquals(new int[]{2, 1, 28, 28}, in.shape());
    }
}
