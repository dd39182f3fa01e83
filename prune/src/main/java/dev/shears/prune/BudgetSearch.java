package dev.shears.prune;

import dev.shears.core.GradMode;
import dev.shears.core.Tensor;
import dev.shears.core.TensorScope;
import dev.shears.data.Dataset;
import dev.shears.nn.Module;
import dev.shears.nn.train.Trainer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.DoubleFunction;
import java.util.function.ObjIntConsumer;
import java.util.function.ToDoubleFunction;

/**
 * Budget-driven pruning, NetAdapt-style (Yang et al. 2018): the model shrinks in greedy moves until it costs no more
 * than the budget. At each move, every group is offered one cut — its {@link #CUT} share of channels, the lowest by
 * the method's importance, or the smallest cut that meets the budget where one does — and the cut that raises the
 * validation loss (mean cross-entropy, no fine-tuning) least per unit of cost saved is taken:
 * <pre>
 *   score(g) = (loss(model with g cut) − loss(model)) / (cost(model) − cost(model with g cut)),  take the lowest
 * </pre>
 * Each candidate is scored after {@linkplain #recalibrate adaptive batch norm} (its BN statistics re-estimated on the
 * validation images), and by the loss, not the accuracy: without either, at a deep budget every cut of a small network
 * drops the un-fine-tuned accuracy to near chance (BatchNorm normalising with the unpruned network's statistics),
 * where accuracy no longer tells the cuts apart and its noise decides. With {@link #probe} each candidate is scored
 * after a short fine-tune of a copy as well (how well the cut recovers).
 * Costs are exact for FLOPs and parameters ({@link ModelCost} of the cut model). For latency the model is
 * <em>measured</em> after every move, and a candidate's cost is that measurement plus the change a {@link LatencyTable}
 * (measured first, one group cut at a time) predicts for its cut:
 * <pre>
 *   cost(candidate) = measured(model) + T(widths of candidate) − T(widths of model)
 * </pre>
 * so the table's errors (the groups' savings are not additive; the convolution kernels — Winograd, direct, im2col —
 * change with the widths) do not pile up over the moves. The search stops once the measured latency is at most the
 * budget less {@link #LATENCY_MARGIN}; if the last move then jumped to below {@link #LATENCY_FLOOR} of the budget,
 * it is {@linkplain #land backed off}: a smaller cut of that move's group (or, failing that, of another group) is
 * bisected on measured latency so that the model lands in [{@link #LATENCY_FLOOR}, 1 − {@link #LATENCY_MARGIN}] of
 * the budget where any single cut does; where none does, width vectors {@linkplain #nearby near} the model's — one
 * group wider, another narrower — are measured, and one that lands replaces it.
 *
 * <p>With {@link #steps} K &gt; 1 the budget is reached in K stages — stage k stops at cost₀·(B/cost₀)^(k/K), a
 * geometric split — each but the last followed by {@link #fineTuneBetweenSteps}'s short fine-tune.
 *
 * <pre>{@code
 * BudgetSearch.Result r = new BudgetSearch(Method.SLIM, Budget.flops(0.25))
 *         .validation(split.validation())
 *         .search(model, 1, 1, 28, 28);            // model shrinks in place
 * }</pre>
 */
public final class BudgetSearch {
    /** A group's cut per move: this share of its unpruned channels (at least one). */
    public static final double CUT = 1.0 / 8;

    /**
     * A latency budget counts as met when a measurement is this share below it: the report measures the models again,
     * interleaved, and on a busy machine two medians of the same model differ by a few percent.
     */
    public static final double LATENCY_MARGIN = 0.03;

    /**
     * A searched model measured below this share of a latency budget is backed off ({@link #land}): the issue asks for
     * [0.9, 1.0]·budget, and a second measurement differs by a few percent, so the search aims at [0.93, 0.97], the
     * middle of the band (0.95) give or take 2%.
     */
    public static final double LATENCY_FLOOR = 0.93;

    /**
     * The final reading ({@link LatencyMeter#reading}, the report's protocol) is accepted within this share of the
     * budget outside [{@link #LATENCY_FLOOR}, 1 − {@link #LATENCY_MARGIN}], i.e. in [0.92, 0.98]; outside it the
     * search moves once more from there ({@link #confirm}).
     */
    public static final double CONFIRM_SLACK = 0.01;

    /**
     * Milliseconds per batch of each model, measured together (interleaved, so that drift in the machine's load hits
     * all alike). The search measures through one of these; tests pass a deterministic one.
     */
    public interface LatencyMeter {
        double[] millis(List<? extends Module> models);

        /**
         * The final reading of one model: what a search's last check and a report's row both take, so that the two
         * agree. By default one {@link #millis} (a deterministic meter needs no more); {@link #relativeTo}'s is a
         * longer interleaved reading with an interval ({@link Latency#pairedRatio}).
         */
        default Reading reading(Module model) {
            double ms = millis(List.of(model))[0];
            return new Reading(ms, ms, ms);
        }
    }

    /** A final latency reading: milliseconds per batch and its 95% interval. */
    public record Reading(double millis, double low, double high) {}

    private final Method method;
    /** The budget; a share of the unpruned latency becomes milliseconds at the start of {@link #search}. */
    private Budget budget;
    private MinKeep minKeep = MinKeep.ONE;
    private boolean fold = true;
    private Dataset validation;
    private int steps = 1;
    private ObjIntConsumer<Module> fineTune;
    private int latencyRepeats = 30;
    private boolean recalibrate = true;
    private Dataset probeImages;
    private Training.Options probeOptions;
    private Consumer<String> log = s -> {};
    private LatencyMeter latencyMeter;

    public BudgetSearch(Method method, Budget budget) {
        this.method = method;
        this.budget = budget;
    }

    public BudgetSearch minKeep(MinKeep m) { this.minKeep = m; return this; }
    public BudgetSearch fold(boolean on) { this.fold = on; return this; }
    /**
     * Scores every candidate after a short fine-tune of a copy of it, one pass over {@code images} with {@code o}'s
     * SGD (NetAdapt's short-term fine-tune): how well a cut recovers, not only how much it breaks. The tuned copy is
     * only scored, then dropped; the search goes on from the untuned cut, so the searched model is fine-tuned no more
     * than any other. Off by default (null images).
     */
    public BudgetSearch probe(Dataset images, Training.Options o) {
        this.probeImages = images;
        this.probeOptions = o.withEpochs(1);
        return this;
    }
    /** Whether candidates are scored after {@link #recalibrate} (on by default). */
    public BudgetSearch adaptiveBatchNorm(boolean on) { this.recalibrate = on; return this; }
    /** The images every move is scored on (a subset of the validation split, for speed). Required. */
    public BudgetSearch validation(Dataset d) { this.validation = d; return this; }
    public BudgetSearch steps(int k) {
        if (k < 1) throw new IllegalArgumentException("steps must be at least 1, got " + k);
        this.steps = k;
        return this;
    }
    /** The short fine-tune after every stage but the last, told the stage (1 to K − 1; none by default). */
    public BudgetSearch fineTuneBetweenSteps(ObjIntConsumer<Module> f) { this.fineTune = f; return this; }
    /** Timed passes per latency measurement (the table's and the final model's). */
    public BudgetSearch latencyRepeats(int n) { this.latencyRepeats = n; return this; }
    public BudgetSearch log(Consumer<String> log) { this.log = log; return this; }
    /**
     * How latency is measured (latency budgets only); by default {@link #relativeTo} the unpruned model, through
     * {@link #steadyMeter}: {@link Latency#steadyCompare} for up to five models at a time, {@link Latency#compare} for
     * the table's many, {@link #latencyRepeats} passes each.
     */
    public BudgetSearch latencyMeter(LatencyMeter m) { this.latencyMeter = m; return this; }

    /**
     * A meter that times up to four models each interleaved with {@code reference} (the unpruned model) and reports
     * each as its ratio to the reference in the same call, times the reference's latency as calibrated once, on first
     * use, by a long reading of the reference against itself ({@link Latency#pairedRatio}'s reference median):
     * <pre>
     *   millis(m) = (t_m / t_ref) · t_ref,calibrated
     * </pre>
     * Load on the machine that comes and goes between calls hits the model and the reference alike and cancels in the
     * ratio; so does a JIT state that changes over the run (kernels deoptimised by the fine-tuning between steps,
     * recompiled for other widths), as both models run the same code. The scale is fixed, so two readings of one model
     * differ only by their ratios' noise: it used to be the reference's fastest median so far, a minimum over a growing
     * number of noisy medians that drifted down through the run, so the report's reading of the searched model came out
     * lower than the search's own. {@link LatencyMeter#reading} is {@link Latency#pairedRatio} of the model (long, with
     * an interval) times the same scale. Larger lists (the {@link LatencyTable}'s, which hold the unpruned model)
     * go to {@code clock} unchanged.
     */
    public static LatencyMeter relativeTo(Module reference, LatencyMeter clock, int repeats, int... shape) {
        return new RelativeMeter(reference, clock, (ref, m) -> Latency.pairedRatio(ref, m, repeats, shape));
    }

    /**
     * As above, the final readings as one {@code clock} call of the reference and the model (a deterministic clock in
     * tests): ratio ms[1] / ms[0], no interval, the calibration the reference's own reading in that first call.
     */
    public static LatencyMeter relativeTo(Module reference, LatencyMeter clock) {
        return new RelativeMeter(reference, clock, (ref, m) -> {
            double[] ms = clock.millis(List.of(ref, m));
            return new Latency.Ratio(ms[1] / ms[0], ms[1] / ms[0], ms[1] / ms[0], 1, ms[0]);
        });
    }

    /** {@link #relativeTo}'s meter. */
    static final class RelativeMeter implements LatencyMeter {
        private final Module reference;
        private final LatencyMeter clock;
        private final java.util.function.BiFunction<Module, Module, Latency.Ratio> paired;
        private double scale = Double.NaN;

        RelativeMeter(Module reference, LatencyMeter clock, java.util.function.BiFunction<Module, Module, Latency.Ratio> paired) {
            this.reference = reference;
            this.clock = clock;
            this.paired = paired;
        }

        /** The reference's milliseconds per batch, measured once (the first call). */
        double scale() {
            if (Double.isNaN(scale)) scale = paired.apply(reference, reference).referenceMillis();
            return scale;
        }

        @Override public double[] millis(List<? extends Module> models) {
            if (models.size() > 4) return clock.millis(models);
            double t = scale();
            List<Module> all = new ArrayList<>(models.size() + 1);
            all.add(reference);
            all.addAll(models);
            double[] ms = clock.millis(all);
            double[] out = new double[models.size()];
            for (int k = 0; k < out.length; k++) out[k] = ms[k + 1] / ms[0] * t;
            return out;
        }

        @Override public Reading reading(Module model) {
            double t = scale();
            Latency.Ratio r = paired.apply(reference, model);
            return new Reading(r.ratio() * t, r.low() * t, r.high() * t);
        }
    }

    /**
     * The unpruned model's milliseconds per batch by {@code clock}: a {@link #relativeTo} meter's calibrated scale (what
     * every reading is a ratio of), else one measurement of {@code unpruned}. A share of the unpruned latency is resolved
     * against this.
     */
    static double unprunedMillis(LatencyMeter clock, Module unpruned) {
        return clock instanceof RelativeMeter r ? r.scale() : clock.millis(List.of(unpruned))[0];
    }

    /** The default {@link LatencyMeter}: {@code repeats} timed passes per model at batches shaped {@code shape}, more where they spread wide. */
    public static LatencyMeter steadyMeter(int repeats, int... shape) {
        return models -> models.size() <= 5 ? Latency.steadyCompare(models, 3, repeats, shape)
                : Latency.compare(models, 3, Math.min(repeats, LatencyTable.MAX_REPEATS), shape);
    }

    /** One model on the search's path: its cost (the budget's unit), that as a share of the unpruned cost, its validation accuracy and loss. */
    public record Point(double cost, double fraction, double accuracy, double loss, String move) {}

    /**
     * @param measuredMillis the final model's measured latency at the budget's batch (latency budgets only, else NaN)
     * @param table          the latency table (latency budgets only, else null)
     */
    public record Result(Module model, List<Point> path, Map<String, Integer> widthsBefore, Map<String, Integer> widthsAfter,
                         double costBefore, double costAfter, double target, double measuredMillis, LatencyTable table,
                         double seconds) {}

    /** Prunes {@code model} in place until it meets the budget, for inputs shaped {@code inputShape} (batch first). */
    public Result search(Module model, int... inputShape) {
        if (validation == null) throw new IllegalStateException("BudgetSearch needs validation images (validation(...))");
        long start = System.nanoTime();
        DependencyGraph g0 = DependencyGraph.analyze(model, inputShape);
        Map<String, float[]> scores0 = pruner().scores(model, g0);
        Map<String, Integer> full = new LinkedHashMap<>();
        scores0.forEach((g, s) -> full.put(g, s.length));
        LatencyTable table = null;
        Module unpruned = Copies.of(model);   // the latency reference (only timed, in eval mode) and nearby's source
        LatencyMeter clock = latencyMeter != null ? latencyMeter
                : relativeTo(unpruned, steadyMeter(latencyRepeats, batchShape(inputShape, budget.batch())), latencyRepeats,
                        batchShape(inputShape, budget.batch()));
        if (budget.unresolved()) {
            budget = budget.resolve(unprunedMillis(clock, unpruned));
            log.accept("budget: " + budget.describe());
        }
        if (budget.kind() == Budget.Kind.LATENCY) {
            log.accept("measuring the latency table (" + full.size() + " groups, batch " + budget.batch() + ")");
            table = LatencyTable.measure(model, g0, scores0, minKeep, fold, budget.batch(), clock);
            table.describe().forEach(l -> log.accept("  " + l));
        }
        Meter meter = new Meter(budget.kind(), table, clock);
        State s = new State(model, g0, full, inputShape);
        s.unpruned = table != null && steps == 1 ? unpruned : null;
        double cost0 = meter.of(ModelCost.of(model, g0), full);
        s.cost = cost0;
        meter.anchor(cost0, full);
        s.score(evaluate(model));
        double target = budget.kind() == Budget.Kind.LATENCY ? (1 - LATENCY_MARGIN) * budget.value() : budget.value() * cost0;
        List<Point> path = new ArrayList<>();
        path.add(new Point(cost0, 1, s.accuracy, s.loss, "unpruned"));
        for (int k = 1; k <= steps; k++) {
            Snapshot last = greedy(s, meter, stageTarget(cost0, target, k, steps), cost0, path);
            if (k == steps && table != null && last != null && s.cost < LATENCY_FLOOR * budget.value())
                land(s, last, meter, target, LATENCY_FLOOR * budget.value(), cost0, path);
            if (k == steps && table != null && steps == 1 && (s.cost < LATENCY_FLOOR * budget.value() || s.cost > target))
                nearby(s, meter, target, LATENCY_FLOOR * budget.value(), cost0, path);
            if (k == steps && table != null) confirm(s, last, meter, target, cost0, path);
            if (k < steps && fineTune != null) {
                fineTune.accept(model, k);
                s.score(evaluate(model));
                path.add(new Point(s.cost, s.cost / cost0, s.accuracy, s.loss, "fine-tuned (stage " + k + " of " + steps + ")"));
                log.accept(String.format(Locale.ROOT, "stage %d of %d: fine-tuned, validation accuracy %.2f%%", k, steps, 100 * s.accuracy));
            }
        }
        double measured = table != null ? s.cost : Double.NaN;   // the final reading (confirm)
        return new Result(model, path, full, s.widths, cost0, s.cost, target, measured, table, (System.nanoTime() - start) / 1e9);
    }

    /** The model being pruned, its groups' widths now, its cost and validation accuracy. */
    private static final class State {
        final Module model;
        final Map<String, Integer> full, widths;
        final int[] inputShape;
        DependencyGraph graph;
        double cost, accuracy, loss;
        /** The model before any move (latency budgets in one stage: {@link #nearby} cuts it again), else null. */
        Module unpruned;

        State(Module model, DependencyGraph graph, Map<String, Integer> full, int[] inputShape) {
            this.model = model;
            this.graph = graph;
            this.full = full;
            this.widths = new LinkedHashMap<>(full);
            this.inputShape = inputShape;
        }

        void score(Trainer.Evaluation e) {
            accuracy = e.accuracy();
            loss = e.loss();
        }
    }

    private record Cut(String group, int[] keep, PruneResult result, double cost, Trainer.Evaluation eval) {}

    /** The model before a move: a copy of it, its graph, widths, cost and scores. */
    private record Snapshot(Module model, DependencyGraph graph, Map<String, Integer> widths, double cost, double accuracy,
                            double loss, String group) {}

    /**
     * Greedy moves until {@code s} costs at most {@code target}; for latency the model is measured after each move
     * and that measurement is its cost. Returns the model before the last move (latency budgets only; null when no
     * move was made or for FLOPs and parameters).
     */
    private Snapshot greedy(State s, Meter meter, double target, double cost0, List<Point> path) {
        Snapshot last = null;
        while (s.cost > target) {
            Map<String, float[]> scores = pruner().scores(s.model, s.graph);
            Cut best = null;
            double bestScore = Double.POSITIVE_INFINITY;
            for (String g : s.full.keySet()) {
                int w = s.widths.get(g), floor = minKeep.of(s.full.get(g));
                if (w <= floor || !scores.containsKey(g)) continue;
                int base = Math.max(1, (int) Math.round(CUT * s.full.get(g)));
                Cut c = cut(s, meter, scores, g, Math.min(w - floor, base));
                // a cut inside one vector block of channels can save no latency (the kernels pad channels to whole
                // blocks): grow it by the base step until it saves something, as NetAdapt sizes each proposal by the
                // latency it must save
                for (int step = base; c.cost >= s.cost && step < w - floor; ) {
                    step = Math.min(w - floor, step + base);
                    c = cut(s, meter, scores, g, step);
                }
                int step = w - c.keep.length;
                if (c.cost <= target) {   // the smallest cut that meets the budget
                    int lo = 1, hi = step;
                    while (lo < hi) {
                        int mid = (lo + hi) >>> 1;
                        Cut m = cut(s, meter, scores, g, mid);
                        if (m.cost <= target) { hi = mid; c = m; } else lo = mid + 1;
                    }
                }
                double saved = s.cost - c.cost;
                if (saved <= 0) continue;
                if (recalibrate) recalibrate(c.result.model(), validation, s.inputShape);
                c = new Cut(c.group, c.keep, c.result, c.cost, evaluate(c.result.model()));
                double score = (c.eval.loss() - s.loss) / (saved / cost0);
                if (score < bestScore - 1e-12 || (Math.abs(score - bestScore) <= 1e-12 && c.cost < best.cost)) {
                    best = c;
                    bestScore = score;
                }
            }
            if (best == null)
                throw new IllegalArgumentException(String.format(Locale.ROOT, "cannot meet the budget (%s): every group is at its "
                        + "minimum (%s) or cutting it saves nothing, at cost %.6g against a target of %.6g; widths %s",
                        budget.describe(), minKeep, s.cost, target, s.widths));
            if (meter.kind == Budget.Kind.LATENCY)
                last = new Snapshot(Copies.of(s.model), s.graph, new LinkedHashMap<>(s.widths), s.cost, s.accuracy, s.loss, best.group);
            String move = take(s, meter, best);
            path.add(new Point(s.cost, s.cost / cost0, s.accuracy, s.loss, move));
            log.accept(String.format(Locale.ROOT, "  %s: cost %.1f%%, validation accuracy %.2f%%, loss %.4f (score %.4g)", move, 100 * s.cost / cost0,
                    100 * s.accuracy, s.loss, bestScore));
        }
        return last;
    }

    /**
     * Applies {@code c} to {@code s}'s model; for latency measures the result and anchors the meter there (a cut
     * already measured, {@link Cut#eval}'s cost from {@link #land}, is not measured again). Returns the move, "g 32 → 28".
     */
    private String take(State s, Meter meter, Cut c) {
        Slicer.slice(s.model, s.graph, Map.of(c.group, c.keep), fold);
        if (recalibrate) s.model.loadStateDict(c.result.model().stateDict(), true);   // its re-estimated BN statistics
        s.graph = DependencyGraph.analyze(s.model, s.inputShape);
        int before = s.widths.put(c.group, c.keep.length);
        s.score(c.eval);
        s.cost = c.cost;
        if (meter.kind == Budget.Kind.LATENCY) {
            double estimated = c.cost;
            s.cost = meter.measure(s.model);
            meter.anchor(s.cost, s.widths);
            log.accept(String.format(Locale.ROOT, "  measured %.3f ms (estimated %.3f)", s.cost, estimated));
        }
        return String.format(Locale.ROOT, "%s %d → %d", c.group, before, c.keep.length);
    }

    /**
     * The back-off after a last move that jumped from above the latency target to below {@code floor}: from the model
     * before that move ({@code last}), each group's smallest cut that meets {@code target} is bisected on
     * <em>measured</em> latency — the last move's group first, only up to the cut it took. The first group whose cut
     * lands in [{@code floor}, {@code target}] replaces the move (of several in the band after the last move's group
     * missed it, the one with the lowest validation loss). Kernel regimes make latency a step function of the widths,
     * so within one group no cut may land in the band; then a second round starts from the last move's group cut one
     * channel less than its smallest cut that met the target (just over it) and bisects each other group's cut from
     * there: two groups that together land in the band. If neither round lands, the cut measured closest below the
     * target, when that is above where the search stands.
     */
    private void land(State s, Snapshot last, Meter meter, double target, double floor, double cost0, List<Point> path) {
        log.accept(String.format(Locale.ROOT, "measured %.3f ms is below %.3f: backing off the last move (%s)", s.cost, floor, last.group));
        State p = new State(Copies.of(last.model), last.graph, s.full, s.inputShape);
        p.widths.putAll(last.widths);
        Map<String, float[]> scores = pruner().scores(p.model, p.graph);
        List<String> groups = new ArrayList<>(List.of(last.group));
        for (String g : s.full.keySet()) if (!g.equals(last.group) && scores.containsKey(g)) groups.add(g);
        Cut best = null, closest = null;
        State bestFrom = p, closestFrom = p;
        int lastMet = -1;   // the smallest cut of the last move's group that met the target
        for (int round = 0; round < 2 && best == null; round++) {
            if (round == 1) {   // the last move's group just over the target, then a cut of another group
                if (lastMet <= 1) break;
                Cut over = cut(p, meter, scores, last.group, lastMet - 1);
                Module m = over.result.model();
                p = new State(m, DependencyGraph.analyze(m, s.inputShape), s.full, s.inputShape);
                p.widths.putAll(last.widths);
                p.widths.put(last.group, over.keep.length);
                scores = pruner().scores(p.model, p.graph);
                groups.remove(last.group);
                log.accept(String.format(Locale.ROOT, "  with %s at %d:", last.group, over.keep.length));
            }
            for (String g : groups) {
                int w = p.widths.get(g), most = round == 0 && g.equals(last.group) ? w - s.widths.get(g) : w - minKeep.of(s.full.get(g));
                if (most < 1) continue;
                Cut c = measured(p, meter, scores, g, most);
                if (c.cost > target) continue;
                int n = most;
                for (int lo = 1, hi = most; lo < hi; ) {
                    int mid = (lo + hi) >>> 1;
                    Cut m = measured(p, meter, scores, g, mid);
                    if (m.cost <= target) { hi = mid; c = m; n = mid; } else lo = mid + 1;
                }
                if (round == 0 && g.equals(last.group)) lastMet = n;
                log.accept(String.format(Locale.ROOT, "  %s %d → %d: measured %.3f ms", g, w, c.keep.length, c.cost));
                if (c.cost >= floor) {
                    if (recalibrate) recalibrate(c.result.model(), validation, s.inputShape);
                    c = new Cut(c.group, c.keep, c.result, c.cost, evaluate(c.result.model()));
                    if (best == null || c.eval.loss() < best.eval.loss()) { best = c; bestFrom = p; }
                    if (round == 0 && g.equals(last.group)) break;
                } else if (closest == null || c.cost > closest.cost) { closest = c; closestFrom = p; }
            }
        }
        if (best == null && closest != null && closest.cost > s.cost) {
            if (recalibrate) recalibrate(closest.result.model(), validation, s.inputShape);
            best = new Cut(closest.group, closest.keep, closest.result, closest.cost, evaluate(closest.result.model()));
            bestFrom = closestFrom;
        }
        if (best == null) {
            log.accept("  no cut lands nearer the budget: the last move stays");
            return;
        }
        // the move replaced by the landing cut of the model before it (its measurement kept)
        Map<String, Integer> widths = new LinkedHashMap<>(bestFrom.widths);
        widths.put(best.group, best.keep.length);
        String move = bestFrom.widths.get(last.group).equals(last.widths.get(last.group)) || best.group.equals(last.group)
                ? best.group + " " + bestFrom.widths.get(best.group) + " → " + best.keep.length
                : last.group + " " + last.widths.get(last.group) + " → " + bestFrom.widths.get(last.group) + ", "
                  + best.group + " " + bestFrom.widths.get(best.group) + " → " + best.keep.length;
        adopt(s, meter, best.result.model(), widths, best.cost, best.eval, "back-off: " + move, cost0, path);
    }

    /**
     * {@code m} (measured {@code cost}, scored {@code eval}, at {@code widths}) becomes the search's model: its tensors,
     * shapes included, loaded into {@code s}'s, the meter anchored there, and the move on the path and in the log.
     */
    private void adopt(State s, Meter meter, Module m, Map<String, Integer> widths, double cost, Trainer.Evaluation eval, String move,
                       double cost0, List<Point> path) {
        s.model.loadStateDict(m.stateDict(), true);
        s.graph = DependencyGraph.analyze(s.model, s.inputShape);
        s.widths.putAll(widths);
        s.cost = cost;
        meter.anchor(s.cost, s.widths);
        s.score(eval);
        path.add(new Point(s.cost, s.cost / cost0, s.accuracy, s.loss, move));
        log.accept(String.format(Locale.ROOT, "  %s, measured %.3f ms, validation accuracy %.2f%%", move, s.cost, 100 * s.accuracy));
    }

    /**
     * The final check of a latency budget: the model read as a report reads it ({@link LatencyMeter#reading}: longer,
     * interleaved with the unpruned model, with an interval), and that reading becomes its cost. The per-move
     * measurements are short; where the reading falls outside [{@link #LATENCY_FLOOR} − {@link #CONFIRM_SLACK},
     * {@code target} + {@link #CONFIRM_SLACK}]·budget, the search moves once more from it — greedy moves while over the
     * target (then a back-off if they overshoot), or a back-off of the last move ({@code last}, the model before it;
     * null when none was made) when under — and reads the model again; that second reading stands.
     */
    private void confirm(State s, Snapshot last, Meter meter, double target, double cost0, List<Point> path) {
        double floor = LATENCY_FLOOR * budget.value(), slack = CONFIRM_SLACK * budget.value();
        for (int round = 0; ; round++) {
            Reading r = meter.clock.reading(s.model);
            log.accept(String.format(Locale.ROOT, "final reading: %.3f ms (95%% interval %.3f-%.3f), %.1f%% of the budget; widths %s",
                    r.millis(), r.low(), r.high(), 100 * r.millis() / budget.value(), s.widths));
            meter.correct(r.millis() / s.cost);   // s.cost: the per-move measurement of this model
            s.cost = r.millis();
            meter.anchor(s.cost, s.widths);
            boolean over = s.cost > target + slack, under = s.cost < floor - slack && last != null;
            if (round == 1 || !(over || under)) return;
            if (over) {
                Snapshot moved = greedy(s, meter, target, cost0, path);
                if (moved != null) last = moved;
                if (s.cost < floor && last != null) land(s, last, meter, target, floor, cost0, path);
            } else land(s, last, meter, target, floor, cost0, path);
            if (steps == 1 && (s.cost < floor || s.cost > target)) nearby(s, meter, target, floor, cost0, path);
        }
    }

    /** Rounds of {@link #nearby} at most. */
    static final int NEARBY_ROUNDS = 3;

    /** Width vectors {@link #nearby} measures per round (in calls of four, each with the reference). */
    static final int NEARBY_MEASURED = 8;

    /**
     * The last landing of a latency budget in one stage, when neither the greedy moves nor the back-off land in
     * [{@code floor}, {@code target}]. Latency is not monotone in one group's width: kernel regimes make it jump, and
     * at times fall, as a width crosses a multiple of the vector's lanes (SimpleCNN at batch 64 on a Zen 4 core, conv1 at
     * 16: conv2 at 34 channels read 1.15 ms, at 37 1.25, at 40 1.65 and at 48 1.53), so the width vector that lands
     * is often a trade between two groups, one narrower and one wider, that no one-group cut or bisection finds. A local
     * search on measured latency: around the widths w of the centre (first the search's model), every vector that
     * moves one group by ±d, or one group by +d and another by −d′ (d, d′ powers of two up to a quarter of the
     * group's full width), is estimated by the table anchored at the centre's measurement; the {@link #NEARBY_MEASURED}
     * estimated nearest the band's middle are cut from the unpruned model ({@link Finalists#atWidths}, channels by
     * the method's ranking) and measured. Of those measured in the band, the one with the lowest validation loss
     * replaces the search's model. If none lands, the vector measured nearest the middle (the centre included) is the
     * next round's centre, up to {@link #NEARBY_ROUNDS} rounds; after the last, the model measured nearest the middle
     * and at most {@link #CONFIRM_SLACK} over the target (as {@link #confirm} accepts) replaces the search's if it is
     * nearer than the search's. One-group regrowth (a group cut early given channels back) is among the moves.
     */
    private void nearby(State s, Meter meter, double target, double floor, double cost0, List<Point> path) {
        if (s.unpruned == null) return;
        log.accept(String.format(Locale.ROOT, "measured %.3f ms is outside %.3f-%.3f: measuring width vectors nearby", s.cost, floor, target));
        double aim = (floor + target) / 2;
        Map<String, Integer> centre = new LinkedHashMap<>(s.widths);
        double centreCost = s.cost;
        java.util.Set<Map<String, Integer>> seen = new java.util.HashSet<>(List.of(Map.copyOf(centre)));
        Module best = null, nearest = null;
        Trainer.Evaluation bestEval = null;
        Map<String, Integer> bestWidths = null, nearestWidths = null;
        double ceiling = target + CONFIRM_SLACK * budget.value();   // as far over the target as a final reading is accepted
        double bestCost = 0, nearestCost = s.cost <= ceiling ? s.cost : Double.POSITIVE_INFINITY;
        for (int round = 0; round < NEARBY_ROUNDS && best == null; round++) {
            meter.anchor(centreCost, centre);
            List<Map<String, Integer>> around = new ArrayList<>();
            for (Map<String, Integer> w : neighbours(centre, s.full, minKeep)) if (seen.add(Map.copyOf(w))) around.add(w);
            around.sort(Comparator.comparingDouble(w -> Math.abs(meter.estimate(w) - aim)));
            around = around.subList(0, Math.min(NEARBY_MEASURED, around.size()));
            if (around.isEmpty()) break;
            List<Module> models = new ArrayList<>();
            for (Map<String, Integer> w : around) models.add(Finalists.atWidths(s.unpruned, w, method, minKeep, fold, s.inputShape));
            double[] ms = meter.measureAll(models);
            Map<String, Integer> next = centre;
            double nextCost = centreCost;
            for (int i = 0; i < ms.length; i++) {
                log.accept(String.format(Locale.ROOT, "  %s: measured %.3f ms (estimated %.3f)", around.get(i), ms[i], meter.estimate(around.get(i))));
                if (Math.abs(ms[i] - aim) < Math.abs(nextCost - aim)) { next = around.get(i); nextCost = ms[i]; }
                if (ms[i] <= ceiling && Math.abs(ms[i] - aim) < Math.abs(nearestCost - aim)) { nearest = models.get(i); nearestWidths = around.get(i); nearestCost = ms[i]; }
                if (ms[i] < floor || ms[i] > target) continue;
                if (recalibrate) recalibrate(models.get(i), validation, s.inputShape);
                Trainer.Evaluation e = evaluate(models.get(i));
                if (bestEval == null || e.loss() < bestEval.loss()) { best = models.get(i); bestEval = e; bestWidths = around.get(i); bestCost = ms[i]; }
            }
            centre = next;
            centreCost = nextCost;
        }
        meter.anchor(s.cost, s.widths);
        if (best == null && nearest != null) {
            if (recalibrate) recalibrate(nearest, validation, s.inputShape);
            best = nearest;
            bestEval = evaluate(nearest);
            bestWidths = nearestWidths;
            bestCost = nearestCost;
        }
        if (best == null) {
            log.accept("  none measured nearer the budget: the model stays");
            return;
        }
        StringBuilder move = new StringBuilder("nearby:");
        for (String g : s.full.keySet())
            if (!bestWidths.get(g).equals(s.widths.get(g))) move.append(move.length() > 7 ? ", " : " ").append(g).append(' ')
                    .append(s.widths.get(g)).append(" → ").append(bestWidths.get(g));
        adopt(s, meter, best, bestWidths, bestCost, bestEval, move.toString(), cost0, path);
    }

    /**
     * {@link #nearby}'s moves from {@code w}: one group by ±d, or one by +d and another by −d′, each d a power of two
     * up to a quarter of its group's full width (at least 1), within [min-keep, full]; {@code w} itself and repeats left out.
     */
    static List<Map<String, Integer>> neighbours(Map<String, Integer> w, Map<String, Integer> full, MinKeep minKeep) {
        java.util.Set<Map<String, Integer>> out = new java.util.LinkedHashSet<>();
        List<String> groups = new ArrayList<>(full.keySet());
        for (String g : groups)
            for (int d : powersOfTwo(full.get(g))) {
                for (int sign : new int[]{1, -1}) add(out, w, full, minKeep, Map.of(g, sign * d));
                for (String h : groups)
                    if (!h.equals(g)) for (int e : powersOfTwo(full.get(h))) add(out, w, full, minKeep, Map.of(g, d, h, -e));
            }
        out.remove(w);
        return new ArrayList<>(out);
    }

    private static void add(java.util.Set<Map<String, Integer>> out, Map<String, Integer> w, Map<String, Integer> full, MinKeep minKeep,
                            Map<String, Integer> delta) {
        Map<String, Integer> v = new LinkedHashMap<>(w);
        for (var e : delta.entrySet()) {
            int x = w.get(e.getKey()) + e.getValue(), f = full.get(e.getKey());
            if (x < minKeep.of(f) || x > f) return;
            v.put(e.getKey(), x);
        }
        out.add(v);
    }

    /** 1, 2, 4, ... up to a quarter of {@code full} (at least 1). */
    private static List<Integer> powersOfTwo(int full) {
        List<Integer> d = new ArrayList<>();
        for (int x = 1; x <= Math.max(1, full / 4); x *= 2) d.add(x);
        return d;
    }

    /** A model's validation accuracy and loss, after a short fine-tune of a copy when {@link #probe} is on. */
    private Trainer.Evaluation evaluate(Module m) {
        if (probeImages == null) return Trainer.evaluate(m, validation, 256);
        Module copy = Copies.of(m);
        Training.fineTune(copy, probeImages, probeOptions, null);
        return Trainer.evaluate(copy, validation, 256);
    }

    /** {@code s}'s model with {@code n} more channels of group {@code g} removed, lowest score first (a copy). */
    private Cut cut(State s, Meter meter, Map<String, float[]> scores, String g, int n) {
        int[] keep = keepTop(scores.get(g), scores.get(g).length - n);
        Module copy = Copies.of(s.model);
        PruneResult r = pruner().apply(copy, s.graph, new PruningPlan(Map.of(g, keep), Map.of(g, scores.get(g).length), List.of()));
        Map<String, Integer> widths = new LinkedHashMap<>(s.widths);
        widths.put(g, keep.length);
        return new Cut(g, keep, r, meter.of(r.after(), widths), null);
    }

    /** As {@link #cut}, its cost measured (the copy timed alone) instead of estimated. */
    private Cut measured(State s, Meter meter, Map<String, float[]> scores, String g, int n) {
        Cut c = cut(s, meter, scores, g, n);
        return new Cut(g, c.keep, c.result, meter.measure(c.result.model()), null);
    }

    /**
     * Adaptive batch norm (EagleEye, Li et al. 2020): the candidate's BatchNorm statistics re-estimated from
     * {@value #RECALIBRATION_BATCHES} batches of {@code data} in training mode, without gradients, before it is scored.
     * Slicing leaves each BN normalising with the statistics of the unpruned network's inputs; after a deep cut these are
     * so far off that every candidate scores near chance and the scores stop telling cuts apart. Only the candidate copy
     * changes, and only its running statistics; the move taken keeps them.
     */
    static void recalibrate(Module candidate, Dataset data, int... inputShape) {
        int batch = 64, per = data.imageSize(), n = Math.min(data.size() / batch, RECALIBRATION_BATCHES);
        if (n == 0) return;
        int[] shape = inputShape.clone();
        shape[0] = batch;
        candidate.train();
        try (GradMode ignored = GradMode.off()) {
            for (int i = 0; i < n; i++)
                try (TensorScope scope = TensorScope.open()) {
                    candidate.forward(Tensor.of(candidate.backend(), Arrays.copyOfRange(data.images(), i * batch * per, (i + 1) * batch * per), shape));
                }
        } finally {
            candidate.eval();
        }
    }

    /** Batches of {@link #recalibrate}: with BN's momentum 0.1, 0.9^30 ≈ 4% of the old statistics remain. */
    static final int RECALIBRATION_BATCHES = 30;

    private Pruner pruner() {
        return new Pruner(method, Criterion.perLayerRatio(0)).minKeep(minKeep).fold(fold);
    }

    /** The {@code n} highest-scoring channels' indices, ascending (ties: the earlier channel stays). */
    public static int[] keepTop(float[] scores, int n) {
        Integer[] order = new Integer[scores.length];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, Comparator.comparingDouble(i -> scores[i]));   // stable: lowest first, ties in channel order
        int[] keep = new int[n];
        for (int i = 0; i < n; i++) keep[i] = order[scores.length - n + i];
        Arrays.sort(keep);
        return keep;
    }

    /**
     * A model's cost in the budget's unit: FLOPs, parameters, or milliseconds — the last measurement (the anchor) plus
     * the table's estimated change from the anchor's widths to the model's.
     */
    static final class Meter {
        final Budget.Kind kind;
        final LatencyTable table;
        final LatencyMeter clock;
        double anchorMillis, anchorEstimate;

        Meter(Budget.Kind kind, LatencyTable table, LatencyMeter clock) {
            this.kind = kind;
            this.table = table;
            this.clock = clock;
        }

        double of(ModelCost c, Map<String, Integer> widths) {
            return switch (kind) {
                case FLOPS -> c.flops();
                case PARAMS -> c.parameters();
                case LATENCY -> estimate(widths);
            };
        }

        /** Latency only: the anchor's measurement plus the table's change from the anchor's widths to {@code widths}. */
        double estimate(Map<String, Integer> widths) {
            return anchorMillis + table.estimate(widths) - anchorEstimate;
        }

        /** Latency only: the model at {@code widths} measured {@code millis}; estimates are taken from there on. */
        void anchor(double millis, Map<String, Integer> widths) {
            if (table == null) return;
            anchorMillis = millis;
            anchorEstimate = table.estimate(widths);
        }

        /** Per-move measurements are multiplied by this: the final reading over the per-move one of the same model (1 until {@link #confirm}). */
        double correction = 1;

        /**
         * Latency only: per-move measurements are taken to read {@code factor} times too low from now on, as the final
         * reading of one model found ({@link #confirm}), so that moves after it aim by the final reading's scale.
         */
        void correct(double factor) {
            if (Double.isFinite(factor) && factor > 0) correction *= factor;
        }

        double measure(Module m) { return clock.millis(List.of(m))[0] * correction; }

        /** {@link #measure} of each model, four to a call (a {@link #relativeTo} meter times each call's with its reference). */
        double[] measureAll(List<Module> models) {
            double[] out = new double[models.size()];
            for (int i = 0; i < out.length; i += 4) {
                double[] ms = clock.millis(models.subList(i, Math.min(out.length, i + 4)));
                for (int k = 0; k < ms.length; k++) out[i + k] = ms[k] * correction;
            }
            return out;
        }
    }

    /** Where stage k of K stops: cost₀·(target/cost₀)^(k/K), and exactly {@code target} at k = K. */
    public static double stageTarget(double cost0, double target, int k, int steps) {
        return k == steps ? target : cost0 * Math.pow(target / cost0, (double) k / steps);
    }

    static int[] batchShape(int[] inputShape, int batch) {
        int[] s = inputShape.clone();
        s[0] = batch;
        return s;
    }

    /** A ratio found by {@link #bisect} and what it gave. */
    public record Bisection<T>(double ratio, T value) {}

    /**
     * The smallest ratio r (to 1e-4) at which {@code prune.apply(r)} — a copy pruned by a per-layer or global ratio r —
     * costs at most {@code target} by {@code cost}: bisection, the cost falling as r grows. The comparison rows of a
     * budget report: the same budget met by one ratio.
     *
     * @throws IllegalArgumentException when even r = 0.9999 costs more
     */
    public static <T> Bisection<T> bisect(DoubleFunction<T> prune, ToDoubleFunction<T> cost, double target, String what) {
        return bisect(prune, cost, target, what, 1e-4);
    }

    /** As above, to {@code tolerance} in the ratio (a measured cost: each step times a model, so fewer steps). */
    public static <T> Bisection<T> bisect(DoubleFunction<T> prune, ToDoubleFunction<T> cost, double target, String what, double tolerance) {
        double lo = 0, hi = 0.9999;
        T best = prune.apply(hi);
        if (cost.applyAsDouble(best) > target)
            throw new IllegalArgumentException(String.format(Locale.ROOT, "%s cannot meet the budget: at ratio %.4f it still costs %.6g against %.6g",
                    what, hi, cost.applyAsDouble(best), target));
        T zero = prune.apply(0);
        if (cost.applyAsDouble(zero) <= target) return new Bisection<>(0, zero);
        while (hi - lo > tolerance) {
            double mid = (lo + hi) / 2;
            T m = prune.apply(mid);
            if (cost.applyAsDouble(m) <= target) { hi = mid; best = m; } else lo = mid;
        }
        return new Bisection<>(hi, best);
    }
}
