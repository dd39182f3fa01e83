package dev.shears.prune.reconstruct;

import dev.shears.data.Dataset;
import dev.shears.nn.Sequential;

import java.util.List;
import java.util.Locale;

/**
 * The outcome of {@link Reconstructor#prune}: the per-site reports, the timings, and the three states of the
 * model (original, naively sliced with the same channels, reconstructed) for comparisons such as
 * {@link #accuracy}. The model itself holds the reconstructed state.
 *
 * @param targetMs     the pass of the original network that records every consumer's output
 * @param reconstructMs everything reconstruction needs (targets, sampling, selection, solving), without the
 *                     naive baseline
 */
public record ReconstructionResult(Sequential model, Selection selection, double ratio, int images, int positionsPerImage,
                                   double ridge, List<LayerReport> layers, Snapshot original, Snapshot naive,
                                   Snapshot reconstructed, long targetMs, long reconstructMs) {

    /** Top-1 accuracies right after pruning, before any fine-tuning. */
    public record Accuracy(double original, double naive, double reconstructed) {
        /** The share of the accuracy lost by naive slicing that reconstruction wins back. */
        public double recovered() {
            double lost = original - naive;
            return lost > 0 ? (reconstructed - naive) / lost : Double.NaN;
        }
    }

    /** Evaluates the three states on {@code test}; the model is left holding the reconstructed one. */
    public Accuracy accuracy(Dataset test) {
        try {
            original.restore(model);
            double o = Activations.accuracy(model, test);
            naive.restore(model);
            double n = Activations.accuracy(model, test);
            reconstructed.restore(model);
            return new Accuracy(o, n, Activations.accuracy(model, test));
        } finally {
            reconstructed.restore(model);
        }
    }

    public long parametersBefore() { return original.parameterCount(model); }

    public long parametersAfter() { return reconstructed.parameterCount(model); }

    /** The report as Markdown; {@code accuracy} may be null. */
    public String toMarkdown(Accuracy accuracy) {
        StringBuilder sb = new StringBuilder();
        sb.append("## Reconstruction (").append(selection.cliName()).append(" selection, ratio ").append(fmt(ratio))
                .append(", ").append(images).append(" images × ").append(positionsPerImage).append(" positions")
                .append(ridge > 0 ? ", ridge " + ridge : "").append(")\n\n");
        sb.append("| layer | channels | rows × unknowns | rel. error naive | rel. error LS | gain | sample ms | select ms | solve ms |\n");
        sb.append("|---|---|---|---|---|---|---|---|---|\n");
        for (LayerReport l : layers) {
            sb.append(String.format(Locale.ROOT, "| %s → %s | %d → %d | %d × %d | %.4f | %.4f | %.1f× | %d | %d | %d |%n",
                    l.producer(), l.consumer(), l.channelsBefore(), l.channelsAfter(), l.rows(), l.unknowns(),
                    l.naiveError(), l.lsError(), l.improvement(), l.sampleMs(), l.selectMs(), l.solveMs()));
        }
        for (LayerReport l : layers)
            if (!l.note().isEmpty()) sb.append("\n- ").append(l.consumer()).append(": ").append(l.note());
        sb.append(String.format(Locale.ROOT, "%nParameters: %,d → %,d. Reconstruction took %.2f s (of which the original network's pass %.2f s); the naive baseline %.2f s more.%n",
                parametersBefore(), parametersAfter(), reconstructMs / 1000.0, targetMs / 1000.0,
                layers.stream().mapToLong(LayerReport::baselineMs).sum() / 1000.0));
        if (accuracy != null)
            sb.append(String.format(Locale.ROOT, "%nAccuracy before fine-tuning: original %.2f%%, naive slicing %.2f%%, reconstructed %.2f%% (%.0f%% of the loss recovered).%n",
                    100 * accuracy.original(), 100 * accuracy.naive(), 100 * accuracy.reconstructed(), 100 * accuracy.recovered()));
        return sb.toString();
    }

    /** The report as one JSON object; {@code accuracy} may be null. */
    public String toJson(Accuracy accuracy) {
        StringBuilder sb = new StringBuilder("{");
        sb.append("\"method\":\"reconstruct\",\"selection\":\"").append(selection.cliName()).append('"')
                .append(",\"ratio\":").append(num(ratio)).append(",\"images\":").append(images)
                .append(",\"positions_per_image\":").append(positionsPerImage).append(",\"ridge\":").append(num(ridge))
                .append(",\"parameters_before\":").append(parametersBefore()).append(",\"parameters_after\":").append(parametersAfter())
                .append(",\"reconstruct_ms\":").append(reconstructMs).append(",\"target_pass_ms\":").append(targetMs)
                .append(",\"layers\":[");
        for (int i = 0; i < layers.size(); i++) {
            LayerReport l = layers.get(i);
            if (i > 0) sb.append(',');
            sb.append("{\"producer\":\"").append(l.producer()).append("\",\"consumer\":\"").append(l.consumer())
                    .append("\",\"channels_before\":").append(l.channelsBefore()).append(",\"channels_after\":").append(l.channelsAfter())
                    .append(",\"kept\":").append(java.util.Arrays.toString(l.kept()).replace(" ", ""))
                    .append(",\"rows\":").append(l.rows()).append(",\"unknowns\":").append(l.unknowns())
                    .append(",\"relative_error_naive\":").append(num(l.naiveError())).append(",\"relative_error_ls\":").append(num(l.lsError()))
                    .append(",\"ridge_used\":").append(num(l.ridge())).append(",\"note\":\"").append(escape(l.note()))
                    .append("\",\"sample_ms\":").append(l.sampleMs()).append(",\"select_ms\":").append(l.selectMs())
                    .append(",\"solve_ms\":").append(l.solveMs()).append(",\"baseline_ms\":").append(l.baselineMs()).append('}');
        }
        sb.append(']');
        if (accuracy != null)
            sb.append(",\"accuracy_before\":").append(num(accuracy.original())).append(",\"accuracy_naive\":").append(num(accuracy.naive()))
                    .append(",\"accuracy_after\":").append(num(accuracy.reconstructed()));
        return sb.append('}').toString();
    }

    private static String fmt(double v) { return String.format(Locale.ROOT, "%.2f", v); }

    private static String num(double v) { return Double.isFinite(v) ? String.format(Locale.ROOT, "%.6g", v) : "null"; }

    private static String escape(String s) { return s.replace("\\", "\\\\").replace("\"", "\\\""); }
}
