package dev.shears.nn.optim;

import dev.shears.core.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The rate of each step is PyTorch's CosineAnnealingLR(T_max = T, eta_min = 0): lr·(1 + cos(π·t/T))/2. */
class CosineLRTest {
    private final SGD sgd = new SGD(List.of(Tensor.zeros(3).requiresGrad(true)), 0.02f, 0.9f, 0f);

    /** The rate each of T = 100 steps runs at: read before the step, as the optimiser uses it. */
    private List<Float> ratesOfARun(CosineLR schedule) {
        List<Float> rates = new ArrayList<>();
        for (int t = 0; t < schedule.steps(); t++) {
            rates.add(sgd.lr());
            schedule.step();
        }
        return rates;
    }

    @Test
    void theRateOfEveryStepIsTheFormula() {
        CosineLR schedule = new CosineLR(sgd, 100);
        List<Float> rates = ratesOfARun(schedule);
        // hand values (Python: 0.02 * (1 + math.cos(math.pi * t / 100)) / 2)
        assertEquals(0.02f, rates.get(0), 0f, "t = 0: the base rate");
        assertEquals(0.01f, rates.get(50), 1e-9f, "t = T/2: half of it");
        assertEquals(4.934396342684e-06f, rates.get(99), 1e-11f, "t = T − 1, the last step");
        for (int t = 0; t < 100; t++)
            assertEquals((float) (0.02 * (1 + Math.cos(Math.PI * t / 100)) / 2), rates.get(t), 1e-8f, "step " + t + " (float rounding: an ulp of 0.02 is 2e-9)");
        assertEquals(100, schedule.position());
        assertEquals(0f, sgd.lr(), 1e-12f, "after T steps the rate is eta_min = 0");
        schedule.step();
        assertEquals(0f, sgd.lr(), 1e-12f, "and stays there");
    }

    @Test
    void resumingAtAStepGivesThatStepsRate() {
        CosineLR schedule = new CosineLR(sgd, 100);
        schedule.resumeAt(25);
        assertEquals((float) (0.02 * (1 + Math.cos(Math.PI / 4)) / 2), sgd.lr(), 1e-9f);
        assertEquals(0.02f, schedule.baseLr());
        assertEquals("100", schedule.settings().get("schedule.cosine_steps"));
        var bad = assertThrows(IllegalArgumentException.class, () -> new CosineLR(sgd, 0));
        assertTrue(bad.getMessage().contains("must be >= 1, got 0"), bad.getMessage());
        var outside = assertThrows(IllegalArgumentException.class, () -> schedule.resumeAt(101));
        assertTrue(outside.getMessage().contains("step 101 is outside 0..100"), outside.getMessage());
    }
}
