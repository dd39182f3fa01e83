package dev.shears.cli;

import dev.shears.core.GradMode;
import dev.shears.core.Tensor;
import dev.shears.core.TensorScope;
import dev.shears.data.Dataset;
import dev.shears.nn.Module;
import dev.shears.nn.Predictor;
import dev.shears.nn.SimpleCNN;
import dev.shears.nn.optim.SGD;
import dev.shears.nn.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.IntSupplier;

@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Training and inference throughput of SimpleCNN (or --model) in samples/s.",
                "Each figure is the median of --runs timed runs of --steps batches, after untimed runs for --warmup seconds",
                "and then until the rate settles (two one-second windows within 5%%, at most 4 × --warmup in all).",
                "Training: forward, cross-entropy, backward and an SGD step at --batch-size (64);",
                "inference: the model compiled once (dev.shears.nn.Predictor) at --infer-batch-size (256): images copied in,",
                "logits copied back to the host."})
final class BenchCommand extends BackendCommand {

    @Mixin Options.Data data;
    @Mixin Options.Model model;
    @Mixin Options.Batch batch;

    @Mixin TrainingOptions training;

    @Option(names = "--infer-batch-size", paramLabel = "N", defaultValue = "256", description = "Inference batch size (default: ${DEFAULT-VALUE}).")
    int inferBatch;

    /**
     * Seconds rather than a count of runs: the JIT needs a few hundred steps before the Vector API kernels are
     * compiled (30 steps measured half the final speed), and on a busy machine compiling takes longer.
     */
    @Option(names = "--warmup", paramLabel = "SECONDS", defaultValue = "5",
            description = "Untimed runs for at least this long first, so that the JIT has compiled the kernels; then on until the rate settles (default: ${DEFAULT-VALUE}).")
    double warmup;

    @Option(names = "--runs", paramLabel = "N", defaultValue = "7", description = "Timed runs; the median is reported (default: ${DEFAULT-VALUE}).")
    int runs;

    @Option(names = "--steps", paramLabel = "N", defaultValue = "10", description = "Batches per run (default: ${DEFAULT-VALUE}).")
    int steps;

    @Override
    protected int run() throws Exception {
        if (!(warmup >= 0) || runs < 1 || steps < 1 || inferBatch < 1)
            throw usageError("--warmup must be >= 0 seconds and --runs, --steps, --infer-batch-size >= 1");
        Dataset train = data.load(this).train();
        requireOneArray("--batch-size", batch.size, train.imageSize());
        requireOneArray("--infer-batch-size", inferBatch, train.imageSize());
        Module model = this.model.loadOr(this, () -> SimpleCNN.create(0));
        this.model.requireFits(train, data);
        log("bench on %s, %d thread(s): %s s of warm-up, then %d timed runs of %d batches", deviceName(), threads(), warmup, runs, steps);

        // real images, the first batches of the training split (repeated if the split is smaller)
        int[] shape = {1, train.rows(), train.cols()};
        float[] trainX = images(train, batch.size);
        int[] trainY = labels(train, batch.size);
        Trainer trainer = new Trainer(model, new SGD(model.parameters(), training.lr, training.momentum, training.weightDecay));
        List<Double> trainRates = measure("training", batch.size, () -> {
            trainer.step(trainX, trainY, shape);
            return batch.size;
        });

        float[] inferX = images(train, inferBatch);
        List<Double> inferRates;
        if (Predictor.supports(model)) {
            try (Predictor predictor = Predictor.of(model, inferBatch, shape)) {
                float[] logits = new float[inferBatch * predictor.outputSize()];
                inferRates = measure("inference", inferBatch, () -> {
                    predictor.predict(inferX, inferBatch, logits);   // the copy back waits for an asynchronous device
                    return inferBatch;
                });
            }
        } else {   // a model the Predictor does not compile: its eval-mode forward
            model.eval();
            inferRates = measure("inference", inferBatch, () -> {
                try (GradMode g = GradMode.off(); TensorScope scope = TensorScope.open()) {
                    Tensor x = Tensor.of(backend, inferX, inferBatch, shape[0], shape[1], shape[2]);
                    model.forward(x).toArray();
                }
                return inferBatch;
            });
            model.train();
        }

        double trainMedian = median(trainRates), inferMedian = median(inferRates);
        say("training:  %,10.0f samples/s at batch %d (median of %d runs; min %,.0f, max %,.0f)",
                trainMedian, batch.size, runs, min(trainRates), max(trainRates));
        say("inference: %,10.0f samples/s at batch %d (median of %d runs; min %,.0f, max %,.0f)",
                inferMedian, inferBatch, runs, min(inferRates), max(inferRates));
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("command", "bench");
        json.put("device", deviceName());
        json.put("threads", threads());
        json.put("model", this.model.describe("SimpleCNN"));
        json.put("warmup_s", warmup);
        json.put("runs", runs);
        json.put("steps", steps);
        json.put("train", result(batch.size, trainMedian, trainRates));
        json.put("inference", result(inferBatch, inferMedian, inferRates));
        emitJson(json);
        return 0;
    }

    /** Warm-up goes on past --warmup until two windows in a row agree within this fraction... */
    static final double SETTLED = 0.05;
    /** ... of about this long each... */
    static final double WINDOW_SECONDS = 1.0;
    /** ... for at most this many times --warmup in all, settled or not. */
    static final double MAX_WARMUP_FACTOR = 4;

    /**
     * Samples/s of each timed run; {@code batch} runs one batch and returns how many samples it did.
     *
     * <p>The warm-up runs for --warmup seconds, then on until the rate of two one-second windows in a row agrees
     * within {@link #SETTLED}. Why: on 2 vCPUs the C2 compiler shares the cores with both kernel threads, and a
     * training step was still getting faster after 5 s (timed runs of one quiet bench rose from 2,003 to 3,748
     * samples/s; a Fashion-MNIST epoch's step CPU still fell between steps 150 and 850), so the median mixed
     * half-compiled runs with compiled ones.
     */
    private List<Double> measure(String what, int batchSize, IntSupplier batch) {
        long warmupStart = System.nanoTime();
        long minEnd = warmupStart + (long) (warmup * 1e9), maxEnd = warmupStart + (long) (MAX_WARMUP_FACTOR * warmup * 1e9);
        int warmupRuns = 0;
        while (System.nanoTime() < minEnd) {
            for (int s = 0; s < steps; s++) batch.getAsInt();
            warmupRuns++;
        }
        double previous = Double.NaN;
        boolean settled = warmup == 0;
        while (!settled && System.nanoTime() < maxEnd) {
            long windowStart = System.nanoTime(), samples = 0;
            while (System.nanoTime() - windowStart < WINDOW_SECONDS * 1e9) {
                for (int s = 0; s < steps; s++) samples += batch.getAsInt();
                warmupRuns++;
            }
            double rate = samples / ((System.nanoTime() - windowStart) / 1e9);
            settled = Math.abs(rate - previous) <= SETTLED * previous;
            previous = rate;
        }
        double warmupSeconds = (System.nanoTime() - warmupStart) / 1e9;
        if (!settled)
            log("%s: the rate had not settled after %.0f s of warm-up (2 windows within %.0f%%); the runs may still be speeding up",
                    what, warmupSeconds, 100 * SETTLED);
        List<Double> rates = new ArrayList<>();
        try (ConsoleProgress bar = progress(what, runs)) {
            for (int r = 0; r < runs; r++) {
                long start = System.nanoTime();
                long samples = 0;
                for (int s = 0; s < steps; s++) samples += batch.getAsInt();
                double rate = samples / ((System.nanoTime() - start) / 1e9);
                rates.add(rate);
                bar.onStep(0, r + 1, runs, (int) samples, 0, 0, rate);
            }
        }
        log("%s at batch %d, after %d warm-up runs (%.1f s): %s samples/s", what, batchSize, warmupRuns, warmupSeconds,
                rates.stream().map(v -> String.format("%,.0f", v)).toList());
        return rates;
    }

    private static Map<String, Object> result(int batch, double median, List<Double> rates) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("batch_size", batch);
        m.put("samples_per_s", median);
        m.put("runs_samples_per_s", rates);
        return m;
    }

    /** A batch of n images is one float array here: n · imageSize must fit in one (2^31 − 1 elements at most). */
    private void requireOneArray(String option, int n, int imageSize) {
        long most = (Integer.MAX_VALUE - 8) / imageSize;
        if (n > most)
            throw usageError(String.format(Locale.ROOT, "%s %d: a batch of %d images of %d floats does not fit in one array (at most %,d images)",
                    option, n, n, imageSize, most));
    }

    private static float[] images(Dataset d, int n) {
        float[] x = new float[n * d.imageSize()];
        for (int i = 0; i < n; i++) System.arraycopy(d.images(), (i % d.size()) * d.imageSize(), x, i * d.imageSize(), d.imageSize());
        return x;
    }

    private static int[] labels(Dataset d, int n) {
        int[] y = new int[n];
        for (int i = 0; i < n; i++) y[i] = d.labels()[i % d.size()];
        return y;
    }

    static double median(List<Double> v) {
        double[] s = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static double min(List<Double> v) { return v.stream().mapToDouble(Double::doubleValue).min().orElse(0); }

    private static double max(List<Double> v) { return v.stream().mapToDouble(Double::doubleValue).max().orElse(0); }
}
