package dev.shears.prune;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The report's PNG charts, drawn with XChart (headless). */
public final class Plots {
    private Plots() {}

    /**
     * Histogram of |γ| over all BatchNorms, one series per model (e.g. "normal training", "sparse, λ = 5e-3"),
     * in {@code bins} equal bins from 0 to the largest |γ|. Sparse training piles γ up near zero: that gap
     * between the pile and the rest is what a slimming threshold cuts.
     */
    public static void gammaHistogram(Map<String, float[]> gammas, int bins, Path png) throws IOException {
        float max = 0;
        for (float[] g : gammas.values()) for (float v : g) max = Math.max(max, Math.abs(v));
        max = Math.max(max, 1e-6f);
        CategoryChart chart = new CategoryChartBuilder().width(900).height(500)
                .title("BatchNorm scale factors |γ| (all layers)").xAxisTitle("|γ|").yAxisTitle("channels").build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNE);
        chart.getStyler().setOverlapped(true);
        chart.getStyler().setXAxisDecimalPattern("0.000");
        chart.getStyler().setXAxisLabelRotation(90);
        List<Double> centres = new ArrayList<>();
        for (int b = 0; b < bins; b++) centres.add((b + 0.5) * max / bins);
        for (var e : gammas.entrySet()) {
            List<Integer> counts = new ArrayList<>();
            for (int b = 0; b < bins; b++) counts.add(0);
            for (float v : e.getValue()) {
                int b = Math.min(bins - 1, (int) (Math.abs(v) / max * bins));
                counts.set(b, counts.get(b) + 1);
            }
            chart.addSeries(e.getKey(), centres, counts);
        }
        BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    /** Accuracy (%) against the share of channels removed, one line per curve. */
    public static void sensitivity(List<Sensitivity.Curve> curves, String title, Path png) throws IOException {
        XYChart chart = new XYChartBuilder().width(900).height(500).title(title)
                .xAxisTitle("channels removed (ratio), no fine-tuning").yAxisTitle("test accuracy (%)").build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideSW);
        chart.getStyler().setYAxisMin(0.0);
        chart.getStyler().setYAxisMax(100.0);
        for (Sensitivity.Curve c : curves) {
            double[] pct = new double[c.accuracy().length];
            for (int i = 0; i < pct.length; i++) pct[i] = 100 * c.accuracy()[i];
            chart.addSeries(c.name(), c.ratios(), pct);
        }
        BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    /**
     * The accuracy–cost trade-off of a budget run: the search's path (validation accuracy without fine-tuning against
     * the cost as a share of the unpruned model's, one point per move), the uniform and global models at the same
     * budget on the same axes, and the three after fine-tuning.
     */
    public static void budgetPath(BudgetReport r, String title, Path png) throws IOException {
        String unit = switch (r.setup().budget().kind()) {
            case FLOPS -> "FLOPs";
            case PARAMS -> "parameters";
            case LATENCY -> "latency (search: the table's estimate; points: measured)";
        };
        XYChart chart = new XYChartBuilder().width(900).height(650).title(title)
                .xAxisTitle(unit + ", share of the unpruned model (%)").yAxisTitle("validation accuracy (%), held-out training images").build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
        chart.getStyler().setMarkerSize(10);
        List<Double> x = new ArrayList<>(), y = new ArrayList<>();
        for (BudgetSearch.Point p : r.path()) { x.add(100 * p.fraction()); y.add(100 * p.accuracy()); }
        chart.addSeries(String.format(java.util.Locale.ROOT, "search path (no fine-tuning; on the %,d images it scores moves on)", r.searchImages()), x, y);
        double budget = r.setup().budget().kind() == Budget.Kind.LATENCY ? 100 * r.setup().budget().value() / r.unpruned().latencyMillis()
                : 100 * r.setup().budget().value();
        if (Double.isFinite(budget)) chart.addSeries("budget", new double[]{budget, budget}, new double[]{yMin(r, y), yMax(r, y)})
                .setMarker(org.knowm.xchart.style.markers.SeriesMarkers.NONE);
        for (int i = 1; i < r.rows().size(); i++) {
            BudgetReport.Row row = r.rows().get(i);
            double cx = 100 * r.cost(row) / r.cost(r.unpruned());
            if (!Double.isFinite(cx)) continue;
            chart.addSeries(row.name(), new double[]{cx}, new double[]{100 * row.validationPruned()});
            if (!Double.isNaN(row.validationTuned()))
                chart.addSeries(row.name() + ", fine-tuned", new double[]{cx}, new double[]{100 * row.validationTuned()});
        }
        for (var s : chart.getSeriesMap().values())
            if (!s.getName().startsWith("search") && !s.getName().equals("budget")) s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    private static double yMax(BudgetReport r, List<Double> y) {
        double max = 0;
        for (double v : y) max = Math.max(max, v);
        for (BudgetReport.Row row : r.rows()) max = Math.max(max, 100 * Math.max(row.validationPruned(), Double.isNaN(row.validationTuned()) ? 0 : row.validationTuned()));
        return Math.min(100, Math.ceil(max + 1));
    }

    private static double yMin(BudgetReport r, List<Double> y) {
        double min = 100;
        for (double v : y) min = Math.min(min, v);
        for (BudgetReport.Row row : r.rows()) min = Math.min(min, 100 * row.validationPruned());
        return Math.max(0, Math.floor(min / 10) * 10);
    }

    /** All γ of a model's BatchNorms, concatenated in forward order. */
    public static float[] allGammas(dev.shears.nn.Module model) {
        List<float[]> parts = new ArrayList<>();
        int n = 0;
        for (var t : Sparsity.bnScales(0).targets(model)) { float[] a = t.toArray(); parts.add(a); n += a.length; }
        float[] out = new float[n];
        int o = 0;
        for (float[] a : parts) { System.arraycopy(a, 0, out, o, a.length); o += a.length; }
        return out;
    }

    static Map<String, float[]> of(String k1, float[] v1, String k2, float[] v2) {
        Map<String, float[]> m = new LinkedHashMap<>();
        m.put(k1, v1);
        m.put(k2, v2);
        return m;
    }
}
