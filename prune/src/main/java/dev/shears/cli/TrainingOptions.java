package dev.shears.cli;

import picocli.CommandLine.Option;

/** The optimiser and schedule of a training run (a picocli mixin for train, finetune and bench). */
public final class TrainingOptions {

    @Option(names = "--epochs", paramLabel = "N", defaultValue = "3", description = "Epochs (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--lr", paramLabel = "RATE", description = "SGD learning rate (default: ${DEFAULT-VALUE}).")
    float lr;

    @Option(names = "--momentum", paramLabel = "M", defaultValue = "0.9", description = "SGD momentum (default: ${DEFAULT-VALUE}).")
    float momentum;

    @Option(names = "--weight-decay", paramLabel = "WD", defaultValue = "0", description = "SGD weight decay, L2 (default: ${DEFAULT-VALUE}).")
    float weightDecay;

    /** The usual rate, 0.01. */
    public TrainingOptions() { this(0.01f); }

    /** A command's default rate (finetune's is 0.02); picocli shows it as the default and resets to it. */
    TrainingOptions(float defaultLr) { lr = defaultLr; }
}
