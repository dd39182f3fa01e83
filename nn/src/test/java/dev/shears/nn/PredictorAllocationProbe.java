package dev.shears.nn;

import dev.shears.core.Backend;
import dev.shears.core.Tensor;
import dev.shears.cpu.CpuBackend;

import java.lang.management.ManagementFactory;

/**
 * Bytes a {@link Predictor} allocates on the calling thread per 1,000 × (predict at batch 1 to {@code args[2]}
 * + classify), SimpleCNN pruned (14, 15) and full and a graph model, on a CPU backend of {@code args[0]} threads: windows of
 * calls until one allocates nothing or {@code args[1]} seconds have passed (the JIT must first have compiled
 * the kernels: until then every Vector API operation is an object). Prints one line, "allocated B1 B2 B3", the
 * last window of each model (the third: {@link PredictorGraphTest}'s graph). Run in a JVM of its own by {@link PredictorTest}, as a program serving requests
 * would run it.
 */
public final class PredictorAllocationProbe {
    public static void main(String[] args) {
        Backend cpu = new CpuBackend(true, Integer.parseInt(args[0]));
        long limit = Long.parseLong(args[1]) * 1_000_000_000L;
        int batches = Integer.parseInt(args[2]);
        StringBuilder line = new StringBuilder("allocated");
        for (int[] w : new int[][]{{14, 15, 128}, {32, 64, 128}, {}}) {
            boolean graph = w.length == 0;   // PredictorGraphTest's graph: residual adds, depthwise, concat, pools
            Module model = graph ? PredictorGraphTest.model(8) : SimpleCNN.create(w[0], w[1], w[2], 8);
            model.to(cpu);
            int[] example = graph ? new int[]{3, 12, 10} : new int[]{1, 28, 28};
            Predictor p = Predictor.of(model, batches, example);
            float[] images = Tensor.randn(1, batches * PredictorTest.size(example)).toArray(), out = new float[10 * batches];
            long bytes = Long.MAX_VALUE, end = System.nanoTime() + limit;
            while (bytes > 0 && System.nanoTime() < end) {
                long before = allocated();
                for (int i = 0; i < 1_000; i++) { p.predict(images, 1 + i % batches, out); p.classify(images); }
                bytes = allocated() - before;
            }
            line.append(' ').append(bytes);
        }
        System.out.println(line);
    }

    /** Looked up once: getThreadMXBean() itself allocated 792 bytes between two readings. */
    private static final com.sun.management.ThreadMXBean BEAN = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private static long allocated() { return BEAN.getThreadAllocatedBytes(Thread.currentThread().threadId()); }
}
