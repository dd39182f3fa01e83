package dev.shears.nn.train;

import dev.shears.core.Tensor;
import dev.shears.nn.Sequential;
import dev.shears.nn.SimpleCNN;
import dev.shears.nn.optim.SGD;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * The same seed gives the same model, bit for bit, on the default (SIMD) backend. The first run starts with
 * the kernels interpreted and the second finds them compiled, which is exactly when an unpinned horizontal
 * sum (reduceLanes) used to change the last bits.
 */
class ReproducibilityTest {

    @Test
    void twoTrainingRunsWithTheSameSeedEndBitForBitEqual() {
        Map<String, Tensor> first = train(), second = train();
        for (String name : first.keySet())
            assertArrayEquals(first.get(name).toArray(), second.get(name).toArray(), 0f, name + " differs between two identical runs");
    }

    private static Map<String, Tensor> train() {
        Sequential model = SimpleCNN.create(8, 16, 32, 7);
        Trainer trainer = new Trainer(model, new SGD(model.parameters(), 0.05f, 0.9f, 5e-4f));
        Random r = new Random(11);
        for (int step = 0; step < 40; step++) {
            float[] x = new float[16 * 28 * 28];
            int[] y = new int[16];
            for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
            for (int i = 0; i < y.length; i++) y[i] = r.nextInt(10);
            trainer.step(x, y, 1, 28, 28);
        }
        return model.stateDict();
    }
}
