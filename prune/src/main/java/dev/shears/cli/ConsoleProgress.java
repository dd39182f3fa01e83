package dev.shears.cli;

import dev.shears.nn.train.Trainer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** One epoch's progress bar on stderr: batches done, with running loss, accuracy and samples/s. */
final class ConsoleProgress implements Trainer.Progress, AutoCloseable {
    private final ProgressBar bar;

    private ConsoleProgress(ProgressBar bar) { this.bar = bar; }

    static ConsoleProgress start(String task, int steps) {
        return new ConsoleProgress(new ProgressBarBuilder()
                .setTaskName(task)
                .setInitialMax(steps)
                .setUnit(" batches", 1)
                .setStyle(ProgressBarStyle.ASCII)   // plain characters survive every terminal and log file
                .setUpdateIntervalMillis(250)
                .setMaxRenderedLength(120)   // when stderr is no terminal its width is unknown: keep the bar readable
                .build());
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
