package dev.shears.cpu;

import dev.shears.core.Conv2dShape;
import dev.shears.core.HeapStorage;
import dev.shears.core.reference.ReferenceBackend;
import dev.shears.core.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@link Blocked}, the per-thread cache of reordered weights: a hit only for the same values, weights written
 * in place are reordered again, and DirectConv's forward then follows the new weights (against the scalar
 * {@link ReferenceBackend}).
 */
class BlockedTest {
    private static final Blocked.Reorder ROWS = Nchwc::blockRows;

    private static float[] fresh(float[] w, int K, int T) {
        float[] wb = new float[Nchwc.blocks(K) * T * Nchwc.L];
        Nchwc.blockRows(w, K, T, wb);
        return wb;
    }

    @Test
    void reusesOnlyWhileTheValuesAreTheSame() {
        int K = 5, T = 7;
        float[] w = Tensor.randn(1, K * T).toArray(), copy = w.clone();
        float[] first = Blocked.of(ROWS, K, T, w, K * T, Nchwc.blocks(K) * T * Nchwc.L);
        assertArrayEquals(fresh(w, K, T), first);
        assertSame(first, Blocked.of(ROWS, K, T, copy, K * T, first.length), "equal values, another array: the same entry");
        w[3] += 1f;                                   // an in-place write, no version bumped
        float[] second = Blocked.of(ROWS, K, T, w, K * T, first.length);
        assertArrayEquals(fresh(w, K, T), second, "weights written in place are reordered again");
        assertArrayEquals(fresh(copy, K, T), Blocked.of(ROWS, K, T, copy, K * T, first.length), "the old values: their own entry");
        // the same values read with other sizes are another entry
        assertArrayEquals(fresh(w, T, K), Blocked.of(ROWS, T, K, w, K * T, Nchwc.blocks(T) * K * Nchwc.L));
    }

    @Test
    void directForwardFollowsWeightsWrittenInPlace() {
        Conv2dShape s = new Conv2dShape(2, 3, 9, 8, 2 * Nchwc.L + 3, 3, 3, 1, 1, 1, 1);
        float[] x = Tensor.randn(1, s.inputSize()).toArray(), w = Tensor.randn(2, s.weightSize()).toArray(),
                bias = Tensor.randn(3, s.k()).toArray();
        Parallel par = new Parallel(1);
        for (int round = 0; round < 3; round++) {
            float[] y = new float[s.outputSize()], expected = new float[s.outputSize()];
            DirectConv.forward(par, s, x, w, bias, y);
            ReferenceBackend r = ReferenceBackend.INSTANCE;
            r.conv2dForward(s, r.upload(x), r.upload(w), r.upload(bias), HeapStorage.ofFloats(r, expected));
            for (int i = 0; i < y.length; i++) assertEquals(expected[i], y[i], 1e-4f, "round " + round + ", output " + i);
            for (int i = 0; i < w.length; i += 5) w[i] = -w[i];    // in place, as an optimiser step
            bias[0] += 0.5f;
        }
    }
}
