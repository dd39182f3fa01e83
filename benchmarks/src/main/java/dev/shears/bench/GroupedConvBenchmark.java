package dev.shears.bench;

import dev.shears.core.Backend;
import dev.shears.core.Conv2dShape;
import dev.shears.core.Storage;
import org.openjdk.jmh.annotations.*;

import java.util.concurrent.TimeUnit;

/**
 * Grouped convolutions at batch 32, forward and both backward passes, in ms per call, against the scalar
 * reference (the naive baseline) and the SIMD twin switched off (cpu-scalar-1):
 * dw1: depthwise 3×3, 32 channels of 28×28, stride 1, pad 1 (2·N·K·P·Q·R·S = 14.5 MFLOP);
 * dw2: depthwise 3×3, 64 channels of 28×28, stride 2, pad 1 (7.2 MFLOP);
 * g4: 4 groups of 16 → 16 channels, 3×3 on 14×14, pad 1 (58 MFLOP).
 *
 * <pre>java --add-modules jdk.incubator.vector -jar benchmarks/target/benchmarks.jar GroupedConvBenchmark -f 1 -wi 2 -i 3 -w 1 -r 2</pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
@State(Scope.Benchmark)
public class GroupedConvBenchmark {
    @Param({"dw1", "dw2", "g4"}) public String layer;
    @Param({"reference", "cpu-scalar-1", "cpu-1", "cpu-2"}) public String backendName;

    Backend backend;
    Conv2dShape shape;
    Storage x, w, bias, y, dy, dx, dw, dbias;

    static Conv2dShape shape(String layer) {
        return switch (layer) {
            case "dw1" -> new Conv2dShape(32, 32, 28, 28, 32, 3, 3, 1, 1, 1, 1, 32);
            case "dw2" -> new Conv2dShape(32, 64, 28, 28, 64, 3, 3, 2, 2, 1, 1, 64);
            case "g4" -> new Conv2dShape(32, 64, 14, 14, 64, 3, 3, 1, 1, 1, 1, 4);
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
