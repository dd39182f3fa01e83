package dev.shears.bench;

import dev.shears.core.Backend;
import dev.shears.core.Conv2dShape;
import dev.shears.core.Pool2dShape;
import dev.shears.core.Storage;
import dev.shears.nn.Predictor;
import dev.shears.nn.Sequential;
import dev.shears.nn.SimpleCNN;

import java.util.Arrays;

/**
 * A SimpleCNN's inference pass at batch 1 as bare kernels: the backend calls {@code Sequential} ends up
 * making (conv with BatchNorm folded, its pooling and ReLU as one op, the same again, fc1 starting from its
 * bias, ReLU, fc2), made directly on arrays allocated once, with no tensors, scopes, folding or allocation in
 * between, and random weights. Roughly what a model's pass ({@code bin/shears prune --latency-repeats N})
 * would take with nothing around its kernels; only roughly, because the speed of a vector load depends on
 * where the JVM happened to place an array (docs/performance.md). Prints the median of each step and of
 * the whole chain, for the unpruned widths (32, 64) and the digits demo's cut (14, 15) by default.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp benchmarks/target/benchmarks.jar dev.shears.bench.BatchOneKernels [cpu-1|cpu-2 [C1 C2]]</pre>
 *
 * <p>With {@code predictor} first ({@code BatchOneKernels predictor [cpu-1|cpu-2 [C1 C2 [ROUNDS]]]}) it measures
 * what a {@link Predictor} adds to those kernels: a SimpleCNN of the same widths compiled at batch 1, its
 * {@code predict} and the bare kernel chain timed in alternating rounds of {@link #ROUND} passes (after a
 * round of each untimed), the median pass of each round printed, and the median over the rounds of the
 * difference, per-pass cost beyond the kernels (staleness check, workspace, copying the image in and the
 * logits out).
 */
public final class BatchOneKernels {
    private static final String[] STEPS = {"conv1+pool+relu", "conv2+pool+relu", "fc1", "relu+fc2"};

    public static void main(String[] args) {
        if (args.length > 0 && args[0].equals("predictor")) {
            overhead(Arrays.copyOfRange(args, 1, args.length));
            return;
        }
        String[] backends = args.length > 0 ? new String[]{args[0]} : new String[]{"cpu-1", "cpu-2"};
        int[][] widths = args.length > 2 ? new int[][]{{Integer.parseInt(args[1]), Integer.parseInt(args[2])}}
                                         : new int[][]{{32, 64}, {14, 15}};
        for (String name : backends)
            for (int[] w : widths) run(BenchBackends.byName(name), name, w[0], w[1]);
    }

    private static void run(Backend b, String name, int c1, int c2) {
        Runnable[] steps = steps(b, c1, c2).steps;
        int passes = 200_000;
        double[][] ns = new double[steps.length + 1][passes];
        for (int round = 0; round < 2; round++)          // the first round is the warm-up (JIT)
            for (int i = 0; i < passes; i++) {
                long start = System.nanoTime(), t = start;
                for (int s = 0; s < steps.length; s++) {
                    steps[s].run();
                    long now = System.nanoTime();
                    ns[s][i] = now - t;
                    t = now;
                }
                ns[steps.length][i] = t - start;
            }
        StringBuilder line = new StringBuilder(String.format("%-6s %2d, %2d channels: pass %6.2f µs =", name, c1, c2, median(ns[steps.length]) / 1e3));
        for (int s = 0; s < steps.length; s++) line.append(String.format(" %s %.2f", STEPS[s], median(ns[s]) / 1e3));
        System.out.println(line);
    }

    /** The kernels of one pass, on storages allocated here once (random weights); x is the image, out the logits. */
    private record Kernels(Runnable[] steps, Storage x, Storage out) {}

    private static Kernels steps(Backend b, int c1, int c2) {
        int hidden = 128, classes = 10, features = c2 * 7 * 7;
        Conv2dShape conv1 = new Conv2dShape(1, 1, 28, 28, c1, 3, 3, 1, 1, 1, 1), conv2 = new Conv2dShape(1, c1, 14, 14, c2, 3, 3, 1, 1, 1, 1);
        Pool2dShape pool1 = new Pool2dShape(1, c1, 28, 28, 2, 2, 2, 2, 0, 0), pool2 = new Pool2dShape(1, c2, 14, 14, 2, 2, 2, 2, 0, 0);
        Storage x = random(b, 1, 28 * 28), w1 = random(b, 2, conv1.weightSize()), b1 = random(b, 3, c1);
        Storage w2 = random(b, 4, conv2.weightSize()), b2 = random(b, 5, c2);
        Storage fw1 = random(b, 6, hidden * features), fb1 = random(b, 7, hidden), fw2 = random(b, 8, classes * hidden), fb2 = random(b, 9, classes);
        Storage a1 = b.allocate(pool1.outputSize()), a2 = b.allocate(pool2.outputSize()), h = b.allocate(hidden), out = b.allocate(classes);
        return new Kernels(new Runnable[]{
            () -> b.conv2dMaxPool2dForward(conv1, pool1, true, x, w1, b1, a1),
            () -> b.conv2dMaxPool2dForward(conv2, pool2, true, a1, w2, b2, a2),
            () -> { b.copy(hidden, fb1, h); b.gemm(false, true, 1, hidden, features, 1f, a2, fw1, 1f, h); },
            () -> { b.unary(Backend.Unary.RELU, hidden, h, h); b.copy(classes, fb2, out); b.gemm(false, true, 1, classes, hidden, 1f, h, fw2, 1f, out); },
        }, x, out);
    }

    /** The whole chain as one pass. */
    private static Runnable chain(Backend b, int c1, int c2) {
        Runnable[] steps = steps(b, c1, c2).steps;
        return () -> { for (Runnable s : steps) s.run(); };
    }

    /**
     * The chain as a caller with its own arrays runs it: the image copied into the first storage and the
     * logits out of the last, as a Predictor's call does, so that the kernels see the image freshly written by
     * the calling thread (on two threads the worker's chunks of conv1 then fetch it from the caller's cache).
     */
    private static Runnable chainWithCopies(Backend b, int c1, int c2, float[] image, float[] logits) {
        Kernels k = steps(b, c1, c2);
        float[] x = dev.shears.core.HeapStorage.floats(k.x), out = dev.shears.core.HeapStorage.floats(k.out);
        return () -> {
            System.arraycopy(image, 0, x, 0, image.length);
            for (Runnable s : k.steps) s.run();
            System.arraycopy(out, 0, logits, 0, logits.length);
        };
    }

    /** Passes per timed round of the predictor mode. */
    static final int ROUND = 50_000;

    private static void overhead(String[] args) {
        String[] backends = args.length > 0 ? new String[]{args[0]} : new String[]{"cpu-1", "cpu-2"};
        int[][] widths = args.length > 2 ? new int[][]{{Integer.parseInt(args[1]), Integer.parseInt(args[2])}}
                                         : new int[][]{{32, 64}, {14, 15}};
        int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 5;
        for (String name : backends)
            for (int[] w : widths) {
                Backend b = BenchBackends.byName(name);
                Runnable kernels = chain(b, w[0], w[1]);
                Sequential model = SimpleCNN.create(w[0], w[1], 128, 1);
                model.to(b);
                Predictor predictor = Predictor.of(model, 1, 1, 28, 28);
                float[] image = BenchBackends.random(1, 28 * 28), logits = new float[10];
                Runnable predict = () -> predictor.predict(image, 1, logits);
                Runnable copies = chainWithCopies(b, w[0], w[1], image, new float[10]);
                medianPass(kernels, ROUND);   // untimed: the JIT
                medianPass(predict, ROUND);
                medianPass(copies, ROUND);
                double[] k = new double[rounds], p = new double[rounds], c = new double[rounds], d = new double[rounds], dc = new double[rounds];
                for (int r = 0; r < rounds; r++) {
                    k[r] = medianPass(kernels, ROUND);
                    p[r] = medianPass(predict, ROUND);
                    c[r] = medianPass(copies, ROUND);
                    d[r] = p[r] - k[r];
                    dc[r] = p[r] - c[r];
                }
                System.out.printf("%-6s %2d, %2d channels: predictor %6.2f µs, kernels %6.2f µs, beyond the kernels %5.2f µs"
                                + " (medians of %d alternating rounds of %,d passes; rounds' differences %s µs);"
                                + " kernels with the image copied in and the logits out %6.2f µs, the predictor beyond those %5.2f µs (rounds %s µs)%n",
                        name, w[0], w[1], median(p) / 1e3, median(k) / 1e3, median(d) / 1e3, rounds, ROUND, rounded(d),
                        median(c) / 1e3, median(dc) / 1e3, rounded(dc));
            }
    }

    private static String rounded(double[] ns) {
        return Arrays.toString(Arrays.stream(ns).map(v -> Math.round(v / 10) / 100.0).toArray());
    }

    /** The median nanoseconds of {@code passes} calls of {@code pass}. */
    private static double medianPass(Runnable pass, int passes) {
        double[] ns = new double[passes];
        for (int i = 0; i < passes; i++) {
            long t = System.nanoTime();
            pass.run();
            ns[i] = System.nanoTime() - t;
        }
        return median(ns);
    }

    private static Storage random(Backend b, long seed, int n) {
        float[] a = BenchBackends.random(seed, n);
        for (int i = 0; i < n; i++) a[i] *= 0.1f;
        return b.upload(a);
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }
}
