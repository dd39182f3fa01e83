package dev.shears.bench;

import dev.shears.core.Conv2dShape;
import dev.shears.core.Storage;
import dev.shears.opencl.OpenClBackend;
import dev.shears.opencl.OpenClDevices;
import org.openjdk.jmh.annotations.*;

import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * The OpenCL kernels: GEMM (the naive reference kernel beside the tiled one, as in myGEMM) and SimpleCNN's
 * conv2 (forward, backward-data, backward-weight) at batch 64. Each call ends with synchronize(), so a score
 * is a whole kernel's time, not an enqueue's. Multiply ops/s by 2·M·N·K/10⁹ (GEMM) or 2·macs/10⁹ for GFLOPS.
 * Without an OpenCL device the setup fails with the reason.
 *
 * <pre>java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -jar benchmarks/target/benchmarks.jar OpenClBenchmark -f 1 -wi 2 -i 3 -p device=opencl:0:0</pre>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
@State(Scope.Benchmark)
public class OpenClBenchmark {
    @Param({"opencl"}) public String device;
    @Param({"256", "1024"}) public int size;
    @Param({"NAIVE", "TILED"}) public OpenClBackend.GemmKernel kernel;

    static final Conv2dShape CONV2 = new Conv2dShape(64, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1);

    OpenClBackend b;
    Storage a, bm, c, x, w, bias, y, dy, dx, dw, db;

    static float[] random(long seed, int n) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    @Setup(Level.Trial)
    public void setUp() {
        if (!OpenClDevices.isAvailable()) throw new IllegalStateException(OpenClDevices.problem());
        b = OpenClBackend.open(device);
        b.gemmKernel(kernel);
        a = b.upload(random(1, size * size));
        bm = b.upload(random(2, size * size));
        c = b.allocate(size * size);
        x = b.upload(random(3, CONV2.inputSize()));
        w = b.upload(random(4, CONV2.weightSize()));
        bias = b.upload(random(5, CONV2.k()));
        y = b.allocate(CONV2.outputSize());
        dy = b.upload(random(6, CONV2.outputSize()));
        dx = b.allocate(CONV2.inputSize());
        dw = b.allocate(CONV2.weightSize());
        db = b.allocate(CONV2.k());
    }

    @TearDown(Level.Trial)
    public void tearDown() { b.close(); }

    @Benchmark
    public void gemm() {
        b.gemm(false, false, size, size, size, 1f, a, bm, 0f, c);
        b.synchronize();
    }

    /** Conv2 forward + backward-data + backward-weight (GEMMs by the chosen kernel); independent of {@code size}. */
    @Benchmark
    public void conv2TrainingPasses() {
        b.conv2dForward(CONV2, x, w, bias, y);
        b.conv2dBackwardData(CONV2, dy, w, dx);
        b.conv2dBackwardWeight(CONV2, x, dy, dw, db);
        b.synchronize();
    }
}
