package dev.shears.nn.train;

import dev.shears.data.Dataset;
import dev.shears.nn.Sequential;
import dev.shears.nn.optim.SGD;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Map;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.*;

/** A non-finite loss stops training at once, before the update, with the epoch, step, rate and loss. */
class DivergenceTest {

    @Test
    void aHugeLearningRateStopsTrainingWithTheEpochStepAndRate() {
        Dataset data = TrainerTest.quarters(1);
        Sequential model = TrainerTest.tinyNet(3);
        Trainer trainer = new Trainer(model, new SGD(model.parameters(), 1e6f, 0.9f, 0f));
        TrainingDivergedException e = assertThrows(TrainingDivergedException.class, () -> {
            for (int epoch = 0; epoch < 5; epoch++) trainer.trainEpoch(data, 12, 7, epoch);
        });
        assertEquals(1e6f, e.lr());
        assertEquals(4, e.steps(), "40 samples in batches of 12");
        assertTrue(e.step() >= 0 && e.step() < 4 && e.epoch() >= 0, e.getMessage());
        assertTrue(e.getMessage().startsWith("training diverged at epoch " + (e.epoch() + 1) + ", step " + (e.step() + 1) + " of 4: "),
                e.getMessage());
        assertTrue(e.getMessage().contains("learning rate 1000000.0"), e.getMessage());
    }

    @Test
    void theStepThatSeesANonFiniteLossDoesNotTouchTheParameters() {
        Dataset data = TrainerTest.quarters(2);
        Sequential model = TrainerTest.tinyNet(5);
        Trainer trainer = new Trainer(model, new SGD(model.parameters(), 0.1f, 0.9f, 0f));
        float[] x = Arrays.copyOf(data.images(), 8 * 144);
        int[] y = Arrays.copyOf(data.labels(), 8);
        trainer.step(x, y, 1, 12, 12);   // momentum buffers exist from here on: an update would move every weight
        Map<String, float[]> before = parameters(model);
        x[5] = Float.NaN;
        TrainingDivergedException e = assertThrows(TrainingDivergedException.class, () -> trainer.step(x, y, 1, 12, 12));
        assertTrue(Float.isNaN(e.loss()));
        assertEquals(-1, e.epoch());
        assertEquals("training diverged: the loss is NaN with learning rate 0.1", e.getMessage());
        parameters(model).forEach((name, v) -> assertArrayEquals(before.get(name), v, 0f, name + " changed by the step that diverged"));
    }

    @Test
    void aRegularizerThatIsNotFiniteCountsToo() {
        Dataset data = TrainerTest.quarters(2);
        Sequential model = TrainerTest.tinyNet(5);
        Trainer trainer = new Trainer(model, new SGD(model.parameters(), 0.1f, 0f, 0f))
                .regularizer(m -> m.parameters().getFirst().abs().sum().mul(Float.POSITIVE_INFINITY));
        TrainingDivergedException e = assertThrows(TrainingDivergedException.class,
                () -> trainer.step(Arrays.copyOf(data.images(), 4 * 144), Arrays.copyOf(data.labels(), 4), 1, 12, 12));
        assertTrue(e.getMessage().contains("the loss with its regularizer is Infinity"), e.getMessage());
    }

    @Test
    void nonFiniteParametersAtTheEndOfAnEpochAreFound() {
        Sequential model = TrainerTest.tinyNet(5);
        assertNull(Trainer.firstNonFinite(model));
        var w = model.namedParameters().get("fc.weight");
        float[] v = w.toArray();
        v[7] = Float.NEGATIVE_INFINITY;
        model.child("fc").setParameter("weight", dev.shears.core.Tensor.of(v, w.shape()));
        assertEquals("fc.weight[7] is -Infinity", Trainer.firstNonFinite(model));
    }

    private static Map<String, float[]> parameters(Sequential model) {
        return model.namedParameters().entrySet().stream().collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().toArray()));
    }
}
