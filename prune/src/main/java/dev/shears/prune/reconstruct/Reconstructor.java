package dev.shears.prune.reconstruct;

import dev.shears.core.Tensor;
import dev.shears.nn.BatchNorm2d;
import dev.shears.nn.Conv2d;
import dev.shears.nn.Module;
import dev.shears.nn.Sequential;
import dev.shears.prune.DependencyGraph;
import dev.shears.prune.Importance;
import dev.shears.prune.Slicer;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Channel pruning with feature-map reconstruction (He et al. 2017, "Channel Pruning for Accelerating Very
 * Deep Neural Networks"; Luo et al. 2017, ThiNet): remove a share of every conv layer's output channels, then
 * re-fit the next layer's weights by least squares so that its output stays close to the original
 * network's, with no gradient step.
 *
 * <p>Site by site, in network order, as in the paper: the consumer's inputs X come from the network pruned
 * so far (so each fit also repairs the error left by the sites before it); its targets Y come from the
 * original network. Y is the consumer's <em>own</em> output — conv2's before bn2, fc1's before its ReLU. In
 * evaluation mode a following BatchNorm is a per-channel affine map, so the least-squares weights of each
 * output channel are the same before or after it; fitting before keeps the problem linear and independent
 * of what follows, and only the error's weighting across channels (which LASSO and greedy selection see)
 * would change.
 *
 * <pre>{@code
 * Sequential model = ...;                        // trained, e.g. SimpleCNN
 * ReconstructionResult r = Reconstructor.prune(model, 0.5, Selection.LASSO, Samples.of(train, 5000));
 * System.out.println(r.toMarkdown(r.accuracy(test)));   // model is now the pruned, re-fitted network
 * }</pre>
 */
public final class Reconstructor {
    private Reconstructor() {}

    /** {@link #prune(Sequential, double, Selection, Samples, double)} with plain least squares (ridge 0). */
    public static ReconstructionResult prune(Sequential model, double ratio, Selection selection, Samples samples) {
        return prune(model, ratio, selection, samples, 0);
    }

    /**
     * Prunes {@code ratio} of the output channels of every conv layer that feeds another conv or a Linear,
     * re-fitting each consumer. {@code model} is changed in place (it becomes the reconstructed network, in
     * evaluation mode); the result keeps the original and the naively sliced states for comparison.
     *
     * @param ratio share of channels removed per layer, in [0, 1); at least one channel always stays
     * @param ridge relative ridge of the least squares (0 = none; a rank-deficient system raises it itself)
     */
    public static ReconstructionResult prune(Sequential model, double ratio, Selection selection, Samples samples, double ridge) {
        if (!(ratio >= 0 && ratio < 1)) throw new IllegalArgumentException("ratio must be in [0, 1), got " + ratio);
        return prune(model, site -> ratio, ratio, selection, samples, ridge);
    }

    /**
     * As {@link #prune(Sequential, double, Selection, Samples, double)}, but each site's producer keeps
     * {@code widths.get(producer)} channels (a budget search's widths; a producer not named keeps all, and is
     * re-fitted all the same). The result's ratio is the share of the sites' channels removed.
     */
    public static ReconstructionResult prune(Sequential model, Map<String, Integer> widths, Selection selection, Samples samples, double ridge) {
        List<Site> sites = Site.find(model, DependencyGraph.analyze(model, 1, 1, samples.data().rows(), samples.data().cols()));
        int all = 0, kept = 0;
        for (Site s : sites) {
            int w = widths.getOrDefault(s.producer(), s.channels());
            if (w < 1 || w > s.channels())
                throw new IllegalArgumentException(s.producer() + " has " + s.channels() + " channels; cannot keep " + w);
            all += s.channels();
            kept += w;
        }
        return prune(model, site -> 1 - (double) widths.getOrDefault(site.producer(), site.channels()) / site.channels(),
                all == 0 ? 0 : 1 - (double) kept / all, selection, samples, ridge);
    }

    private static ReconstructionResult prune(Sequential model, java.util.function.ToDoubleFunction<Site> ratioOf, double ratio,
                                              Selection selection, Samples samples, double ridge) {
        long start = System.nanoTime(), cpuStart = cpuNanos();
        int[] inShape = {1, 1, samples.data().rows(), samples.data().cols()};
        DependencyGraph graph = DependencyGraph.analyze(model, inShape);
        List<Site> sites = Site.find(model, graph);
        if (sites.isEmpty())
            throw new IllegalArgumentException("nothing to reconstruct: no Conv2d of this model feeds another Conv2d, or a Linear through Flatten:\n" + model.describe());
        model.eval();
        // importances are those of the original network (reconstruction changes neither γ nor a producer's own filters' ranking)
        Map<String, float[]> importance = new HashMap<>();
        for (Site s : sites) {
            if (selection == Selection.GAMMA) {
                if (s.norm() == null)
                    throw new IllegalArgumentException("selection by γ needs a BatchNorm2d after " + s.producer() + "; use l1, lasso or greedy");
                importance.put(s.producer(), Importance.bnScale(model, graph.group(s.producer())));
            } else if (selection == Selection.L1) {
                importance.put(s.producer(), Importance.filterL1(model, graph.group(s.producer()), false));
            }
        }
        Snapshot original = Snapshot.of(model), recon = original.copy(), naive = original.copy();
        int[] images = samples.pickImages();

        List<SiteSamples> data = new ArrayList<>();
        for (Site s : sites) {
            Module consumer = model.layers().get(s.consumerIndex());
            data.add(consumer instanceof Conv2d c
                    ? new SiteSamples(s, images.length, samples.positionsPerImage(), c.kernel(), c.stride(), c.padding(), samples.seed())
                    : new SiteSamples(s, images.length, samples.positionsPerImage(), 0, 1, 0, samples.seed()));
        }

        // targets: one pass of the original network, every consumer's output at once
        long t = System.nanoTime();
        float[][][] targets = new float[sites.size()][1][];
        Activations.capture(model, samples.data(), images, sites.stream().mapToInt(s -> s.consumerIndex() + 1).toArray(),
                (layer, v, shape, first) -> {
                    for (int i = 0; i < sites.size(); i++)
                        if (sites.get(i).consumerIndex() + 1 == layer) data.get(i).addOutputs(v, targets[i], shape, first);
                });
        long targetMs = ms(t);

        List<LayerReport> reports = new ArrayList<>();
        long[] baselineCpuMs = {0};   // CPU time of the baseline's steps, kept out of reconstruction's
        for (int i = 0; i < sites.size(); i++)
            reports.add(reconstructSite(model, inShape, sites.get(i), data.get(i), targets[i][0], i == 0, original, recon, naive,
                    selection, importance.get(sites.get(i).producer()), ratioOf.applyAsDouble(sites.get(i)), ridge, samples, images, baselineCpuMs));
        recon.restore(model);
        long baseline = reports.stream().mapToLong(LayerReport::baselineMs).sum();
        long cpuMs = (cpuNanos() - cpuStart) / 1_000_000 - baselineCpuMs[0];
        return new ReconstructionResult(model, selection, ratio, images.length, samples.positionsPerImage(), ridge,
                reports, original, naive, recon, targetMs, ms(start) - baseline, cpuMs);
    }

    private static LayerReport reconstructSite(Sequential model, int[] inShape, Site site, SiteSamples d, float[] y, boolean first,
                                               Snapshot original, Snapshot recon, Snapshot naive, Selection selection,
                                               float[] importance, double ratio, double ridge, Samples samples, int[] images,
                                               long[] baselineCpuMs) {
        int layer = site.consumerIndex();
        // X from the network pruned so far
        long t = System.nanoTime();
        float[][] x = new float[1][];
        recon.restore(model);
        Activations.capture(model, samples.data(), images, new int[]{layer}, (l, v, shape, f) -> d.addInputs(v, x, shape, f));
        long sampleMs = ms(t);

        // the naive network's inputs: the same as X at the first site, where nothing upstream has changed yet
        t = System.nanoTime();
        long cpu = cpuNanos();
        float[][] xn = new float[1][];
        if (first) xn[0] = x[0].clone();
        else {
            naive.restore(model);
            Activations.capture(model, samples.data(), images, new int[]{layer}, (l, v, shape, f) -> d.addInputs(v, xn, shape, f));
        }
        long baselineMs = ms(t);
        baselineCpuMs[0] += (cpuNanos() - cpu) / 1_000_000;

        int m = d.rows, c = d.channels, blk = d.block, k = d.outputs, f = c * blk;
        String wName = site.consumer() + ".weight", bName = site.consumer() + ".bias";
        float[] w = original.get(wName).data();
        boolean withBias = original.has(bName);
        // a consumer without a bias followed by a BatchNorm (conv → BN, bias=false) still gets an intercept: BN in
        // evaluation computes γ·(y − μ)/σ + β, so y + b is y with μ − b as running mean; otherwise no intercept
        List<String> names = model.names();
        String foldNorm = !withBias && layer + 1 < names.size() && model.layers().get(layer + 1) instanceof BatchNorm2d
                ? names.get(layer + 1) : null;
        boolean intercept = withBias || foldNorm != null;
        float[] yRaw = y;
        float[] xc = x[0], yc = y.clone();
        // centring lets the intercept absorb every mean; without one the fit must go through the origin
        double[] xMean = intercept ? Regression.center(xc, m, f) : new double[f];
        double[] yMean = intercept ? Regression.center(yc, m, k) : new double[k];
        double yy = Regression.squaredNorm(yc, yMean, m);

        t = System.nanoTime();
        int keep = Math.max(1, (int) Math.round(c * (1 - ratio)));
        int[] kept = importance != null ? ChannelSelection.topK(toDouble(importance), keep)
                : select(selection, xc, yc, m, c, blk, w, k, keep);
        long selectMs = ms(t);

        t = System.nanoTime();
        Regression.Fit fit = Regression.fit(xc, xMean, yc, yMean, m, kept, blk, k, ridge, intercept);
        // the producer loses its filters, the norm its channels, the consumer its input blocks — Shears'
        // structural slicing, without folding the leftover constants: the re-fitted bias absorbs them
        recon.restore(model);
        Slicer.slice(model, DependencyGraph.analyze(model, inShape), Map.of(site.producer(), kept), false);
        Module consumer = model.layers().get(layer);
        consumer.setParameter("weight", Tensor.of(fit.weight(), consumer.parameter("weight").shape()));
        if (withBias) consumer.setParameter("bias", Tensor.of(fit.bias(), k));
        else if (foldNorm != null) {
            Module bn = model.module(foldNorm);
            float[] mean = bn.buffer("running_mean").toArray();
            for (int o = 0; o < k; o++) mean[o] -= fit.bias()[o];
            bn.setParameter("running_mean", Tensor.of(mean, k));
        }
        recon.update(model);
        long solveMs = ms(t);

        // the baseline: the same channels sliced the way `shears prune --method l1|slim` does it (constants folded)
        t = System.nanoTime();
        cpu = cpuNanos();
        naive.restore(model);
        // (folding would add a bias to a consumer that has none and no BatchNorm after it: a parameter the
        // other states lack, so it is left out there — as --no-fold does)
        Slicer.Result sliced = Slicer.slice(model, DependencyGraph.analyze(model, inShape), Map.of(site.producer(), kept), intercept);
        naive.update(model);
        float[] naiveBias = naive.has(bName) ? naive.get(bName).data() : null;
        if (foldNorm != null) {   // what the slicer folded into the BatchNorm's mean acts as a bias of the consumer
            float[] before = original.get(foldNorm + ".running_mean").data(), after = naive.get(foldNorm + ".running_mean").data();
            naiveBias = new float[k];
            for (int o = 0; o < k; o++) naiveBias[o] = before[o] - after[o];
        }
        double naiveErr = Regression.slicedError(xn[0], yRaw, m, kept, blk, naive.get(wName).data(), naiveBias, k);
        baselineMs += ms(t);
        baselineCpuMs[0] += (cpuNanos() - cpu) / 1_000_000;

        String note = fit.note();
        for (String n : sliced.notes()) note += (note.isEmpty() ? "" : "; ") + "naive slicing: " + n;
        double rel = Math.sqrt(Math.max(yy, 1e-300));
        return new LayerReport(site.producer(), site.consumer(), c, kept.length, kept, m, kept.length * blk,
                Math.sqrt(naiveErr) / rel, Math.sqrt(fit.squaredError()) / rel, fit.ridge(), note,
                sampleMs, selectMs, solveMs, baselineMs);
    }

    private static double[] toDouble(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) d[i] = v[i];
        return d;
    }

    /**
     * LASSO and greedy selection look at no more than this many rows, evenly spread: they only rank channels,
     * which settles long before the fit's accuracy does (conv2 has 50,000 rows at the defaults).
     */
    static final int SELECTION_ROWS = 16_384;

    private static int[] select(Selection selection, float[] xc, float[] yc, int m, int c, int blk, float[] w, int k, int keep) {
        if (m > SELECTION_ROWS) {
            int ms = SELECTION_ROWS;
            xc = Regression.rows(xc, m, c * blk, ms);
            yc = Regression.rows(yc, m, k, ms);
            m = ms;
        }
        Regression.Contributions z = Regression.contributions(xc, yc, m, c, blk, w, k);
        return selection == Selection.LASSO ? ChannelSelection.lasso(z.gram(), z.g(), keep)
                : ChannelSelection.greedy(z.gram(), z.g(), keep);
    }

    private static long ms(long since) { return (System.nanoTime() - since) / 1_000_000; }

    /**
     * CPU time of the whole process (all threads), to report beside wall time: on a shared machine the wall
     * clock also counts the time other processes held the cores.
     */
    static long cpuNanos() {
        return ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os
                ? os.getProcessCpuTime() : 0;
    }
}
