package dev.shears.nn.train;

import java.util.Locale;

/**
 * Training produced a non-finite loss (NaN or ±∞) or non-finite parameters: the learning rate is almost always
 * too high. Thrown by {@link Trainer} as soon as it sees it, before the step's update, so the step that saw the
 * bad loss has not changed the parameters; earlier steps may have made them huge or infinite already, so the
 * weights in the model are not "last good" ones and should not be saved (a checkpoint from an earlier epoch is).
 *
 * <p>{@code epoch} and {@code step} are 0-based indexes as in {@link Trainer.EpochResult#epoch()} (the message
 * counts from 1); both are -1 for a {@link Trainer#step} called outside {@link Trainer#trainEpoch}.
 *
 * @param loss  the value that was not finite (the objective with its regularizer, if any); for non-finite
 *              parameters at the end of an epoch, the epoch's last loss
 */
public final class TrainingDivergedException extends RuntimeException {
    private final int epoch, step, steps;
    private final float lr, loss;

    public TrainingDivergedException(int epoch, int step, int steps, float lr, float loss, String what) {
        super(String.format(Locale.ROOT, "training diverged%s: %s with learning rate %s",
                epoch < 0 ? "" : String.format(Locale.ROOT, " at epoch %d, step %d of %d", epoch + 1, step + 1, steps), what, lr));
        this.epoch = epoch;
        this.step = step;
        this.steps = steps;
        this.lr = lr;
        this.loss = loss;
    }

    public int epoch() { return epoch; }

    public int step() { return step; }

    /** Steps in the epoch, or -1 outside an epoch. */
    public int steps() { return steps; }

    public float lr() { return lr; }

    public float loss() { return loss; }
}
