package dev.shears.core;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** One case per op family worked out by hand. */
class HandComputedTest {

    @Test
    void matmul() {
        Tensor a = Tensor.of(new float[]{1, 2, 3, 4}, 2, 2), b = Tensor.of(new float[]{5, 6, 7, 8}, 2, 2);
        assertArrayEquals(new float[]{19, 22, 43, 50}, a.matmul(b).toArray());
    }

    @Test
    void argmaxAlongTheLastDimension() {
        Tensor logits = Tensor.of(new float[]{0, 3, 1,   2, 2, -1,   -5, -4, -6,   1, Float.NaN, 7}, 2, 2, 3);
        // per row: the largest; the first on a tie; all negative; a NaN counts as the largest (torch.argmax)
        assertArrayEquals(new int[]{1, 0, 1, 1}, logits.argmax());
        assertArrayEquals(new int[]{2}, Tensor.of(new float[]{1, 2, 9, 4}, 4).argmax());
        assertArrayEquals(new int[]{0}, Tensor.scalar(5f).argmax());
        assertArrayEquals(new int[0], Tensor.zeros(0, 10).argmax());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(3, 0).argmax());
        assertTrue(e.getMessage().contains("[3, 0]"), e.getMessage());
    }

    @Test
    void conv2dWithPadding() {
        // 3x3 input 1..9, all-ones 3x3 kernel, padding 1: each output is the sum of its neighbourhood
        float[] x = {1, 2, 3, 4, 5, 6, 7, 8, 9};
        Tensor y = ConvOps.conv2d(Tensor.of(x, 1, 1, 3, 3), Tensor.ones(1, 1, 3, 3), Tensor.of(new float[]{0.5f}, 1), 1, 1);
        assertArrayEquals(new float[]{12.5f, 21.5f, 16.5f, 27.5f, 45.5f, 33.5f, 24.5f, 39.5f, 28.5f}, y.toArray());
    }

    @Test
    void maxPoolRoutesTheGradientToTheWinner() {
        Tensor x = Tensor.of(new float[]{1, 5, 2, 3}, 1, 1, 2, 2).requiresGrad(true);
        Tensor y = ConvOps.maxPool2d(x, 2, 2, 0);
        assertEquals(5f, y.item());
        y.sum().backward();
        assertArrayEquals(new float[]{0, 1, 0, 0}, x.grad().toArray());
    }

    @Test
    void batchNormTrainingNormalisesAndUpdatesRunningStatistics() {
        // one channel, values 1 and 3: mean 2, biased var 1, unbiased var 2
        Tensor x = Tensor.of(new float[]{1, 3}, 2, 1, 1, 1);
        Tensor rm = Tensor.zeros(1), rv = Tensor.ones(1);
        Tensor y = NormOps.batchNorm2d(x, Tensor.ones(1), Tensor.zeros(1), rm, rv, true, 0.1f, 0f);
        assertArrayEquals(new float[]{-1, 1}, y.toArray(), 1e-6f);
        assertEquals(0.2f, rm.item(), 1e-6f);             // 0.9·0 + 0.1·2
        assertEquals(1.1f, rv.item(), 1e-6f);             // 0.9·1 + 0.1·2
    }

    @Test
    void crossEntropyOfUniformLogitsIsLogC() {
        Tensor logits = Tensor.zeros(2, 4).requiresGrad(true);
        Tensor loss = LossOps.crossEntropy(logits, new int[]{1, 3});
        assertEquals(Math.log(4), loss.item(), 1e-6);
        loss.backward();
        // (softmax − onehot)/N = (0.25 − [label])/2
        assertArrayEquals(new float[]{0.125f, -0.375f, 0.125f, 0.125f, 0.125f, 0.125f, 0.125f, -0.375f}, logits.grad().toArray(), 1e-6f);
    }

    @Test
    void sgdWithMomentumAndWeightDecay() {
        var b = dev.shears.core.reference.ReferenceBackend.INSTANCE;
        Storage p = b.upload(new float[]{1f}), g = b.upload(new float[]{0.5f}), buf = b.allocate(1);
        b.sgdStep(1, 0.1f, 0.9f, 0f, 0.1f, false, true, p, g, buf);
        // g' = 0.5 + 0.1·1 = 0.6; buf = 0.6; p = 1 − 0.06
        assertEquals(0.94f, b.download(p)[0], 1e-6f);
        b.sgdStep(1, 0.1f, 0.9f, 0f, 0.1f, false, false, p, g, buf);
        // g' = 0.5 + 0.094 = 0.594; buf = 0.9·0.6 + 0.594 = 1.134; p = 0.94 − 0.1134
        assertEquals(0.8266f, b.download(p)[0], 1e-6f);
    }
}
