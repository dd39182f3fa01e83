package dev.shears.cli;

import dev.shears.data.Mnist;
import dev.shears.nn.Module;
import dev.shears.onnx.OnnxExporter;
import dev.shears.onnx.OnnxFormatException;
import dev.shears.onnx.OnnxImporter;
import dev.shears.onnx.OnnxModel;
import dev.shears.prune.BudgetRun;
import dev.shears.prune.Criterion;
import dev.shears.prune.Latency;
import dev.shears.prune.Method;
import dev.shears.prune.MinKeep;
import dev.shears.prune.PruneReport;
import dev.shears.prune.PruneResult;
import dev.shears.prune.Pruner;
import dev.shears.prune.Training;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

@Command(name = "prune", mixinStandardHelpOptions = true,
        description = {"Prune a model structurally (SimpleCNN, or any chain or graph: residual adds, concatenations, depthwise convs): whole channels leave every tensor that holds them, so the saved model is smaller and faster.",
                "Prints channels per layer, parameters, FLOPs, latency and accuracy before and right after; writes OUT's report (.report.md) beside it."})
final class PruneCommand extends BackendCommand {

    @Mixin Options.Data data;
    @Mixin Options.Model model;
    @Mixin Options.Out out;

    @Option(names = "--method", paramLabel = "slim|l1|reconstruct", defaultValue = "slim",
            description = {"slim: Network Slimming, rank channels by |γ| of their BatchNorm; l1: rank conv filters by Σ|W| (Li et al.). Default: ${DEFAULT-VALUE}.",
                    "reconstruct: remove --ratio of every conv layer's channels (chosen by --select) and re-fit the next layer by least squares on sampled activations (He et al. 2017), no fine-tuning needed. "
                            + "On a graph model: the channels of an l1 (or gamma) plan, per layer or --global, then every layer reading a pruned group re-fitted."})
    String method;

    @Option(names = "--select", paramLabel = "lasso|greedy|gamma|l1", defaultValue = "lasso",
            description = "With --method reconstruct: how channels are chosen — lasso (He et al.), greedy (ThiNet), gamma (|γ|) or l1 (Σ|W|). Default: ${DEFAULT-VALUE} (on a graph model: l1; lasso and greedy take chains only).")
    String select;

    @Option(names = "--samples", paramLabel = "N", defaultValue = "5000",
            description = "With --method reconstruct: training images to sample activations from. Default: ${DEFAULT-VALUE}.")
    int samples;

    @Option(names = "--positions", paramLabel = "N", defaultValue = "10",
            description = "With --method reconstruct: output positions sampled per image for a conv layer. Default: ${DEFAULT-VALUE}.")
    int positions;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "0",
            description = "With --method reconstruct: seed of the sampled images and positions; with a --target-*: of the validation split and the fine-tuning's shuffling (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--ridge", paramLabel = "λ", defaultValue = "0",
            description = "With --method reconstruct: ridge of the least squares, relative to the mean diagonal of XᵀX (0: none; raised automatically if the system is rank-deficient). Default: ${DEFAULT-VALUE}.")
    double ridge;

    static final class How {
        @Option(names = "--threshold", paramLabel = "T", required = true, description = "Remove channels whose score (|γ|, or Σ|W|) is below T.")
        Double threshold;
        @Option(names = "--ratio", paramLabel = "R", required = true, description = "Remove this share of channels: in every layer, or over all layers together with --global.")
        Double ratio;
        @ArgGroup(exclusive = true, multiplicity = "1") Options.Target target;
    }

    @ArgGroup(exclusive = true, multiplicity = "1") How how;

    @Option(names = "--global", description = "With --ratio: one ranking over all layers (the slimming paper's percentile) instead of per layer.")
    boolean global;

    @Option(names = "--min-keep", paramLabel = "N", defaultValue = "1", description = "Keep at least N channels per layer (default: ${DEFAULT-VALUE}; never fewer than 1).")
    int minKeep;

    @Option(names = "--min-keep-fraction", paramLabel = "F", defaultValue = "0", description = "Keep at least this share of every layer's channels (default: ${DEFAULT-VALUE}).")
    double minKeepFraction;

    @Option(names = "--no-fold", description = "Do not fold the pruned channels' leftover constants (BN β) into the next layer's bias.")
    boolean noFold;

    @Option(names = "--latency-repeats", paramLabel = "N", defaultValue = "200", description = "Timed forward passes per latency (median; 0 skips it). Default: ${DEFAULT-VALUE}.")
    int latencyRepeats;

    @Mixin Options.LatencyBatch latencyBatch;

    @Option(names = "--steps", paramLabel = "K", description = "With a --target-*: reach the budget in K prune → short fine-tune stages, the budget split geometrically; the uniform and global comparisons go through the same stages and fine-tunes (default: 1).")
    Integer steps;

    @Option(names = "--step-epochs", paramLabel = "E", description = "With --steps K > 1: epochs of fine-tuning after each stage but the last; a fraction trains on that share of the images (default: 0.25).")
    Double stepEpochs;

    @Option(names = "--finetune-epochs", paramLabel = "N", description = "With a --target-*: epochs of fine-tuning of the searched model and of the uniform and global comparisons alike (default: 1).")
    Integer fineTuneEpochs;

    @Option(names = "--lr", paramLabel = "RATE", description = "With a --target-*: SGD learning rate of the fine-tuning, momentum 0.9, annealed per batch by a cosine as finetune does (default: 0.02).")
    Float lr;

    @Option(names = "--val-size", paramLabel = "N", description = "With a --target-*: training images held out as the validation split for every decision (default: 10%% of them).")
    Integer valSize;

    @Option(names = "--search-images", paramLabel = "N", description = "With a --target-*: validation images each move of the search is scored on (default: 2000).")
    Integer searchImages;

    @Option(names = "--probe-images", paramLabel = "N", description = "With a --target-*: score each candidate cut after a short fine-tune of a copy on N training images "
            + "(NetAdapt's short-term fine-tune; the copy is then dropped); 0: score it untuned (default: " + BudgetRun.PROBE_IMAGES + " on a graph model, 0 on a chain).")
    Integer probeImages;

    @Option(names = "--finalist-epochs", paramLabel = "E", description = "With --target-flops or --target-params (one stage): give the searched, uniform and global widths "
            + "and points between and beyond them each E epochs of fine-tuning (a copy, same images and seed) and keep the best on the validation split; 0: keep the search's widths "
            + "(default: 0.25; 0 with --steps, --target-latency or --method reconstruct).")
    Double finalistEpochs;

    @Option(names = "--finetune-seeds", paramLabel = "N", description = "With a --target-*: fine-tune every model N times, seeds --seed to --seed + N - 1, and report each seed's "
            + "accuracy and their mean and spread; the model saved is the first seed's (default: 1).")
    Integer fineTuneSeeds;

    static Method method(ShearsCommand c, String name) {
        return switch (name) {
            case "slim" -> Method.SLIM;
            case "l1" -> Method.L1;
            default -> throw c.usageError("--method must be slim, l1 or reconstruct, got " + name);
        };
    }

    static Criterion criterion(ShearsCommand c, Double threshold, Double ratio, boolean global) {
        if (threshold != null) {
            if (global) throw c.usageError("--global goes with --ratio, not --threshold (a threshold is global already)");
            return Criterion.threshold(threshold);
        }
        if (!(ratio >= 0 && ratio < 1)) throw c.usageError("--ratio must be in [0, 1), got " + ratio);
        return global ? Criterion.globalRatio(ratio) : Criterion.perLayerRatio(ratio);
    }

    /** OUT.safetensors → OUT.report.md */
    static Path reportPath(Path out) {
        String name = out.getFileName().toString();
        String stem = name.endsWith(".safetensors") ? name.substring(0, name.length() - ".safetensors".length()) : name;
        return out.resolveSibling(stem + ".report.md");
    }

    @Override
    protected int run() throws Exception {
        if (how.target != null) return BudgetPrune.run(this);
        String budgetOnly = BudgetPrune.budgetOnlyOptionGiven(this);
        if (budgetOnly != null) throw usageError(budgetOnly + " goes with --target-flops, --target-params or --target-latency");
        if (method.equals("reconstruct")) return ReconstructPrune.run(this);
        Method m = method(this, method);
        Criterion criterion = criterion(this, how.threshold, how.ratio, global);
        Path out = this.out.require(this);
        if (minKeep < 1 && minKeepFraction <= 0) minKeep = 1;
        Module model = this.model.require(this);   // a chain or a graph (residual adds, concatenations, depthwise convs)
        Mnist data = this.data.load(this);
        this.model.requireFits(data.test(), this.data);
        int[] one = {1, 1, data.test().rows(), data.test().cols()};

        double accBefore = Training.accuracy(model, data.test());
        Module unpruned = latencyRepeats > 0 ? copy(model, this.model.sampleShape) : null;   // for the interleaved latency comparison
        PruneResult r = new Pruner(m, criterion).minKeep(new MinKeep(Math.max(1, minKeep), minKeepFraction)).fold(!noFold).prune(model, one);
        for (String w : r.warnings()) log("warning: %s", w);
        double accAfter = Training.accuracy(model, data.test());
        double[][] lat = latencies(unpruned, model, data);
        this.out.save(model, this.model.sampleShape, Map.of("shears.command", "prune", "shears.method", method, "shears.criterion", criterion.describe()));

        String setup = String.format("%s → %s: %s pruning by %s (minimum kept: %s), evaluated on %s (%,d test images), %s backend.%s",
                this.model.file, out, method, criterion.describe(), new MinKeep(Math.max(1, minKeep), minKeepFraction), this.data.name,
                data.test().size(), deviceName(), latencyMethod(model));
        PruneReport report = new PruneReport("Pruning report", setup, r, accBefore, accAfter, Double.NaN, Double.NaN,
                lat[0][0], lat[0][1], lat[1][0], lat[1][1], List.of(), List.of(commandLine()));
        Path md = reportPath(out);
        Files.writeString(md, report.toMarkdown());
        log("saved %s and %s", out, md);
        if (!output.json) say("%s", report.toTerminal());
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("command", "prune");
        json.put("method", method);
        json.put("criterion", criterion.describe());
        json.putAll(report.toMap());
        json.put("model", out.toString());
        json.put("report", md.toString());
        emitJson(json);
        return 0;
    }

    /**
     * A copy of a model (chain or graph), made by writing it to ONNX in memory and reading it back (the same
     * layers, tensors and names), for the latency comparison of the model before and after pruning.
     */
    static Module copy(Module model, int[] sampleShape) throws OnnxFormatException {
        byte[] onnx = OnnxExporter.toProto(model, sampleShape).toByteArray();
        return OnnxImporter.build(OnnxModel.parse(onnx, Path.of("copy.onnx")));
    }

    /** How {@link #latencies} measured, for a report's setup line (with a leading space); "" when it did not. */
    String latencyMethod(Module model) {
        return latencyRepeats < 1 ? "" : " " + Latency.method(latencyRepeats, model);
    }

    /** [batch 1, batch 64] × [before, after], measured interleaved. */
    double[][] latencies(Module before, Module after, Mnist data) {
        if (latencyRepeats < 1) return new double[][]{{Double.NaN, Double.NaN}, {Double.NaN, Double.NaN}};
        int h = data.test().rows(), w = data.test().cols();
        return new double[][]{Latency.compare(List.of(before, after), 20, latencyRepeats, 1, 1, h, w),
                Latency.compare(List.of(before, after), 5, latencyRepeats, 64, 1, h, w)};
    }

    String commandLine() {
        return "shears " + String.join(" ", spec.commandLine().getParseResult().originalArgs());
    }
}
