package dev.shears.cli;

import dev.shears.data.Mnist;
import dev.shears.nn.Module;
import dev.shears.prune.Budget;
import dev.shears.prune.BudgetReport;
import dev.shears.prune.BudgetRun;
import dev.shears.prune.MinKeep;
import dev.shears.prune.Plots;
import dev.shears.prune.Training;
import dev.shears.prune.ValidationSplit;
import dev.shears.prune.Method;
import dev.shears.prune.reconstruct.Reconstructor;
import dev.shears.prune.reconstruct.Samples;
import dev.shears.prune.reconstruct.Selection;
import dev.shears.nn.Sequential;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code shears prune --target-flops F | --target-params F | --target-latency MS|P%}: the most accurate model the
 * search finds within a budget ({@link BudgetRun}), with the uniform and global ratios at the same budget for
 * comparison; writes the model, OUT.report.md and OUT.budget.png.
 */
final class BudgetPrune {
    private BudgetPrune() {}

    /** {@code --finalist-epochs}' default: a quarter of an epoch for each finalist (about 13,500 Fashion-MNIST images). */
    static final double DEFAULT_FINALIST_EPOCHS = 0.25;

    /** The first option given that only a budget run honours, or null. */
    static String budgetOnlyOptionGiven(PruneCommand c) {
        if (c.latencyBatch.value != null) return "--latency-batch";
        if (c.steps != null) return "--steps";
        if (c.stepEpochs != null) return "--step-epochs";
        if (c.fineTuneEpochs != null) return "--finetune-epochs";
        if (c.lr != null) return "--lr";
        if (c.valSize != null) return "--val-size";
        if (c.searchImages != null) return "--search-images";
        if (c.probeImages != null) return "--probe-images";
        if (c.finalistEpochs != null) return "--finalist-epochs";
        if (c.fineTuneSeeds != null) return "--finetune-seeds";
        return null;
    }

    /**
     * The budget of {@code --target-flops F | --target-params F | --target-latency MS} ({@code t}, null when none is
     * given) at {@code --latency-batch} ({@code latencyBatch}, null when not given), or null; bad values are usage errors of {@code c}.
     */
    static Budget budget(ShearsCommand c, Options.Target t, Integer latencyBatch) {
        if (latencyBatch != null && (t == null || t.latency == null)) throw c.usageError("--latency-batch goes with --target-latency");
        if (t == null) return null;
        try {
            if (t.flops != null) return Budget.flops(t.flops);
            if (t.params != null) return Budget.params(t.params);
            int batch = latencyBatch == null ? Budget.DEFAULT_BATCH : latencyBatch;
            String v = t.latency.strip();
            return v.endsWith("%") ? Budget.latencyShare(number(c, v.substring(0, v.length() - 1).strip(), t.latency) / 100, batch)
                    : Budget.latency(number(c, v, t.latency), batch);
        } catch (IllegalArgumentException e) {
            throw c.usageError("--target-" + (t.flops != null ? "flops" : t.params != null ? "params" : "latency") + ": " + e.getMessage());
        }
    }

    /** {@code --target-latency}'s number, or a usage error naming what was given. */
    private static double number(ShearsCommand c, String v, String given) {
        try {
            return Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw c.usageError("--target-latency takes milliseconds (2.5) or a share of the unpruned latency (50%), got '" + given + "'");
        }
    }

    static int run(PruneCommand c) throws Exception {
        Budget budget = budget(c, c.how.target, c.latencyBatch.value);
        if (c.global) throw c.usageError("--global goes with --ratio; a budget run compares the search with a global ratio by itself");
        // reconstruct: the search ranks channels by γ (--select gamma) or Σ|W| (the others); each model is then
        // re-selected by --select at its widths and re-fitted by least squares (Reconstructor)
        Selection selection = c.method.equals("reconstruct") ? ReconstructPrune.selection(c) : null;
        var method = selection == null ? PruneCommand.method(c, c.method) : selection == Selection.GAMMA ? Method.SLIM : Method.L1;
        int steps = c.steps == null ? 1 : c.steps, epochs = c.fineTuneEpochs == null ? 1 : c.fineTuneEpochs;
        double stepEpochs = c.stepEpochs == null ? 0.25 : c.stepEpochs;
        int searchImages = c.searchImages == null ? 2000 : c.searchImages;
        if (steps < 1) throw c.usageError("--steps must be at least 1, got " + steps);
        if (c.stepEpochs != null && steps == 1) throw c.usageError("--step-epochs goes with --steps K > 1 (fine-tuning between stages)");
        if (!(stepEpochs >= 0) || epochs < 0) throw c.usageError("--step-epochs and --finetune-epochs must be >= 0");
        if (searchImages < 1) throw c.usageError("--search-images must be at least 1, got " + searchImages);
        if (c.probeImages != null && c.probeImages < 0) throw c.usageError("--probe-images must be >= 0, got " + c.probeImages);
        boolean finalistsApply = budget.kind() != Budget.Kind.LATENCY && steps == 1 && selection == null;
        if (c.finalistEpochs != null && c.finalistEpochs > 0 && !finalistsApply)
            throw c.usageError("--finalist-epochs goes with --target-flops or --target-params in one stage (no --steps), and not with --method reconstruct");
        if (c.finalistEpochs != null && !(c.finalistEpochs >= 0)) throw c.usageError("--finalist-epochs must be >= 0, got " + c.finalistEpochs);
        double finalistEpochs = c.finalistEpochs != null ? c.finalistEpochs : finalistsApply ? DEFAULT_FINALIST_EPOCHS : 0;
        int seeds = c.fineTuneSeeds == null ? 1 : c.fineTuneSeeds;
        if (seeds < 1) throw c.usageError("--finetune-seeds must be at least 1, got " + seeds);
        if (c.lr != null && !(c.lr > 0)) throw c.usageError("--lr must be > 0, got " + c.lr);
        if (budget.kind() == Budget.Kind.LATENCY && c.latencyRepeats < 1) throw c.usageError("--target-latency needs --latency-repeats >= 1");
        Path out = c.out.require(c);
        Module model = c.model.require(c);
        if (selection != null && !(model instanceof Sequential))
            throw c.usageError("--method reconstruct with a --target-* takes chain models only, for now; "
                    + "on a graph model use --method l1 or slim with the target, or --method reconstruct with --ratio");
        int probeImages = c.probeImages != null ? c.probeImages : BudgetRun.probeImages(model);
        Mnist data = c.data.load(c);
        c.model.requireFits(data.test(), c.data);
        if (c.valSize != null && (c.valSize < 1 || c.valSize >= data.train().size()))
            throw c.usageError("--val-size must be between 1 and " + (data.train().size() - 1) + " (the training images less one), got " + c.valSize);
        ValidationSplit split = c.valSize == null ? ValidationSplit.of(data.train(), c.seed) : ValidationSplit.of(data.train(), c.valSize, c.seed);
        int[] one = {1, 1, data.test().rows(), data.test().cols()};
        // the fine-tuning of `finetune` (a cosine from 0.02 over the run), for the searched model and the comparisons alike
        Training.Options train = Training.Options.defaults(epochs).withSeed(c.seed).withLr(c.lr == null ? 0.02f : c.lr).withCosine();
        MinKeep minKeep = new MinKeep(Math.max(1, c.minKeep), c.minKeepFraction);
        var setup = new BudgetRun.Setup(method, budget, minKeep, !c.noFold, steps, stepEpochs, epochs, train, searchImages, c.latencyRepeats,
                probeImages, finalistEpochs, seeds);
        BudgetRun.Refit refit = selection == null ? null : (unpruned, widths) -> Reconstructor.prune((Sequential) unpruned, widths,
                selection, new Samples(split.fit(), c.samples, c.positions, c.seed), c.ridge).model();
        BudgetReport report = BudgetRun.run(model, one, split, data.test(), setup, refit, line -> c.log("%s", line));
        c.out.save(model, c.model.sampleShape, Map.of("shears.command", "prune", "shears.method", c.method, "shears.criterion", "budget " + budget.describe()));

        Path md = PruneCommand.reportPath(out);
        Path png = md.resolveSibling(md.getFileName().toString().replace(".report.md", ".budget.png"));
        Plots.budgetPath(report, String.format(Locale.ROOT, "Budget search (%s, %s)", c.method, budget.describe()), png);
        String setupLine = String.format(Locale.ROOT, "%s → %s on %s (%,d training images less %,d for validation, %,d test images), minimum kept %s, %s backend.",
                c.model.file, out, c.data.name, data.train().size(), split.validation().size(), data.test().size(), minKeep, c.deviceName());
        Files.writeString(md, report.toMarkdown().replaceFirst("\n\n", "\n\n" + setupLine + "\n\n")
                + "\n![" + png.getFileName() + "](" + png.getFileName() + ")\n\n## Reproduce\n\n```\n" + c.commandLine() + "\n```\n");
        c.log("saved %s, %s and %s", out, md, png);
        if (!c.output.json) c.say("%s", report.toTerminal());
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("command", "prune");
        json.put("method", c.method);
        json.put("criterion", "budget " + budget.describe());
        json.putAll(report.toMap());
        json.put("model", out.toString());
        json.put("report", md.toString());
        json.put("plot", png.toString());
        c.emitJson(json);
        return 0;
    }
}
