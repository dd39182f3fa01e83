package dev.shears.prune;

import dev.shears.nn.Module;
import dev.shears.nn.train.Trainer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;

/**
 * The last decision of a budget run, made after short fine-tunes (NetAdapt's answer to "which cut recovers best"):
 * a few width vectors that all meet the budget — the search's, the uniform ratio's, the global ratio's, and points
 * between and beyond them — each get the same short fine-tune of a copy (same images, same seed) and are judged on
 * the validation split; the most accurate there (lower loss on a tie, the earlier candidate on a full tie) is picked.
 * The tuned copies are dropped: the pick goes on untuned, so that it is fine-tuned exactly as the other rows.
 *
 * <p>The search ranks cuts by the loss right after them (with adaptive batch norm, and on a graph after a probe
 * fine-tune), which is not the accuracy after an epoch of fine-tuning: at a quarter of the FLOPs the searched widths
 * led before fine-tuning and trailed the plain ratios after it (prune/README, "Pruning to a budget"). Choosing among
 * the finalists after a fine-tune makes the decision on what is reported.
 */
public final class Finalists {
    private Finalists() {}

    /** A width vector at the budget: its name, the pruned (untuned) model, group → channels, and its cost. */
    public record Candidate(String name, Module model, Map<String, Integer> widths, double cost) {}

    /** A candidate after the short fine-tune: validation accuracy in [0, 1] and mean cross-entropy. */
    public record Scored(Candidate candidate, double accuracy, double loss) {}

    /** The candidates as scored, and which one was picked. */
    public record Pick(List<Scored> scored, int index) {
        public Scored picked() { return scored.get(index); }
    }

    /**
     * Each group's width at t along the way from {@code a} to {@code b}: round(a + t·(b − a)), clamped to
     * [{@code minKeep} of the group's full width, its full width]. t in (0, 1) lies between, t &lt; 0 beyond
     * {@code a}, away from {@code b}.
     */
    public static Map<String, Integer> between(Map<String, Integer> a, Map<String, Integer> b, double t, Map<String, Integer> full, MinKeep minKeep) {
        if (!a.keySet().equals(b.keySet()) || !a.keySet().equals(full.keySet()))
            throw new IllegalArgumentException("width vectors over different groups: " + a.keySet() + ", " + b.keySet() + ", " + full.keySet());
        Map<String, Integer> w = new LinkedHashMap<>();
        for (String g : a.keySet()) {
            w.put(g, clamp(Math.round(a.get(g) + t * (b.get(g) - a.get(g))), full.get(g), minKeep));
        }
        return w;
    }

    /**
     * The widths scaled down until {@code cost} of the model they give ({@code atWidths}) meets {@code target}: the
     * largest s in [0, 1] (to 1/1024) with cost(max(min-keep, round(s·w))) ≤ target. Null when even s = 0 is over.
     */
    public static Candidate fit(String name, Map<String, Integer> widths, Map<String, Integer> full, MinKeep minKeep,
                                Function<Map<String, Integer>, Module> atWidths, ToDoubleFunction<Module> cost, double target) {
        Candidate whole = candidate(name, widths, atWidths, cost);
        if (whole.cost() <= target) return whole;
        Candidate least = candidate(name, scaled(widths, 0, full, minKeep), atWidths, cost);
        return least.cost() <= target ? bisectScale(name, widths, full, minKeep, atWidths, cost, target, least) : null;
    }

    private static Candidate bisectScale(String name, Map<String, Integer> widths, Map<String, Integer> full, MinKeep minKeep,
                                         Function<Map<String, Integer>, Module> atWidths, ToDoubleFunction<Module> cost, double target, Candidate atZero) {
        Candidate best = atZero;
        double lo = 0, hi = 1;   // cost(lo) meets the target, cost(hi) does not
        while (hi - lo > 1.0 / 1024) {
            double mid = (lo + hi) / 2;
            Candidate c = candidate(name, scaled(widths, mid, full, minKeep), atWidths, cost);
            if (c.cost() <= target) { lo = mid; best = c; } else hi = mid;
        }
        return best;
    }

    private static Candidate candidate(String name, Map<String, Integer> widths, Function<Map<String, Integer>, Module> atWidths, ToDoubleFunction<Module> cost) {
        Module m = atWidths.apply(widths);
        return new Candidate(name, m, widths, cost.applyAsDouble(m));
    }

    private static Map<String, Integer> scaled(Map<String, Integer> w, double s, Map<String, Integer> full, MinKeep minKeep) {
        Map<String, Integer> out = new LinkedHashMap<>();
        w.forEach((g, v) -> out.put(g, clamp(Math.round(s * v), full.get(g), minKeep)));
        return out;
    }

    /** A group's width v kept within [its min-keep, its full width]. */
    private static int clamp(long v, int full, MinKeep minKeep) { return (int) Math.max(minKeep.of(full), Math.min(full, v)); }

    /**
     * The unpruned model cut to {@code widths} (group → channels kept), each group keeping its highest-scoring channels
     * by {@code method}'s ranking on the unpruned model (a copy; {@code unpruned} is left as it was).
     */
    public static Module atWidths(Module unpruned, Map<String, Integer> widths, Method method, MinKeep minKeep, boolean fold, int... inputShape) {
        Module copy = Copies.of(unpruned);
        Pruner pruner = new Pruner(method, Criterion.perLayerRatio(0)).minKeep(minKeep).fold(fold);
        DependencyGraph g = DependencyGraph.analyze(copy, inputShape);
        Map<String, float[]> scores = pruner.scores(copy, g);
        Map<String, int[]> keep = new LinkedHashMap<>();
        Map<String, Integer> sizes = new LinkedHashMap<>();
        scores.forEach((name, s) -> {
            keep.put(name, BudgetSearch.keepTop(s, widths.getOrDefault(name, s.length)));
            sizes.put(name, s.length);
        });
        return pruner.apply(copy, g, new PruningPlan(keep, sizes, List.of())).model();
    }

    /**
     * Gives a copy of each candidate {@code tune} (the same short fine-tune for all), scores it by {@code judge} on the
     * validation split, and picks the most accurate (lower loss on a tie, then the earlier). Candidates with the same
     * widths as an earlier one are skipped. {@code log} is told each score.
     */
    public static Pick choose(List<Candidate> candidates, Consumer<Module> tune, Function<Module, Trainer.Evaluation> judge, Consumer<String> log) {
        List<Scored> scored = new ArrayList<>();
        List<Map<String, Integer>> seen = new ArrayList<>();
        for (Candidate c : candidates) {
            if (seen.contains(c.widths())) continue;
            seen.add(c.widths());
            Module copy = Copies.of(c.model());
            tune.accept(copy);
            Trainer.Evaluation e = judge.apply(copy);
            scored.add(new Scored(c, e.accuracy(), e.loss()));
            log.accept(String.format(java.util.Locale.ROOT, "  %s %s: validation %.2f%%, loss %.4f after the short fine-tune",
                    c.name(), c.widths().values(), 100 * e.accuracy(), e.loss()));
        }
        return new Pick(scored, best(scored));
    }

    /**
     * Makes {@code model} the picked candidate, in place: its tensors (shapes included) become copies of {@code picked}'s
     * untuned ones, so that the caller's reference holds the pick. Copies: a loaded state dict shares the tensors, and
     * the uniform or global model picked is fine-tuned again as its own row, from where it was. Returns the pick's widths.
     */
    public static Map<String, Integer> adopt(Module model, Candidate picked) {
        if (picked.model() != model) model.loadStateDict(Copies.of(picked.model()).stateDict(), true);
        return picked.widths();
    }

    /** The index of the most accurate; on equal accuracy the lower loss, then the earlier. */
    static int best(List<Scored> scored) {
        int best = 0;
        for (int i = 1; i < scored.size(); i++) {
            Scored s = scored.get(i), b = scored.get(best);
            if (s.accuracy() > b.accuracy() || (s.accuracy() == b.accuracy() && s.loss() < b.loss())) best = i;
        }
        return best;
    }
}
