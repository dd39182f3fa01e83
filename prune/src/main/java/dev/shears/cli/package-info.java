/**
 * The {@code shears} command line (picocli). {@link dev.shears.cli.Shears} is the entry point and lists the
 * subcommands; each subcommand is one class extending {@link dev.shears.cli.ShearsCommand} (the output rule:
 * results on stdout, text or one JSON object with {@code --json}, logs and progress on stderr), or
 * {@link dev.shears.cli.BackendCommand} where it computes (backend selection from {@code --device} and
 * {@code --threads}).
 *
 * <p>A subcommand takes only the options it honours: it declares the {@link dev.shears.cli.Options} mixins it
 * uses ({@code Data}, {@code Model}, {@code Out}, {@code Batch}, {@code Seed}), and {@code TrainingOptions},
 * {@code ScheduleOptions} if it trains, {@code CheckpointOptions} if it checkpoints and resumes; any other
 * option is an "Unknown option" (exit 2).
 *
 * <p>To add a subcommand: write {@code @Command(name = "x") final class XCommand extends BackendCommand}
 * implementing {@code run()} with the mixins it needs, and list {@code XCommand.class} in
 * {@link dev.shears.cli.Shears}'s {@code subcommands}.
 */
package dev.shears.cli;
