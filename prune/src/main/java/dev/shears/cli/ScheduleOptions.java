package dev.shears.cli;

import dev.shears.nn.optim.SGD;
import dev.shears.nn.optim.StepLR;
import picocli.CommandLine.Option;

/**
 * A step learning-rate schedule for train and finetune (a picocli mixin): PyTorch's StepLR. Each command
 * chooses its default step: {@code train} 2 (lr × 0.1 from the third epoch, its 3-epoch recipe),
 * {@code finetune} 0 (a constant rate).
 */
public final class ScheduleOptions {

    @Option(names = "--lr-step", paramLabel = "EPOCHS",
            description = "Multiply the learning rate by --lr-gamma every EPOCHS epochs, as PyTorch's StepLR; 0: a constant rate (default: ${DEFAULT-VALUE}).")
    int step;

    @Option(names = "--lr-gamma", paramLabel = "G", defaultValue = "0.1",
            description = "The factor of --lr-step (default: ${DEFAULT-VALUE}).")
    float gamma;

    /** No schedule unless asked for (finetune). */
    public ScheduleOptions() { this(0); }

    /** A command's default step, in epochs (0: none); picocli shows it as the default and resets to it. */
    ScheduleOptions(int defaultStep) { step = defaultStep; }

    /** What is wrong with the values, for a usage error, or null. */
    String problem() { return problem("--lr-step", step, "--lr-gamma", gamma); }

    /** The same check for a schedule under other option names (demo's --finetune-lr-step). */
    static String problem(String stepOption, int step, String gammaOption, float gamma) {
        if (step < 0) return stepOption + " must be >= 0 (0: no schedule), got " + step;
        if (!(gamma > 0) || Float.isInfinite(gamma)) return gammaOption + " must be a positive number, got " + gamma;
        return null;
    }

    /** The schedule over {@code sgd}, or null when there is none (--lr-step 0). */
    StepLR over(SGD sgd) { return step == 0 ? null : new StepLR(sgd, step, gamma); }

    /** The step size as {@link dev.shears.prune.Training.Options} takes it (no schedule: never). */
    int stepSize() { return step == 0 ? Integer.MAX_VALUE : step; }
}
