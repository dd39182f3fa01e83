package dev.shears.bench;

import dev.shears.core.Backend;
import dev.shears.core.Backends;
import dev.shears.core.GradMode;
import dev.shears.core.Tensor;
import dev.shears.core.TensorScope;
import dev.shears.nn.Sequential;
import dev.shears.nn.SimpleCNN;
import dev.shears.nn.optim.SGD;
import dev.shears.nn.train.Trainer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * SimpleCNN end to end, as {@code shears bench} measures it: one training step (copy the batch in, forward,
 * cross-entropy, backward, SGD with momentum, all in a TensorScope) and one eval-mode inference forward.
 * Samples/s = batch / (ms/op) · 1000. The batch-16 case checks that the cost grows with the work, and the
 * scalar reference backend is the naive baseline (slow: select it with {@code -p backend=reference}).
 *
 * <pre>java --add-modules jdk.incubator.vector -jar benchmarks/target/benchmarks.jar TrainStepBenchmark -p backend=cpu</pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class TrainStepBenchmark {

    @State(Scope.Thread)
    public static class Training {
        @Param({"cpu", "reference"})
        String backend;

        @Param({"16", "64"})
        int batch;

        Trainer trainer;
        float[] x;
        int[] y;

        @Setup(Level.Trial)
        public void setUp() {
            Backends.setDefault(Backends.byName(backend));
            Sequential model = SimpleCNN.create(0);
            trainer = new Trainer(model, new SGD(model.parameters(), 0.01f, 0.9f, 0f));
            x = images(batch, 1);
            y = labels(batch);
        }
    }

    @State(Scope.Thread)
    public static class Inference {
        @Param({"cpu"})
        String backend;

        static final int BATCH = 256;
        Backend b;
        Sequential model;
        float[] x;

        @Setup(Level.Trial)
        public void setUp() {
            b = Backends.byName(backend);
            Backends.setDefault(b);
            model = SimpleCNN.create(0);
            model.eval();
            x = images(BATCH, 2);
        }
    }

    @Benchmark
    public Trainer.StepResult trainStep(Training s) {
        return s.trainer.step(s.x, s.y, 1, 28, 28);
    }

    @Benchmark
    public float[] inferBatch256(Inference s) {
        try (GradMode g = GradMode.off(); TensorScope scope = TensorScope.open()) {
            return s.model.forward(Tensor.of(s.b, s.x, Inference.BATCH, 1, 28, 28)).toArray();
        }
    }

    /** Labels 0, 1, ..., 9, 0, 1, ... for a batch of n: the step's cost does not depend on them. */
    static int[] labels(int n) {
        int[] y = new int[n];
        for (int i = 0; i < n; i++) y[i] = i % 10;
        return y;
    }

    /** Values in [-1, 1] like normalised MNIST pixels; the kernels' speed does not depend on them. */
    static float[] images(int n, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n * 28 * 28];
        for (int i = 0; i < x.length; i++) x[i] = r.nextFloat() * 2 - 1;
        return x;
    }
}
