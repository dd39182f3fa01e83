package dev.shears.nn;

import dev.shears.core.Tensor;
import dev.shears.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

import java.util.function.LongToIntFunction;

import static dev.shears.nn.PredictorTest.predict;
import static dev.shears.nn.PredictorTest.randomiseBatchNorms;
import static dev.shears.nn.PredictorTest.size;
import static org.junit.jupiter.api.Assertions.*;

/**
 * {@link SplitChoice} driven by made-up call times (which steps alone make a call fast), and a Predictor's
 * results with its steps split, alone, and chosen while the choice moves: the same bits every way.
 */
class SplitChoiceTest {

    /** {@code calls} calls, each taking what {@code nanos} says for the steps it ran alone. */
    private static void drive(SplitChoice c, int calls, LongToIntFunction nanos) {
        for (int i = 0; i < calls; i++) {
            long mask = c.next();
            c.took(mask, nanos.applyAsInt(mask));
        }
    }

    private static final long ALL = 0b1111;

    @Test
    void goesAloneWhenAloneIsFaster() {
        SplitChoice c = new SplitChoice(4);
        assertEquals(0, c.alone(), "starts split");
        drive(c, SplitChoice.MIN_PERIOD + 2 * SplitChoice.TRIAL, m -> m == ALL ? 100 : 150);
        assertEquals(ALL, c.alone(), "the first trial tries every step alone");
        assertEquals(SplitChoice.MIN_PERIOD, c.period(), "a change sets the period back");
    }

    @Test
    void staysSplitWhenSplitIsFasterAndTrialsGetRarer() {
        SplitChoice c = new SplitChoice(4);
        int[] trialCalls = {0};
        drive(c, 20_000, m -> {
            if (m != 0) trialCalls[0]++;
            return m == 0 ? 100 : 150;
        });
        assertEquals(0, c.alone());
        assertEquals(SplitChoice.MAX_PERIOD, c.period());
        // 20,000 calls: about 20,000 / MAX_PERIOD trials once the period is at its cap, plus the first few
        assertTrue(trialCalls[0] < 40 * SplitChoice.TRIAL, trialCalls[0] + " calls ran another way");
    }

    @Test
    void comesBackWhenTheMachineChanges() {
        SplitChoice c = new SplitChoice(4);
        drive(c, 20_000, m -> m == 0 ? 100 : 150);                 // split wins, the period grows
        drive(c, 10 * SplitChoice.MAX_PERIOD, m -> m == ALL ? 100 : 150);   // now alone wins
        assertEquals(ALL, c.alone());
        drive(c, 10 * SplitChoice.MAX_PERIOD, m -> m == 0 ? 100 : 150);     // and split again
        assertEquals(0, c.alone());
    }

    @Test
    void findsTheOneStepThatGainsAlone() {
        SplitChoice c = new SplitChoice(4);
        // step 2 alone is best; every step alone is worse than none
        drive(c, 50_000, m -> m == 0b100 ? 80 : m == 0 ? 100 : m == ALL ? 120 : 110);
        assertEquals(0b100, c.alone());
    }

    /**
     * After a trial's calls alone the workers sleep and the first calls split are slow; split is still the
     * faster way, and the trial's median must see it (a mean would not).
     */
    @Test
    void theSlowFirstCallsAfterAChangeDoNotDecide() {
        SplitChoice c = new SplitChoice(4);
        int[] splitRun = {Integer.MAX_VALUE / 2};      // calls split in a row
        drive(c, 20_000, m -> {
            if (m != 0) {
                splitRun[0] = 0;
                return 150;
            }
            return splitRun[0]++ < 3 ? 1_000_000 : 100;
        });
        assertEquals(0, c.alone());
    }

    @Test
    void fixedSettingsNeverChange() {
        SplitChoice alone = new SplitChoice(4, true), split = new SplitChoice(4, false);
        drive(alone, 5_000, m -> m == 0 ? 1 : 1000);
        drive(split, 5_000, m -> m == ALL ? 1 : 1000);
        assertEquals(ALL, alone.next());
        assertEquals(0, split.next());
        assertEquals(0, new SplitChoice(0).next(), "a plan without steps");
        assertEquals(-1L, new SplitChoice(70, true).next(), "past 64 steps: every bit");
    }

    /** Split, alone, or chosen while the choice moves: bit for bit the same predictions, SimpleCNN and a graph. */
    @Test
    void everyChoiceGivesTheSameBits() {
        for (int threads : new int[]{2, 3}) {
            Sequential cnn = SimpleCNN.create(4, 6, 16, 1);
            randomiseBatchNorms(cnn, 2);
            cnn.to(new CpuBackend(true, threads));
            sameBitsEveryWay(cnn, new int[]{1, 28, 28}, threads);
            Graph graph = PredictorGraphTest.model(5);
            randomiseBatchNorms(graph, 3);
            graph.to(new CpuBackend(true, threads));
            sameBitsEveryWay(graph, new int[]{3, 12, 10}, threads);
        }
        Sequential full = SimpleCNN.create(0);      // conv2 at its full width takes other kernels at batch 1
        randomiseBatchNorms(full, 4);
        full.to(new CpuBackend(true, 2));
        sameBitsEveryWay(full, new int[]{1, 28, 28}, 2);
    }

    private static void sameBitsEveryWay(Module model, int[] example, int threads) {
        int size = size(example);
        try (Predictor p = Predictor.of(model, threads, example)) {
            for (int n = 1; n < threads; n++) {
                float[] images = Tensor.randn(20 + n, n * size).toArray();
                p.fixSplit(false);
                float[] split = predict(p, images, n);
                p.fixSplit(true);
                float[] alone = predict(p, images, n);
                assertArrayEquals(split, alone, threads + " threads, batch " + n + ": alone");
                assertEquals((1L << p.stepCount()) - 1, p.stepsAlone(n), "every step alone");
                p.fixSplit(null);
                for (int call = 0; call < 2_000; call++)
                    assertArrayEquals(split, predict(p, images, n), threads + " threads, batch " + n + ", call " + call);
                if (n == 1) assertEquals(argmax(split), p.classify(images));
            }
        }
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }
}
