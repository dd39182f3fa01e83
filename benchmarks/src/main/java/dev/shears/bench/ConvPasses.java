package dev.shears.bench;

import dev.shears.core.Backend;
import dev.shears.core.Conv2dShape;
import dev.shears.core.Storage;
import org.openjdk.jmh.annotations.*;

import java.util.concurrent.TimeUnit;

/**
 * The three passes of one convolution (forward, backward-data, backward-weight) in ms per call, on random
 * data; a subclass names the shapes and backends as JMH parameters (JMH's inheritance sample).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
@State(Scope.Benchmark)
public abstract class ConvPasses {
    Backend backend;
    Conv2dShape shape;
    Storage x, w, bias, y, dy, dx, dw, dbias;

    /** The shape under test, from the subclass's parameter. */
    protected abstract Conv2dShape shape();

    /** The backend under test, from the subclass's parameter ({@link BenchBackends#byName}). */
    protected abstract String backendName();

    @Setup(Level.Trial)
    public void setUp() {
        backend = BenchBackends.byName(backendName());
        shape = shape();
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
