package dev.shears.bench;

import dev.shears.core.Backend;
import dev.shears.core.Storage;
import org.openjdk.jmh.annotations.*;

import java.util.concurrent.TimeUnit;

/**
 * Training-mode batch norm after SimpleCNN's convolutions at batch 64: [64,32,28,28] and [64,64,14,14],
 * forward and backward, in ms per call.
 *
 * <pre>java --add-modules jdk.incubator.vector -jar benchmarks/target/benchmarks.jar BatchNormBenchmark -f 1 -wi 2 -i 3 -w 1 -r 2</pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
@State(Scope.Benchmark)
public class BatchNormBenchmark {
    /** N×C×H×W. */
    @Param({"64x32x28x28", "64x64x14x14"}) public String shape;
    @Param({"reference", "cpu-1", "cpu-2"}) public String backendName;

    Backend backend;
    int n, c, hw;
    Storage x, gamma, beta, runningMean, runningVar, y, mean, invStd, dy, dx, dgamma, dbeta;

    @Setup(Level.Trial)
    public void setUp() {
        String[] p = shape.split("x");
        n = Integer.parseInt(p[0]);
        c = Integer.parseInt(p[1]);
        hw = Integer.parseInt(p[2]) * Integer.parseInt(p[3]);
        backend = BenchBackends.byName(backendName);
        x = backend.upload(BenchBackends.random(1, n * c * hw));
        dy = backend.upload(BenchBackends.random(2, n * c * hw));
        gamma = backend.upload(BenchBackends.random(3, c));
        beta = backend.upload(BenchBackends.random(4, c));
        runningMean = backend.allocate(c);
        runningVar = backend.allocate(c);
        backend.fill(c, 1f, runningVar);
        y = backend.allocate(n * c * hw);
        dx = backend.allocate(n * c * hw);
        mean = backend.allocate(c);
        invStd = backend.allocate(c);
        dgamma = backend.allocate(c);
        dbeta = backend.allocate(c);
        backend.batchNorm2dForward(n, c, hw, true, 0.1f, 1e-5f, x, gamma, beta, runningMean, runningVar, y, mean, invStd);
    }

    @Benchmark
    public Storage forward() {
        backend.batchNorm2dForward(n, c, hw, true, 0.1f, 1e-5f, x, gamma, beta, runningMean, runningVar, y, mean, invStd);
        return y;
    }

    @Benchmark
    public Storage backward() {
        backend.batchNorm2dBackward(n, c, hw, true, x, dy, gamma, mean, invStd, dx, dgamma, dbeta);
        return dx;
    }
}
