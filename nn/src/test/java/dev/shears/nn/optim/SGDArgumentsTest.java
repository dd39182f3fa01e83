package dev.shears.nn.optim;

import dev.shears.core.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A rate that is NaN, infinite or negative is an error naming it, as in PyTorch, not a run of NaN losses. */
class SGDArgumentsTest {
    private final List<Tensor> params = List.of(Tensor.zeros(3).requiresGrad(true));

    @Test
    void rejectsNaNInfiniteAndNegativeRates() {
        for (float bad : new float[]{Float.NaN, Float.POSITIVE_INFINITY, -0.1f}) {
            var lr = assertThrows(IllegalArgumentException.class, () -> new SGD(params, bad, 0.9f, 0f));
            assertTrue(lr.getMessage().contains("lr must be finite and >= 0, got " + bad), lr.getMessage());
            var m = assertThrows(IllegalArgumentException.class, () -> new SGD(params, 0.01f, bad, 0f));
            assertTrue(m.getMessage().contains("momentum"), m.getMessage());
            var wd = assertThrows(IllegalArgumentException.class, () -> new SGD(params, 0.01f, 0.9f, bad));
            assertTrue(wd.getMessage().contains("weight decay"), wd.getMessage());
            SGD sgd = new SGD(params, 0.01f, 0.9f, 0f);
            assertThrows(IllegalArgumentException.class, () -> sgd.setLr(bad));
        }
        assertDoesNotThrow(() -> new SGD(params, 0f, 0f, 0f));
    }
}
