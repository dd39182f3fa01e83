package dev.shears.prune.reconstruct;

import dev.shears.core.GradMode;
import dev.shears.core.Tensor;
import dev.shears.core.TensorScope;
import dev.shears.data.Dataset;
import dev.shears.nn.BatchNorm2d;
import dev.shears.nn.Conv2d;
import dev.shears.nn.Linear;
import dev.shears.nn.Module;
import dev.shears.nn.MultiInput;
import dev.shears.nn.io.Architecture;
import dev.shears.prune.ChannelGroup;
import dev.shears.prune.Consumer;
import dev.shears.prune.DependencyGraph;
import dev.shears.prune.Pruner;
import dev.shears.prune.PruningPlan;
import dev.shears.prune.Slicer;
import dev.shears.prune.Slices;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Least-squares reconstruction on any model the dependency analysis traces — a {@code Graph} with residual
 * adds and concatenations as well as a chain: the channels are chosen by a {@link Pruner}'s plan (e.g. L1 at a
 * global ratio), every group is sliced as {@code shears prune --method l1|slim} slices it (the naive
 * baseline), and then every consumer of a pruned group (the Conv2d or Linear that reads its channels) is
 * re-fitted, in forward order, so that its output matches the original network's.
 *
 * <p>Sequential reconstruction, as in He et al. 2017 and ThiNet: the consumer's inputs X come from the network
 * pruned and re-fitted so far, its targets Y from the original network — Y restricted to the consumer's own
 * kept output channels when it produces a pruned group itself (a residual branch's last conv keeps the
 * group's channels). Y is the consumer's own output, before the BatchNorm that follows it; the fitted
 * intercept goes into its bias, or into that BatchNorm's running mean (μ − b) when it has none.
 *
 * <p>What no re-fit can give back is said in the layer's note: a consumer that reads a residual group (the
 * removed channels are gone from every branch of the add and from the sum), a consumer with padding (the
 * leftover constant of a removed channel is zero on the border), and whatever the naive slicing noted.
 *
 * <pre>{@code
 * Graph model = (Graph) OnnxImporter.read(Path.of("resnet.onnx"));
 * ReconstructionResult r = GraphReconstructor.prune(model, new Pruner(Method.L1, Criterion.globalRatio(0.5)),
 *         Samples.of(train, 2000), 0);
 * System.out.println(r.toMarkdown(r.accuracy(test)));   // model is now the pruned, re-fitted network
 * }</pre>
 */
public final class GraphReconstructor {
    private GraphReconstructor() {}

    /**
     * Prunes {@code model} in place by {@code pruner}'s plan and re-fits every consumer of a pruned group.
     *
     * @param ridge relative ridge of the least squares (0 = none; a rank-deficient system raises it itself)
     */
    public static ReconstructionResult prune(Module model, Pruner pruner, Selection selection, double ratio,
                                             Samples samples, double ridge) {
        long start = System.nanoTime(), cpuStart = Reconstructor.cpuNanos();
        int[] inShape = {1, 1, samples.data().rows(), samples.data().cols()};
        model.eval();
        DependencyGraph graph = DependencyGraph.analyze(model, inShape);
        PruningPlan plan = pruner.plan(model, graph);
        for (ChannelGroup g : graph.groups())
            if (plan.keep().containsKey(g.name()) && !g.depthwise().isEmpty() && plan.keep().get(g.name()).length < g.channels())
                throw new IllegalArgumentException("reconstruction of a group with a depthwise conv (" + g.name() + " through "
                        + g.depthwise() + ") is not supported yet; use --method l1 or slim");

        List<Refit> refits = refits(graph, plan);
        if (refits.isEmpty()) throw new IllegalArgumentException("nothing to reconstruct: the plan removes no channel read by a Conv2d or Linear");
        Module original = copy(model), naive = copy(model);
        Snapshot originalState = Snapshot.of(model);
        Slicer.Result naiveSlice = Slicer.slice(naive, DependencyGraph.analyze(naive, inShape), plan.keep(), true);
        Slicer.slice(model, graph, plan.keep(), true);   // the re-fit starts from the naive slicing
        DependencyGraph after = DependencyGraph.analyze(model, inShape);
        int[] images = samples.pickImages();
        Map<String, SiteSamples> data = new LinkedHashMap<>();
        for (int i = 0; i < refits.size(); i++) {
            Refit f = refits.get(i);
            Module now = model.module(f.consumer);
            Site site = now instanceof Conv2d c
                    ? new Site(i, f.groups, null, i, f.consumer, c.inChannels(), c.kernel() * c.kernel())
                    : new Site(i, f.groups, null, i, f.consumer, ((Linear) now).inFeatures(), 1);
            data.put(f.consumer, now instanceof Conv2d c
                    ? new SiteSamples(site, images.length, samples.positionsPerImage(), c.kernel(), c.stride(), c.padding(), samples.seed())
                    : new SiteSamples(site, images.length, samples.positionsPerImage(), 0, 1, 0, samples.seed()));
        }

        // targets: one pass of the original network; the naive network's outputs at the same rows, for its error
        long t = System.nanoTime();
        Map<String, float[][]> targets = new HashMap<>(), naiveOut = new HashMap<>();
        for (Refit f : refits) { targets.put(f.consumer, new float[1][]); naiveOut.put(f.consumer, new float[1][]); }
        capture(original, graph, samples.data(), images, Set.of(), data.keySet(),
                (path, input, v, shape, first) -> data.get(path).addOutputs(v, targets.get(path), shape, first));
        long targetMs = ms(t);
        t = System.nanoTime();
        long baselineCpu = Reconstructor.cpuNanos();
        DependencyGraph naiveGraph = DependencyGraph.analyze(naive, inShape);
        capture(naive, naiveGraph, samples.data(), images, Set.of(), data.keySet(),
                (path, input, v, shape, first) -> data.get(path).addOutputs(v, naiveOut.get(path), shape, first));
        long baselineMs = ms(t);
        baselineCpu = Reconstructor.cpuNanos() - baselineCpu;

        List<LayerReport> reports = new ArrayList<>();
        for (Refit f : refits) {
            SiteSamples d = data.get(f.consumer);
            t = System.nanoTime();
            float[][] x = new float[1][];
            capture(model, after, samples.data(), images, Set.of(f.consumer), Set.of(),
                    (path, input, v, shape, first) -> d.addInputs(v, x, shape, first));
            long sampleMs = ms(t);
            t = System.nanoTime();
            reports.add(refit(model, after, original, naive, f, d, x[0], targets.get(f.consumer)[0], naiveOut.get(f.consumer)[0],
                    ridge, naiveSlice.notes(), sampleMs, f == refits.get(0) ? baselineMs : 0));
        }
        long cpuMs = (Reconstructor.cpuNanos() - cpuStart - baselineCpu) / 1_000_000;
        return new ReconstructionResult(model, selection, ratio, images.length, samples.positionsPerImage(), ridge, reports,
                originalState, Snapshot.of(naive), Snapshot.of(model), targetMs, ms(start) - baselineMs, cpuMs);
    }

    /** One consumer to re-fit: the groups it reads (their names), which of its inputs and outputs stay. */
    private record Refit(String consumer, String groups, int inputsBefore, int[] keptInputs, int[] keptOutputs, boolean residual) {}

    /** Every Conv2d or Linear that reads a pruned channel, in forward order, with its kept inputs and outputs. */
    private static List<Refit> refits(DependencyGraph graph, PruningPlan plan) {
        Map<String, Set<Integer>> removed = new LinkedHashMap<>();
        Map<String, Set<String>> readGroups = new HashMap<>();
        Map<String, Boolean> residual = new HashMap<>();
        for (ChannelGroup g : graph.groups()) {
            int[] keep = plan.keep().get(g.name());
            if (keep == null || keep.length == g.channels()) continue;
            int[] pruned = Slices.complement(keep, g.channels());
            for (Consumer c : g.consumers()) {
                Set<Integer> s = removed.computeIfAbsent(c.path(), p -> new TreeSet<>());
                for (int p : pruned) s.add(c.offset() + p);
                readGroups.computeIfAbsent(c.path(), p -> new LinkedHashSet<>()).add(g.label());
                residual.merge(c.path(), g.producers().size() > 1, Boolean::logicalOr);
            }
        }
        List<Refit> out = new ArrayList<>();
        for (String path : graph.layers().keySet()) {
            if (!removed.containsKey(path)) continue;
            Module m = graph.layers().get(path);
            int in = m instanceof Conv2d c ? c.inChannels() : ((Linear) m).inFeatures() / perChannel(graph, path);
            int outs = m.parameter("weight").dim(0);
            int[] keptOut = null;
            for (ChannelGroup g : graph.groups())
                if (g.producers().contains(path) && plan.keep().containsKey(g.name())) keptOut = plan.keep().get(g.name());
            if (keptOut == null) { keptOut = new int[outs]; Arrays.setAll(keptOut, i -> i); }
            out.add(new Refit(path, String.join(", ", readGroups.get(path)), in,
                    Slices.complement(removed.get(path).stream().mapToInt(Integer::intValue).toArray(), in), keptOut, residual.get(path)));
        }
        return out;
    }

    private static int perChannel(DependencyGraph graph, String path) {
        for (ChannelGroup g : graph.groups())
            for (Consumer c : g.consumers()) if (c.path().equals(path)) return c.featuresPerChannel();
        return 1;
    }

    private static LayerReport refit(Module model, DependencyGraph graph, Module original, Module naive, Refit f, SiteSamples d,
                                     float[] x, float[] yAll, float[] yNaive, double ridge, List<String> sliceNotes,
                                     long sampleMs, long baselineMs) {
        int m = d.rows, cols = d.channels * d.block, k = f.keptOutputs.length;
        // Y: the original consumer's kept outputs (column-major, one run of M rows per output)
        float[] y = new float[k * m];
        for (int o = 0; o < k; o++) System.arraycopy(yAll, f.keptOutputs[o] * m, y, o * m, m);
        Module consumer = model.module(f.consumer);
        BatchNorm2d norm = consumer.hasParameter("bias") ? null : normAfter(model, graph, f.consumer);
        boolean intercept = consumer.hasParameter("bias") || norm != null;
        float[] yc = y.clone();
        double[] xMean = intercept ? Regression.center(x, m, cols) : new double[cols];
        double[] yMean = intercept ? Regression.center(yc, m, k) : new double[k];
        double yy = Regression.squaredNorm(yc, yMean, m);

        long t = System.nanoTime();
        int[] all = new int[d.channels];
        Arrays.setAll(all, i -> i);
        Regression.Fit fit = Regression.fit(x, xMean, yc, yMean, m, all, d.block, k, ridge, intercept);
        consumer.setParameter("weight", Tensor.of(fit.weight(), consumer.parameter("weight").shape()));
        float[] naiveShift = new float[k];   // what the naive slicing moved into the BatchNorm's mean acts as a bias
        if (consumer.hasParameter("bias")) {
            consumer.setParameter("bias", Tensor.of(fit.bias(), k));
        } else if (norm != null) {
            String bnPath = graph.readersOf(f.consumer).get(0);
            float[] before = original.module(bnPath).buffer("running_mean").toArray();
            float[] sliced = naive.module(bnPath).buffer("running_mean").toArray();
            float[] mean = new float[k];
            for (int o = 0; o < k; o++) {
                mean[o] = before[f.keptOutputs[o]] - fit.bias()[o];
                naiveShift[o] = before[f.keptOutputs[o]] - sliced[o];
            }
            norm.setParameter("running_mean", Tensor.of(mean, k));
        }
        long solveMs = ms(t);

        double naiveErr = 0;
        for (int o = 0; o < k; o++)
            for (int r = 0; r < m; r++) {
                double e = y[o * m + r] - (yNaive[o * m + r] + naiveShift[o]);
                naiveErr += e * e;
            }
        List<String> notes = new ArrayList<>();
        if (!fit.note().isEmpty()) notes.add(fit.note());
        if (f.residual) notes.add("reads a residual group, whose removed channels are gone from every branch of the add");
        if (consumer instanceof Conv2d c && c.padding() > 0)
            notes.add("padding " + c.padding() + ": a removed channel's constant is absorbed in the interior only");
        for (String n : sliceNotes)   // what the naive slicing said about this layer, but for padding (said above)
            if (n.startsWith(f.consumer + " ") && !n.startsWith(f.consumer + " has padding")) notes.add("naive slicing: " + n);
        double rel = Math.sqrt(Math.max(yy, 1e-300));
        return new LayerReport(f.groups, f.consumer, f.inputsBefore, f.keptInputs.length, f.keptInputs, m, cols,
                Math.sqrt(naiveErr) / rel, Math.sqrt(fit.squaredError()) / rel, fit.ridge(), String.join("; ", notes),
                sampleMs, 0, solveMs, baselineMs);
    }

    /** The BatchNorm2d that alone reads {@code path}, if there is one. */
    private static BatchNorm2d normAfter(Module model, DependencyGraph graph, String path) {
        List<String> readers = graph.readersOf(path);
        return readers.size() == 1 && model.module(readers.get(0)) instanceof BatchNorm2d bn ? bn : null;
    }

    /** An independent copy of {@code model}: the same layers and wiring (its architecture), its state copied. */
    static Module copy(Module model) {
        Module c = Architecture.fromJson(Architecture.toJson(model));
        Snapshot.of(model).restore(c);
        c.train(model.isTraining());
        return c;
    }

    /** Receives the input ({@code input} true) or the output of layer {@code path} for images[first ..]. */
    interface Sink { void accept(String path, boolean input, float[] values, int[] shape, int first); }

    /**
     * Feeds {@code images} of {@code data} through {@code model} (evaluation mode, no graph) layer by layer along
     * {@code graph}'s wiring and hands the inputs of the layers in {@code inputsOf} and the outputs of those in
     * {@code outputsOf} to {@code sink}; layers after the last one wanted do not run.
     */
    static void capture(Module model, DependencyGraph graph, Dataset data, int[] images, Set<String> inputsOf,
                        Set<String> outputsOf, Sink sink) {
        List<String> order = List.copyOf(graph.layers().keySet());
        int last = 0;
        for (int i = 0; i < order.size(); i++) if (inputsOf.contains(order.get(i)) || outputsOf.contains(order.get(i))) last = i;
        int pixels = data.imageSize();
        model.eval();
        for (int first = 0; first < images.length; first += Activations.BATCH) {
            int n = Math.min(Activations.BATCH, images.length - first);
            float[] xs = new float[n * pixels];
            for (int i = 0; i < n; i++) System.arraycopy(data.images(), images[first + i] * pixels, xs, i * pixels, pixels);
            try (GradMode g = GradMode.off(); TensorScope s = TensorScope.open()) {
                Map<String, Tensor> values = new HashMap<>();
                values.put(dev.shears.nn.Graph.INPUT, Tensor.of(xs, n, 1, data.rows(), data.cols()));
                for (int i = 0; i <= last; i++) {
                    String path = order.get(i);
                    List<Tensor> args = graph.inputsOf(path).stream().map(values::get).toList();
                    if (inputsOf.contains(path)) sink.accept(path, true, args.get(0).toArray(), args.get(0).shape(), first);
                    Module mod = model.module(path);
                    Tensor y = mod instanceof MultiInput multi ? multi.forward(args) : mod.forward(args.get(0));
                    if (outputsOf.contains(path)) sink.accept(path, false, y.toArray(), y.shape(), first);
                    values.put(path, y);
                }
            }
        }
    }

    private static long ms(long since) { return (System.nanoTime() - since) / 1_000_000; }
}
