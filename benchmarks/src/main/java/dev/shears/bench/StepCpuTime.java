package dev.shears.bench;

import dev.shears.nn.Sequential;
import dev.shears.nn.SimpleCNN;
import dev.shears.nn.optim.SGD;
import dev.shears.nn.train.Trainer;

import java.lang.management.ManagementFactory;
import java.util.Random;

/**
 * What one SimpleCNN training step at batch 64 costs on a shared machine, after warm-up: process CPU time,
 * bytes allocated (all threads) and collector time per step. The companion of {@link GemmCpuTime} for
 * the whole step; run it with {@code -Dshears.threads=1} so that no spin-waiting worker adds CPU time.
 *
 * <pre>java --add-modules jdk.incubator.vector -Dshears.threads=1 -cp benchmarks/target/benchmarks.jar dev.shears.bench.StepCpuTime [warm-up steps] [timed steps]</pre>
 */
public final class StepCpuTime {
    public static void main(String[] args) {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        int warmup = args.length > 0 ? Integer.parseInt(args[0]) : 300, steps = args.length > 1 ? Integer.parseInt(args[1]) : 150;
        Random r = new Random(0);
        Sequential model = SimpleCNN.create(0);
        Trainer trainer = new Trainer(model, new SGD(model.parameters(), 0.01f, 0.9f, 0f));
        float[] x = new float[64 * 28 * 28];
        int[] y = r.ints(64, 0, 10).toArray();
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        for (int i = 0; i < warmup; i++) trainer.step(x, y, 1, 28, 28);
        long gc0 = gcMillis(), bytes0 = threads.getTotalThreadAllocatedBytes(), cpu0 = os.getProcessCpuTime(), wall0 = System.nanoTime();
        for (int i = 0; i < steps; i++) trainer.step(x, y, 1, 28, 28);
        long gc1 = gcMillis(), bytes1 = threads.getTotalThreadAllocatedBytes(), cpu1 = os.getProcessCpuTime(), wall1 = System.nanoTime();
        System.out.printf("per step: %.1f MB allocated, gc %.2f ms, process cpu %.2f ms, wall %.2f ms%n",
                (bytes1 - bytes0) / 1e6 / steps, (double) (gc1 - gc0) / steps, (cpu1 - cpu0) / 1e6 / steps, (wall1 - wall0) / 1e6 / steps);
    }

    private static long gcMillis() {
        long ms = 0;
        for (var gc : ManagementFactory.getGarbageCollectorMXBeans()) ms += gc.getCollectionTime();
        return ms;
    }
}
