package dev.shears.prune;

import dev.shears.core.GradMode;
import dev.shears.core.Tensor;
import dev.shears.core.TensorScope;
import dev.shears.nn.Module;

import java.util.Arrays;

/**
 * Measured inference time: forward passes in eval mode without grad, each in its own scope, on the model's
 * backend. The median of {@code repeats} timed runs after {@code warmup} untimed ones (JIT, caches, the thread
 * pool) — a median, because a machine shared with other work has long outliers that a mean would report.
 */
public final class Latency {
    private Latency() {}

    /** Median milliseconds per forward pass of a batch shaped {@code inputShape}. */
    public static double medianMillis(Module model, int warmup, int repeats, int... inputShape) {
        boolean wasTraining = model.isTraining();
        model.eval();
        double[] ms = new double[repeats];
        try (GradMode ignored = GradMode.off()) {
            Tensor x = Tensor.randn(1, inputShape).to(model.parameters().getFirst().backend());
            for (int i = 0; i < warmup + repeats; i++) {
                try (TensorScope scope = TensorScope.open()) {
                    long t = System.nanoTime();
                    model.forward(x).toArray();   // read back: the time includes finishing the work
                    if (i >= warmup) ms[i - warmup] = (System.nanoTime() - t) / 1e6;
                }
            }
        } finally {
            model.train(wasTraining);
        }
        Arrays.sort(ms);
        return repeats % 2 == 1 ? ms[repeats / 2] : (ms[repeats / 2 - 1] + ms[repeats / 2]) / 2;
    }
}
