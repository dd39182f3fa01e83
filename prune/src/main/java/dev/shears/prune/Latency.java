package dev.shears.prune;

import dev.shears.core.GradMode;
import dev.shears.core.Tensor;
import dev.shears.core.TensorScope;
import dev.shears.nn.Module;

import java.util.Arrays;
import java.util.List;

/**
 * Measured inference time: forward passes in eval mode without grad, each in its own scope, on the model's
 * backend. The median of {@code repeats} timed runs after {@code warmup} untimed ones (JIT, caches, the thread
 * pool) — a median, because a machine shared with other work has long outliers that a mean would report.
 *
 * <p>To compare models (before and after pruning), {@link #compare} interleaves them — one pass of each, in
 * turn — so that a change in the machine's load during the measurement hits both alike instead of showing up
 * as a speed-up or a slow-down.
 */
public final class Latency {
    private Latency() {}

    /** Median milliseconds per forward pass of a batch shaped {@code inputShape}. */
    public static double medianMillis(Module model, int warmup, int repeats, int... inputShape) {
        return compare(List.of(model), warmup, repeats, inputShape)[0];
    }

    /** Median milliseconds per forward pass of each model, measured interleaved. */
    public static double[] compare(List<? extends Module> models, int warmup, int repeats, int... inputShape) {
        if (repeats < 1) throw new IllegalArgumentException("latency needs at least one timed run, got " + repeats);
        boolean[] wasTraining = new boolean[models.size()];
        double[][] ms = new double[models.size()][repeats];
        for (int k = 0; k < models.size(); k++) { wasTraining[k] = models.get(k).isTraining(); models.get(k).eval(); }
        try (GradMode ignored = GradMode.off(); TensorScope outer = TensorScope.open()) {
            Tensor[] x = new Tensor[models.size()];
            for (int k = 0; k < x.length; k++) x[k] = Tensor.randn(1, inputShape).to(models.get(k).parameters().getFirst().backend());
            for (int i = 0; i < warmup + repeats; i++) {
                for (int k = 0; k < models.size(); k++) {
                    try (TensorScope scope = TensorScope.open()) {
                        long t = System.nanoTime();
                        models.get(k).forward(x[k]).toArray();   // read back: the time includes finishing the work
                        if (i >= warmup) ms[k][i - warmup] = (System.nanoTime() - t) / 1e6;
                    }
                }
            }
        } finally {
            for (int k = 0; k < models.size(); k++) models.get(k).train(wasTraining[k]);
        }
        double[] medians = new double[models.size()];
        for (int k = 0; k < medians.length; k++) medians[k] = median(ms[k]);
        return medians;
    }

    /**
     * Median milliseconds spent in each leaf layer of a forward pass (the layers run one by one, each output
     * read back), for a batch shaped {@code inputShape}: where the time goes, which FLOPs alone do not say —
     * BatchNorm, ReLU and pooling cost time in proportion to a layer's channels, a conv in proportion to the
     * product of its input and output channels.
     */
    public static java.util.Map<String, Double> perLayer(Module model, int warmup, int repeats, int... inputShape) {
        var layers = Layers.inForwardOrder(model);
        double[][] ms = new double[layers.size()][repeats];
        boolean wasTraining = model.isTraining();
        model.eval();
        try (GradMode ignored = GradMode.off(); TensorScope outer = TensorScope.open()) {
            Tensor x0 = Tensor.randn(1, inputShape).to(model.parameters().getFirst().backend());
            for (int i = 0; i < warmup + repeats; i++) {
                try (TensorScope scope = TensorScope.open()) {
                    Tensor x = x0;
                    int k = 0;
                    for (Module layer : layers.values()) {
                        long t = System.nanoTime();
                        x = layer.forward(x);
                        x.toArray();
                        if (i >= warmup) ms[k][i - warmup] = (System.nanoTime() - t) / 1e6;
                        k++;
                    }
                }
            }
        } finally {
            model.train(wasTraining);
        }
        var out = new java.util.LinkedHashMap<String, Double>();
        int k = 0;
        for (String name : layers.keySet()) out.put(name, median(ms[k++]));
        return out;
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }
}
