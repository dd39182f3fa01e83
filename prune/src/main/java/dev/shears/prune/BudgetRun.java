package dev.shears.prune;

import dev.shears.data.Dataset;
import dev.shears.nn.Module;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.DoubleFunction;
import java.util.function.ObjIntConsumer;
import java.util.function.ToDoubleFunction;

/**
 * A budget-driven pruning run with its evidence: the {@link BudgetSearch}, and the same budget met by one uniform
 * per-layer ratio and by one global ratio (each found by bisection); all three fine-tuned alike on the fitting
 * split, judged on the validation split and reported on the test set, their latencies measured interleaved.
 *
 * <p>With {@code steps} K &gt; 1 the uniform and global models follow the search's schedule: K stages ending at the
 * same stage targets ({@link BudgetSearch#stageTarget}), each stage one ratio of the model as the previous stage left
 * it, and after each but the last the same short fine-tune as the searched model (same images, same seeds). So every
 * row has had the same fine-tuning, whatever K.
 */
public final class BudgetRun {
    private BudgetRun() {}

    /** Fitting images each candidate of the search is briefly fine-tuned on, on a graph model ({@link BudgetSearch#probe}): 20 batches of 64. */
    public static final int PROBE_IMAGES = 1280;

    /**
     * The probe a model gets unless asked otherwise: {@link #PROBE_IMAGES} for a graph (residual adds, concatenations),
     * none for a chain. A cut inside a residual branch hides behind the skip connection: untuned, it costs little loss
     * even at one or two channels left, and the search without a probe narrowed such branches to bottlenecks that one
     * epoch of fine-tuning did not recover (prune/README, "Pruning to a budget"); in a chain the untuned loss already
     * tells, and the probe would only cost time.
     */
    public static int probeImages(Module model) {
        return model instanceof dev.shears.nn.Sequential ? 0 : PROBE_IMAGES;
    }

    /**
     * @param stepEpochs     fine-tuning between the search's stages, in epochs (a fraction trains on that share of
     *                       the fitting images, drawn at random)
     * @param fineTuneEpochs the final fine-tune of each of the three models (0: none)
     * @param searchImages   validation images each move of the search is scored on (at most the split's)
     * @param latencyRepeats timed passes per latency (0: no latency measured; a latency budget needs some)
     * @param probeImages    fitting images each candidate of the search is briefly fine-tuned on before it is scored
     *                       ({@link BudgetSearch#probe}; 0: none)
     * @param finalistEpochs the short fine-tune, in epochs, that each {@link Finalists finalist} gets before the pick
     *                       (0: none, the search's widths stand; FLOP and parameter budgets in one stage only)
     * @param fineTuneSeeds  fine-tunes of each model with seeds seed, seed + 1, ...: the rows report each seed's
     *                       accuracy; the model kept is the first seed's (1: one fine-tune)
     */
    public record Setup(Method method, Budget budget, MinKeep minKeep, boolean fold, int steps, double stepEpochs,
                        int fineTuneEpochs, Training.Options train, int searchImages, int latencyRepeats, int probeImages,
                        double finalistEpochs, int fineTuneSeeds) {
        public Setup(Method method, Budget budget, MinKeep minKeep, boolean fold, int steps, double stepEpochs,
                     int fineTuneEpochs, Training.Options train, int searchImages, int latencyRepeats) {
            this(method, budget, minKeep, fold, steps, stepEpochs, fineTuneEpochs, train, searchImages, latencyRepeats, 0);
        }

        public Setup(Method method, Budget budget, MinKeep minKeep, boolean fold, int steps, double stepEpochs,
                     int fineTuneEpochs, Training.Options train, int searchImages, int latencyRepeats, int probeImages) {
            this(method, budget, minKeep, fold, steps, stepEpochs, fineTuneEpochs, train, searchImages, latencyRepeats, probeImages, 0, 1);
        }

        /** The same setup with {@code b} as its budget. */
        public Setup withBudget(Budget b) {
            return new Setup(method, b, minKeep, fold, steps, stepEpochs, fineTuneEpochs, train, searchImages, latencyRepeats, probeImages,
                    finalistEpochs, fineTuneSeeds);
        }

        public Setup {
            if (steps < 1 || stepEpochs < 0 || fineTuneEpochs < 0 || searchImages < 1 || latencyRepeats < 0 || probeImages < 0)
                throw new IllegalArgumentException(String.format(Locale.ROOT, "steps >= 1, step epochs >= 0, fine-tune epochs >= 0, "
                        + "search images >= 1, latency repeats >= 0 and probe images >= 0, got %d, %s, %d, %d, %d, %d", steps, stepEpochs,
                        fineTuneEpochs, searchImages, latencyRepeats, probeImages));
            if (budget.kind() == Budget.Kind.LATENCY && latencyRepeats < 1)
                throw new IllegalArgumentException("a latency budget needs latency measurements: latency repeats must be >= 1");
            if (!(finalistEpochs >= 0) || fineTuneSeeds < 1)
                throw new IllegalArgumentException(String.format(Locale.ROOT, "finalist epochs >= 0 and fine-tune seeds >= 1, got %s, %d",
                        finalistEpochs, fineTuneSeeds));
            if (finalistEpochs > 0 && (budget.kind() == Budget.Kind.LATENCY || steps > 1))
                throw new IllegalArgumentException(String.format(Locale.ROOT, "finalists (%s epochs) are for FLOP and parameter budgets in one "
                        + "stage; got a %s budget in %d stages", finalistEpochs, budget.kind().name().toLowerCase(Locale.ROOT), steps));
        }
    }

    /**
     * A last step for each of the three models once its widths are chosen, before fine-tuning: feature-map
     * reconstruction re-selects the channels of the unpruned model at those widths and re-fits the next layers by
     * least squares. Returns the model at {@code widths} (group → channels kept).
     */
    public interface Refit { Module apply(Module unpruned, Map<String, Integer> widths); }

    /** Prunes {@code model} in place to the budget (the searched model); returns the report of all three. */
    public static BudgetReport run(Module model, int[] inputShape, ValidationSplit split, Dataset test, Setup s, Consumer<String> log) {
        return run(model, inputShape, split, test, s, null, log);
    }

    /** As {@link #run(Module, int[], ValidationSplit, Dataset, Setup, Consumer)}, each model passed through {@code refit} (may be null) at its widths. */
    public static BudgetReport run(Module model, int[] inputShape, ValidationSplit split, Dataset test, Setup given, Refit refit, Consumer<String> log) {
        Module unpruned = Copies.of(model);
        // one meter for the search, the bisections and the report: each latency as its ratio to the unpruned model's,
        // measured interleaved, times the unpruned model's latency calibrated once; the search's final reading and the
        // report's rows through the same reading (BudgetSearch.relativeTo)
        int repeats = Math.max(1, given.latencyRepeats());
        int[] batchShape = BudgetSearch.batchShape(inputShape, given.budget().batch());
        BudgetSearch.LatencyMeter clock = BudgetSearch.relativeTo(unpruned, BudgetSearch.steadyMeter(repeats, batchShape), repeats, batchShape);
        // a share of the unpruned latency: milliseconds of that calibration, so the report's rows read against the same scale
        Setup s = given.budget().unresolved() ? given.withBudget(given.budget().resolve(BudgetSearch.unprunedMillis(clock, unpruned))) : given;
        if (given.budget().unresolved()) log.accept("budget: " + s.budget().describe());
        Dataset searchImages = split.validation().first(s.searchImages());
        // the short fine-tune after stage k, the same for the searched model and the uniform and global ones
        ObjIntConsumer<Module> between = s.stepEpochs() > 0 ? (m, k) -> tune(m, split.fit(), s.train().withSeed(s.train().seed() + k), s.stepEpochs()) : null;
        log.accept(String.format(Locale.ROOT, "validation split: %,d of the training images (seeded), held out of fine-tuning; "
                + "the search scores moves on %,d of them", split.validation().size(), searchImages.size()));
        BudgetSearch.Result r = new BudgetSearch(s.method(), s.budget()).minKeep(s.minKeep()).fold(s.fold())
                .validation(searchImages).steps(s.steps()).latencyRepeats(Math.max(1, s.latencyRepeats())).latencyMeter(clock).log(log)
                .fineTuneBetweenSteps(between)
                .probe(s.probeImages() > 0 ? split.fit().first(s.probeImages()) : null, s.train())
                .search(model, inputShape);
        log.accept(String.format(Locale.ROOT, "search: %d moves in %.1f s; widths %s", r.path().size() - 1, r.seconds(), r.widthsAfter()));

        ToDoubleFunction<PruneResult> cost = p -> switch (s.budget().kind()) {
            case FLOPS -> p.after().flops();
            case PARAMS -> p.after().parameters();
            // measured, not the table's estimate: a uniform or global cut changes every group at once, where the table's
            // sum of one-group changes is furthest off (kernels change with the widths: Winograd, direct, im2col)
            case LATENCY -> clock.millis(List.of(p.model()))[0];
        };
        // with a re-fit every model restarts from the unpruned weights (the searched one too), so stage fine-tunes would be lost
        int stages = refit == null ? s.steps() : 1;
        Staged uniform = staged(unpruned, Criterion::perLayerRatio, cost, r.costBefore(), r.target(), stages, between, s, inputShape, "a uniform per-layer ratio", log);
        Staged global = staged(unpruned, Criterion::globalRatio, cost, r.costBefore(), r.target(), stages, between, s, inputShape, "a global ratio", log);
        log.accept(String.format(Locale.ROOT, "uniform %s: %s; global %s: %s", uniform.ratios(), uniform.last().channelsAfter(),
                global.ratios(), global.last().channelsAfter()));

        Module uniformModel = uniform.last().model(), globalModel = global.last().model();
        Map<String, Integer> searchedWidths = r.widthsAfter();
        Finalists.Pick pick = null;
        if (s.finalistEpochs() > 0 && refit != null) log.accept("finalists: skipped (each model is re-fitted at its widths)");
        else if (s.finalistEpochs() > 0) {
            long start = System.nanoTime();
            pick = finalists(unpruned, model, r, uniform.last(), global.last(), s, split, inputShape, log);
            Finalists.Candidate chosen = pick.picked().candidate();
            log.accept(String.format(Locale.ROOT, "finalists: picked %s, widths %s (%d scored in %.1f s)", chosen.name(), chosen.widths(),
                    pick.scored().size(), (System.nanoTime() - start) / 1e9));
            searchedWidths = Finalists.adopt(model, chosen);
        }
        if (refit != null) {
            log.accept("re-fitting the three models at their widths");
            model.loadStateDict(refit.apply(Copies.of(unpruned), r.widthsAfter()).stateDict(), false);
            uniformModel = refit.apply(Copies.of(unpruned), uniform.last().channelsAfter());
            globalModel = refit.apply(Copies.of(unpruned), global.last().channelsAfter());
        }
        double[] ms = {Double.NaN, Double.NaN, Double.NaN, Double.NaN};
        if (s.latencyRepeats() > 0) {
            log.accept("latency at batch " + s.budget().batch() + ": unpruned, searched, uniform, global, each read against the unpruned model");
            List<Module> models = List.of(unpruned, model, uniformModel, globalModel);
            String[] names = {"unpruned", "searched", "uniform", "global"};
            for (int k = 0; k < ms.length; k++) {
                BudgetSearch.Reading reading = clock.reading(models.get(k));
                ms[k] = reading.millis();
                log.accept(String.format(Locale.ROOT, "  %s: %.3f ms (95%% interval %.3f-%.3f)", names[k], reading.millis(), reading.low(), reading.high()));
            }
        }
        List<BudgetReport.Row> rows = new ArrayList<>();
        rows.add(row("unpruned", unpruned, r.widthsBefore(), ms[0], 0, split, test, s, inputShape, log));
        rows.add(row(pick == null ? SEARCHED : SEARCHED + " (picked: " + pick.picked().candidate().name() + ")", model, searchedWidths, ms[1], s.fineTuneEpochs(), split, test, s, inputShape, log));
        rows.add(row("uniform, " + uniform.ratios(), uniformModel, uniform.last().channelsAfter(), ms[2], s.fineTuneEpochs(), split, test, s, inputShape, log));
        rows.add(row("global, " + global.ratios(), globalModel, global.last().channelsAfter(), ms[3], s.fineTuneEpochs(), split, test, s, inputShape, log));
        return new BudgetReport(s, rows, r.path(), r.seconds(), split.validation().size(), searchImages.size(),
                r.table() == null ? List.of() : r.table().describe(), r.measuredMillis(), pick == null ? List.of() : pick.scored());
    }

    /** The finalists' name for the search's own widths. */
    static final String SEARCHED = "searched";

    /**
     * The {@link Finalists} of a FLOP or parameter budget: the searched, uniform and global models, and for each of
     * the two ratios the widths halfway from the search's to its and as far beyond the search's, away from it (each
     * scaled down to the budget where over it, channels by the method's ranking on the unpruned model); each gets
     * {@link Setup#finalistEpochs} of fine-tuning (a copy, the run's seed) and is judged on the whole validation split.
     */
    static Finalists.Pick finalists(Module unpruned, Module searched, BudgetSearch.Result r, PruneResult uniform, PruneResult global,
                                    Setup s, ValidationSplit split, int[] inputShape, Consumer<String> log) {
        ToDoubleFunction<Module> cost = m -> {
            ModelCost c = ModelCost.of(m, inputShape);
            return s.budget().kind() == Budget.Kind.FLOPS ? c.flops() : c.parameters();
        };
        java.util.function.Function<Map<String, Integer>, Module> at = w -> Finalists.atWidths(unpruned, w, s.method(), s.minKeep(), s.fold(), inputShape);
        Map<String, Integer> mine = r.widthsAfter(), full = r.widthsBefore();
        List<Finalists.Candidate> all = new ArrayList<>();
        all.add(new Finalists.Candidate(SEARCHED, Copies.of(searched), mine, r.costAfter()));
        // widths by group id, as the search's are (a PruneResult's channelsAfter names a residual group by all its members)
        Pruner ids = new Pruner(s.method(), Criterion.perLayerRatio(0));
        java.util.function.Function<Module, Map<String, Integer>> widthsOf = m -> {
            Map<String, Integer> w = new LinkedHashMap<>();
            ids.scores(m, DependencyGraph.analyze(m, inputShape)).forEach((g, x) -> w.put(g, x.length));
            return w;
        };
        all.add(new Finalists.Candidate("uniform", uniform.model(), widthsOf.apply(uniform.model()), cost.applyAsDouble(uniform.model())));
        all.add(new Finalists.Candidate("global", global.model(), widthsOf.apply(global.model()), cost.applyAsDouble(global.model())));
        for (Finalists.Candidate other : List.copyOf(all.subList(1, 3))) {
            for (double t : new double[]{0.5, -0.5}) {
                Finalists.Candidate c = Finalists.fit(t > 0 ? "halfway to " + other.name() : "beyond the search, away from " + other.name(),
                        Finalists.between(mine, other.widths(), t, full, s.minKeep()), full, s.minKeep(), at, cost, r.target());
                if (c != null) all.add(c);
            }
        }
        log.accept(String.format(Locale.ROOT, "finalists: %d width vectors at the budget, each fine-tuned %s epoch (a copy, seed %d), judged on "
                + "the %,d validation images", all.size(), s.finalistEpochs(), s.train().seed(), split.validation().size()));
        return Finalists.choose(all, m -> tune(m, split.fit(), s.train(), s.finalistEpochs()),
                m -> dev.shears.nn.train.Trainer.evaluate(m, split.validation(), 256), log);
    }

    private static PruneResult ratioPrune(Module from, Setup s, Criterion c, int[] inputShape) {
        return new Pruner(s.method(), c).minKeep(s.minKeep()).fold(s.fold()).prune(Copies.of(from), inputShape);
    }

    /** A comparison model reached in stages: each stage's ratio, and the last stage's result (its model fine-tuned between stages). */
    record Staged(List<Double> stageRatios, PruneResult last) {
        /** "ratio 0.5156", or "ratios 0.2100, 0.2500, 0.2800 in 3 stages". */
        String ratios() {
            List<String> r = stageRatios.stream().map(x -> String.format(Locale.ROOT, "%.4f", x)).toList();
            return r.size() == 1 ? "ratio " + r.get(0) : "ratios " + String.join(", ", r) + " in " + r.size() + " stages";
        }
    }

    /**
     * {@code target} (cost₀ = {@code cost0} unpruned, both in {@code cost}'s unit) met by one ratio per stage ({@code criterion}
     * of the ratio) on the search's schedule: stage k of {@code stages} prunes a copy of the model the previous stage
     * left to {@link BudgetSearch#stageTarget} by the smallest ratio that meets it, then, but after the last, hands it
     * to {@code between} (may be null) with k, as the search does.
     */
    static Staged staged(Module unpruned, DoubleFunction<Criterion> criterion, ToDoubleFunction<PruneResult> cost, double cost0, double target,
                         int stages, ObjIntConsumer<Module> between, Setup s, int[] inputShape, String what, Consumer<String> log) {
        List<Double> ratios = new ArrayList<>();
        Module from = unpruned;
        PruneResult last = null;
        for (int k = 1; k <= stages; k++) {
            Module base = from;
            DoubleFunction<PruneResult> prune = ratio -> ratioPrune(base, s, criterion.apply(ratio), inputShape);
            var b = k == stages ? meet(prune, cost, target, s, inputShape, what)
                    : BudgetSearch.bisect(prune, cost, BudgetSearch.stageTarget(cost0, target, k, stages), what, tolerance(s));
            ratios.add(b.ratio());
            last = b.value();
            from = last.model();
            if (k < stages && between != null) {
                log.accept(String.format(Locale.ROOT, "%s, stage %d of %d: ratio %.4f, %s; fine-tuning %s epoch", what, k, stages, b.ratio(),
                        last.channelsAfter(), s.stepEpochs()));
                between.accept(from, k);
            }
        }
        return new Staged(ratios, last);
    }

    /**
     * The ratio that meets {@code target} by {@code cost}; for latency, measured: while the model is over the budget,
     * bisect again for a target tightened by measured / asked.
     */
    private static BudgetSearch.Bisection<PruneResult> meet(DoubleFunction<PruneResult> prune, ToDoubleFunction<PruneResult> cost,
                                                           double target, Setup s, int[] inputShape, String what) {
        var b = BudgetSearch.bisect(prune, cost, target, what, tolerance(s));
        if (s.budget().kind() != Budget.Kind.LATENCY) return b;
        double aim = target;
        for (int round = 0; round < 4; round++) {
            double measured = cost.applyAsDouble(b.value());
            double limit = (1 - BudgetSearch.LATENCY_MARGIN) * s.budget().value();
            if (measured <= limit) break;
            aim = Math.min(aim, measured) * Math.max(0.7, limit / measured);
            try {
                b = BudgetSearch.bisect(prune, cost, aim, what, tolerance(s));
            } catch (IllegalArgumentException cannot) {
                break;   // the report shows it over the budget
            }
        }
        return b;
    }

    /**
     * Bisection's tolerance in the ratio: 1e-4 for counted costs; 1/256 for latency, where each step times a model
     * (8 steps instead of 14; a quarter of a channel of a 64-channel layer).
     */
    static double tolerance(Setup s) {
        return s.budget().kind() == Budget.Kind.LATENCY ? 1.0 / 256 : 1e-4;
    }

    private static BudgetReport.Row row(String name, Module m, Map<String, Integer> widths, double ms, int epochs, ValidationSplit split,
                                        Dataset test, Setup s, int[] inputShape, Consumer<String> log) {
        ModelCost c = ModelCost.of(m, inputShape);
        double valPruned = Training.accuracy(m, split.validation()), testPruned = Training.accuracy(m, test);
        List<Double> val = new ArrayList<>(), tst = new ArrayList<>();
        if (epochs > 0) {
            // the other seeds' copies taken before the kept model is tuned: every seed starts from the same pruned model
            List<Module> others = new ArrayList<>();
            for (int k = 1; k < s.fineTuneSeeds(); k++) others.add(Copies.of(m));
            for (int k = 0; k < s.fineTuneSeeds(); k++) {
                Module x = k == 0 ? m : others.get(k - 1);
                long seed = s.train().seed() + k;
                log.accept("fine-tuning the " + name + " model: " + epochs + " epoch" + (epochs == 1 ? "" : "s") + ", seed " + seed);
                tune(x, split.fit(), s.train().withSeed(seed), epochs);
                val.add(Training.accuracy(x, split.validation()));
                tst.add(Training.accuracy(x, test));
                log.accept(String.format(Locale.ROOT, "the %s model, fine-tuned (seed %d): validation %.2f%%, test %.2f%%", name, seed,
                        100 * val.get(k), 100 * tst.get(k)));
            }
        }
        return new BudgetReport.Row(name, new LinkedHashMap<>(widths), c.flops(), c.parameters(), ms, valPruned, testPruned, val, tst);
    }

    /** Fine-tunes for {@code epochs}: whole epochs over {@code fit}, then the fraction as one epoch over that share of it (a seeded draw). */
    static void tune(Module m, Dataset fit, Training.Options o, double epochs) {
        int whole = (int) Math.floor(epochs);
        if (whole > 0) Training.fineTune(m, fit, o.withEpochs(whole), null);
        int n = (int) Math.round((epochs - whole) * fit.size());
        if (n >= 1 && n < fit.size()) Training.fineTune(m, ValidationSplit.of(fit, n, o.seed() + whole).validation(), o.withEpochs(1), null);
        else if (n >= fit.size()) Training.fineTune(m, fit, o.withEpochs(1), null);
    }
}
