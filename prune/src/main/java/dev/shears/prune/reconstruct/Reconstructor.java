package dev.shears.prune.reconstruct;

import dev.shears.nn.Conv2d;
import dev.shears.nn.Module;
import dev.shears.nn.Sequential;

import java.util.ArrayList;
import java.util.List;

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
        long start = System.nanoTime();
        List<Site> sites = Site.find(model);
        if (sites.isEmpty())
            throw new IllegalArgumentException("nothing to reconstruct: no Conv2d of this model feeds another Conv2d, or a Linear through Flatten:\n" + model.describe());
        model.eval();
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
        for (int i = 0; i < sites.size(); i++)
            reports.add(reconstructSite(model, sites.get(i), data.get(i), targets[i][0], i == 0, original, recon, naive, selection, ratio, ridge, samples, images));
        recon.restore(model);
        long baseline = reports.stream().mapToLong(LayerReport::baselineMs).sum();
        return new ReconstructionResult(model, selection, ratio, images.length, samples.positionsPerImage(), ridge,
                reports, original, naive, recon, targetMs, ms(start) - baseline);
    }

    private static LayerReport reconstructSite(Sequential model, Site site, SiteSamples d, float[] y, boolean first,
                                               Snapshot original, Snapshot recon, Snapshot naive, Selection selection,
                                               double ratio, double ridge, Samples samples, int[] images) {
        int layer = site.consumerIndex();
        // X from the network pruned so far
        long t = System.nanoTime();
        float[][] x = new float[1][];
        recon.restore(model);
        Activations.capture(model, samples.data(), images, new int[]{layer}, (l, v, shape, f) -> d.addInputs(v, x, shape, f));
        long sampleMs = ms(t);

        // the naive network's inputs: the same as X at the first site, where nothing upstream has changed yet
        t = System.nanoTime();
        float[][] xn = new float[1][];
        if (first) xn[0] = x[0].clone();
        else {
            naive.restore(model);
            Activations.capture(model, samples.data(), images, new int[]{layer}, (l, v, shape, f) -> d.addInputs(v, xn, shape, f));
        }
        long baselineMs = ms(t);

        int m = d.rows, c = d.channels, blk = d.block, k = d.outputs, f = c * blk;
        String wName = site.consumer() + ".weight", bName = site.consumer() + ".bias";
        float[] w = original.get(wName).data();
        boolean withBias = original.has(bName);
        float[] bias = withBias ? original.get(bName).data() : null;
        float[] yRaw = y;
        float[] xc = x[0], yc = y.clone();
        // centring lets the bias absorb every mean; a consumer without a bias must fit through the origin
        double[] xMean = withBias ? Regression.center(xc, m, f) : new double[f];
        double[] yMean = withBias ? Regression.center(yc, m, k) : new double[k];
        double yy = Regression.squaredNorm(yc, yMean, m);

        t = System.nanoTime();
        int keep = Math.max(1, (int) Math.round(c * (1 - ratio)));
        int[] kept = select(selection, site, original, xc, yc, m, c, blk, w, k, keep);
        long selectMs = ms(t);

        t = System.nanoTime();
        double naiveErr = Regression.slicedError(xn[0], yRaw, m, kept, blk, w, f, bias, k);
        baselineMs += ms(t);

        t = System.nanoTime();
        Regression.Fit fit = Regression.fit(xc, xMean, yc, yMean, m, kept, blk, k, ridge, withBias);
        long solveMs = ms(t);

        // the producer loses its filters, the norm its channels, in both pruned networks
        for (Snapshot s : List.of(recon, naive)) {
            sliceRows(s, site.producer() + ".weight", kept);
            if (s.has(site.producer() + ".bias")) sliceRows(s, site.producer() + ".bias", kept);
            if (site.norm() != null)
                for (String p : List.of("weight", "bias", "running_mean", "running_var")) sliceRows(s, site.norm() + "." + p, kept);
        }
        int[] wShape = original.get(wName).shape().clone();
        wShape[1] = wShape.length == 4 ? kept.length : kept.length * blk;
        recon.put(wName, fit.weight(), wShape);
        if (withBias) recon.put(bName, fit.bias(), k);
        naive.put(wName, sliceInputBlocks(w, k, f, kept, blk), wShape);

        double rel = Math.sqrt(Math.max(yy, 1e-300));
        return new LayerReport(site.producer(), site.consumer(), c, kept.length, kept, m, kept.length * blk,
                Math.sqrt(naiveErr) / rel, Math.sqrt(fit.squaredError()) / rel, fit.ridge(), fit.note(),
                sampleMs, selectMs, solveMs, baselineMs);
    }

    private static int[] select(Selection selection, Site site, Snapshot original, float[] xc, float[] yc,
                                int m, int c, int blk, float[] w, int k, int keep) {
        switch (selection) {
            case GAMMA -> {
                if (site.norm() == null)
                    throw new IllegalArgumentException("selection by γ needs a BatchNorm2d after " + site.producer() + "; use l1, lasso or greedy");
                float[] gamma = original.get(site.norm() + ".weight").data();
                double[] imp = new double[c];
                for (int i = 0; i < c; i++) imp[i] = Math.abs(gamma[i]);
                return ChannelSelection.topK(imp, keep);
            }
            case L1 -> {
                Snapshot.Entry pw = original.get(site.producer() + ".weight");
                int per = pw.data().length / c;
                double[] imp = new double[c];
                for (int i = 0; i < c; i++) for (int j = 0; j < per; j++) imp[i] += Math.abs(pw.data()[i * per + j]);
                return ChannelSelection.topK(imp, keep);
            }
            default -> {
                Regression.Contributions z = Regression.contributions(xc, yc, m, c, blk, w, k);
                return selection == Selection.LASSO ? ChannelSelection.lasso(z.gram(), z.g(), keep)
                        : ChannelSelection.greedy(z.gram(), z.g(), keep);
            }
        }
    }

    /** Keeps rows {@code kept} of the first dimension. */
    private static void sliceRows(Snapshot s, String name, int[] kept) {
        Snapshot.Entry e = s.get(name);
        int per = e.data().length / e.shape()[0];
        float[] out = new float[kept.length * per];
        for (int i = 0; i < kept.length; i++) System.arraycopy(e.data(), kept[i] * per, out, i * per, per);
        int[] shape = e.shape().clone();
        shape[0] = kept.length;
        s.put(name, out, shape);
    }

    /** [K, C·B] → [K, kept·B]: the consumer's weights from the kept channels, unchanged. */
    static float[] sliceInputBlocks(float[] w, int k, int f, int[] kept, int blk) {
        float[] out = new float[k * kept.length * blk];
        for (int o = 0; o < k; o++)
            for (int i = 0; i < kept.length; i++)
                System.arraycopy(w, o * f + kept[i] * blk, out, (o * kept.length + i) * blk, blk);
        return out;
    }

    private static long ms(long since) { return (System.nanoTime() - since) / 1_000_000; }
}
