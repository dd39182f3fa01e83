package dev.shears.prune;

import dev.shears.nn.Module;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * NetAdapt's latency look-up, measured on this machine: the latency of the model with one group cut to one width
 * in every {@link #ROWS}th of its channels (the others whole), interpolated linearly in the width, and a model's latency estimated as the unpruned
 * latency plus each group's change:
 * <pre>
 *   L(w_1, ..., w_G) ≈ L_full + Σ_g (T_g(w_g) − T_g(W_g))      W_g: the group's full width
 * </pre>
 * An estimate — the groups' savings are not quite additive — so a search checks its final model by measuring it
 * ({@link BudgetSearch}).
 *
 * @param fullMillis the unpruned model's median milliseconds per batch
 * @param widths     per group, the widths measured, ascending (the last is the full width)
 * @param millis     per group, the latency at each of {@code widths}, made non-decreasing ({@link #nonDecreasing})
 */
public record LatencyTable(int batch, double fullMillis, Map<String, int[]> widths, Map<String, double[]> millis) {

    /**
     * A group's table has a width every 1/ROWS of its channels (and its minimum): latency is far from linear in the
     * width — in one run on a busy two-core machine, SimpleCNN at batch 64 took 5.3 ms with conv1 cut to 16 channels
     * and 13.8 ms with it cut to 17 (the cause, tiles of 16 lanes or noise, is not established) — so a coarse table
     * misleads the search.
     */
    static final int ROWS = 16;

    /** Timed passes per model of the table, at most: it measures 1 + ROWS·groups models. */
    static final int MAX_REPEATS = 40;

    /**
     * Measures {@code model} and one copy per group and width (the group cut to that width by {@code scores},
     * lowest first), all in one interleaved {@link Latency#compare}, at {@code batch} samples shaped like
     * {@code inputShape} without its batch dimension.
     */
    public static LatencyTable measure(Module model, DependencyGraph graph, Map<String, float[]> scores, MinKeep minKeep,
                                       boolean fold, int batch, int repeats, int... inputShape) {
        int[] shape = inputShape.clone();
        shape[0] = batch;
        return measure(model, graph, scores, minKeep, fold, batch, models -> Latency.compare(models, 3, Math.min(repeats, MAX_REPEATS), shape));
    }

    /** As above, each model's milliseconds per batch of {@code batch} from {@code meter} (all the table's models in one call). */
    static LatencyTable measure(Module model, DependencyGraph graph, Map<String, float[]> scores, MinKeep minKeep,
                                boolean fold, int batch, BudgetSearch.LatencyMeter meter) {
        List<Module> models = new ArrayList<>();
        models.add(model);
        Map<String, int[]> widths = new LinkedHashMap<>();
        for (var e : scores.entrySet()) {
            int full = e.getValue().length, floor = minKeep.of(full);
            int step = Math.max(1, (int) Math.round((double) full / ROWS));
            int[] w = java.util.stream.IntStream.concat(java.util.stream.IntStream.of(floor, full),
                    java.util.stream.IntStream.iterate(step, x -> x < full, x -> x + step)).map(x -> Math.max(floor, x)).distinct().sorted().toArray();
            widths.put(e.getKey(), w);
            for (int i = 0; i < w.length - 1; i++) {
                Module m = Copies.of(model);
                Slicer.slice(m, graph, Map.of(e.getKey(), BudgetSearch.keepTop(e.getValue(), w[i])), fold);
                models.add(m);
            }
        }
        double[] ms = meter.millis(models);
        Map<String, double[]> millis = new LinkedHashMap<>();
        int k = 1;
        for (var e : widths.entrySet()) {
            double[] row = new double[e.getValue().length];
            for (int i = 0; i < row.length - 1; i++) row[i] = ms[k++];
            row[row.length - 1] = ms[0];
            millis.put(e.getKey(), nonDecreasing(row));
        }
        return new LatencyTable(batch, ms[0], widths, millis);
    }

    /**
     * The closest non-decreasing row in least squares (pool adjacent violators): a narrower group is taken to be no
     * slower. Measured medians on a busy machine wobble by more than a few channels' worth, and a row that rises as
     * channels go would make a cut look like it costs time, so the search would never take it; where a narrower
     * model really is slower, re-measuring the final model catches it.
     */
    static double[] nonDecreasing(double[] v) {
        double[] sum = new double[v.length];
        int[] count = new int[v.length];
        int blocks = 0;
        for (double x : v) {
            sum[blocks] = x;
            count[blocks] = 1;
            blocks++;
            while (blocks > 1 && sum[blocks - 2] / count[blocks - 2] > sum[blocks - 1] / count[blocks - 1]) {
                sum[blocks - 2] += sum[blocks - 1];
                count[blocks - 2] += count[blocks - 1];
                blocks--;
            }
        }
        double[] out = new double[v.length];
        for (int b = 0, i = 0; b < blocks; b++) for (int k = 0; k < count[b]; k++) out[i++] = sum[b] / count[b];
        return out;
    }

    /** The estimate for groups at {@code width} (a group not named stays whole). */
    public double estimate(Map<String, Integer> width) {
        double l = fullMillis;
        for (var e : width.entrySet()) {
            int[] w = widths.get(e.getKey());
            if (w != null) {   // the change along the group's own row, whose full-width end may sit off fullMillis once made non-decreasing
                double[] row = millis.get(e.getKey());
                l += interpolate(w, row, e.getValue()) - row[row.length - 1];
            }
        }
        return l;
    }

    private static double interpolate(int[] w, double[] ms, int x) {
        if (x <= w[0]) return ms[0];
        for (int i = 1; i < w.length; i++)
            if (x <= w[i]) return ms[i - 1] + (ms[i] - ms[i - 1]) * (x - w[i - 1]) / (w[i] - w[i - 1]);
        return ms[ms.length - 1];
    }

    /** One line per group: "conv2: 8 → 1.234 ms, 16 → ...". */
    public List<String> describe() {
        List<String> out = new ArrayList<>();
        widths.forEach((g, w) -> {
            StringBuilder sb = new StringBuilder(g).append(":");
            for (int i = 0; i < w.length; i++)
                sb.append(String.format(Locale.ROOT, "%s %d → %.3f ms", i == 0 ? "" : ",", w[i], millis.get(g)[i]));
            out.add(sb.toString());
        });
        return out;
    }
}
