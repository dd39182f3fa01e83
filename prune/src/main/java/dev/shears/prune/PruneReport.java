package dev.shears.prune;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What a pruning run measured, as a terminal table, Markdown, or a map for JSON. Accuracies are in [0, 1]
 * (NaN where not measured), latencies in milliseconds (median), FLOPs per image.
 */
public record PruneReport(String title, String setup, PruneResult result,
                          double accuracyBefore, double accuracyPruned, double accuracyFineTuned, double accuracyNormal,
                          double latencyBefore1, double latencyAfter1, double latencyBefore64, double latencyAfter64,
                          List<String> plots, List<String> commands, Map<String, double[]> layerMillis64) {

    /** Without the per-layer latency table. */
    public PruneReport(String title, String setup, PruneResult result, double accuracyBefore, double accuracyPruned,
                       double accuracyFineTuned, double accuracyNormal, double latencyBefore1, double latencyAfter1,
                       double latencyBefore64, double latencyAfter64, List<String> plots, List<String> commands) {
        this(title, setup, result, accuracyBefore, accuracyPruned, accuracyFineTuned, accuracyNormal, latencyBefore1, latencyAfter1,
                latencyBefore64, latencyAfter64, plots, commands, Map.of());
    }

    private static String pct(double a) { return Double.isNaN(a) ? "—" : String.format(Locale.ROOT, "%.2f%%", 100 * a); }

    private static String ms(double a) { return Double.isNaN(a) ? "—" : String.format(Locale.ROOT, "%.3f ms", a); }

    private static String num(long n) { return String.format(Locale.ROOT, "%,d", n); }

    private static String ratio(double before, double after) {
        return Double.isNaN(before) || Double.isNaN(after) || after == 0 ? "—" : String.format(Locale.ROOT, "%.2f×", before / after);
    }

    /**
     * "4.30× faster (0.57 of the FLOP cut)": the speed-up, and what share of the FLOP reduction it is (1 would
     * mean the time fell as much as the arithmetic).
     */
    private String speedUp(double before, double after) {
        String r = ratio(before, after);
        if (r.equals("—")) return r;
        double flopCut = (double) result.before().flops() / result.after().flops();
        return String.format(Locale.ROOT, "%s faster (%.2f of the FLOP cut)", r, before / after / flopCut);
    }

    /** Rows of the main table: what, before, after, change. */
    private List<String[]> rows() {
        PruneResult r = result;
        List<String[]> rows = new ArrayList<>();
        r.channelsBefore().forEach((g, b) -> {
            int a = r.channelsAfter().get(g);
            rows.add(new String[]{"channels " + g, Integer.toString(b), Integer.toString(a),
                    String.format(Locale.ROOT, "−%.1f%%", 100.0 * (b - a) / b)});
        });
        rows.add(new String[]{"channels, all pruned groups", "", "", String.format(Locale.ROOT, "−%.1f%%", 100 * r.channelReduction())});
        rows.add(new String[]{"parameters", num(r.before().parameters()), num(r.after().parameters()),
                String.format(Locale.ROOT, "−%.1f%%", 100 * r.parameterReduction())});
        rows.add(new String[]{"FLOPs per image", num(r.before().flops()), num(r.after().flops()),
                ratio(r.before().flops(), r.after().flops()) + " fewer"});
        rows.add(new String[]{"latency, batch 1", ms(latencyBefore1), ms(latencyAfter1), speedUp(latencyBefore1, latencyAfter1)});
        rows.add(new String[]{"latency, batch 64", ms(latencyBefore64), ms(latencyAfter64), speedUp(latencyBefore64, latencyAfter64)});
        rows.add(new String[]{"test accuracy (before → right after pruning)", pct(accuracyBefore), pct(accuracyPruned),
                String.format(Locale.ROOT, "%+.2f pts", 100 * (accuracyPruned - accuracyBefore))});
        rows.add(new String[]{"test accuracy after fine-tuning", pct(accuracyBefore), pct(accuracyFineTuned),
                Double.isNaN(accuracyFineTuned) ? "—" : String.format(Locale.ROOT, "%+.2f pts", 100 * (accuracyFineTuned - accuracyBefore))});
        if (!Double.isNaN(accuracyNormal))
            rows.add(new String[]{"test accuracy, normal training (λ = 0) → fine-tuned", pct(accuracyNormal), pct(accuracyFineTuned),
                    Double.isNaN(accuracyFineTuned) ? "—" : String.format(Locale.ROOT, "%+.2f pts", 100 * (accuracyFineTuned - accuracyNormal))});
        return rows;
    }

    public String toTerminal() {
        List<String[]> rows = rows();
        String[] head = {"", "before", "after", "change"};
        int[] w = new int[4];
        for (String[] row : concat(head, rows)) for (int i = 0; i < 4; i++) w[i] = Math.max(w[i], row[i].length());
        StringBuilder sb = new StringBuilder(title).append('\n').append(setup).append('\n');
        String rule = "-".repeat(w[0] + w[1] + w[2] + w[3] + 9) + "\n";
        sb.append(rule);
        for (String[] row : concat(head, rows)) {
            sb.append(String.format(Locale.ROOT, "%-" + w[0] + "s | %" + w[1] + "s | %" + w[2] + "s | %s%n", (Object[]) row));
            if (row == head) sb.append(rule);
        }
        sb.append(rule);
        for (String s : result.warnings()) sb.append("warning: ").append(s).append('\n');
        for (String s : result.notes()) sb.append("note: ").append(s).append('\n');
        return sb.toString();
    }

    public String toMarkdown() {
        StringBuilder sb = new StringBuilder("# ").append(title).append("\n\n").append(setup).append("\n\n");
        sb.append("| | before | after | change |\n|---|---:|---:|---:|\n");
        for (String[] row : rows()) sb.append("| ").append(String.join(" | ", row)).append(" |\n");
        sb.append("\nFLOPs are 2 × multiply-accumulates of the conv and linear layers, per image. Latency is the median of "
                + "repeated forward passes (eval mode, no grad) on this machine.\n");
        if (!layerMillis64.isEmpty()) {
            sb.append("\n## Where the time goes (batch 64, median ms per layer, run layer by layer)\n\n");
            sb.append("| layer | before | after | ratio |\n|---|---:|---:|---:|\n");
            layerMillis64.forEach((layer, v) -> sb.append(String.format(Locale.ROOT, "| %s | %.3f | %.3f | %s |%n", layer, v[0], v[1], ratio(v[0], v[1]))));
            sb.append("\nA conv's FLOPs fall with the product of its input and output channels, BatchNorm, ReLU and pooling only with "
                    + "its channels, and each op has a fixed cost: the measured speed-up trails the FLOP reduction by that much.\n");
        }
        if (!result.warnings().isEmpty()) {
            sb.append("\n## Warnings\n\n");
            for (String s : result.warnings()) sb.append("- ").append(s).append('\n');
        }
        if (!result.notes().isEmpty()) {
            sb.append("\n## Notes\n\n");
            for (String s : result.notes()) sb.append("- ").append(s).append('\n');
        }
        if (!plots.isEmpty()) {
            sb.append("\n## Plots\n\n");
            for (String p : plots) sb.append("![").append(p).append("](").append(p).append(")\n\n");
        }
        if (!commands.isEmpty()) {
            sb.append("\n## Reproduce\n\n```\n");
            for (String c : commands) sb.append(c).append('\n');
            sb.append("```\n");
        }
        return sb.toString();
    }

    /** The numbers as nested maps and lists, for a JSON writer. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("title", title);
        Map<String, Object> channels = new LinkedHashMap<>();
        result.channelsBefore().forEach((g, b) -> channels.put(g, Map.of("before", b, "after", result.channelsAfter().get(g))));
        m.put("channels", channels);
        m.put("parameters", Map.of("before", result.before().parameters(), "after", result.after().parameters()));
        m.put("flops", Map.of("before", result.before().flops(), "after", result.after().flops()));
        Map<String, Object> acc = new LinkedHashMap<>();
        acc.put("before", nanToNull(accuracyBefore));
        acc.put("pruned", nanToNull(accuracyPruned));
        acc.put("fine_tuned", nanToNull(accuracyFineTuned));
        acc.put("normal_training", nanToNull(accuracyNormal));
        m.put("accuracy", acc);
        Map<String, Object> lat = new LinkedHashMap<>();
        lat.put("batch1_ms", pair(latencyBefore1, latencyAfter1));
        lat.put("batch64_ms", pair(latencyBefore64, latencyAfter64));
        m.put("latency", lat);
        m.put("warnings", result.warnings());
        m.put("notes", result.notes());
        return m;
    }

    private static Map<String, Object> pair(double before, double after) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("before", nanToNull(before));
        m.put("after", nanToNull(after));
        return m;
    }

    private static Object nanToNull(double d) { return Double.isNaN(d) ? null : d; }

    private static List<String[]> concat(String[] head, List<String[]> rows) {
        List<String[]> all = new ArrayList<>();
        all.add(head);
        all.addAll(rows);
        return all;
    }
}
