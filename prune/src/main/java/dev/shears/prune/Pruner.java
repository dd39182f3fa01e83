package dev.shears.prune;

import dev.shears.nn.Conv2d;
import dev.shears.nn.Module;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The Java front of structural pruning: score, select, slice.
 * <pre>{@code
 * PruneResult r = new Pruner(Method.SLIM, Criterion.globalRatio(0.6))
 *         .minKeep(MinKeep.fraction(0.1))
 *         .prune(model, 1, 1, 28, 28);          // model shrinks in place; r has the numbers
 * SGD opt = new SGD(r.model().parameters(), 0.01f, 0.9f, 0f);   // always a new optimiser after pruning
 * }</pre>
 */
public final class Pruner {
    private final Method method;
    private final Criterion criterion;
    private MinKeep minKeep = MinKeep.ONE;
    private boolean fold = true;
    private boolean includeLinear;

    public Pruner(Method method, Criterion criterion) {
        this.method = method;
        this.criterion = criterion;
    }

    public Pruner minKeep(MinKeep m) { this.minKeep = m; return this; }

    /** Whether to fold the pruned channels' leftover constants into the next layers (default on; see {@link Slicer}). */
    public Pruner fold(boolean on) { this.fold = on; return this; }

    /** With {@link Method#L1}: also rank the rows of Linear layers that feed another Linear (hidden units). */
    public Pruner includeLinear(boolean on) { this.includeLinear = on; return this; }

    /** The per-channel scores of the groups this method prunes, in forward order. */
    public Map<String, float[]> scores(Module model, DependencyGraph graph) {
        Map<String, float[]> scores = new LinkedHashMap<>();
        for (ChannelGroup g : graph.groups()) {
            switch (method) {
                case SLIM -> { if (g.hasNorm()) scores.put(g.name(), Importance.bnScale(model, g)); }
                case L1 -> {
                    boolean global = criterion instanceof Criterion.GlobalRatio;
                    if (includeLinear || model.module(g.producers().get(0)) instanceof Conv2d)
                        scores.put(g.name(), global ? Importance.overMean(Importance.filterL1(model, g, true))
                                : Importance.filterL1(model, g, false));
                }
            }
        }
        if (scores.isEmpty())
            throw new IllegalArgumentException(method == Method.SLIM ? "no conv is followed by a BatchNorm2d: nothing for slimming to rank"
                    : "no Conv2d with a consumer: nothing for filter pruning to rank");
        return scores;
    }

    public PruningPlan plan(Module model, DependencyGraph graph) {
        return PruningPlan.select(scores(model, graph), criterion, minKeep);
    }

    /** Plans and slices {@code model} in place, for inputs shaped like {@code inputShape} (with a batch dimension). */
    public PruneResult prune(Module model, int... inputShape) {
        DependencyGraph graph = DependencyGraph.analyze(model, inputShape);
        return apply(model, graph, plan(model, graph));
    }

    /** Slices {@code model} by a plan made for {@code graph}. */
    public PruneResult apply(Module model, DependencyGraph graph, PruningPlan plan) {
        ModelCost before = ModelCost.of(model, graph);
        Slicer.Result r = Slicer.slice(model, graph, plan.keep(), fold);
        ModelCost after = ModelCost.of(model, graph.inputShape());
        return new PruneResult(model, plan, r.before(), r.after(), before, after, plan.warnings(), r.notes());
    }
}
