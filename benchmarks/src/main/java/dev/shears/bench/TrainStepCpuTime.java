package dev.shears.bench;

import dev.shears.core.Backends;
import dev.shears.core.GradMode;
import dev.shears.core.Tensor;
import dev.shears.core.TensorScope;
import dev.shears.nn.optim.SGD;
import dev.shears.nn.Sequential;
import dev.shears.nn.SimpleCNN;
import dev.shears.nn.train.Trainer;

import java.lang.management.ManagementFactory;
import java.util.Arrays;

/**
 * {@link TrainStepBenchmark}'s training step (SimpleCNN, batch 64) and batch-256 inference for a machine
 * shared with other work: the median CPU time of the calling thread per call, which with
 * {@code -Dshears.threads=1} is the step's own time whatever else runs (as {@link ConvCpuTime}). Compare
 * kernels in alternating JVMs, e.g. {@code -Dshears.conv.direct=never} against the default.
 *
 * <pre>java --add-modules jdk.incubator.vector -Dshears.threads=1 -cp benchmarks/target/benchmarks.jar \
 *     dev.shears.bench.TrainStepCpuTime [calls]</pre>
 */
public final class TrainStepCpuTime {
    public static void main(String[] args) {
        int calls = args.length > 0 ? Integer.parseInt(args[0]) : 60;
        var threads = ManagementFactory.getThreadMXBean();
        var b = Backends.byName("cpu");
        Backends.setDefault(b);
        Sequential model = SimpleCNN.create(0);
        Trainer trainer = new Trainer(model, new SGD(model.parameters(), 0.01f, 0.9f, 0f));
        int batch = 64;
        float[] x = TrainStepBenchmark.images(batch, 1);
        int[] y = TrainStepBenchmark.labels(batch);
        double[] step = new double[calls];
        for (int i = 0; i < 2 * calls; i++) {        // the first half warms up
            long c = threads.getCurrentThreadCpuTime();
            trainer.step(x, y, 1, 28, 28);
            if (i >= calls) step[i - calls] = threads.getCurrentThreadCpuTime() - c;
        }
        model.eval();
        float[] xi = TrainStepBenchmark.images(256, 2);
        double[] infer = new double[calls];
        for (int i = 0; i < 2 * calls; i++) {
            long c = threads.getCurrentThreadCpuTime();
            try (GradMode g = GradMode.off(); TensorScope s = TensorScope.open()) {
                model.forward(Tensor.of(b, xi, 256, 1, 28, 28)).toArray();
            }
            if (i >= calls) infer[i - calls] = threads.getCurrentThreadCpuTime() - c;
        }
        Arrays.sort(step);
        Arrays.sort(infer);
        System.out.printf("train step b64: caller's CPU median %.3f ms (quartiles %.3f, %.3f); infer b256: %.3f ms (%.3f, %.3f)%n",
                step[calls / 2] * 1e-6, step[calls / 4] * 1e-6, step[3 * calls / 4] * 1e-6,
                infer[calls / 2] * 1e-6, infer[calls / 4] * 1e-6, infer[3 * calls / 4] * 1e-6);
        System.exit(0);
    }
}
