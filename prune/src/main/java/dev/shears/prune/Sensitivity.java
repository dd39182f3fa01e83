package dev.shears.prune;

import dev.shears.data.Dataset;
import dev.shears.nn.Module;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Accuracy against pruning ratio, without fine-tuning: for each ratio, a fresh copy of the model is pruned —
 * one group alone (per-layer sensitivity, Li et al.'s figure 2) or all groups by one global ranking — and
 * evaluated. A layer whose curve falls early is the one to spare.
 */
public final class Sensitivity {
    private Sensitivity() {}

    /** One curve: its name ("conv1", "global") and an accuracy per ratio. */
    public record Curve(String name, double[] ratios, double[] accuracy) {}

    public static List<Curve> measure(Supplier<Module> copy, Method method, double[] ratios, Dataset test, int... inputShape) {
        Module probe = copy.get();
        DependencyGraph graph = DependencyGraph.analyze(probe, inputShape);
        Map<String, float[]> groups = new Pruner(method, Criterion.perLayerRatio(0)).scores(probe, graph);
        List<Curve> curves = new ArrayList<>();
        for (String g : groups.keySet()) {
            double[] acc = new double[ratios.length];
            for (int i = 0; i < ratios.length; i++) {
                Module m = copy.get();
                DependencyGraph gm = DependencyGraph.analyze(m, inputShape);
                Pruner p = new Pruner(method, Criterion.perLayerRatio(ratios[i]));
                Map<String, float[]> one = new LinkedHashMap<>();
                one.put(g, p.scores(m, gm).get(g));
                p.apply(m, gm, PruningPlan.select(one, Criterion.perLayerRatio(ratios[i]), MinKeep.ONE));
                acc[i] = Training.accuracy(m, test);
            }
            curves.add(new Curve(g, ratios.clone(), acc));
        }
        double[] acc = new double[ratios.length];
        for (int i = 0; i < ratios.length; i++) {
            Module m = copy.get();
            new Pruner(method, Criterion.globalRatio(ratios[i])).prune(m, inputShape);
            acc[i] = Training.accuracy(m, test);
        }
        curves.add(new Curve("global", ratios.clone(), acc));
        return curves;
    }
}
