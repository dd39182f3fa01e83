package dev.shears.nn;

import dev.shears.core.Backend;
import dev.shears.core.Backends;
import dev.shears.core.GradMode;
import dev.shears.core.Storage;
import dev.shears.core.Tensor;
import dev.shears.core.TensorScope;
import dev.shears.nn.optim.SGD;
import dev.shears.nn.train.Trainer;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordingStream;

import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * For {@link VectorFallbackTest}: runs training steps, inference and every element-wise op until the JIT has
 * compiled them, then records a few more rounds with JFR's allocation samples and prints each kernel line
 * where the Vector API allocated. Compiled and intrinsified, vector code allocates nothing; its Java fallback
 * (C1's code, a failed intrinsic, or a vector boxed across a call that was not inlined) allocates a vector
 * object and its lane array per operation. Exits with 1 if a kernel line draws {@link #MAX_SHARE} or more of
 * the allocation samples.
 *
 * Element-wise ops are measured by the bytes allocated per call instead (see {@link #elementwiseAllocations}).
 *
 * <p>Arguments: warm-up rounds, measured rounds.
 */
public final class VectorFallbackProbe {
    private final Random random = new Random(0);
    private final Sequential full = SimpleCNN.create(0), pruned = SimpleCNN.create(14, 15, 128, 0);
    private final Trainer fullTrainer = trainer(full), prunedTrainer = trainer(pruned);
    private final float[] x = gaussian(8 * 28 * 28);
    private final int[] labels = random.ints(8, 0, 10).toArray();
    /** Batch 32: the pruned conv2 takes WinogradImages (a group of 16 images per thread). */
    private final float[] x32 = gaussian(32 * 28 * 28);
    private final int[] labels32 = random.ints(32, 0, 10).toArray();
    private final Backend backend = Backends.getDefault();
    private final int rows = 8, cols = 1000;
    private final Storage a = backend.upload(gaussian(rows * cols)), b = backend.upload(gaussian(rows * cols)),
            column = backend.upload(gaussian(rows)), out = backend.allocate(rows * cols);
    /** Every element-wise op: unary, affine, and binary on equal shapes and broadcast either way. */
    private final Map<String, Runnable> elementwise = new LinkedHashMap<>();

    private VectorFallbackProbe() {
        int n = rows * cols;
        for (Backend.Unary op : Backend.Unary.values()) elementwise.put("unary " + op, () -> backend.unary(op, n, a, out));
        elementwise.put("affine", () -> backend.affine(n, 0.5f, 1f, a, out));
        int[] matrix = {rows, cols}, oneColumn = {rows, 1};
        for (Backend.Binary op : Backend.Binary.values()) {
            elementwise.put("binary " + op, () -> backend.binary(op, matrix, a, matrix, b, matrix, out));
            elementwise.put("binary " + op + " [R,C] by [R,1]", () -> backend.binary(op, matrix, a, matrix, column, oneColumn, out));
            elementwise.put("binary " + op + " [R,1] by [R,C]", () -> backend.binary(op, matrix, column, oneColumn, b, matrix, out));
        }
    }

    public static void main(String[] args) throws Exception {
        int warmup = Integer.parseInt(args[0]), measured = Integer.parseInt(args[1]);
        VectorFallbackProbe probe = new VectorFallbackProbe();
        for (int i = 0; i < warmup; i++) probe.round();
        boolean failed = probe.elementwiseAllocations();
        // A kernel can be between two compilations when a window starts: deoptimised by a trap and running C1's
        // code (which allocates at every vector op) until C2 compiles it again. Such a site is gone in the next
        // window; a C2 fallback stays. So a site fails only if it falls back in WINDOWS windows in a row.
        Map<String, Double> persistent = null;
        for (int window = 1; window <= WINDOWS; window++) {
            if (window > 1) for (int i = 0; i < warmup / 3; i++) probe.round();
            Map<String, Double> fallbacks = probe.fallbackSites(measured, window);
            if (persistent == null) persistent = fallbacks;
            else persistent.keySet().retainAll(fallbacks.keySet());
            if (persistent.isEmpty()) break;
        }
        failed |= !persistent.isEmpty();
        System.out.println(failed ? "Vector API fallbacks found" : "no kernel allocates in the Vector API");
        System.exit(failed ? 1 : 0);
    }

    /** Fallback windows a site must appear in, in a row, to fail the probe. */
    static final int WINDOWS = 3;

    /**
     * Records JFR's allocation samples over {@code rounds} rounds and prints each kernel line where the Vector
     * API allocated; returns those that drew {@link #MAX_SHARE} or more of the samples, with their shares.
     */
    private Map<String, Double> fallbackSites(int rounds, int window) {
        Map<String, Long> sites = new TreeMap<>();
        Map<String, Set<String>> how = new TreeMap<>();
        long[] total = {0};
        try (RecordingStream rs = new RecordingStream()) {
            rs.enable("jdk.ObjectAllocationSample").with("throttle", "1000000/s").withStackTrace();
            rs.onEvent("jdk.ObjectAllocationSample", e -> {
                String[] site = fallbackSite(e.getStackTrace());
                synchronized (sites) {
                    total[0]++;
                    if (site != null) {
                        sites.merge(site[0], 1L, Long::sum);
                        how.computeIfAbsent(site[0], k -> new TreeSet<>()).add(site[1]);
                    }
                }
            });
            rs.startAsync();
            for (int i = 0; i < rounds; i++) round();
            rs.stop();   // flushes every event to the handler
        }
        Map<String, Double> fallbacks = new TreeMap<>();
        for (Map.Entry<String, Long> site : sites.entrySet()) {
            double share = (double) site.getValue() / total[0];
            if (share >= MAX_SHARE) fallbacks.put(site.getKey(), share);
            System.out.printf("%s %d of %d allocation samples (%.1f%%) in %d rounds (window %d) in %s: %s%n",
                    share >= MAX_SHARE ? "FALLBACK" : "(ignored)", site.getValue(), total[0], 100 * share, rounds, window,
                    site.getKey(), String.join("; ", how.get(site.getKey())));
        }
        return fallbacks;
    }

    /**
     * A site below this share of the allocation samples is not a vector loop falling back: a masked load that
     * reaches past the end of its array (once per call in Conv.shiftPlanes and Pool.rowSimd2x2) takes the
     * Vector API's checked path, which allocates a little. Samples are counted, not weighed: JFR gives a
     * sample the weight of everything its thread allocated since the last one, so one rare sample could carry
     * a quarter of a round's bytes. A loop that falls back allocates at every vector and draws most samples.
     */
    static final double MAX_SHARE = 0.05;

    /**
     * Element-wise kernels, one op at a time, each measured by the bytes all threads allocated during the
     * call (the least of 5 calls): a fallback allocates about 6 bytes per float, a compiled kernel a few
     * bytes for its task object. Measured exactly, not sampled, because these arrays are small next to a
     * training step's. Returns whether any op allocated a quarter of a byte per float or more.
     */
    private boolean elementwiseAllocations() {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        int n = rows * cols;
        boolean failed = false;
        for (Map.Entry<String, Runnable> op : elementwise.entrySet()) {
            long least = Long.MAX_VALUE;
            for (int i = 0; i < 5; i++) {
                long before = threads.getTotalThreadAllocatedBytes();
                op.getValue().run();
                least = Math.min(least, threads.getTotalThreadAllocatedBytes() - before);
            }
            if (least * 4 >= n) {
                failed = true;
                System.out.printf("FALLBACK %s allocated %,d bytes for %,d floats%n", op.getKey(), least, n);
            }
        }
        return failed;
    }

    /**
     * If the allocation happened inside the Vector API: the first frame of ours (class, method, line, how it
     * ran: interpreted, JIT compiled or inlined into another method), and how it got there (the Vector API
     * method it called, the frame that called it); else null.
     */
    private static String[] fallbackSite(RecordedStackTrace stack) {
        if (stack == null || stack.getFrames().isEmpty()) return null;
        String top = stack.getFrames().getFirst().getMethod().getType().getName();
        if (!top.startsWith("jdk.incubator.vector.") && !top.startsWith("jdk.internal.vm.vector.")) return null;
        List<RecordedFrame> frames = stack.getFrames();
        for (int i = 1; i < frames.size(); i++) {
            RecordedFrame f = frames.get(i);
            String type = f.getMethod().getType().getName();
            if (type.startsWith("dev.shears.") && !type.contains("$$Lambda")) {
                String site = type + "." + f.getMethod().getName() + " line " + f.getLineNumber() + " (" + f.getType() + ")";
                String how = "calling " + shortName(frames.get(i - 1))
                        + (i + 1 < frames.size() ? ", called from " + shortName(frames.get(i + 1)) + " (" + frames.get(i + 1).getType() + ")" : "");
                return new String[]{site, how};
            }
        }
        return null;
    }

    private static String shortName(RecordedFrame f) {
        return f.getMethod().getType().getName().replaceFirst(".*\\.", "") + "." + f.getMethod().getName();
    }

    /**
     * Training steps of the full and a pruned SimpleCNN (the pruned one at batch 8 and 32), inference at batch 1,
     * 8 and 32, every element-wise op.
     */
    private void round() {
        fullTrainer.step(x, labels, 1, 28, 28);
        prunedTrainer.step(x, labels, 1, 28, 28);
        prunedTrainer.step(x32, labels32, 1, 28, 28);
        for (Sequential m : new Sequential[]{full, pruned}) {
            m.eval();
            try (GradMode g = GradMode.off(); TensorScope s = TensorScope.open()) {
                m.forward(Tensor.of(x, 8, 1, 28, 28)).toArray();   // the fused inference path
                m.forward(Tensor.of(Arrays.copyOf(x, 784), 1, 1, 28, 28)).toArray();
                m.forward(Tensor.of(x32, 32, 1, 28, 28)).toArray();   // conv1 in DirectImages, the pruned conv2 in WinogradImages
            }
            m.train();
        }
        elementwise.values().forEach(Runnable::run);
    }

    private static Trainer trainer(Sequential model) { return new Trainer(model, new SGD(model.parameters(), 0.01f, 0.9f, 1e-4f)); }

    private float[] gaussian(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) random.nextGaussian();
        return v;
    }
}
