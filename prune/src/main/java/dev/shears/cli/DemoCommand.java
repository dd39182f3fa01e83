package dev.shears.cli;

import dev.shears.data.Mnist;
import dev.shears.nn.train.TrainingDivergedException;
import dev.shears.prune.Budget;
import dev.shears.prune.BudgetReport;
import dev.shears.prune.Criterion;
import dev.shears.prune.MinKeep;
import dev.shears.prune.Pipeline;
import dev.shears.prune.PruneReport;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Network Slimming end to end on a SimpleCNN: train with an L1 penalty on the BatchNorm γ, prune, fine-tune, report.",
                "Writes the models, report.md, report.json, the γ histogram and the sensitivity plot into --out (a directory, default shears-demo)."})
final class DemoCommand extends BackendCommand {

    @Mixin Options.Data data;
    @Mixin Options.Batch batch;
    @Mixin Options.Seed seed;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "shears-demo",
            description = "The directory for the models, the report and the plots, created if needed (default: ${DEFAULT-VALUE}).")
    Path out;

    /** Chosen from the measurements in the prune README: see the λ table there. */
    static final String DEFAULT_LAMBDA = "2e-2";

    @Option(names = "--method", paramLabel = "slim|l1", defaultValue = "slim",
            description = "slim (penalty on BN γ) or l1 (penalty on conv weights, filters ranked by Σ|W|). Default: ${DEFAULT-VALUE}.")
    String method;

    @Option(names = "--lambda", paramLabel = "λ", defaultValue = DEFAULT_LAMBDA, description = "Sparsity strength (default: ${DEFAULT-VALUE}).")
    float lambda;

    @Option(names = "--epochs", paramLabel = "N", defaultValue = "10", description = "Sparse-training epochs (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--finetune-epochs", paramLabel = "N", defaultValue = "10", description = "Fine-tuning epochs after pruning (default: ${DEFAULT-VALUE}).")
    int fineTuneEpochs;

    @Option(names = "--lr", paramLabel = "RATE", defaultValue = "0.01", description = "SGD learning rate, momentum 0.9 (default: ${DEFAULT-VALUE}).")
    float lr;

    @Option(names = "--finetune-lr-step", paramLabel = "EPOCHS", defaultValue = "0",
            description = "Fine-tuning multiplies the learning rate by --finetune-lr-gamma every EPOCHS epochs, as PyTorch's StepLR (default: ${DEFAULT-VALUE}, a constant rate).")
    int fineTuneLrStep;

    @Option(names = "--finetune-lr-gamma", paramLabel = "G", defaultValue = "0.1", description = "The factor of --finetune-lr-step (default: ${DEFAULT-VALUE}).")
    float fineTuneLrGamma;

    static final class How {
        @Option(names = "--threshold", paramLabel = "T", required = true, description = "Remove channels whose |γ| is below T.")
        Double threshold;
        @Option(names = "--ratio", paramLabel = "R", required = true, description = "Remove this share of channels (per layer, or with --global over all).")
        Double ratio;
        @ArgGroup(exclusive = true, multiplicity = "1") Options.Target target;
    }

    @ArgGroup(exclusive = true) How how;

    @Option(names = "--global", description = "With --ratio: one ranking over all layers.")
    boolean global;

    @Option(names = "--min-keep-fraction", paramLabel = "F", defaultValue = "0",
            description = "Keep at least this share of every layer's channels (default: ${DEFAULT-VALUE}: at least one).")
    double minKeepFraction;

    @Option(names = "--no-baseline", description = "Skip the normally trained twin (and so the γ histogram).")
    boolean noBaseline;

    @Option(names = "--no-sensitivity", description = "Skip the accuracy-against-ratio sweep.")
    boolean noSensitivity;

    @Option(names = "--latency-repeats", paramLabel = "N", defaultValue = "200", description = "Timed forward passes per latency (median). Default: ${DEFAULT-VALUE}.")
    int latencyRepeats;

    @Mixin Options.LatencyBatch latencyBatch;

    @Override
    protected int run() throws Exception {
        Budget budget = BudgetPrune.budget(this, how == null ? null : how.target, latencyBatch.value);
        if (budget != null && global) throw usageError("--global goes with --ratio; a budget run compares the search with a global ratio by itself");
        // default: the slimming paper's way, one global ranking of all γ, here removing 70% of the conv channels
        Criterion criterion = how == null || budget != null ? Criterion.globalRatio(0.7)
                : PruneCommand.criterion(this, how.threshold, how.ratio, global);
        if (epochs < 1 || fineTuneEpochs < 0) throw usageError("--epochs must be >= 1 and --finetune-epochs >= 0");
        String schedule = ScheduleOptions.problem("--finetune-lr-step", fineTuneLrStep, "--finetune-lr-gamma", fineTuneLrGamma);
        if (schedule != null) throw usageError(schedule);
        Mnist data = this.data.load(this);
        String command = "shears " + String.join(" ", spec.commandLine().getParseResult().originalArgs());
        var config = new Pipeline.Config(out, PruneCommand.method(this, method), criterion, minKeepFraction > 0 ? MinKeep.fraction(minKeepFraction) : MinKeep.ONE, lambda, epochs, fineTuneEpochs,
                lr, seed.value, !noBaseline, !noSensitivity, Math.max(1, latencyRepeats), List.of(command),
                fineTuneLrStep, fineTuneLrGamma, batch.size);
        try {
            if (budget != null) {   // the budget search on the freshly trained sparse model, see Pipeline.runBudget
                BudgetReport report = Pipeline.runBudget(config, budget, data, this.data.name, line -> log("%s", line));
                return finish(report.toTerminal(), "budget " + budget.describe(), report.toMap());
            }
            PruneReport report = Pipeline.run(config, data, this.data.name, line -> log("%s", line));
            return finish(report.toTerminal(), criterion.describe(), report.toMap());
        } catch (TrainingDivergedException d) {
            throw new IllegalStateException(d.getMessage() + "; the models written before stay in " + out + "; try a lower --lr", d);
        }
    }

    private int finish(String terminal, String criterion, Map<String, Object> numbers) throws Exception {
        if (!output.json) say("%s", terminal);
        say("report: %s", out.resolve("report.md"));
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("command", "demo");
        json.put("lambda", lambda);
        json.put("criterion", criterion);
        json.putAll(numbers);
        json.put("out", out.toString());
        emitJson(json);
        return 0;
    }
}
