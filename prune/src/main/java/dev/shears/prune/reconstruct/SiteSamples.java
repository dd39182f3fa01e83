package dev.shears.prune.reconstruct;

import java.util.Random;

/**
 * The regression data of one {@link Site}: X, the consumer's inputs grouped by input channel, and Y, the
 * consumer's own output (before any BatchNorm or activation that follows it), at the same sampled rows.
 *
 * <p>Legend: M rows = images × T sampled output positions (T = 1 for a Linear), C input channels, B inputs
 * per channel (R·S taps for a conv, H·W features for a Linear after Flatten), K outputs. Both are stored
 * column by column (the layout {@link Gram} wants): X[col·M + row] with col = c·B + b, so channel c's block
 * is one contiguous run of B·M floats; Y[k·M + row].
 *
 * <p>For a conv, row (i, t) is output position pos[i·T + t] = p·Q + q of image i, and its X entries are the
 * im2col patch of that position: x[c, p·stride − pad + r, q·stride − pad + s], 0 where it falls in the padding.
 */
final class SiteSamples {
    final Site site;
    final int images, positionsWanted, channels, block;
    private final int kernel, stride, padding;       // the consumer conv's geometry (kernel 0: a Linear)
    private final long seed;
    int perImage, rows, outputs, outP, outQ;
    int[] positions;                                 // [images·T], p·Q + q; null for a Linear

    SiteSamples(Site site, int images, int positionsPerImage, int kernel, int stride, int padding, long seed) {
        this.site = site;
        this.images = images;
        this.positionsWanted = positionsPerImage;
        this.channels = site.channels();
        this.block = site.block();
        this.kernel = kernel;
        this.stride = stride;
        this.padding = padding;
        this.seed = seed;
    }

    boolean isConv() { return kernel > 0; }

    /** Distinct positions per image, drawn once (the first call fixes them for every later pass). */
    private void positions(int p, int q) {
        if (positions != null) {
            if (p != outP || q != outQ) throw new IllegalStateException(site.consumer() + ": output size changed from "
                    + outP + "×" + outQ + " to " + p + "×" + q + " between passes");
            return;
        }
        outP = p;
        outQ = q;
        perImage = Math.min(positionsWanted, p * q);
        rows = images * perImage;
        positions = new int[rows];
        Random r = new Random(seed * 1_000_003L + site.consumerIndex());
        int[] all = new int[p * q];
        for (int i = 0; i < images; i++) {
            for (int j = 0; j < all.length; j++) all[j] = j;
            for (int t = 0; t < perImage; t++) {
                int j = t + r.nextInt(all.length - t);
                int s = all[t]; all[t] = all[j]; all[j] = s;
                positions[i * perImage + t] = all[t];
            }
        }
    }

    private void linearRows() {
        perImage = 1;
        rows = images;
    }


    /** Copies a batch of the consumer's input [n, C, H, W] (conv) or [n, C·B] (Linear) into X. */
    void addInputs(float[] x, float[][] target, int[] shape, int first) {
        int n = shape[0];
        if (!isConv()) {
            linearRows();
            int f = shape[1];
            if (f != channels * block) throw new IllegalStateException(site.consumer() + ": expected " + channels * block + " input features, got " + f);
            float[] xs = ensure(target, f);
            for (int i = 0; i < n; i++) {
                int row = first + i;
                for (int j = 0; j < f; j++) xs[j * rows + row] = x[i * f + j];
            }
            return;
        }
        int c = shape[1], h = shape[2], w = shape[3];
        if (c != channels) throw new IllegalStateException(site.consumer() + ": expected " + channels + " input channels, got " + c);
        positions((h + 2 * padding - kernel) / stride + 1, (w + 2 * padding - kernel) / stride + 1);
        float[] xs = ensure(target, channels * block);
        for (int i = 0; i < n; i++)
            for (int t = 0; t < perImage; t++) {
                int row = (first + i) * perImage + t;
                int pos = positions[row], p = pos / outQ, q = pos % outQ;
                for (int ch = 0; ch < c; ch++) {
                    int plane = (i * c + ch) * h * w;
                    for (int r = 0; r < kernel; r++) {
                        int hh = p * stride - padding + r;
                        for (int s = 0; s < kernel; s++) {
                            int ww = q * stride - padding + s;
                            int col = ch * block + r * kernel + s;
                            xs[col * rows + row] = hh < 0 || hh >= h || ww < 0 || ww >= w ? 0f : x[plane + hh * w + ww];
                        }
                    }
                }
            }
    }

    /** Copies a batch of the consumer's output [n, K, P, Q] (conv) or [n, K] (Linear) into Y. */
    void addOutputs(float[] y, float[][] target, int[] shape, int first) {
        int n = shape[0], k = shape[1];
        outputs = k;
        if (!isConv()) {
            linearRows();
            float[] ys = ensure(target, k);
            for (int i = 0; i < n; i++) for (int j = 0; j < k; j++) ys[j * rows + first + i] = y[i * k + j];
            return;
        }
        int p = shape[2], q = shape[3];
        positions(p, q);
        float[] ys = ensure(target, k);
        for (int i = 0; i < n; i++)
            for (int t = 0; t < perImage; t++) {
                int row = (first + i) * perImage + t;
                for (int j = 0; j < k; j++) ys[j * rows + row] = y[((i * k + j) * p) * q + positions[row]];
            }
    }

    private float[] ensure(float[][] target, int cols) {
        if (target[0] == null) target[0] = new float[cols * rows];
        return target[0];
    }

    @Override
    public String toString() { return site.consumer() + ": " + rows + " rows × " + channels + "·" + block + " inputs, output " + outP + "×" + outQ; }
}
