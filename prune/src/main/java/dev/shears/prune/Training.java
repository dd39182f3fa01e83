package dev.shears.prune;

import dev.shears.data.Dataset;
import dev.shears.nn.Module;
import dev.shears.data.DataLoader;
import dev.shears.nn.optim.CosineLR;
import dev.shears.nn.optim.LrSchedule;
import dev.shears.nn.optim.SGD;
import dev.shears.nn.optim.StepLR;
import dev.shears.nn.train.Trainer;
import dev.shears.nn.train.TrainingCheckpoint;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Training with an optional sparsity penalty, and fine-tuning after pruning — both through the nn {@link Trainer}.
 * Every call builds a new SGD over the model's parameters as they are now: after pruning, the old optimiser
 * (and its momentum) belongs to tensors that no longer exist.
 */
public final class Training {
    private Training() {}

    /**
     * SGD settings; the defaults are those of the PyTorch measurements in the pruning issue. The rate follows
     * StepLR (× gamma every stepSize epochs; {@link Integer#MAX_VALUE}: constant) or, when {@code cosine},
     * {@link CosineLR} over all the run's batches (stepSize and gamma unused).
     */
    public record Options(int epochs, float lr, float momentum, float weightDecay, int batchSize, long seed,
                          int stepSize, float gamma, boolean cosine) {
        public static Options defaults(int epochs) { return new Options(epochs, 0.01f, 0.9f, 0f, 64, 0, Integer.MAX_VALUE, 1f, false); }
        public Options withLr(float lr) { return new Options(epochs, lr, momentum, weightDecay, batchSize, seed, stepSize, gamma, cosine); }
        public Options withEpochs(int e) { return new Options(e, lr, momentum, weightDecay, batchSize, seed, stepSize, gamma, cosine); }
        public Options withSeed(long s) { return new Options(epochs, lr, momentum, weightDecay, batchSize, s, stepSize, gamma, cosine); }
        public Options withStepLR(int step, float g) { return new Options(epochs, lr, momentum, weightDecay, batchSize, seed, step, g, false); }
        public Options withCosine() { return new Options(epochs, lr, momentum, weightDecay, batchSize, seed, Integer.MAX_VALUE, 1f, true); }
        public Options withBatchSize(int b) { return new Options(epochs, lr, momentum, weightDecay, b, seed, stepSize, gamma, cosine); }
    }

    /**
     * Where a run writes its {@link TrainingCheckpoint} after every epoch, and the state it goes on from.
     *
     * @param dir    the checkpoint directory, or null for none
     * @param resume a state read from a checkpoint, or null to start at epoch 0; training goes on up to
     *               {@link Options#epochs()} in all
     * @param recipe saved with every checkpoint (see {@link TrainingCheckpoint#save})
     */
    public record Checkpointing(Path dir, TrainingCheckpoint.State resume, Map<String, String> recipe) {
        public static final Checkpointing NONE = new Checkpointing(null, null, Map.of());
    }

    /** Trains {@code model} on {@code data}; {@code sparsity} may be null. Returns one result per epoch. */
    public static List<Trainer.EpochResult> train(Module model, Dataset data, Options o, Sparsity sparsity,
                                                  Consumer<Trainer.EpochResult> onEpoch) {
        try {
            return train(model, data, o, sparsity, Checkpointing.NONE, onEpoch);
        } catch (IOException e) {
            throw new UncheckedIOException("nothing is written without a checkpoint directory", e);
        }
    }

    /**
     * As {@link #train(Module, Dataset, Options, Sparsity, Consumer)}, resuming from {@code c.resume()} if given
     * and writing a checkpoint into {@code c.dir()} after every epoch if given.
     *
     * @throws dev.shears.nn.train.TrainingDivergedException on a non-finite loss; the checkpoint keeps the last epoch
     */
    public static List<Trainer.EpochResult> train(Module model, Dataset data, Options o, Sparsity sparsity, Checkpointing c,
                                                  Consumer<Trainer.EpochResult> onEpoch) throws IOException {
        SGD sgd = new SGD(model.parameters(), o.lr(), o.momentum(), o.weightDecay());
        DataLoader loader = new DataLoader(data, o.batchSize(), true, o.seed());
        StepLR stepLr = o.cosine() ? null : new StepLR(sgd, Math.min(o.stepSize(), 1_000_000), o.gamma());
        CosineLR cosine = o.cosine() ? new CosineLR(sgd, Math.max(1, o.epochs() * loader.batchesPerEpoch())) : null;
        LrSchedule schedule = o.cosine() ? cosine : stepLr;
        Trainer trainer = new Trainer(model, sgd);
        if (cosine != null) trainer.afterStep(cosine::step);
        if (sparsity != null && sparsity.lambda() > 0) trainer.regularizer(sparsity::penalty);
        if (c.resume() != null) c.resume().restore(model, sgd, schedule);
        List<Trainer.EpochResult> out = new ArrayList<>();
        for (int e = c.resume() == null ? 0 : c.resume().epochs(); e < o.epochs(); e++) {
            Trainer.EpochResult r = trainer.trainEpoch(loader, e, 1, data.rows(), data.cols());
            out.add(r);
            if (onEpoch != null) onEpoch.accept(r);
            if (stepLr != null) stepLr.step();
            if (c.dir() != null) TrainingCheckpoint.save(c.dir(), model, sgd, schedule, e + 1, c.recipe());
        }
        return out;
    }

    /** Fine-tunes a pruned model: a fresh SGD over its current (smaller) parameters, no penalty. */
    public static List<Trainer.EpochResult> fineTune(Module model, Dataset data, Options o, Consumer<Trainer.EpochResult> onEpoch) {
        return train(model, data, o, null, onEpoch);
    }

    /** Test accuracy in [0, 1]. */
    public static double accuracy(Module model, Dataset data) {
        return Trainer.evaluate(model, data, 256).accuracy();
    }
}
