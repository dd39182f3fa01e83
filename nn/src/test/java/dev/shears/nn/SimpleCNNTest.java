package dev.shears.nn;

import dev.shears.core.LossOps;
import dev.shears.core.Tensor;
import dev.shears.core.TensorScope;
import dev.shears.nn.optim.SGD;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class SimpleCNNTest {

    @Test
    void hasPyTorchsShapesNamesAndParameterCount() {
        Sequential model = SimpleCNN.create(0);
        assertEquals(List.of("conv1.weight", "conv1.bias", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var",
                "bn1.num_batches_tracked", "conv2.weight", "conv2.bias", "bn2.weight", "bn2.bias", "bn2.running_mean",
                "bn2.running_var", "bn2.num_batches_tracked", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"),
                List.copyOf(model.stateDict().keySet()));
        // 320 + 64 + 18,496 + 128 + 401,536 + 1,290, as torchsummary counts the text's SimpleCNN
        assertEquals(421_834, model.parameterCount());
        Tensor logits = model.forward(Tensor.randn(1, 2, 1, 28, 28));
        assertArrayEquals(new int[]{2, 10}, logits.shape());
    }

    @Test
    void narrowerWidthsBuildTheSameNetwork() {
        Sequential model = SimpleCNN.create(5, 7, 16, 0);
        assertEquals(7 * 49, ((Linear) model.child("fc1")).inFeatures());
        assertArrayEquals(new int[]{3, 10}, model.forward(Tensor.randn(1, 3, 1, 28, 28)).shape());
    }

    @Test
    void aFewStepsOnOneBatchDriveTheLossDown() {
        Sequential model = SimpleCNN.create(8, 8, 16, 1);
        SGD opt = new SGD(model.parameters(), 0.05f, 0.9f, 0f);
        Tensor x = Tensor.randn(2, 8, 1, 28, 28);
        int[] y = {0, 1, 2, 3, 4, 5, 6, 7};
        float first = 0, last = 0;
        for (int step = 0; step < 30; step++) {
            try (TensorScope ignored = TensorScope.open()) {
                opt.zeroGrad();
                Tensor loss = LossOps.crossEntropy(model.forward(x), y);
                loss.backward();
                opt.step();
                if (step == 0) first = loss.item();
                last = loss.item();
            }
        }
        assertTrue(last < first * 0.2, "loss went from " + first + " to " + last);
        assertEquals(30f, model.stateDict().get("bn1.num_batches_tracked").item());
    }
}
