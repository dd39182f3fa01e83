package dev.shears.bench;

import dev.shears.core.Backend;
import dev.shears.core.Pool2dShape;
import dev.shears.core.Storage;
import org.openjdk.jmh.annotations.*;

import java.util.concurrent.TimeUnit;

/**
 * Average pooling at batch 64, forward and backward, in ms per call: "global" is ResNet's head (a 7×7 plane
 * of 256 channels to 1×1), "2x2" a DenseNet-style transition (32 channels of 28×28, window 2, stride 2),
 * "3x3s1" an Inception-style branch pool (32 channels of 14×14, window 3, stride 1, pad 1).
 *
 * <pre>java --add-modules jdk.incubator.vector -jar benchmarks/target/benchmarks.jar AvgPoolBenchmark -f 1 -wi 2 -i 3 -w 1 -r 2</pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
@State(Scope.Benchmark)
public class AvgPoolBenchmark {
    @Param({"global", "2x2", "3x3s1"}) public String pool;
    @Param({"reference", "cpu-1", "cpu-2"}) public String backendName;

    Backend backend;
    Pool2dShape shape;
    Storage x, y, dy, dx;

    static Pool2dShape shape(String pool) {
        return switch (pool) {
            case "global" -> new Pool2dShape(64, 256, 7, 7, 7, 7, 1, 1, 0, 0);
            case "2x2" -> new Pool2dShape(64, 32, 28, 28, 2, 2, 2, 2, 0, 0);
            case "3x3s1" -> new Pool2dShape(64, 32, 14, 14, 3, 3, 1, 1, 1, 1);
            default -> throw new IllegalArgumentException(pool);
        };
    }

    @Setup(Level.Trial)
    public void setUp() {
        backend = BenchBackends.byName(backendName);
        shape = shape(pool);
        x = backend.upload(BenchBackends.random(1, shape.inputSize()));
        dy = backend.upload(BenchBackends.random(2, shape.outputSize()));
        y = backend.allocate(shape.outputSize());
        dx = backend.allocate(shape.inputSize());
    }

    @Benchmark
    public Storage forward() {
        backend.avgPool2dForward(shape, true, x, y);
        return y;
    }

    @Benchmark
    public Storage backward() {
        backend.avgPool2dBackward(shape, true, dy, dx);
        return dx;
    }
}
