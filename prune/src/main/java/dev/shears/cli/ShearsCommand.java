package dev.shears.cli;

import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * What every subcommand shares: the {@link Options.Output} options and the two output channels — results
 * (text or one JSON object) on stdout, logs and progress on stderr. A subcommand that computes extends
 * {@link BackendCommand}, which chooses the backend; the other options come as the {@link Options} mixins
 * that the subcommand declares, so it accepts only what it honours.
 *
 * <p>A subcommand implements {@link #run()} and returns its exit code; it reports bad option values by
 * throwing {@link #usageError} (exit 2, with usage) and failures by throwing any exception (exit 1, one line).
 */
public abstract class ShearsCommand implements Callable<Integer> {
    @Mixin protected Options.Output output;
    @Spec protected CommandSpec spec;

    protected abstract int run() throws Exception;

    @Override
    public Integer call() throws Exception {
        try {
            return run();
        } catch (OutOfMemoryError e) {
            // an Error would escape picocli's handler as a stack trace: say what ran out and what to change
            throw new IllegalStateException(String.format(Locale.ROOT, "out of memory (%s; the JVM's heap is at most %.1f GiB): "
                    + "use a smaller --batch-size (or --infer-batch-size, --limit), or give the JVM more memory, "
                    + "e.g. SHEARS_JAVA_OPTS=-Xmx16g", e.getMessage(), Runtime.getRuntime().maxMemory() / (double) (1L << 30)), e);
        }
    }

    protected ParameterException usageError(String message) {
        return new ParameterException(spec.commandLine(), message);
    }

    // ---- outputs ----

    /** A line of log on stderr (nothing with --quiet). */
    protected void log(String format, Object... args) {
        if (output.quiet) return;
        PrintWriter err = spec.commandLine().getErr();
        err.println(String.format(format, args));
        err.flush();
    }

    /** A line of human-readable results on stdout; nothing with --json, where stdout holds only the JSON object. */
    protected void say(String format, Object... args) {
        if (output.json) return;
        PrintWriter out = spec.commandLine().getOut();
        out.println(String.format(format, args));
        out.flush();
    }

    /** With --json, prints {@code result} (maps, lists, records of numbers and strings) as the one JSON object on stdout ({@link JsonOut}). */
    protected void emitJson(Object result) {
        if (!output.json) return;
        PrintWriter out = spec.commandLine().getOut();
        out.println(JsonOut.write(result));
        out.flush();
    }

    protected ConsoleProgress progress(String task, int steps) {
        return output.quiet ? ConsoleProgress.none() : ConsoleProgress.start(task, steps);
    }
}
