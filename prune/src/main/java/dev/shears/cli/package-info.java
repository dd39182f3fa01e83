/**
 * The {@code shears} command line (picocli). {@link dev.shears.cli.Shears} is the entry point and lists the
 * subcommands; each subcommand is one class extending {@link dev.shears.cli.ShearsCommand}, which owns the
 * shared options ({@link dev.shears.cli.CommonOptions}), backend selection, data and model loading, and the
 * output rule: results on stdout (text, or one JSON object with {@code --json}), logs and progress on stderr.
 *
 * <p>To add a subcommand: write {@code @Command(name = "x") final class XCommand extends ShearsCommand}
 * implementing {@code run()}, add {@code @Mixin TrainingOptions} if it trains, and list {@code XCommand.class}
 * in {@link dev.shears.cli.Shears}'s {@code subcommands}.
 */
package dev.shears.cli;
