package dev.shears.bench;

import dev.shears.nn.Module;
import dev.shears.nn.io.Checkpoints;
import dev.shears.prune.BudgetSearch;
import dev.shears.prune.Copies;
import dev.shears.prune.DependencyGraph;
import dev.shears.prune.Latency;
import dev.shears.prune.Method;
import dev.shears.prune.Pruner;
import dev.shears.prune.PruningPlan;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The spread of a budget search's final latency reading against the report's reading of the same model, old protocol
 * against new, in one JVM, rounds alternating. A round of each: the search's final reading of the model pruned to
 * {@code widths}; then what happens between the search and the report (a bisection's worth of other widths measured,
 * {@code between} calls); then the report's reading. Old: the meter of {@code BudgetSearch.relativeTo} before this
 * change (each model's ratio to the unpruned one, timed interleaved by {@link Latency#steadyCompare}, times the
 * unpruned model's fastest median so far; the report's call times four models with the unpruned one). New: the final
 * reading {@link BudgetSearch.LatencyMeter#reading} of today's {@code relativeTo} (calibrated scale, paired block
 * ratios) for both. Prints each pair and, per protocol, the median and largest |report / search − 1|.
 *
 * <pre>java --add-modules jdk.incubator.vector -Dshears.threads=2 -cp benchmarks/target/benchmarks.jar \
 *     dev.shears.bench.LatencyReadings /tmp/m/slim.safetensors 16,37 [rounds 3] [between 6] [repeats 200] [batch 64]</pre>
 */
public final class LatencyReadings {
    public static void main(String[] args) throws Exception {
        Module unpruned = Checkpoints.loadModel(Path.of(args[0]));
        int[] widths = Arrays.stream(args[1].split(",")).mapToInt(Integer::parseInt).toArray();
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 3, between = args.length > 3 ? Integer.parseInt(args[3]) : 6;
        int repeats = args.length > 4 ? Integer.parseInt(args[4]) : 200, batch = args.length > 5 ? Integer.parseInt(args[5]) : 64;
        int[] one = {1, 1, 28, 28}, shape = {batch, 1, 28, 28};
        Module pruned = prune(unpruned, widths, one);
        // what runs between the search and the report: other widths, as a bisection of the uniform and global ratios measures
        List<Module> others = new ArrayList<>();
        for (int i = 0; i < between; i++) {
            int[] w = widths.clone();
            for (int k = 0; k < w.length; k++) w[k] = Math.max(1, w[k] + (i % 2 == 0 ? 1 : -1) * (1 + i / 2) * (k + 1));
            others.add(prune(unpruned, w, one));
        }
        BudgetSearch.LatencyMeter steady = BudgetSearch.steadyMeter(repeats, shape);
        List<double[]> oldPairs = new ArrayList<>(), newPairs = new ArrayList<>();
        for (int round = 1; round <= rounds; round++) {
            long t0 = System.nanoTime();
            BudgetSearch.LatencyMeter old = fastestSoFar(unpruned, steady);
            double oldSearch = old.millis(List.of(pruned))[0];
            for (Module m : others) old.millis(List.of(m));
            double oldReport = old.millis(List.of(unpruned, pruned, others.get(0), others.get(1)))[1];
            oldPairs.add(new double[]{oldSearch, oldReport});
            long t1 = System.nanoTime();
            BudgetSearch.LatencyMeter now = BudgetSearch.relativeTo(Copies.of(unpruned), steady, repeats, shape);
            BudgetSearch.Reading newSearch = now.reading(pruned);
            for (Module m : others) now.millis(List.of(m));
            BudgetSearch.Reading newReport = now.reading(pruned);
            newPairs.add(new double[]{newSearch.millis(), newReport.millis()});
            long t2 = System.nanoTime();
            System.out.printf(Locale.ROOT, "round %d: old %.3f -> %.3f ms (%+.1f%%, %.0f s); new %.3f [%.3f-%.3f] -> %.3f [%.3f-%.3f] ms (%+.1f%%, %.0f s)%n",
                    round, oldSearch, oldReport, 100 * (oldReport / oldSearch - 1), (t1 - t0) / 1e9, newSearch.millis(), newSearch.low(),
                    newSearch.high(), newReport.millis(), newReport.low(), newReport.high(), 100 * (newReport.millis() / newSearch.millis() - 1),
                    (t2 - t1) / 1e9);
        }
        summary("old", oldPairs);
        summary("new", newPairs);
    }

    /** The meter before this change: ratio to the reference in the same call, times the reference's fastest median so far. */
    static BudgetSearch.LatencyMeter fastestSoFar(Module reference, BudgetSearch.LatencyMeter clock) {
        double[] fastest = {Double.POSITIVE_INFINITY};
        return models -> {
            List<Module> all = new ArrayList<>();
            all.add(reference);
            all.addAll(models);
            double[] ms = clock.millis(all);
            fastest[0] = Math.min(fastest[0], ms[0]);
            double[] out = new double[models.size()];
            for (int k = 0; k < out.length; k++) out[k] = ms[k + 1] / ms[0] * fastest[0];
            return out;
        };
    }

    static void summary(String name, List<double[]> pairs) {
        double[] diff = pairs.stream().mapToDouble(p -> Math.abs(p[1] / p[0] - 1)).sorted().toArray();
        double[] all = pairs.stream().flatMapToDouble(Arrays::stream).sorted().toArray();
        System.out.printf(Locale.ROOT, "%s: |report/search - 1| median %.1f%%, max %.1f%%; all readings %.3f-%.3f ms (spread %.1f%%)%n", name,
                100 * diff[diff.length / 2], 100 * diff[diff.length - 1], all[0], all[all.length - 1], 100 * (all[all.length - 1] / all[0] - 1));
    }

    /** A copy of {@code model} with its slimming groups (forward order) cut to {@code widths}, lowest |γ| first. */
    static Module prune(Module model, int[] widths, int... inputShape) {
        Module copy = Copies.of(model);
        DependencyGraph g = DependencyGraph.analyze(copy, inputShape);
        Pruner pruner = new Pruner(Method.SLIM, null);   // scores and apply only: no criterion needed
        Map<String, float[]> scores = pruner.scores(copy, g);
        Map<String, int[]> keep = new LinkedHashMap<>();
        Map<String, Integer> full = new LinkedHashMap<>();
        int k = 0;
        for (var e : scores.entrySet()) {
            if (k == widths.length) break;
            keep.put(e.getKey(), BudgetSearch.keepTop(e.getValue(), Math.min(widths[k++], e.getValue().length)));
            full.put(e.getKey(), e.getValue().length);
        }
        return pruner.apply(copy, g, new PruningPlan(keep, full, List.of())).model();
    }
}
