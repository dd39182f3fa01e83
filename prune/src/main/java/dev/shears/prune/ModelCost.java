package dev.shears.prune;

import dev.shears.nn.Conv2d;
import dev.shears.nn.Linear;
import dev.shears.nn.Module;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Size and work of a model for one input: trainable parameters, and FLOPs per sample counted as
 * 2 × multiply-accumulates of the Conv2d and Linear layers (conv: 2·K·P·Q·C·R·S, linear: 2·in·out) — the
 * convention of the pruning papers; BatchNorm, ReLU and pooling are a few percent and left out.
 */
public record ModelCost(long parameters, long flops, Map<String, Long> flopsPerLayer) {

    /** {@code inputShape} with a batch dimension; the FLOPs are divided by it (per sample). */
    public static ModelCost of(Module model, int... inputShape) {
        return of(model, DependencyGraph.analyze(model, inputShape));
    }

    public static ModelCost of(Module model, DependencyGraph graph) {
        Map<String, Long> per = new LinkedHashMap<>();
        long total = 0;
        for (var e : graph.layers().entrySet()) {
            Module m = model.module(e.getKey());
            long macs;
            if (m instanceof Conv2d c) {
                int[] out = graph.outputShapeOf(e.getKey());
                macs = (long) out[1] * out[2] * out[3] * c.weight().dim(1) * c.kernel() * c.kernel();   // C/G per filter
            } else if (m instanceof Linear l) {
                macs = (long) l.inFeatures() * l.outFeatures();
            } else continue;
            per.put(e.getKey(), 2 * macs);
            total += 2 * macs;
        }
        return new ModelCost(model.parameterCount(), total, per);
    }
}
