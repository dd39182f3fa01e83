package dev.shears.bench;

import dev.shears.core.Backend;
import dev.shears.core.Storage;
import org.openjdk.jmh.annotations.*;

import java.util.concurrent.TimeUnit;

/**
 * C = A·B (no transposes, alpha 1, beta 0) for square sizes and SimpleCNN's fc1 forward (M×K×N = 64×3136×128:
 * batch × inputs × outputs). The score is GEMM calls per second; the {@code gflop} counter is the same rate
 * times 2·M·N·K / 10⁹, i.e. GFLOPS. The scalar reference runs only the small shapes (it needs seconds at 1024).
 *
 * <pre>java --add-modules jdk.incubator.vector -jar benchmarks/target/benchmarks.jar GemmBenchmark -f 1 -wi 2 -i 3 -w 1 -r 2</pre>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class GemmBenchmark {

    /** "256" is 256×256×256; "64x3136x128" is M×K×N. */
    static int[] mkn(String shape) {
        if (!shape.contains("x")) { int s = Integer.parseInt(shape); return new int[]{s, s, s}; }
        String[] p = shape.split("x");
        return new int[]{Integer.parseInt(p[0]), Integer.parseInt(p[1]), Integer.parseInt(p[2])};
    }

    @State(Scope.Benchmark)
    public static class Operands {
        Backend backend;
        Storage a, b, c;
        int m, n, k;

        void setUp(String backendName, String shape) {
            backend = BenchBackends.byName(backendName);
            int[] s = mkn(shape);
            m = s[0]; k = s[1]; n = s[2];
            a = backend.upload(BenchBackends.random(1, m * k));
            b = backend.upload(BenchBackends.random(2, k * n));
            c = backend.allocate(m * n);
        }

        double gflop() { return 2.0 * m * n * k * 1e-9; }
    }

    public static class Cpu extends Operands {
        @Param({"256", "512", "1024", "64x3136x128"}) public String size;
        @Param({"cpu-1", "cpu-2"}) public String backendName;

        @Setup(Level.Trial) public void setUp() { setUp(backendName, size); }
    }

    public static class Reference extends Operands {
        @Param({"256", "64x3136x128"}) public String refSize;

        @Setup(Level.Trial) public void setUp() { setUp("reference", refSize); }
    }

    /** GFLOPS = this counter's rate (JMH prints it next to the score as ops/s). */
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    @State(Scope.Thread)
    public static class Flops {
        public double gflop;

        @Setup(Level.Iteration) public void clear() { gflop = 0; }
    }

    @Benchmark
    public Storage cpu(Cpu s, Flops f) {
        s.backend.gemm(false, false, s.m, s.n, s.k, 1f, s.a, s.b, 0f, s.c);
        f.gflop += s.gflop();
        return s.c;
    }

    @Benchmark
    public Storage reference(Reference s, Flops f) {
        s.backend.gemm(false, false, s.m, s.n, s.k, 1f, s.a, s.b, 0f, s.c);
        f.gflop += s.gflop();
        return s.c;
    }
}
