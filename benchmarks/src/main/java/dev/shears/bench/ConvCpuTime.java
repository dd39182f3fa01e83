package dev.shears.bench;

import dev.shears.core.Backend;
import dev.shears.core.Conv2dShape;
import dev.shears.core.Storage;

import java.lang.management.ManagementFactory;
import java.util.Arrays;

/**
 * {@link ConvBenchmark}'s passes for a machine shared with other work (as {@link GemmCpuTime}): per shape and
 * pass, the wall-clock median, the process CPU time per call, and the median CPU time of the calling thread per
 * call (with one thread, the kernel's own time, whatever else runs on the machine; JIT and GC threads excluded). Compare kernels by running
 * it in alternating JVMs, e.g. {@code -Dshears.conv.direct=never} (im2col + GEMM) against {@code =always}
 * (the direct kernels), and take ratios.
 *
 * <pre>java --add-modules jdk.incubator.vector -Dshears.conv.direct=always -cp benchmarks/target/benchmarks.jar \
 *     dev.shears.bench.ConvCpuTime cpu-1 conv2 [seconds per measurement]</pre>
 * Shapes: conv1, conv2 (SimpleCNN at batch 64), conv2p (a pruned conv2: 14 → 15 channels), conv1p (a pruned conv1: 14 filters),
 * conv2b1 (batch 1), mid32, mid40, c8k24 (partly pruned shapes, for the dispatch's limits), r16, r32, r64 (the ResNet
 * fixture's 3×3 stride-1 convolutions at widths 16, 32, 64); {@code name@N} runs a shape at batch N. Winograd:
 * {@code -Dshears.conv.winograd=never|always}.
 */
public final class ConvCpuTime {
    static Conv2dShape shape(String name) {
        int at = name.indexOf('@');
        if (at >= 0) {   // name@N: the shape at batch N
            Conv2dShape s = shape(name.substring(0, at));
            return new Conv2dShape(Integer.parseInt(name.substring(at + 1)), s.c(), s.h(), s.w(), s.k(), s.r(), s.s(),
                    s.strideH(), s.strideW(), s.padH(), s.padW(), s.groups());
        }
        return switch (name) {
            case "r16" -> new Conv2dShape(64, 16, 28, 28, 16, 3, 3, 1, 1, 1, 1);   // the ResNet fixture's (16, 32, 64) 3x3 stride-1 convs
            case "r32" -> new Conv2dShape(64, 32, 14, 14, 32, 3, 3, 1, 1, 1, 1);
            case "r64" -> new Conv2dShape(64, 64, 7, 7, 64, 3, 3, 1, 1, 1, 1);
            case "conv2p" -> new Conv2dShape(64, 14, 14, 14, 15, 3, 3, 1, 1, 1, 1);
            case "conv1p" -> new Conv2dShape(64, 1, 28, 28, 14, 3, 3, 1, 1, 1, 1);
            case "conv2b1" -> new Conv2dShape(1, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1);
            case "mid32" -> new Conv2dShape(64, 16, 14, 14, 32, 3, 3, 1, 1, 1, 1);
            case "mid40" -> new Conv2dShape(64, 24, 14, 14, 40, 3, 3, 1, 1, 1, 1);
            case "c8k24" -> new Conv2dShape(64, 8, 28, 28, 24, 3, 3, 1, 1, 1, 1);
            default -> ConvBenchmark.shape(name);
        };
    }

    public static void main(String[] args) {
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        var threads = ManagementFactory.getThreadMXBean();
        Backend b = BenchBackends.byName(args.length > 0 ? args[0] : "cpu-1");
        String[] layers = args.length > 1 ? args[1].split(",") : new String[]{"conv1", "conv2"};
        double seconds = args.length > 2 ? Double.parseDouble(args[2]) : 0.5;
        for (String layer : layers) {
            Conv2dShape s = shape(layer);
            Storage x = b.upload(BenchBackends.random(1, s.inputSize())), w = b.upload(BenchBackends.random(2, s.weightSize()));
            Storage bias = b.upload(BenchBackends.random(3, s.k())), dy = b.upload(BenchBackends.random(4, s.outputSize()));
            Storage y = b.allocate(s.outputSize()), dx = b.allocate(s.inputSize()), dw = b.allocate(s.weightSize()), db = b.allocate(s.k());
            Runnable[] passes = {
                    () -> b.conv2dForward(s, x, w, bias, y),
                    () -> b.conv2dBackwardData(s, dy, w, dx),
                    () -> b.conv2dBackwardWeight(s, x, dy, dw, db)};
            String[] names = {"forward", "bwd-data", "bwd-weight"};
            for (int i = 0; i < passes.length; i++) {
                long t0 = System.nanoTime();
                int warm = 0;
                // at least 100 calls: on a loaded machine a second of wall clock left small shapes' first pass
                // half compiled (6 ms per call at batch 1, then 0.1 ms)
                while (System.nanoTime() - t0 < seconds * 1e9 || warm < 100) { passes[i].run(); warm++; }
                int reps = Math.max(10, warm);
                double[] wall = new double[reps], thread = new double[reps];
                long cpu0 = os.getProcessCpuTime(), w0 = System.nanoTime();
                for (int r = 0; r < reps; r++) {
                    long c = threads.getCurrentThreadCpuTime(), t = System.nanoTime();
                    passes[i].run();
                    wall[r] = System.nanoTime() - t;
                    thread[r] = threads.getCurrentThreadCpuTime() - c;
                }
                double cpu = os.getProcessCpuTime() - cpu0, total = System.nanoTime() - w0;
                Arrays.sort(wall);
                Arrays.sort(thread);
                double flop = 2.0 * s.macs();
                System.out.printf("%-6s %-8s %-10s wall %8.3f ms  process CPU %8.3f ms/call  caller's CPU median %8.3f ms (%6.1f GFLOP/s)  cpu/wall %.2f%n",
                        args.length > 0 ? args[0] : "cpu-1", layer, names[i], wall[reps / 2] * 1e-6, cpu / reps * 1e-6,
                        thread[reps / 2] * 1e-6, flop / thread[reps / 2], cpu / total);
            }
        }
        System.exit(0);
    }
}
