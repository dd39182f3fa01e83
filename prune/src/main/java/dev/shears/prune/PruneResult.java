package dev.shears.prune;

import dev.shears.nn.Module;

import java.util.List;
import java.util.Map;

/**
 * What pruning did: the (now smaller) model, channels per group before and after, parameters and FLOPs before
 * and after, the plan's warnings (clamped groups) and the slicer's notes (approximate folds, added biases).
 */
public record PruneResult(Module model, PruningPlan plan, Map<String, Integer> channelsBefore,
                          Map<String, Integer> channelsAfter, ModelCost before, ModelCost after,
                          List<String> warnings, List<String> notes) {

    public double parameterReduction() { return 1 - (double) after.parameters() / before.parameters(); }

    public double flopReduction() { return 1 - (double) after.flops() / before.flops(); }

    /** Fraction of the pruned groups' channels removed. */
    public double channelReduction() {
        int b = 0, a = 0;
        for (var e : channelsBefore.entrySet()) { b += e.getValue(); a += channelsAfter.get(e.getKey()); }
        return b == 0 ? 0 : 1 - (double) a / b;
    }
}
