package dev.shears.cli;

import dev.shears.nn.train.Trainer;
import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * One epoch's progress bar on stderr: batches done, with running loss, accuracy and samples/s. On a terminal
 * it redraws in place; when stderr is a file or a pipe (a log, CI) it prints a plain line every
 * {@link #LINE_INTERVAL_MILLIS} instead, since the redraws would be a stream of carriage returns there.
 */
final class ConsoleProgress implements Trainer.Progress, AutoCloseable {
    /** How often a line is printed when stderr is not a terminal. */
    static final int LINE_INTERVAL_MILLIS = 10_000;

    private final ProgressBar bar;

    private ConsoleProgress(ProgressBar bar) { this.bar = bar; }

    static ConsoleProgress start(String task, int steps) {
        return stderrIsTerminal() ? new ConsoleProgress(builder(task, steps).setUpdateIntervalMillis(250).build())
                : lines(task, steps, System.err::println, LINE_INTERVAL_MILLIS);
    }

    /** The line-by-line form, each rendering handed to {@code sink}. */
    static ConsoleProgress lines(String task, int steps, Consumer<String> sink, int intervalMillis) {
        return new ConsoleProgress(builder(task, steps).setUpdateIntervalMillis(intervalMillis)
                .setConsumer(new DelegatingProgressBarConsumer(sink, 120)).build());
    }

    private static ProgressBarBuilder builder(String task, int steps) {
        return new ProgressBarBuilder()
                .setTaskName(task)
                .setInitialMax(steps)
                .setUnit(" batches", 1)
                .setStyle(ProgressBarStyle.ASCII)   // plain characters survive every terminal and log file
                .setMaxRenderedLength(120);
    }

    /**
     * Whether fd 2 is a terminal. Java has no isatty for stderr ({@code System.console()} is about stdin and
     * stdout, and `--json > out.json` redirects stdout alone): on Linux /proc/self/fd/2 names the device;
     * elsewhere the console is the best guess.
     */
    static boolean stderrIsTerminal() {
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/2")).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
        } catch (Exception | LinkageError e) {
            return System.console() != null;
        }
    }

    static ConsoleProgress none() { return new ConsoleProgress(null); }

    @Override
    public void onStep(int epoch, int batch, int batches, int samples, double loss, double accuracy, double samplesPerSecond) {
        if (bar == null) return;
        bar.stepTo(batch);
        bar.setExtraMessage(String.format("loss %.4f  acc %.2f%%  %,.0f samples/s", loss, 100 * accuracy, samplesPerSecond));
    }

    @Override
    public void close() {
        if (bar != null) bar.close();
    }
}
