package dev.shears.cli;

import dev.shears.data.Mnist;
import dev.shears.nn.Module;
import dev.shears.nn.Sequential;
import dev.shears.prune.Criterion;
import dev.shears.prune.Method;
import dev.shears.prune.MinKeep;
import dev.shears.prune.ModelCost;
import dev.shears.prune.PruneReport;
import dev.shears.prune.PruneResult;
import dev.shears.prune.Pruner;
import dev.shears.prune.reconstruct.GraphReconstructor;
import dev.shears.prune.reconstruct.LayerReport;
import dev.shears.prune.reconstruct.ReconstructionResult;
import dev.shears.prune.reconstruct.Reconstructor;
import dev.shears.prune.reconstruct.Samples;
import dev.shears.prune.reconstruct.Selection;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code shears prune --method reconstruct}: channel pruning with least-squares reconstruction of the next
 * layer ({@link Reconstructor}), reported like the other methods (the same table, Markdown and JSON) plus the
 * per-layer reconstruction errors, the naive-slicing accuracy, and the time each step took.
 */
final class ReconstructPrune {
    private ReconstructPrune() {}

    /** --select, after checking --samples, --positions and --ridge; bad values are usage errors. */
    static Selection selection(PruneCommand c) {
        if (c.samples < 1 || c.positions < 1) throw c.usageError("--samples and --positions must be >= 1");
        if (c.ridge < 0) throw c.usageError("--ridge must be >= 0, got " + c.ridge);
        try {
            return Selection.parse(c.select);
        } catch (IllegalArgumentException e) {
            throw c.usageError("--select: " + e.getMessage());
        }
    }

    static int run(PruneCommand c) throws Exception {
        if (c.how.threshold != null) throw c.usageError("--method reconstruct takes --ratio R (a share per layer), not --threshold");
        double ratio = c.how.ratio;
        if (!(ratio >= 0 && ratio < 1)) throw c.usageError("--ratio must be in [0, 1), got " + ratio);
        Selection selection = selection(c);
        Path out = c.out.require(c);
        Module model = c.model.require(c);
        boolean chain = model instanceof Sequential;
        if (chain && c.global) throw c.usageError("--method reconstruct prunes a share of every layer of a chain: --global applies to graph models only");
        boolean selectGiven = c.spec.commandLine().getParseResult().hasMatchedOption("--select");
        if (!chain) {   // a graph: the channels come from an L1 or slimming plan; LASSO and greedy rank one consumer's inputs
            if (!selectGiven) selection = Selection.L1;
            else if (selection != Selection.L1 && selection != Selection.GAMMA)
                throw c.usageError("--select " + selection.cliName() + " takes chain models; on a graph model use l1 (default) or gamma");
        }
        Mnist data = c.data.load(c);
        c.model.requireFits(data.test(), c.data);
        int[] one = {1, 1, data.test().rows(), data.test().cols()};

        ModelCost costBefore = ModelCost.of(model, one);
        Module unpruned = c.latencyRepeats > 0 ? PruneCommand.copy(model, c.model.sampleShape) : null;   // for the interleaved latency comparison
        Samples samples = new Samples(data.train(), c.samples, c.positions, c.seed);
        ReconstructionResult r;
        if (chain) {
            r = Reconstructor.prune((Sequential) model, ratio, selection, samples, c.ridge);
        } else {
            Pruner pruner = new Pruner(selection == Selection.GAMMA ? Method.SLIM : Method.L1,
                    c.global ? Criterion.globalRatio(ratio) : Criterion.perLayerRatio(ratio))
                    .minKeep(new MinKeep(Math.max(1, c.minKeep), c.minKeepFraction));
            r = GraphReconstructor.prune(model, pruner, selection, ratio, samples, c.ridge);
        }
        ReconstructionResult.Accuracy acc = r.accuracy(data.test());
        double[][] lat = c.latencies(unpruned, model, data);
        ModelCost costAfter = ModelCost.of(model, one);
        c.out.save(model, c.model.sampleShape, Map.of("shears.command", "prune", "shears.method", "reconstruct",
                "shears.criterion", "ratio " + ratio + (c.global ? " global" : "") + ", " + selection.cliName() + " selection"));

        Map<String, Integer> before = new LinkedHashMap<>(), after = new LinkedHashMap<>();
        List<String> notes = new ArrayList<>();
        notes.add(String.format(Locale.ROOT, "naive slicing of the same channels (no least squares): %.2f%% test accuracy; reconstructed: %s",
                100 * acc.naive(), acc.describeRecovery()));
        for (LayerReport l : r.layers()) {
            before.put(l.producer(), l.channelsBefore());
            after.put(l.producer(), l.channelsAfter());
            notes.add(String.format(Locale.ROOT, "%s → %s: relative error %.4f naive, %.4f after least squares (%.1f× lower)%s",
                    l.producer(), l.consumer(), l.naiveError(), l.lsError(), l.improvement(), l.note().isEmpty() ? "" : "; " + l.note()));
        }
        PruneResult pr = new PruneResult(model, null, before, after, costBefore, costAfter, List.of(), notes);
        String setup = String.format(Locale.ROOT, "%s → %s: reconstruction pruning (He et al. 2017), %s selection, ratio %s %s, "
                        + "least squares from %,d training images × %d positions, evaluated on %s (%,d test images), %s backend.%s",
                c.model.file, out, selection.cliName(), ratio, c.global ? "over all layers together" : "per conv layer", r.images(), r.positionsPerImage(), c.data.name,
                data.test().size(), c.deviceName(), c.latencyMethod(model));
        PruneReport report = new PruneReport("Pruning report", setup, pr, acc.original(), acc.reconstructed(), Double.NaN, Double.NaN,
                lat[0][0], lat[0][1], lat[1][0], lat[1][1], List.of(), List.of(c.commandLine()));
        Path md = PruneCommand.reportPath(out);
        Files.writeString(md, report.toMarkdown() + "\n" + r.toMarkdown(acc));
        c.log("saved %s and %s", out, md);
        if (!c.output.json) c.say("%s%n%s", report.toTerminal(), r.toMarkdown(acc));
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("command", "prune");
        json.put("method", "reconstruct");
        json.put("criterion", "ratio " + ratio);
        json.putAll(report.toMap());
        json.put("reconstruction", r.toMap(acc));
        json.put("model", out.toString());
        json.put("report", md.toString());
        c.emitJson(json);
        return 0;
    }
}
