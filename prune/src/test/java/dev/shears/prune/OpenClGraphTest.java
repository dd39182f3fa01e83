package dev.shears.prune;

import dev.shears.core.GradMode;
import dev.shears.core.LossOps;
import dev.shears.core.Tensor;
import dev.shears.core.TensorScope;
import dev.shears.nn.Add;
import dev.shears.nn.AvgPool2d;
import dev.shears.nn.BatchNorm2d;
import dev.shears.nn.Concat;
import dev.shears.nn.Conv2d;
import dev.shears.nn.Flatten;
import dev.shears.nn.GlobalAvgPool2d;
import dev.shears.nn.Graph;
import dev.shears.nn.Linear;
import dev.shears.nn.ReLU;
import dev.shears.opencl.OpenClBackend;
import dev.shears.opencl.OpenClDevices;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Random;

import static dev.shears.core.testing.Close.assertClose;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A graph model on OpenCL against the same model on the CPU: a training forward and backward (every
 * parameter's gradient) through depthwise and grouped convolutions, a residual Add, Concat, average and global
 * average pooling; then evaluation with gradients off (the Conv2d → BatchNorm2d fold on the device).
 */
class OpenClGraphTest {

    static Graph net(long seed) {
        Random init = new Random(seed);
        return new Graph()
                .add("conv1", new Conv2d(1, 8, 3, 1, 1, false, init))
                .add("bn1", new BatchNorm2d(8))
                .add("relu1", new ReLU())
                .add("dw", new Conv2d(8, 8, 3, 2, 1, 8, true, init))
                .add("pw", new Conv2d(8, 12, 1, 1, 0, 4, false, init))
                .add("bn2", new BatchNorm2d(12))
                .add("short", new Conv2d(8, 12, 1, 2, 0, false, init), "relu1")
                .add("add", new Add(), "bn2", "short")
                .add("relu2", new ReLU())
                .add("pool", new AvgPool2d(3, 1, 1, false))
                .add("cat", new Concat(1), "relu2", "pool")
                .add("gap", new GlobalAvgPool2d())
                .add("flatten", new Flatten())
                .add("fc", new Linear(24, 10, init));
    }

    @Test
    void trainingPassAndFoldedEvaluationMatchTheCpu() {
        assumeTrue(OpenClDevices.isAvailable(), () -> "skipped: " + OpenClDevices.problem());
        try (OpenClBackend ocl = OpenClBackend.open(System.getProperty("shears.opencl.device", "opencl"));
             TensorScope scope = TensorScope.open()) {
            Graph cpu = net(4), device = net(4);
            device.to(ocl);
            Tensor x = Tensor.randn(7, 6, 1, 15, 13);
            int[] labels = {0, 3, 9, 1, 1, 5};
            LossOps.crossEntropy(cpu.forward(x), labels).backward();
            Tensor deviceLogits = device.forward(x.to(ocl));
            LossOps.crossEntropy(deviceLogits, labels).backward();
            Map<String, Tensor> mine = device.namedParameters();
            cpu.namedParameters().forEach((name, p) ->
                    assertClose("gradient of " + name + " on OpenCL", p.grad().toArray(), mine.get(name).grad().toArray(), 1e-4, 1e-3));
            cpu.eval();
            device.eval();
            try (GradMode off = GradMode.off()) {
                assertClose("folded eval logits on OpenCL", cpu.forward(x).toArray(), device.forward(x.to(ocl)).toArray(), 1e-4, 1e-4);
            }
        }
    }
}
