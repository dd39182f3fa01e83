package dev.shears.cli;

import dev.shears.nn.optim.CosineLR;
import dev.shears.nn.optim.SGD;
import dev.shears.nn.optim.StepLR;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The learning-rate schedule of train and finetune (a picocli mixin): a constant rate, PyTorch's StepLR
 * (--lr-step, --lr-gamma), or PyTorch's CosineAnnealingLR stepped after every batch over the whole run
 * (lr_t = lr·(1 + cos(π·t/T))/2, T the run's batches). Each command chooses its defaults: {@code train}
 * step with --lr-step 2 (lr × 0.1 from the third epoch, its 3-epoch recipe), {@code finetune} cosine.
 */
public final class ScheduleOptions {

    /** The schedules --lr-schedule names. */
    enum Kind { constant, step, cosine }

    @Option(names = "--lr-schedule", paramLabel = "KIND",
            description = "The learning-rate schedule: constant; step (× --lr-gamma every --lr-step epochs, PyTorch's StepLR); "
                    + "cosine (lr·(1 + cos(π·t/T))/2 at batch t of the run's T, PyTorch's CosineAnnealingLR stepped per batch) "
                    + "(default: ${DEFAULT-VALUE}).")
    Kind kind;

    @Option(names = "--lr-step", paramLabel = "EPOCHS",
            description = "With --lr-schedule step: multiply the learning rate by --lr-gamma every EPOCHS epochs; 0: a constant rate (default: ${DEFAULT-VALUE}).")
    int step;

    @Option(names = "--lr-gamma", paramLabel = "G", defaultValue = "0.1",
            description = "The factor of --lr-step (default: ${DEFAULT-VALUE}).")
    float gamma;

    @Spec(Spec.Target.MIXEE) CommandSpec command;

    /** A constant rate unless asked for. */
    public ScheduleOptions() { this(Kind.constant, 0); }

    /** A command's defaults (step in epochs, 0: none); picocli shows them as the defaults and resets to them. */
    ScheduleOptions(Kind defaultKind, int defaultStep) {
        kind = defaultKind;
        step = defaultStep;
    }

    /** What is wrong with the values, for a usage error, or null. */
    String problem() {
        String values = problem("--lr-step", step, "--lr-gamma", gamma);
        if (values != null || kind == Kind.step) return values;
        for (String option : new String[]{"--lr-step", "--lr-gamma"})
            if (given(option)) return option + " applies to --lr-schedule step, not " + kind;
        return null;
    }

    /** The same check for a schedule under other option names (demo's --finetune-lr-step). */
    static String problem(String stepOption, int step, String gammaOption, float gamma) {
        if (step < 0) return stepOption + " must be >= 0 (0: no schedule), got " + step;
        if (!(gamma > 0) || Float.isInfinite(gamma)) return gammaOption + " must be a positive number, got " + gamma;
        return null;
    }

    private boolean given(String option) {
        var parsed = command == null ? null : command.commandLine().getParseResult();
        return parsed != null && parsed.hasMatchedOption(option);
    }

    boolean cosine() { return kind == Kind.cosine; }

    /** The step schedule over {@code sgd}, or null when there is none (constant, cosine, --lr-step 0). */
    StepLR over(SGD sgd) { return kind != Kind.step || step == 0 ? null : new StepLR(sgd, step, gamma); }

    /** The cosine schedule over {@code sgd} for a run of {@code steps} batches, or null for another kind. */
    CosineLR cosineOver(SGD sgd, int steps) { return cosine() ? new CosineLR(sgd, Math.max(1, steps)) : null; }

    /** The step size as {@link dev.shears.prune.Training.Options} takes it (no step schedule: never). */
    int stepSize() { return kind != Kind.step || step == 0 ? Integer.MAX_VALUE : step; }
}
