package dev.shears.nn;

import dev.shears.core.Backend;
import dev.shears.core.Tensor;
import dev.shears.cpu.CpuBackend;

import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordingStream;

import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Bytes a {@link Predictor} allocates on the calling thread per 1,000 × (predict at batch 1 to {@code args[2]}
 * + classify), SimpleCNN pruned (14, 15) and full and a graph model, on a CPU backend of {@code args[0]} threads: windows of
 * calls until one allocates nothing or {@code args[1]} seconds have passed (the JIT must first have compiled
 * the kernels: until then every Vector API operation is an object). Prints one line, "allocated B1 B2 B3", the
 * last window of each model (the third: {@link PredictorGraphTest}'s graph), after JFR's view of where the
 * bytes came from for a model that allocated. Run in a JVM of its own by {@link PredictorTest}, as a program serving requests
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
            if (bytes > 0) printWhere(p, images, batches, out);
        }
        System.out.println(line);
    }

    /**
     * Where the bytes come from, for whoever reads a failure: 5 s more of calls under JFR's TLAB events (a
     * refill of this thread's allocation buffer, with the stack that caused it) and deoptimisations, counted by
     * stack. A vector boxed across a call C2 did not inline shows as a FloatVector or float[] at that line.
     */
    private static void printWhere(Predictor p, float[] images, int batches, float[] out) {
        Map<String, Integer> stacks = new TreeMap<>();
        String me = Thread.currentThread().getName();
        try (RecordingStream rs = new RecordingStream()) {
            for (String event : new String[]{"jdk.ObjectAllocationInNewTLAB", "jdk.ObjectAllocationOutsideTLAB", "jdk.Deoptimization"}) {
                rs.enable(event).withStackTrace();
                rs.onEvent(event, e -> {
                    boolean deopt = event.equals("jdk.Deoptimization");
                    if (!deopt && (e.getThread("eventThread") == null || !me.equals(e.getThread("eventThread").getJavaName()))) return;
                    StringBuilder key = new StringBuilder(deopt ? "deoptimisation (" + e.getString("reason") + ", " + e.getString("action") + ")"
                            : "new TLAB for a " + e.getClass("objectClass").getName());
                    List<RecordedFrame> frames = e.getStackTrace() == null ? List.of() : e.getStackTrace().getFrames();
                    for (RecordedFrame f : frames.subList(0, Math.min(8, frames.size())))
                        key.append("\n    ").append(f.getMethod().getType().getName()).append('.').append(f.getMethod().getName())
                                .append(':').append(f.getLineNumber()).append(" (").append(f.getType()).append(')');
                    synchronized (stacks) { stacks.merge(key.toString(), 1, Integer::sum); }
                });
            }
            rs.startAsync();
            for (long end = System.nanoTime() + 5_000_000_000L; System.nanoTime() < end; )
                for (int i = 0; i < 1_000; i++) { p.predict(images, 1 + i % batches, out); p.classify(images); }
            rs.stop();
        }
        synchronized (stacks) { stacks.forEach((stack, n) -> System.out.println(n + " × " + stack)); }
    }

    /** Looked up once: getThreadMXBean() itself allocated 792 bytes between two readings. */
    private static final com.sun.management.ThreadMXBean BEAN = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private static long allocated() { return BEAN.getThreadAllocatedBytes(Thread.currentThread().threadId()); }
}
