package dev.shears.core;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class AutogradTest {

    @Test
    void gradientsAccumulateAcrossBackwardCalls() {
        Tensor x = Tensor.of(new float[]{1, 2, 3}, 3).requiresGrad(true);
        x.mul(x).sum().backward();              // d/dx Σx² = 2x
        x.mul(3f).sum().backward();             // + 3
        assertArrayEquals(new float[]{5, 7, 9}, x.grad().toArray());
        x.zeroGrad();
        assertNull(x.grad());
    }

    @Test
    void aTensorUsedTwiceGetsBothContributions() {
        Tensor x = Tensor.of(new float[]{2}, 1).requiresGrad(true);
        Tensor y = x.mul(x).add(x);               // x² + x → 2x + 1 = 5
        y.sum().backward();
        assertEquals(5f, x.grad().item());
    }

    @Test
    void backwardTwiceThroughAFreedGraphFails() {
        Tensor x = Tensor.of(new float[]{1, 2}, 2).requiresGrad(true);
        Tensor loss = x.exp().sum();
        loss.backward();
        IllegalStateException e = assertThrows(IllegalStateException.class, loss::backward);
        assertTrue(e.getMessage().contains("second time"), e.getMessage());
    }

    @Test
    void backwardOnANonScalarNeedsAGradient() {
        Tensor x = Tensor.of(new float[]{1, 2}, 2).requiresGrad(true);
        Tensor y = x.mul(2f);
        IllegalStateException e = assertThrows(IllegalStateException.class, y::backward);
        assertTrue(e.getMessage().contains("[2]"), e.getMessage());
        y.backward(Tensor.of(new float[]{1, 10}, 2));
        assertArrayEquals(new float[]{2, 20}, x.grad().toArray());
    }

    @Test
    void noGradScopeRecordsNothing() {
        Tensor x = Tensor.of(new float[]{1}, 1).requiresGrad(true);
        Tensor y;
        try (GradMode ignored = GradMode.off()) { y = x.mul(2f); }
        assertFalse(y.requiresGrad());
        assertThrows(IllegalStateException.class, y::backward);
        assertTrue(GradMode.isEnabled());
    }

    @Test
    void detachCutsTheGraph() {
        Tensor x = Tensor.of(new float[]{3}, 1).requiresGrad(true);
        Tensor y = x.mul(x.detach());              // gradient only through the first factor: 3
        y.sum().backward();
        assertEquals(3f, x.grad().item());
    }

    @Test
    void broadcastGradientIsSummedBackToTheInputShape() {
        Tensor bias = Tensor.of(new float[]{0, 0, 0}, 3).requiresGrad(true);
        Tensor x = Tensor.ones(4, 3);
        x.add(bias).sum().backward();
        assertArrayEquals(new int[]{3}, bias.grad().shape());
        assertArrayEquals(new float[]{4, 4, 4}, bias.grad().toArray());
    }

    @Test
    void shapeMismatchNamesTheOpAndBothShapes() {
        Tensor a = Tensor.zeros(2, 3), b = Tensor.zeros(4, 3);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.add(b));
        assertTrue(e.getMessage().contains("add") && e.getMessage().contains("[2, 3]") && e.getMessage().contains("[4, 3]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> a.matmul(b));
        assertTrue(e.getMessage().contains("matmul") && e.getMessage().contains("[2, 3]") && e.getMessage().contains("[4, 3]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ConvOps.conv2d(Tensor.zeros(1, 2, 5, 5), Tensor.zeros(4, 3, 3, 3), null, 1, 1));
        assertTrue(e.getMessage().contains("conv2d") && e.getMessage().contains("[1, 2, 5, 5]") && e.getMessage().contains("[4, 3, 3, 3]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> MatrixOps.linear(Tensor.zeros(2, 5), Tensor.zeros(3, 4), null));
        assertTrue(e.getMessage().contains("linear") && e.getMessage().contains("[2, 5]") && e.getMessage().contains("[3, 4]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(6).reshape(4, -1));
        assertTrue(e.getMessage().contains("reshape"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> LossOps.crossEntropy(Tensor.zeros(2, 3), new int[]{0, 3}));
        assertTrue(e.getMessage().contains("label 3"), e.getMessage());
    }

    @Test
    void scopeReleasesIntermediatesButKeepsWhatIsAskedFor() {
        Tensor param = Tensor.ones(3).requiresGrad(true);
        Tensor kept, dropped;
        try (TensorScope scope = TensorScope.open()) {
            dropped = param.mul(2f);
            kept = scope.keep(param.mul(3f));
        }
        assertArrayEquals(new float[]{3, 3, 3}, kept.toArray());
        assertArrayEquals(new float[]{1, 1, 1}, param.toArray());
        IllegalStateException e = assertThrows(IllegalStateException.class, dropped::toArray);
        assertTrue(e.getMessage().contains("released"), e.getMessage());
    }

    @Test
    void aViewMadeInsideAScopeDoesNotReleaseATensorFromOutsideIt() {
        Tensor outside = Tensor.ones(2, 3);
        try (TensorScope ignored = TensorScope.open()) {
            Tensor flat = outside.reshape(6);
            Tensor cut = outside.detach();
            assertEquals(6f, flat.sum().item() + cut.sum().item() - 6f);
        }
        assertArrayEquals(new float[]{1, 1, 1, 1, 1, 1}, outside.toArray());
    }

    @Test
    void deepGraphsDoNotOverflowTheStack() {
        Tensor x = Tensor.of(new float[]{1}, 1).requiresGrad(true);
        Tensor y = x;
        for (int i = 0; i < 20_000; i++) y = y.add(0f);
        y.sum().backward();
        assertEquals(1f, x.grad().item());
    }
}
