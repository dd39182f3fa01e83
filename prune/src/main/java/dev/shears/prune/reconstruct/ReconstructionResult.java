package dev.shears.prune.reconstruct;

import dev.shears.data.Dataset;
import dev.shears.nn.Module;
import dev.shears.nn.train.Trainer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The outcome of {@link Reconstructor#prune}: the per-site reports, the timings, and the three states of the
 * model (original, naively sliced with the same channels, reconstructed) for comparisons such as
 * {@link #accuracy}. The model itself holds the reconstructed state.
 *
 * @param targetMs     the pass of the original network that records every consumer's output
 * @param reconstructMs everything reconstruction needs (targets, sampling, selection, solving), without the
 *                     naive baseline; wall clock
 * @param reconstructCpuMs the same, as CPU time of the process (all threads): on a shared machine the wall
 *                     clock also counts the time other processes held the cores
 */
public record ReconstructionResult(Module model, Selection selection, double ratio, int images, int positionsPerImage,
                                   double ridge, List<LayerReport> layers, Snapshot original, Snapshot naive,
                                   Snapshot reconstructed, long targetMs, long reconstructMs, long reconstructCpuMs) {

    /** Top-1 accuracies right after pruning, before any fine-tuning. */
    public record Accuracy(double original, double naive, double reconstructed) {
        /** The share of the accuracy lost by naive slicing that reconstruction wins back. */
        public double recovered() {
            double lost = original - naive;
            return lost > 0 ? (reconstructed - naive) / lost : Double.NaN;
        }

        /** "97% of the loss recovered", or that naive slicing lost nothing to recover. */
        public String describeRecovery() {
            return Double.isNaN(recovered()) ? "naive slicing lost no accuracy"
                    : String.format(Locale.ROOT, "%.0f%% of the loss recovered", 100 * recovered());
        }
    }

    /** Evaluates the three states on {@code test}; the model is left holding the reconstructed one. */
    public Accuracy accuracy(Dataset test) {
        try {
            original.restore(model);
            double o = accuracyOf(test);
            naive.restore(model);
            double n = accuracyOf(test);
            reconstructed.restore(model);
            return new Accuracy(o, n, accuracyOf(test));
        } finally {
            reconstructed.restore(model);
        }
    }

    private double accuracyOf(Dataset test) { return Trainer.evaluate(model, test, Activations.BATCH).accuracy(); }

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
        sb.append(String.format(Locale.ROOT, "%nParameters: %,d → %,d. Reconstruction took %.2f s wall, %.2f s CPU (the original network's pass %.2f s wall); the naive baseline %.2f s wall more.%n",
                parametersBefore(), parametersAfter(), reconstructMs / 1000.0, reconstructCpuMs / 1000.0, targetMs / 1000.0,
                layers.stream().mapToLong(LayerReport::baselineMs).sum() / 1000.0));
        if (accuracy != null)
            sb.append(String.format(Locale.ROOT, "%nAccuracy before fine-tuning: original %.2f%%, naive slicing %.2f%%, reconstructed %.2f%% (%s).%n",
                    100 * accuracy.original(), 100 * accuracy.naive(), 100 * accuracy.reconstructed(), accuracy.describeRecovery()));
        return sb.toString();
    }

    /** The numbers as nested maps and lists, for a JSON writer; {@code accuracy} may be null. */
    public Map<String, Object> toMap(Accuracy accuracy) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("selection", selection.cliName());
        m.put("ratio", ratio);
        m.put("images", images);
        m.put("positions_per_image", positionsPerImage);
        m.put("ridge", ridge);
        m.put("parameters", Map.of("before", parametersBefore(), "after", parametersAfter()));
        m.put("reconstruct_ms", reconstructMs);
        m.put("reconstruct_cpu_ms", reconstructCpuMs);
        m.put("target_pass_ms", targetMs);
        List<Map<String, Object>> ls = new ArrayList<>();
        for (LayerReport l : layers) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("producer", l.producer());
            e.put("consumer", l.consumer());
            e.put("channels_before", l.channelsBefore());
            e.put("channels_after", l.channelsAfter());
            e.put("kept", l.kept());
            e.put("rows", l.rows());
            e.put("unknowns", l.unknowns());
            e.put("relative_error_naive", l.naiveError());
            e.put("relative_error_ls", l.lsError());
            e.put("ridge_used", l.ridge());
            e.put("note", l.note());
            e.put("sample_ms", l.sampleMs());
            e.put("select_ms", l.selectMs());
            e.put("solve_ms", l.solveMs());
            e.put("baseline_ms", l.baselineMs());
            ls.add(e);
        }
        m.put("layers", ls);
        if (accuracy != null) {
            Map<String, Object> acc = new LinkedHashMap<>();
            acc.put("before", accuracy.original());
            acc.put("naive", accuracy.naive());
            acc.put("reconstructed", accuracy.reconstructed());
            acc.put("recovered", Double.isFinite(accuracy.recovered()) ? accuracy.recovered() : null);
            m.put("accuracy", acc);
        }
        return m;
    }

    private static String fmt(double v) { return String.format(Locale.ROOT, "%.2f", v); }

}
