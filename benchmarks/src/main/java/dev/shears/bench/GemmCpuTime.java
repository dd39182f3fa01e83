package dev.shears.bench;

import dev.shears.core.Backend;
import dev.shears.core.Storage;

import java.lang.management.ManagementFactory;
import java.util.Arrays;

/**
 * A companion to {@link GemmBenchmark} for a machine shared with other work: besides wall-clock GFLOPS it
 * reports GFLOPS per CPU-second of this process (process CPU time, measured after warm-up, when the JIT and
 * GC threads are idle). When other processes take turns on the cores, wall-clock rates fall with the share
 * of the cores this process gets, while the CPU-time rate stays close to what the kernel does when it runs.
 * The same is printed for numpy/OpenBLAS by {@code docs/gemm_numpy.py} (time.process_time).
 *
 * <pre>java --add-modules jdk.incubator.vector -cp benchmarks/target/benchmarks.jar dev.shears.bench.GemmCpuTime</pre>
 */
public final class GemmCpuTime {
    public static void main(String[] args) {
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        String[] backends = args.length > 0 ? args : new String[]{"cpu-1", "cpu-2"};
        System.out.printf("# %d-bit vectors, GEMM blocking KC,MC,NC = %s%n", jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize(),
                dev.shears.cpu.GemmTuning.inUse());
        for (String name : backends) {
            Backend b = BenchBackends.byName(name);
            for (String shape : new String[]{"256", "512", "1024", "64x3136x128"}) {
                int[] s = GemmBenchmark.mkn(shape);
                int m = s[0], k = s[1], n = s[2];
                Storage a = b.upload(BenchBackends.random(1, m * k)), bb = b.upload(BenchBackends.random(2, k * n)), c = b.allocate(m * n);
                double flop = 2.0 * m * n * k;
                int reps = (int) Math.max(10, 6e10 / flop);   // ~0.3 s of work: process CPU time ticks are coarse
                for (int i = 0; i < reps; i++) b.gemm(false, false, m, n, k, 1f, a, bb, 0f, c);   // warm-up
                double[] wall = new double[reps];
                long cpu0 = os.getProcessCpuTime(), t0 = System.nanoTime();
                for (int i = 0; i < reps; i++) {
                    long t = System.nanoTime();
                    b.gemm(false, false, m, n, k, 1f, a, bb, 0f, c);
                    wall[i] = System.nanoTime() - t;
                }
                double cpu = os.getProcessCpuTime() - cpu0, total = System.nanoTime() - t0;
                Arrays.sort(wall);
                System.out.printf("%-6s %-12s wall median %8.3f ms  %6.1f GFLOPS (best %6.1f)   per CPU-second %6.1f GFLOPS   (cpu/wall %.2f)%n",
                        name, shape, wall[reps / 2] * 1e-6, flop / wall[reps / 2], flop / wall[0], flop * reps / cpu, cpu / total);
            }
        }
        System.exit(0);
    }
}
