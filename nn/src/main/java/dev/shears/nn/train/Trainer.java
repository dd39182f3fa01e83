package dev.shears.nn.train;

import dev.shears.core.GradMode;
import dev.shears.core.LossOps;
import dev.shears.core.Tensor;
import dev.shears.core.TensorScope;
import dev.shears.data.Batch;
import dev.shears.data.DataLoader;
import dev.shears.data.Dataset;
import dev.shears.nn.Module;
import dev.shears.nn.optim.SGD;

import java.util.Objects;
import java.util.function.Function;

/**
 * Supervised training of a classifier with mean cross-entropy: one step, one epoch, and evaluation.
 *
 * <p>A step runs in its own {@link TensorScope}: activations, gradients and the graph are released when it
 * ends, so memory stays flat from step to step. Parameters and optimiser state were created outside it.
 *
 * <p>An optional {@linkplain #regularizer(Function) regularizer} adds a term to the loss before backward;
 * Network Slimming adds λ·Σ|γ| over the BatchNorm weights this way. Reported losses are the cross-entropy
 * alone, so they compare with {@link #evaluate} and with PyTorch's logs.
 *
 * <p>Divergence: every step's loss (one float, computed anyway) is checked right after the forward pass, before
 * backward and the update; a NaN or infinite loss throws {@link TrainingDivergedException} naming the epoch, the
 * step, the learning rate and the loss. At the end of an epoch the parameters are checked too (one pass over
 * host copies), since a last step with a finite loss can still push them to infinity.
 */
public final class Trainer {

    /** What one step saw: the mean cross-entropy over its {@code samples} and how many it classified right. */
    public record StepResult(float loss, int correct, int samples) {}

    /** One epoch: mean loss and accuracy over all its samples, and the wall-clock time it took. */
    public record EpochResult(int epoch, double loss, double accuracy, int samples, double seconds) {
        public double samplesPerSecond() { return samples / seconds; }
    }

    /** A pass over a dataset in eval mode: accuracy in [0, 1], mean cross-entropy, and the time it took. */
    public record Evaluation(double accuracy, double loss, int samples, double seconds) {
        public double samplesPerSecond() { return samples / seconds; }
    }

    /** Told after every training step, with running means over the epoch so far. */
    @FunctionalInterface
    public interface Progress {
        void onStep(int epoch, int batch, int batches, int samples, double loss, double accuracy, double samplesPerSecond);
    }

    private final Module model;
    private final SGD optimizer;
    private Function<Module, Tensor> regularizer;
    private Progress progress = (e, b, n, s, l, a, r) -> {};
    private Runnable afterStep = () -> {};

    public Trainer(Module model, SGD optimizer) {
        this.model = Objects.requireNonNull(model, "model");
        this.optimizer = Objects.requireNonNull(optimizer, "optimizer");
    }

    /**
     * A term added to the loss of every step before backward, built from the model in the step's scope
     * (so it is released with the step); null for none. It must be a one-element tensor.
     */
    public Trainer regularizer(Function<Module, Tensor> regularizer) {
        this.regularizer = regularizer;
        return this;
    }

    public Trainer progress(Progress progress) {
        this.progress = Objects.requireNonNull(progress, "progress");
        return this;
    }

    /**
     * Run after every step of {@link #trainEpoch} (after the optimiser's update, before the progress report),
     * e.g. a per-batch learning-rate schedule's {@code step()}.
     */
    public Trainer afterStep(Runnable afterStep) {
        this.afterStep = Objects.requireNonNull(afterStep, "afterStep");
        return this;
    }

    public Module model() { return model; }

    public SGD optimizer() { return optimizer; }

    /**
     * One step of SGD in train mode on a batch of host floats, n×C×H×W row-major, where n is the number of
     * labels and {@code imageShape} is one image's shape without the batch dimension (1, 28, 28 for MNIST).
     */
    public StepResult step(float[] x, int[] labels, int... imageShape) {
        return step(x, labels, imageShape, -1, -1, -1);
    }

    /** A step that knows where it is, for the message of a {@link TrainingDivergedException}. */
    private StepResult step(float[] x, int[] labels, int[] imageShape, int epoch, int step, int steps) {
        model.train();
        int n = labels.length;
        StepResult result;
        try (TensorScope ignored = TensorScope.open()) {
            optimizer.zeroGrad();
            Tensor logits = model.forward(input(model, x, n, imageShape));
            Tensor loss = LossOps.crossEntropy(logits, labels);
            Tensor objective = regularizer == null ? loss : loss.add(regularizer.apply(model));
            float value = loss.item(), checked = objective == loss ? value : objective.item();
            // before backward and the update: a non-finite loss would write NaN into every parameter and momentum
            if (!Float.isFinite(checked))
                throw new TrainingDivergedException(epoch, step, steps, optimizer.lr(), checked,
                        (objective == loss ? "the loss is " : "the loss with its regularizer is ") + checked);
            objective.backward();
            optimizer.step();
            result = new StepResult(value, correct(logits, labels), n);
        }
        // the gradients were allocated in the step's scope and are released with it
        optimizer.zeroGrad();
        return result;
    }

    /** One epoch over {@code loader}'s batches for {@code epoch} (which fixes the shuffle order). */
    public EpochResult trainEpoch(DataLoader loader, int epoch, int... imageShape) {
        long start = System.nanoTime();
        int batches = loader.batchesPerEpoch(), batch = 0, samples = 0, correct = 0;
        double lossSum = 0;
        float last = Float.NaN;
        for (Batch b : loader.epoch(epoch)) {
            StepResult r = step(b.x(), b.y(), imageShape, epoch, batch, batches);
            afterStep.run();
            last = r.loss();
            batch++;
            samples += r.samples();
            correct += r.correct();
            lossSum += (double) r.loss() * r.samples();
            progress.onStep(epoch, batch, batches, samples, lossSum / samples, (double) correct / samples,
                    samples / seconds(start));
        }
        String bad = firstNonFinite(model);
        if (bad != null) throw new TrainingDivergedException(epoch, batch - 1, batches, optimizer.lr(), last, bad);
        return new EpochResult(epoch, lossSum / samples, (double) correct / samples, samples, seconds(start));
    }

    /** As {@link #trainEpoch(DataLoader, int, int...)} for single-channel images of {@code data}'s size. */
    public EpochResult trainEpoch(Dataset data, int batchSize, long seed, int epoch) {
        return trainEpoch(new DataLoader(data, batchSize, true, seed), epoch, 1, data.rows(), data.cols());
    }

    /**
     * Accuracy and mean cross-entropy over all of {@code data} in eval mode (BatchNorm uses its running
     * statistics) with no graph recorded; the model's mode is restored afterwards. Runs the inference kernels
     * ({@code Sequential}'s rewrites: BatchNorm folded into the convolution, the pooling inside it), the fastest
     * once compiled.
     */
    public static Evaluation evaluate(Module model, Dataset data, int batchSize) {
        return evaluate(model, data, batchSize, false);
    }

    /**
     * As {@link #evaluate(Module, Dataset, int)}, with the same values up to rounding, but through the forward
     * kernels of a training step: the graph is recorded as in {@link #step} and dropped with each batch, so
     * {@code Sequential} runs its layers one by one (convolution, BatchNorm + ReLU, max-pool with its arg-max)
     * instead of its inference rewrites. For a process that has just trained and never run inference, such as
     * the {@code train} command: the JIT has compiled these kernels and has nothing new to compile, where
     * the inference kernels would run as the Vector API's slow Java code until C2 compiles them (and compiling
     * them made C2 recompile shared methods the steps use). Fashion-MNIST's 10,000 test images at batch 256
     * after one epoch, 2 threads, process CPU time: 1.5 s this way against 2.4–3.0 s through the cold
     * inference kernels (0.9 s once they are compiled); see docs/performance.md.
     */
    public static Evaluation evaluateWithStepKernels(Module model, Dataset data, int batchSize) {
        return evaluate(model, data, batchSize, true);
    }

    private static Evaluation evaluate(Module model, Dataset data, int batchSize, boolean stepKernels) {
        boolean wasTraining = model.isTraining();
        long start = System.nanoTime();
        int correct = 0;
        double lossSum = 0;
        model.eval();
        try (GradMode ignored = stepKernels ? GradMode.on() : GradMode.off()) {
            for (Batch b : new DataLoader(data, batchSize, false, 0).epoch(0)) {
                try (TensorScope scope = TensorScope.open()) {
                    Tensor logits = model.forward(input(model, b.x(), b.n(), 1, data.rows(), data.cols()));
                    lossSum += (double) LossOps.crossEntropy(logits, b.y()).item() * b.n();
                    correct += correct(logits, b.y());
                }
            }
        } finally {
            model.train(wasTraining);
        }
        return new Evaluation((double) correct / data.size(), lossSum / data.size(), data.size(), seconds(start));
    }

    /**
     * Where {@code model}'s first non-finite parameter or buffer value is ("parameter conv1.weight[12] is NaN"),
     * or null when every value is finite. Reads every tensor back to the host.
     */
    public static String firstNonFinite(Module model) {
        for (var e : model.stateDict().entrySet()) {
            float[] v = e.getValue().toArray();
            for (int i = 0; i < v.length; i++)
                if (!Float.isFinite(v[i])) return e.getKey() + "[" + i + "] is " + v[i];
        }
        return null;
    }

    /** Copies a batch of host floats to the model's backend as [n, imageShape...]. */
    static Tensor input(Module model, float[] x, int n, int... imageShape) {
        int[] shape = new int[imageShape.length + 1];
        shape[0] = n;
        System.arraycopy(imageShape, 0, shape, 1, imageShape.length);
        return Tensor.of(model.backend(), x, shape);
    }

    /** How many rows of logits [n, classes] have their maximum at the label ({@link Tensor#argmax}). */
    static int correct(Tensor logits, int[] labels) {
        int[] predicted = logits.argmax();
        int right = 0;
        for (int i = 0; i < labels.length; i++) if (predicted[i] == labels[i]) right++;
        return right;
    }

    private static double seconds(long startNanos) { return (System.nanoTime() - startNanos) / 1e9; }
}
