package dev.shears.bench;

import dev.shears.core.Backend;
import dev.shears.core.Conv2dShape;
import dev.shears.core.Storage;
import org.openjdk.jmh.annotations.*;

import java.util.concurrent.TimeUnit;

/**
 * SimpleCNN's two convolutions at batch 64, forward and both backward passes, in ms per call.
 * conv1: N=64, C=1, 28×28, K=32, 3×3, pad 1 (2·N·K·P·Q·C·R·S = 28.9 MFLOP);
 * conv2: N=64, C=32, 14×14, K=64, 3×3, pad 1 (462 MFLOP). GFLOPS = that / time.
 *
 * <pre>java --add-modules jdk.incubator.vector -jar benchmarks/target/benchmarks.jar ConvBenchmark -f 1 -wi 2 -i 3 -w 1 -r 2</pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
@State(Scope.Benchmark)
public class ConvBenchmark {
    @Param({"conv1", "conv2"}) public String layer;
    @Param({"cpu-1", "cpu-2"}) public String backendName;

    Backend backend;
    Conv2dShape shape;
    Storage x, w, bias, y, dy, dx, dw, dbias;

    static Conv2dShape shape(String layer) {
        return switch (layer) {
            case "conv1" -> new Conv2dShape(64, 1, 28, 28, 32, 3, 3, 1, 1, 1, 1);
            case "conv2" -> new Conv2dShape(64, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1);
            default -> throw new IllegalArgumentException(layer);
        };
    }

    @Setup(Level.Trial)
    public void setUp() {
        backend = BenchBackends.byName(backendName);
        shape = shape(layer);
        x = backend.upload(BenchBackends.random(1, shape.inputSize()));
        w = backend.upload(BenchBackends.random(2, shape.weightSize()));
        bias = backend.upload(BenchBackends.random(3, shape.k()));
        dy = backend.upload(BenchBackends.random(4, shape.outputSize()));
        y = backend.allocate(shape.outputSize());
        dx = backend.allocate(shape.inputSize());
        dw = backend.allocate(shape.weightSize());
        dbias = backend.allocate(shape.k());
    }

    @Benchmark
    public Storage forward() {
        backend.conv2dForward(shape, x, w, bias, y);
        return y;
    }

    @Benchmark
    public Storage backwardData() {
        backend.conv2dBackwardData(shape, dy, w, dx);
        return dx;
    }

    @Benchmark
    public Storage backwardWeight() {
        backend.conv2dBackwardWeight(shape, x, dy, dw, dbias);
        return dw;
    }
}
