package dev.shears.bench;

import dev.shears.core.Backend;
import dev.shears.core.Pool2dShape;
import dev.shears.core.Storage;
import org.openjdk.jmh.annotations.*;

import java.util.concurrent.TimeUnit;

/**
 * SimpleCNN's 2×2 / stride-2 max-pools at batch 64 ([64,32,28,28] → 14×14 and [64,64,14,14] → 7×7),
 * forward (with arg-max) and backward, in ms per call.
 *
 * <pre>java --add-modules jdk.incubator.vector -jar benchmarks/target/benchmarks.jar PoolBenchmark -f 1 -wi 2 -i 3 -w 1 -r 2</pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
@State(Scope.Benchmark)
public class PoolBenchmark {
    /** N×C×H×W of the input. */
    @Param({"64x32x28x28", "64x64x14x14"}) public String shape;
    @Param({"reference", "cpu-1", "cpu-2"}) public String backendName;

    Backend backend;
    Pool2dShape pool;
    Storage x, y, argmax, dy, dx;

    @Setup(Level.Trial)
    public void setUp() {
        String[] p = shape.split("x");
        pool = new Pool2dShape(Integer.parseInt(p[0]), Integer.parseInt(p[1]), Integer.parseInt(p[2]), Integer.parseInt(p[3]),
                2, 2, 2, 2, 0, 0);
        backend = BenchBackends.byName(backendName);
        x = backend.upload(BenchBackends.random(1, pool.inputSize()));
        dy = backend.upload(BenchBackends.random(2, pool.outputSize()));
        y = backend.allocate(pool.outputSize());
        dx = backend.allocate(pool.inputSize());
        argmax = backend.maxPool2dForward(pool, x, y);
    }

    @Benchmark
    public Storage forward() {
        return backend.maxPool2dForward(pool, x, y);
    }

    @Benchmark
    public Storage backward() {
        backend.maxPool2dBackward(pool, dy, argmax, dx);
        return dx;
    }
}
