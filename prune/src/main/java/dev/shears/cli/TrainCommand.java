package dev.shears.cli;

import dev.shears.data.DataLoader;
import dev.shears.data.Mnist;
import dev.shears.nn.Module;
import dev.shears.nn.optim.SGD;
import dev.shears.nn.optim.CosineLR;
import dev.shears.nn.optim.LrSchedule;
import dev.shears.nn.optim.StepLR;
import dev.shears.nn.train.Trainer;
import dev.shears.nn.train.TrainingCheckpoint;
import dev.shears.nn.train.TrainingDivergedException;
import picocli.CommandLine.Command;
import dev.shears.prune.Sparsity;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

@Command(name = "train", mixinStandardHelpOptions = true,
        description = {"Train SimpleCNN with SGD and report test accuracy after every epoch.",
                "Starts from --model if given (its widths, so a pruned model trains as it is; a graph model or an .onnx file too), else from fresh weights (--seed).",
                "Stops with exit code 1 if the loss becomes NaN or infinite (lower --lr); --out is then not written."})
final class TrainCommand extends BackendCommand {
    /** Evaluation only runs forwards: a larger batch is faster and gives the same numbers. */
    static final int EVAL_BATCH = 256;

    /**
     * The default recipe: 3 epochs, lr 0.01, momentum 0.9, batch 64, lr × 0.1 after two epochs. On the embedded
     * digits the step lifts seeds 0–9 from 97.25% (a constant rate) to 98.12% on average.
     */
    static final int DEFAULT_LR_STEP = 2;

    @Mixin Options.Data data;
    @Mixin Options.Model model;
    @Mixin Options.Out out;
    @Mixin Options.Batch batch;
    @Mixin Options.Seed seed;
    @Mixin TrainingOptions training;
    @Mixin ScheduleOptions schedule = new ScheduleOptions(ScheduleOptions.Kind.step, DEFAULT_LR_STEP);
    @Mixin CheckpointOptions checkpoints;

    @Option(names = "--sparsity-l1", paramLabel = "λ", defaultValue = "0",
            description = "Network Slimming's sparse training: add λ·Σ|γ| over every BatchNorm scale to the loss (default: ${DEFAULT-VALUE}, none).")
    float sparsityL1;

    /** The options that decide a run's course, saved with its checkpoints and checked on --resume. */
    static final List<String> RECIPE = List.of("--data", "--limit", "--batch-size", "--seed", "--model",
            "--lr", "--momentum", "--weight-decay", "--lr-schedule", "--lr-step", "--lr-gamma", "--sparsity-l1");

    @Option(names = "--measure-heap",
            description = "After every epoch, run a full garbage collection and report the Java heap still in use "
                    + "(JSON: heap_bytes per epoch), to check that memory stays flat from epoch to epoch.")
    boolean measureHeap;

    @Override
    protected int run() throws Exception {
        Timeline.mark("run");
        if (training.epochs < 0) throw usageError("--epochs must be >= 0, got " + training.epochs);
        TrainingCheckpoint.State resumed = checkpoints.resume(spec, "train", RECIPE);
        int first = resumed == null ? 0 : resumed.epochs();
        if (first > training.epochs)
            throw usageError("--resume " + checkpoints.resume + " has " + first + " epochs done, more than --epochs " + training.epochs);
        Mnist data = WARM_UP && resumed == null && this.model.file == null && "cpu".equals(deviceName())
                ? loadWhileWarmingUp(() -> this.data.load(this), seed.freshModel(), batch.size, this.model.sampleShape, 0)
                : this.data.load(this);
        Timeline.mark("loaded");
        Module model = resumed == null ? this.model.loadOr(this, seed::freshModel) : CheckpointOptions.model(resumed, checkpoints.resume, this.model, this);
        this.model.requireFits(data.train(), this.data);
        log("training %s (%,d parameters) on %s, %d thread(s): %d epochs, batch %d, SGD lr %s momentum %s weight decay %s",
                this.model.describe("SimpleCNN"), model.parameterCount(), deviceName(), threads(), training.epochs, batch.size, training.lr,
                training.momentum, training.weightDecay);
        if (schedule.problem() != null) throw usageError(schedule.problem());
        SGD sgd = new SGD(model.parameters(), training.lr, training.momentum, training.weightDecay);
        DataLoader loader = new DataLoader(data.train(), batch.size, true, seed.value);
        StepLR stepLr = schedule.over(sgd);
        CosineLR cosine = schedule.cosineOver(sgd, training.epochs * loader.batchesPerEpoch());
        LrSchedule lrSchedule = cosine != null ? cosine : stepLr;
        Trainer trainer = new Trainer(model, sgd);
        if (cosine != null) trainer.afterStep(cosine::step);
        if (!(sparsityL1 >= 0) || Float.isInfinite(sparsityL1))
            throw usageError("--sparsity-l1 must be finite and >= 0, got " + sparsityL1);
        if (sparsityL1 > 0) trainer.regularizer(Sparsity.bnScales(sparsityL1)::penalty);
        if (resumed != null) {
            resumed.restore(model, sgd, lrSchedule);
            if (resumed.note() != null) log("note: %s", resumed.note());
            log("resumed from %s after epoch %d (learning rate %s)", checkpoints.resume, first, sgd.lr());
        }
        Map<String, String> recipe = CheckpointOptions.recipe(spec, "train", RECIPE);
        int[] imageShape = {1, data.train().rows(), data.train().cols()};

        List<Map<String, Object>> epochs = new ArrayList<>();
        Trainer.Evaluation test = null;
        double startupSeconds = uptimeSeconds(), trainSeconds = 0, evalSeconds = 0;
        double startupCpu = cpuSeconds(), trainCpu = 0, evalCpu = 0;
        long trainSamples = 0;
        int saved = first;
        for (int e = first; e < training.epochs; e++) {
            Trainer.EpochResult r;
            SecondHalf secondHalf;
            double cpu = cpuSeconds();
            try (ConsoleProgress bar = progress(String.format("epoch %d/%d", e + 1, training.epochs), loader.batchesPerEpoch())) {
                secondHalf = new SecondHalf(bar);
                r = trainer.progress(secondHalf).trainEpoch(loader, e, imageShape);
            } catch (TrainingDivergedException d) {
                throw checkpoints.diverged(d, saved, out.file);
            }
            trainSeconds += r.seconds();
            trainSamples += r.samples();
            trainCpu += cpuSeconds() - cpu;
            cpu = cpuSeconds();
            Timeline.mark("test-pass");
            test = testPass(model, data);
            Timeline.mark("test-pass-done");
            evalSeconds += test.seconds();
            evalCpu += cpuSeconds() - cpu;
            log("epoch %d/%d: loss %.4f, train accuracy %.2f%%, %,.0f samples/s (%.1f s); test loss %.4f, test accuracy %.2f%%",
                    e + 1, training.epochs, r.loss(), 100 * r.accuracy(), r.samplesPerSecond(), r.seconds(), test.loss(), 100 * test.accuracy());
            Map<String, Object> epoch = new LinkedHashMap<>();
            epoch.put("epoch", e + 1);
            epoch.put("lr", sgd.lr());
            epoch.put("loss", r.loss());
            epoch.put("accuracy", r.accuracy());
            epoch.put("samples", r.samples());
            epoch.put("seconds", r.seconds());
            epoch.put("samples_per_s", r.samplesPerSecond());
            epoch.put("second_half_samples_per_s", secondHalf.samplesPerSecond());
            epoch.put("test_loss", test.loss());
            epoch.put("test_accuracy", test.accuracy());
            epoch.put("test_seconds", test.seconds());
            long deviceBytes = backend.deviceBytes();
            if (deviceBytes >= 0) {
                // every step runs in a TensorScope: what the device holds must not grow from epoch to epoch
                log("device memory held: %,d bytes", deviceBytes);
                epoch.put("device_bytes", deviceBytes);
            }
            if (measureHeap) {
                long heap = heapAfterGc();
                log("Java heap in use after a full GC: %,d bytes", heap);
                epoch.put("heap_bytes", heap);
            }
            epochs.add(epoch);
            if (stepLr != null) stepLr.step();
            if (checkpoints.dir() != null) {
                TrainingCheckpoint.save(checkpoints.dir(), model, sgd, lrSchedule, e + 1, recipe);
                saved = e + 1;
                log("checkpoint: %s after epoch %d", checkpoints.dir(), e + 1);
            }
        }
        if (test == null) {
            double cpu = cpuSeconds();
            test = testPass(model, data);
            evalSeconds += test.seconds();
            evalCpu += cpuSeconds() - cpu;
        }
        if (out.file != null) {
            out.save(model, this.model.sampleShape, Map.of("shears.command", "train", "shears.data", this.data.name));
            log("saved %s", out.file);
        }

        say("trained %d epoch(s)%s in %.1f s on %s: test accuracy %.2f%%, test loss %.4f (%,d test images)%s",
                training.epochs - first, first == 0 ? "" : " after the " + first + " of " + checkpoints.resume, trainSeconds, deviceName(), 100 * test.accuracy(), test.loss(), test.samples(),
                out.file == null ? "" : "; model saved to " + out.file);
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("command", "train");
        json.put("device", deviceName());
        json.put("threads", threads());
        json.put("data", this.data.name);
        json.put("batch_size", batch.size);
        json.put("lr", training.lr);
        json.put("momentum", training.momentum);
        json.put("weight_decay", training.weightDecay);
        json.put("lr_schedule", schedule.kind.name());
        json.put("lr_step", schedule.step);
        json.put("lr_gamma", schedule.gamma);
        json.put("sparsity_l1", sparsityL1);
        json.put("seed", seed.value);
        json.put("parameters", model.parameterCount());
        json.put("resumed_from_epoch", first);
        json.put("epochs", epochs);
        // where the time went: the JVM's start, options and data loading up to the first step; the epochs'
        // steps (data shuffling, batches and the progress bar included); the test-set passes; the whole command
        json.put("startup_seconds", startupSeconds);
        json.put("train_seconds", trainSeconds);
        json.put("samples_per_s", trainSeconds > 0 ? trainSamples / trainSeconds : null);
        json.put("eval_seconds", evalSeconds);
        json.put("total_seconds", uptimeSeconds());
        // the same split in CPU time of the whole process (all threads, the JIT's included): on a machine shared
        // with other work the wall-clock figures above swing with the load, these much less
        json.put("startup_cpu_seconds", startupCpu);
        json.put("train_cpu_seconds", trainCpu);
        json.put("eval_cpu_seconds", evalCpu);
        json.put("total_cpu_seconds", cpuSeconds());
        json.put("test_accuracy", test.accuracy());
        json.put("test_loss", test.loss());
        json.put("test_samples", test.samples());
        json.put("model", out.file == null ? null : out.file.toString());
        json.put("checkpoint", checkpoints.dir() == null ? null : checkpoints.dir().toString());
        Timeline.mark("done");
        emitJson(json);
        return 0;
    }

    /** {@code -Dshears.warmup=false} turns {@link #loadWhileWarmingUp} off, to measure what it saves. */
    static final boolean WARM_UP = Boolean.parseBoolean(System.getProperty("shears.warmup", "true"));

    /** The most warm-up steps {@link #loadWhileWarmingUp} runs: the JIT has compiled the kernels after about ten. */
    static final int MAX_WARMUP_STEPS = 10;

    /**
     * Runs {@code load} on another thread and meanwhile trains {@code throwaway}, a model built like the one to
     * train, on noise at the run's batch size (at least {@code minSteps} steps, and more while the data is still
     * loading, up to {@link #MAX_WARMUP_STEPS}); returns what {@code load} returned, or throws what it threw.
     *
     * <p>Why: the first steps of a JVM run the Vector API kernels interpreted or as C1's fallback code until C2
     * has compiled them, about 2.5 s of a Fashion-MNIST epoch's 20, and decompressing and decoding the IDX
     * files keeps one thread busy for about 0.5 s while the other core waits. Warming up meanwhile moved the
     * 100th step from 6.6 to 5.7 s after the JVM's start (medians of 3, alternated, on 2 vCPUs).
     *
     * <p>The throwaway model, its optimiser (SGD with momentum at a small rate, so noise cannot diverge it) and the noise share
     * nothing with the run, and the kernels give the same bits in every JIT tier: the run's results do not
     * change ({@code TrainCommandTest}).
     */
    static <T> T loadWhileWarmingUp(Callable<T> load, Module throwaway, int batchSize, int[] sampleShape, int minSteps)
            throws Exception {
        FutureTask<T> loading = new FutureTask<>(load);
        Thread.ofPlatform().name("shears-data").daemon().start(loading);
        int size = 1;
        for (int d : sampleShape) size *= d;
        Random noise = new Random(0);
        float[] x = new float[batchSize * size];
        for (int i = 0; i < x.length; i++) x[i] = 2 * noise.nextFloat() - 1;   // the range of normalised pixels
        int[] y = new int[batchSize];
        for (int i = 0; i < y.length; i++) y[i] = noise.nextInt(Mnist.CLASSES);
        Trainer warmup = new Trainer(throwaway, new SGD(throwaway.parameters(), 1e-3f, 0.9f, 0f));
        try {
            for (int step = 0; step < MAX_WARMUP_STEPS && (step < minSteps || !loading.isDone()); step++) {
                warmup.step(x, y, sampleShape);
                Timeline.mark("warm-up-step");
            }
        } catch (TrainingDivergedException ignored) {
            // only a warm-up: the run itself starts from its own model
        }
        try {
            return loading.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception cause) throw cause;   // as if loaded here: a usage error stays one
            throw e;
        }
    }

    /**
     * Passes each step on to the progress bar and times the epoch's second half of batches: by then the JIT has
     * compiled the kernels, so this is the steady rate of the same run, against which the whole epoch's rate
     * shows what the warm-up cost (a figure measured in one sitting, unlike a comparison with {@code bench}).
     */
    private static final class SecondHalf implements Trainer.Progress {
        private final Trainer.Progress next;
        private long startNanos, endNanos;
        private int startSamples, endSamples;
        private boolean started, ended;

        SecondHalf(Trainer.Progress next) { this.next = next; }

        @Override
        public void onStep(int epoch, int batch, int batches, int samples, double loss, double accuracy, double samplesPerSecond) {
            long now = System.nanoTime();
            Timeline.step(epoch + 1, batch);
            if (batch == batches / 2) { startNanos = now; startSamples = samples; started = true; }
            if (batch == batches && started) { endNanos = now; endSamples = samples; ended = true; }
            next.onStep(epoch, batch, batches, samples, loss, accuracy, samplesPerSecond);
        }

        /** Samples per second from the middle batch's end to the last one's; null for an epoch of fewer than two batches. */
        Double samplesPerSecond() {
            return ended ? (endSamples - startSamples) / ((endNanos - startNanos) / 1e9) : null;
        }
    }

    /** Seconds since the JVM started (the process's start, less the launcher script's few milliseconds). */
    private static double uptimeSeconds() {
        return Timeline.wallSeconds();
    }

    /** CPU time of the whole process so far, all its threads (the JIT compilers' and the GC's too), in seconds. */
    private static double cpuSeconds() {
        return Timeline.cpuSeconds();
    }

    /**
     * The test pass after an epoch, through the training step's forward kernels ({@link
     * Trainer#evaluateWithStepKernels}): the steps have compiled them, the inference kernels would still be
     * cold. {@code -Dshears.eval=inference} runs the inference kernels instead, to measure the difference.
     */
    private static Trainer.Evaluation testPass(Module model, Mnist data) {
        return STEP_KERNELS_FOR_TESTS ? Trainer.evaluateWithStepKernels(model, data.test(), EVAL_BATCH)
                : Trainer.evaluate(model, data.test(), EVAL_BATCH);
    }

    static final boolean STEP_KERNELS_FOR_TESTS = !"inference".equals(System.getProperty("shears.eval"));

    /** The heap in use once a full collection has run: what is still reachable, without the garbage of the epoch. */
    private static long heapAfterGc() {
        System.gc();   // a full, stop-the-world collection with G1 and the other collectors of the JDK's default setup
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }
}
