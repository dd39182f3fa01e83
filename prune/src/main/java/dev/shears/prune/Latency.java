package dev.shears.prune;

import dev.shears.core.GradMode;
import dev.shears.core.Tensor;
import dev.shears.core.TensorScope;
import dev.shears.nn.Module;
import dev.shears.nn.Predictor;

import java.util.Arrays;
import java.util.List;

/**
 * Measured inference time: passes of the model compiled once into a {@link Predictor} (input copied in,
 * output copied out, nothing allocated per pass on the CPU backend), as a program serving requests would run
 * it; for a model the Predictor cannot compile, forward passes in eval mode without grad, each in its own
 * scope ({@link #method} says which). On the model's backend. The median of {@code repeats} timed runs after {@code warmup} untimed ones, after at least
 * {@link #MIN_WARMUP_NANOS} of them (JIT, caches, the thread pool) and once their time has settled — a
 * median, because a machine shared with other work has long outliers that a mean would report.
 *
 * <p>Why a time and not only a count: the JIT compiles a kernel after some thousands of calls, not tens.
 * With 20 untimed passes at batch 1 (this class's callers used to ask for that) the timed ones still ran
 * partly interpreted: SimpleCNN measured 0.46 ms, against 0.11-0.17 ms once compiled, and the speed-up of
 * a pruned model read 2.2× instead of about 7× (2 threads, same models, same machine).
 *
 * <p>To compare models (before and after pruning), {@link #compare} interleaves them in blocks — an untimed
 * pass and then {@link #BLOCK} timed ones of one model, then of the next, in turn — so that a change in the
 * machine's load during the measurement hits both alike instead of showing up as a speed-up or a slow-down,
 * while each timed pass still finds its own model's weights in the caches, as a model serving requests
 * would. Interleaving single passes instead timed each pass of the smaller model right after a pass of the
 * larger one had evicted it from L2: a pruned SimpleCNN at batch 1 (one thread) measured 18 µs, against
 * 16.5 µs alone, so the speed-up read 4.5× where the model gives 5× (see docs/performance.md).
 */
public final class Latency {
    private Latency() {}

    /** Untimed passes continue until this much time has passed (and {@code warmup} passes were run). */
    public static final long MIN_WARMUP_NANOS = 1_000_000_000L;

    /**
     * One sentence for a report saying how its latencies were measured: how many timed passes the medians
     * are of, and on which backend (the CPU backend names its thread count, which changes the figures most).
     */
    public static String method(int repeats, Module model) {
        return String.format(java.util.Locale.ROOT, "Latency: the median of %,d timed pass%s per model and batch size "
                + "of %s, the models interleaved in blocks, on %s.", repeats, repeats == 1 ? "" : "es",
                Predictor.supports(model) ? "the model compiled by dev.shears.nn.Predictor" : "the model's forward", model.backend());
    }

    /** Median milliseconds per forward pass of a batch shaped {@code inputShape}. */
    public static double medianMillis(Module model, int warmup, int repeats, int... inputShape) {
        return compare(List.of(model), warmup, repeats, inputShape)[0];
    }

    /**
     * Median milliseconds per pass of each model, measured interleaved in blocks (see above): a
     * {@link Predictor}'s {@code predict} where the model compiles, else its eval-mode forward.
     */
    public static double[] compare(List<? extends Module> models, int warmup, int repeats, int... inputShape) {
        double[][] ms = samples(models, warmup, repeats, MAX_WARMUP_NANOS, inputShape);
        double[] medians = new double[models.size()];
        for (int k = 0; k < medians.length; k++) medians[k] = median(ms[k]);
        return medians;
    }

    /** A measurement counts as settled when every model's interquartile range is at most this share of its median. */
    static final double STEADY_SPREAD = 0.10;

    /**
     * As {@link #compare}, repeated while the passes spread wide: after each round, if some model's interquartile range
     * exceeds {@link #STEADY_SPREAD} of its median, another round of twice the repeats is timed (at most two more), and
     * each model's median is taken over all its passes. On a two-vCPU machine shared with other work one round of 30
     * passes of a 1 ms model can sit in a slow phase; more passes where the spread shows it is cheaper than a wrong cut.
     * Meant for many calls in one process (a search): warm-up stops settling after {@link #STEADY_MAX_WARMUP_NANOS},
     * as under load it rarely settles and the JIT has compiled the passes after the first calls.
     */
    public static double[] steadyCompare(List<? extends Module> models, int warmup, int repeats, int... inputShape) {
        double[][] all = samples(models, warmup, repeats, STEADY_MAX_WARMUP_NANOS, inputShape);
        for (int round = 1, n = 2 * repeats; round <= 2 && maxSpread(all) > STEADY_SPREAD; round++, n *= 2) {
            double[][] more = samples(models, warmup, n, MIN_WARMUP_NANOS, inputShape);
            for (int k = 0; k < all.length; k++) {
                double[] joined = Arrays.copyOf(all[k], all[k].length + more[k].length);
                System.arraycopy(more[k], 0, joined, all[k].length, more[k].length);
                all[k] = joined;
            }
        }
        double[] medians = new double[models.size()];
        for (int k = 0; k < medians.length; k++) medians[k] = median(all[k]);
        return medians;
    }

    /**
     * A model's latency as a ratio to a reference's, timed interleaved: the median over blocks b of
     * <pre>
     *   r_b = median(model's timed passes in block b) / median(reference's timed passes in block b)
     * </pre>
     * with a 95% bootstrap interval of that median, and the reference's median milliseconds over all its passes.
     */
    public record Ratio(double ratio, double low, double high, int blocks, double referenceMillis) {
        /** Half the interval's width as a share of the ratio. */
        public double relativeHalfWidth() { return (high - low) / (2 * ratio); }
    }

    /** {@link #pairedRatio} times more passes until its interval is within this share of the ratio either side... */
    static final double PAIRED_HALF_WIDTH = 0.01;
    /** ... or it has timed this many rounds of {@code repeats} passes. */
    static final int PAIRED_ROUNDS = 4;

    /**
     * The protocol of a final latency reading (a search's last check and a report's row measure the same way):
     * {@code model} and {@code reference} interleaved in blocks as in {@link #compare}, after a warm-up that runs
     * until the passes' median settles (up to {@link #MAX_WARMUP_NANOS}), in rounds of {@code repeats} passes each,
     * until the {@link Ratio}'s 95% interval is within {@link #PAIRED_HALF_WIDTH} of it or after {@link #PAIRED_ROUNDS}
     * rounds. Each block's ratio pairs passes timed a few milliseconds apart, so load that comes and goes during the
     * reading cancels block by block.
     */
    public static Ratio pairedRatio(Module reference, Module model, int repeats, int... inputShape) {
        List<Module> both = List.of(reference, model);
        double[][] all = samples(both, 3, repeats, MAX_WARMUP_NANOS, inputShape);
        Ratio r = ratio(all);
        for (int round = 1; round < PAIRED_ROUNDS && r.relativeHalfWidth() > PAIRED_HALF_WIDTH; round++) {
            double[][] more = samples(both, 3, repeats, MIN_WARMUP_NANOS, inputShape);
            // whole blocks only, so that block b of the reference and of the model stay the same block
            int whole = all[0].length / BLOCK * BLOCK;
            for (int k = 0; k < 2; k++) {
                double[] joined = Arrays.copyOf(all[k], whole + more[k].length);
                System.arraycopy(more[k], 0, joined, whole, more[k].length);
                all[k] = joined;
            }
            r = ratio(all);
        }
        return r;
    }

    /** The {@link Ratio} of row 1 to row 0 of two models' passes timed interleaved in blocks of {@link #BLOCK}. */
    static Ratio ratio(double[][] passes) {
        double[] r = blockRatios(passes[0], passes[1]);
        double[] ci = bootstrapMedian(r, 2000, 20261206L);
        return new Ratio(median(r), ci[0], ci[1], r.length, median(passes[0]));
    }

    /** Per block of {@link #BLOCK} passes (the last may be shorter): median(model's) / median(reference's). */
    static double[] blockRatios(double[] reference, double[] model) {
        if (reference.length != model.length)
            throw new IllegalArgumentException("paired passes need as many of each model, got " + reference.length + " and " + model.length);
        int blocks = (reference.length + BLOCK - 1) / BLOCK;
        double[] r = new double[blocks];
        for (int b = 0; b < blocks; b++) {
            int from = b * BLOCK, to = Math.min(reference.length, from + BLOCK);
            r[b] = median(Arrays.copyOfRange(model, from, to)) / median(Arrays.copyOfRange(reference, from, to));
        }
        return r;
    }

    /** The 2.5th and 97.5th percentiles of the median of {@code v} resampled with replacement {@code n} times (seeded). */
    static double[] bootstrapMedian(double[] v, int n, long seed) {
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(seed);
        double[] medians = new double[n], draw = new double[v.length];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < v.length; j++) draw[j] = v[rnd.nextInt(v.length)];
            medians[i] = median(draw);
        }
        Arrays.sort(medians);
        return new double[]{medians[(int) Math.floor(0.025 * (n - 1))], medians[(int) Math.ceil(0.975 * (n - 1))]};
    }

    /** The largest (q₃ − q₁) / median over the rows. */
    static double maxSpread(double[][] ms) {
        double worst = 0;
        for (double[] row : ms) {
            double[] s = row.clone();
            Arrays.sort(s);
            double q1 = s[(s.length - 1) / 4], q3 = s[(3 * (s.length - 1)) / 4];
            worst = Math.max(worst, (q3 - q1) / median(s));
        }
        return worst;
    }

    /** Each model's timed passes in milliseconds, interleaved as in {@link #compare}. */
    static double[][] samples(List<? extends Module> models, int warmup, int repeats, long maxWarmupNanos, int... inputShape) {
        if (repeats < 1) throw new IllegalArgumentException("latency needs at least one timed run, got " + repeats);
        double[][] ms = new double[models.size()][repeats];
        boolean[] wasTraining = evalMode(models);
        int n = inputShape[0];
        int[] example = Arrays.copyOfRange(inputShape, 1, inputShape.length);
        Predictor[] compiled = new Predictor[models.size()];
        try (GradMode ignored = GradMode.off(); TensorScope outer = TensorScope.open()) {
            Tensor[] x = inputs(models, inputShape);
            float[] images = x[0].toArray();
            float[][] out = new float[models.size()][];
            for (int k = 0; k < compiled.length; k++)
                if (Predictor.supports(models.get(k))) {
                    compiled[k] = Predictor.of(models.get(k), n, example);
                    out[k] = new float[n * compiled[k].outputSize()];
                }
            warmUpThenTime(models.size(), warmup, repeats, maxWarmupNanos, (k, i) -> {
                if (compiled[k] != null) {
                    long t = System.nanoTime();
                    compiled[k].predict(images, n, out[k]);
                    if (i >= 0) ms[k][i] = (System.nanoTime() - t) / 1e6;
                    return;
                }
                try (TensorScope scope = TensorScope.open()) {
                    long t = System.nanoTime();
                    models.get(k).forward(x[k]).toArray();   // read back: the time includes finishing the work
                    if (i >= 0) ms[k][i] = (System.nanoTime() - t) / 1e6;
                }
            });
        } finally {
            for (Predictor p : compiled) if (p != null) p.close();
            restoreModes(models, wasTraining);
        }
        return ms;
    }

    /**
     * Median milliseconds spent in each leaf layer of a forward pass (the layers run one by one, each output
     * read back), for a batch shaped {@code inputShape}, for each model, the models interleaved in blocks as
     * in {@link #compare} — measured one after the other, the first would pay for the JIT compiling the kernels
     * both use. This is where the time goes, which FLOPs alone do not say: BatchNorm, ReLU and pooling cost
     * time in proportion to a layer's channels, a conv in proportion to the product of its input and output
     * channels. Run one by one, the layers miss {@code Sequential}'s inference rewrites (BatchNorm folded
     * into the conv, ReLU after pooling), so these times add up to more than {@link #compare}'s.
     */
    public static List<java.util.Map<String, Double>> perLayer(List<? extends Module> models, int warmup, int repeats, int... inputShape) {
        List<java.util.Map<String, Module>> layers = new java.util.ArrayList<>();
        for (Module m : models) layers.add(Layers.inForwardOrder(m));
        double[][][] ms = new double[models.size()][][];
        for (int k = 0; k < models.size(); k++) ms[k] = new double[layers.get(k).size()][repeats];
        boolean[] wasTraining = evalMode(models);
        try (GradMode ignored = GradMode.off(); TensorScope outer = TensorScope.open()) {
            Tensor[] x0 = inputs(models, inputShape);
            warmUpThenTime(models.size(), warmup, repeats, MAX_WARMUP_NANOS, (k, i) -> {
                try (TensorScope scope = TensorScope.open()) {
                    Tensor x = x0[k];
                    int l = 0;
                    for (Module layer : layers.get(k).values()) {
                        long t = System.nanoTime();
                        x = layer.forward(x);
                        x.toArray();
                        if (i >= 0) ms[k][l][i] = (System.nanoTime() - t) / 1e6;
                        l++;
                    }
                }
            });
        } finally {
            restoreModes(models, wasTraining);
        }
        List<java.util.Map<String, Double>> out = new java.util.ArrayList<>();
        for (int k = 0; k < models.size(); k++) {
            var m = new java.util.LinkedHashMap<String, Double>();
            int l = 0;
            for (String name : layers.get(k).keySet()) m.put(name, median(ms[k][l++]));
            out.add(m);
        }
        return out;
    }

    /** Timed passes of one model in a row, after an untimed one, in {@link #compare} and {@link #perLayer}. */
    static final int BLOCK = 10;

    /** One pass of model k; the pass is timed as the i-th of that model, or untimed when i is negative. */
    private interface Pass { void run(int k, int i); }

    /**
     * Warm-up passes of each of {@code models} models in turn ({@link #warmupPasses}), then {@code repeats}
     * timed passes of each in blocks: for each model in turn an untimed pass (which brings its weights back
     * into the caches) and up to {@link #BLOCK} timed ones. The warm-up runs the very {@code pass} that is
     * timed, so the JIT has compiled it before the timing starts: with a warm-up lambda of its own, the timed
     * one was first compiled as the timed passes began ({@code -XX:+PrintCompilation}: C1, tier 3, within the
     * 20 ms of {@code bin/shears prune}'s 200 passes at batch 1), on a compiler thread competing for the two
     * cores with the pass.
     */
    private static void warmUpThenTime(int models, int warmup, int repeats, long maxWarmupNanos, Pass pass) {
        warmupPasses(warmup, maxWarmupNanos, () -> {
            for (int k = 0; k < models; k++) pass.run(k, -1);
        });
        for (int first = 0; first < repeats; first += BLOCK)
            for (int k = 0; k < models; k++) {
                pass.run(k, -1);
                for (int i = first; i < Math.min(repeats, first + BLOCK); i++) pass.run(k, i);
            }
    }

    /** Puts every model in eval mode; returns which ones were training, for {@link #restoreModes}. */
    private static boolean[] evalMode(List<? extends Module> models) {
        boolean[] wasTraining = new boolean[models.size()];
        for (int k = 0; k < models.size(); k++) { wasTraining[k] = models.get(k).isTraining(); models.get(k).eval(); }
        return wasTraining;
    }

    private static void restoreModes(List<? extends Module> models, boolean[] wasTraining) {
        for (int k = 0; k < models.size(); k++) models.get(k).train(wasTraining[k]);
    }

    /** One random batch shaped {@code inputShape} per model, on that model's backend (the same values for all). */
    private static Tensor[] inputs(List<? extends Module> models, int[] inputShape) {
        Tensor[] x = new Tensor[models.size()];
        for (int k = 0; k < x.length; k++) x[k] = Tensor.randn(1, inputShape).to(models.get(k).backend());
        return x;
    }

    /** Warm-up stops once the median pass of two windows in a row agrees within this fraction... */
    static final double SETTLED = 0.05;
    /** ... windows of this long ... */
    static final long WINDOW_NANOS = 250_000_000L;
    /** ... or after this long in all, settled or not. */
    static final long MAX_WARMUP_NANOS = 10_000_000_000L;
    /** {@link #steadyCompare}'s cap instead. */
    static final long STEADY_MAX_WARMUP_NANOS = 3_000_000_000L;

    /**
     * Runs {@code pass} at least {@code warmup} times and for at least {@link #MIN_WARMUP_NANOS}, then until
     * its median time settles. Why: on two cores busy with this process's own threads (a worker spinning
     * between parallel chunks) the JIT compiler threads get little CPU, and after one second a pruned
     * SimpleCNN at batch 1 on two threads still took 0.029 ms a pass against 0.014 ms a few seconds later.
     */
    private static void warmupPasses(int warmup, long maxNanos, Runnable pass) {
        long start = System.nanoTime();
        for (int i = 0; i < warmup || System.nanoTime() - start < MIN_WARMUP_NANOS; i++) pass.run();
        double previous = Double.NaN;
        while (System.nanoTime() - start < maxNanos) {
            double current = windowMedian(pass);
            if (Math.abs(current - previous) <= SETTLED * previous) return;
            previous = current;
        }
    }

    /** The median nanoseconds of the passes run in one {@link #WINDOW_NANOS}. */
    private static double windowMedian(Runnable pass) {
        double[] times = new double[64];
        int n = 0;
        for (long end = System.nanoTime() + WINDOW_NANOS; System.nanoTime() < end || n == 0; n++) {
            if (n == times.length) times = Arrays.copyOf(times, 2 * n);
            long t = System.nanoTime();
            pass.run();
            times[n] = System.nanoTime() - t;
        }
        return median(Arrays.copyOf(times, n));
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }
}
