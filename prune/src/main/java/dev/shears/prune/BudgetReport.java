package dev.shears.prune;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What a {@link BudgetRun} reached, as a terminal table, Markdown, or a map for JSON: the budget asked and reached,
 * the width per group, and one row per model — unpruned, searched, uniform ratio, global ratio — with FLOPs,
 * parameters, measured latency, and validation and test accuracy before and after the same fine-tuning.
 * Accuracies in [0, 1] (NaN where not measured), latencies in milliseconds per batch.
 *
 * @param rows            unpruned, searched, uniform, global, in that order
 * @param measuredMillis  the search's own final latency reading (latency budgets only, else NaN), taken as the rows' are
 * @param finalists       the {@link Finalists} as scored after their short fine-tune, the pick among them (none: empty)
 */
public record BudgetReport(BudgetRun.Setup setup, List<Row> rows, List<BudgetSearch.Point> path, double searchSeconds,
                           int validationSize, int searchImages, List<String> latencyTable, double measuredMillis,
                           List<Finalists.Scored> finalists) {

    /**
     * One model. {@code validationSeeds} and {@code testSeeds}: its accuracy after fine-tuning with seed, seed + 1, ...
     * ({@link BudgetRun.Setup#fineTuneSeeds}; empty without fine-tuning); the model kept is the first seed's.
     */
    public record Row(String name, Map<String, Integer> widths, long flops, long parameters, double latencyMillis,
                      double validationPruned, double testPruned, List<Double> validationSeeds, List<Double> testSeeds) {
        /** The kept model's (the first seed's) validation accuracy after fine-tuning; NaN without. */
        public double validationTuned() { return validationSeeds.isEmpty() ? Double.NaN : validationSeeds.get(0); }
        /** The kept model's (the first seed's) test accuracy after fine-tuning; NaN without. */
        public double testTuned() { return testSeeds.isEmpty() ? Double.NaN : testSeeds.get(0); }
    }

    /** Mean and sample standard deviation (0 for one value) of accuracies in [0, 1]; NaN for none. */
    static double[] meanSd(List<Double> xs) {
        if (xs.isEmpty()) return new double[]{Double.NaN, Double.NaN};
        double mean = xs.stream().mapToDouble(Double::doubleValue).average().orElseThrow(), ss = 0;
        for (double x : xs) ss += (x - mean) * (x - mean);
        return new double[]{mean, xs.size() < 2 ? 0 : Math.sqrt(ss / (xs.size() - 1))};
    }

    /** "90.31% ± 0.08 (90.22–90.40)" in percent over the seeds, or "—". */
    static String spread(List<Double> xs) {
        if (xs.isEmpty()) return "—";
        double[] m = meanSd(xs);
        double lo = xs.stream().mapToDouble(Double::doubleValue).min().orElseThrow(), hi = xs.stream().mapToDouble(Double::doubleValue).max().orElseThrow();
        return String.format(Locale.ROOT, "%.2f%% ± %.2f (%.2f–%.2f)", 100 * m[0], 100 * m[1], 100 * lo, 100 * hi);
    }

    private boolean seeds() { return setup.fineTuneSeeds() > 1 && setup.fineTuneEpochs() > 0; }

    public Row unpruned() { return rows.get(0); }
    public Row searched() { return rows.get(1); }

    /** The row's cost in the budget's unit. */
    public double cost(Row r) {
        return switch (setup.budget().kind()) {
            case FLOPS -> r.flops();
            case PARAMS -> r.parameters();
            case LATENCY -> r.latencyMillis();
        };
    }

    /** Whether the row costs no more than the budget (latency: as measured here). */
    public boolean meets(Row r) {
        return setup.budget().kind() == Budget.Kind.LATENCY ? r.latencyMillis() <= setup.budget().value()
                : cost(r) <= setup.budget().value() * cost(unpruned());
    }

    private static String pct(double a) { return Double.isNaN(a) ? "—" : String.format(Locale.ROOT, "%.2f%%", 100 * a); }

    private String share(long v, long of) { return String.format(Locale.ROOT, "%,d (%.1f%%)", v, 100.0 * v / of); }

    private String widths(Row r) {
        StringBuilder sb = new StringBuilder();
        r.widths().forEach((g, w) -> sb.append(sb.isEmpty() ? "" : " ").append(g).append('=').append(w));
        return sb.toString();
    }

    private static final String[] HEAD = {"model", "widths", "FLOPs", "parameters", "latency", "meets", "val. pruned", "test pruned",
            "val. fine-tuned", "test fine-tuned"};

    /** The header: {@link #HEAD}, and with several seeds a last column of the test accuracy over them. */
    private String[] head() {
        if (!seeds()) return HEAD;
        String[] h = java.util.Arrays.copyOf(HEAD, HEAD.length + 1);
        h[HEAD.length] = "test fine-tuned, " + setup.fineTuneSeeds() + " seeds: mean ± sd (min–max)";
        return h;
    }

    private List<String[]> table() {
        List<String[]> out = new ArrayList<>();
        Row u = unpruned();
        for (Row r : rows) {
            String[] row = {r.name(), widths(r), share(r.flops(), u.flops()), share(r.parameters(), u.parameters()),
                    Double.isNaN(r.latencyMillis()) ? "—" : String.format(Locale.ROOT, "%.3f ms", r.latencyMillis()),
                    r == u ? "" : meets(r) ? "yes" : "NO", pct(r.validationPruned()), pct(r.testPruned()), pct(r.validationTuned()), pct(r.testTuned())};
            if (seeds()) {
                row = java.util.Arrays.copyOf(row, row.length + 1);
                row[row.length - 1] = spread(r.testSeeds());
            }
            out.add(row);
        }
        return out;
    }

    /** "asked 25% of the FLOPs; reached 24.1% (searched)". */
    public String summary() {
        Row s = searched(), u = unpruned();
        String reached = switch (setup.budget().kind()) {
            case FLOPS -> String.format(Locale.ROOT, "%.2f%% of the FLOPs", 100.0 * s.flops() / u.flops());
            case PARAMS -> String.format(Locale.ROOT, "%.2f%% of the parameters", 100.0 * s.parameters() / u.parameters());
            case LATENCY -> String.format(Locale.ROOT, "%.3f ms measured again (%.1f%% of the budget; the search's final reading %.3f ms; "
                    + "unpruned %.3f ms)", s.latencyMillis(), 100 * s.latencyMillis() / setup.budget().value(), measuredMillis, u.latencyMillis());
        };
        String probe = setup.probeImages() == 0 ? "" : String.format(Locale.ROOT, ", each candidate after a short fine-tune of a copy on %,d training images",
                setup.probeImages());
        String picked = finalists.isEmpty() ? "" : String.format(Locale.ROOT, " Then %d finalists at the budget (the searched, uniform and "
                + "global widths and points between and beyond them), each fine-tuned %s epoch (a copy, seed %d) and judged on all %,d validation "
                + "images: picked %s.", finalists.size(), setup.finalistEpochs(), setup.train().seed(), validationSize, pickedName());
        String seeds = setup.fineTuneSeeds() == 1 ? "" : String.format(Locale.ROOT, ", with seeds %d to %d (the model kept: seed %d)",
                setup.train().seed(), setup.train().seed() + setup.fineTuneSeeds() - 1, setup.train().seed());
        return String.format(Locale.ROOT, "budget: %s, %s pruning; reached %s. Search: %d moves in %.1f s, scored on %,d of %,d validation images "
                        + "(carved from the training data, held out of fine-tuning)%s; %s.%s Fine-tuning: %d epoch%s for each model%s.",
                setup.budget().describe(), setup.method().name().toLowerCase(Locale.ROOT), reached, path.size() - 1, searchSeconds,
                searchImages, validationSize, probe, stages(), picked, setup.fineTuneEpochs(), setup.fineTuneEpochs() == 1 ? "" : "s", seeds);
    }

    /** The finalist with the best validation accuracy after the short fine-tune (the first on a tie: see {@link Finalists#choose}). */
    private String pickedName() {
        return finalists.get(Finalists.best(finalists)).candidate().name();
    }

    /** "1 stage", or what every model went through on the way: "3 stages for each model, 0.25 epoch of fine-tuning after each of the first 2". */
    private String stages() {
        int k = setup.steps();
        if (k == 1) return "1 stage";
        if (setup.stepEpochs() == 0) return k + " stages for each model, no fine-tuning between them";
        return String.format(Locale.ROOT, "%d stages for each model (searched, uniform, global), %s epoch of fine-tuning after %s",
                k, setup.stepEpochs(), k == 2 ? "the first" : "each of the first " + (k - 1));
    }

    public String toTerminal() {
        List<String[]> all = new ArrayList<>();
        String[] head = head();
        all.add(head);
        all.addAll(table());
        int[] w = new int[head.length];
        for (String[] row : all) for (int i = 0; i < w.length; i++) w[i] = Math.max(w[i], row[i].length());
        StringBuilder sb = new StringBuilder("Budget pruning report\n").append(summary()).append('\n');
        for (String[] row : all) {
            for (int i = 0; i < w.length; i++) sb.append(i == 0 ? "" : " | ").append(String.format(Locale.ROOT, i < 2 ? "%-" + w[i] + "s" : "%" + w[i] + "s", row[i]));
            sb.append('\n');
            if (row == head) sb.append("-".repeat(sb.length() - sb.lastIndexOf("\n", sb.length() - 2) - 2)).append('\n');
        }
        return sb.toString();
    }

    public String toMarkdown() {
        StringBuilder sb = new StringBuilder("# Budget pruning report\n\n").append(summary()).append("\n\n");
        sb.append("| ").append(String.join(" | ", head())).append(" |\n|---|---|---:|---:|---:|---|---:|---:|---:|---:|")
                .append(seeds() ? "---|" : "").append('\n');
        for (String[] row : table()) sb.append("| ").append(String.join(" | ", row)).append(" |\n");
        sb.append("\nUniform: one ratio for every group; global: one ranking over all groups' channels. Each ratio is the smallest "
                + "that meets the budget (bisection). FLOPs are 2 × multiply-accumulates of the conv and linear layers, per image; latency "
                + "per batch of ").append(setup.budget().batch()).append(", each model timed interleaved with the unpruned one in blocks of "
                + "passes, as the median of the blocks' ratios to the unpruned model (load that comes and goes cancels) times the unpruned "
                + "model's latency measured once at the start of the run; the search's final reading is taken the same way.\n");
        if (!finalists.isEmpty()) {
            sb.append("\n## Finalists (validation after ").append(setup.finalistEpochs()).append(" epoch of fine-tuning, a copy each)\n\n")
                    .append("| finalist | widths | cost (share of unpruned) | validation accuracy | validation loss |\n|---|---|---:|---:|---:|\n");
            double cost0 = cost(unpruned());
            Finalists.Scored picked = finalists.get(Finalists.best(finalists));
            for (Finalists.Scored f : finalists)
                sb.append(String.format(Locale.ROOT, "| %s%s | %s | %.2f%% | %.2f%% | %.4f |%n", f.candidate().name(),
                        f == picked ? " (picked)" : "", f.candidate().widths().values(),
                        100 * f.candidate().cost() / cost0, 100 * f.accuracy(), f.loss()));
        }
        if (!latencyTable.isEmpty()) {
            sb.append("\n## Latency table (ms at batch ").append(setup.budget().batch()).append(", one group cut, the others whole)\n\n");
            for (String l : latencyTable) sb.append("- ").append(l).append('\n');
        }
        sb.append("\n## Search path\n\n| move | cost (share of unpruned) | validation accuracy (search images) | validation loss |\n|---|---:|---:|---:|\n");
        for (BudgetSearch.Point p : path)
            sb.append(String.format(Locale.ROOT, "| %s | %.2f%% | %.2f%% | %.4f |%n", p.move(), 100 * p.fraction(), 100 * p.accuracy(), p.loss()));
        return sb.toString();
    }

    /** The numbers as nested maps and lists, for a JSON writer. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        Map<String, Object> b = new LinkedHashMap<>();
        b.put("kind", setup.budget().kind().name().toLowerCase(Locale.ROOT));
        b.put("value", setup.budget().value());
        if (!Double.isNaN(setup.budget().share())) b.put("share_of_unpruned", setup.budget().share());
        b.put("batch", setup.budget().batch());
        m.put("budget", b);
        m.put("search_seconds", searchSeconds);
        if (setup.budget().kind() == Budget.Kind.LATENCY) m.put("search_latency_ms", nan(measuredMillis));
        m.put("validation_images", validationSize);
        m.put("search_images", searchImages);
        m.put("steps", setup.steps());
        m.put("probe_images", setup.probeImages());
        m.put("finetune_epochs", setup.fineTuneEpochs());
        m.put("finetune_seeds", setup.fineTuneSeeds());
        m.put("finalist_epochs", setup.finalistEpochs());
        List<Object> fin = new ArrayList<>();
        for (Finalists.Scored f : finalists) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("name", f.candidate().name());
            o.put("widths", f.candidate().widths());
            o.put("cost", f.candidate().cost());
            o.put("validation_accuracy", f.accuracy());
            o.put("validation_loss", f.loss());
            o.put("picked", f == finalists.get(Finalists.best(finalists)));
            fin.add(o);
        }
        if (!fin.isEmpty()) m.put("finalists", fin);
        List<Object> models = new ArrayList<>();
        for (Row r : rows) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("name", r.name());
            o.put("widths", r.widths());
            o.put("flops", r.flops());
            o.put("parameters", r.parameters());
            o.put("latency_ms", nan(r.latencyMillis()));
            if (r != unpruned()) o.put("meets_budget", meets(r));
            o.put("validation_accuracy_pruned", nan(r.validationPruned()));
            o.put("test_accuracy_pruned", nan(r.testPruned()));
            o.put("validation_accuracy_fine_tuned", nan(r.validationTuned()));
            o.put("test_accuracy_fine_tuned", nan(r.testTuned()));
            if (seeds()) {
                o.put("validation_accuracy_fine_tuned_seeds", r.validationSeeds());
                o.put("test_accuracy_fine_tuned_seeds", r.testSeeds());
            }
            models.add(o);
        }
        m.put("models", models);
        List<Object> p = new ArrayList<>();
        for (BudgetSearch.Point x : path) p.add(Map.of("move", x.move(), "cost", x.cost(), "fraction", x.fraction(), "validation_accuracy", x.accuracy(),
                "validation_loss", x.loss()));
        m.put("path", p);
        return m;
    }

    private static Object nan(double d) { return Double.isNaN(d) ? null : d; }
}
