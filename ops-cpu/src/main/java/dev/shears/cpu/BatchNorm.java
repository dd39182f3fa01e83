package dev.shears.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Batch normalisation over [N,C,H,W], per channel. Legend: N batch, C channels, HW = H·W (one contiguous
 * plane), M = N·HW values per channel.
 *
 * <p>Forward (training) caches mean and invStd = 1/√(var+eps), which is all backward needs besides x.
 * y = γ·(x−mean)·invStd + β is applied as y = (x−mean)·a + β with a = γ·invStd.
 * Backward: dβ = Σdy, dγ = Σ dy·x̂, and in training dx = γ·invStd/M · (M·dy − Σdy − x̂·Σ(dy·x̂)), applied as
 * dx = k1·dy + k2·(x−mean) + k3; in evaluation dx = γ·invStd·dy.
 *
 * <p>With {@code relu}, forward writes y = max(BN(x), 0) and backward takes dz = dy·[y &gt; 0] in place of dy
 * (read as it goes, never stored): the ReLU that follows batch norm in a CNN then costs no pass of its own.
 *
 * <p>Channels are independent, so they are split across threads. Each pass over memory runs in memory order,
 * image by image over the chunk's channels (one contiguous run of its planes per image), with per-channel sums
 * kept aside: the channel-by-channel order jumped N·C·HW/C floats between runs of HW floats (784 bytes for
 * SimpleCNN's second block), which the hardware prefetcher does not follow. Measured, SimpleCNN at batch 64,
 * one thread, CPU time, the old and new code alternated in one JVM: BN-ReLU forward c=32 (28×28) 0.87–1.34 →
 * 0.48–0.54 ms, c=64 (14×14) 0.40–0.70 → 0.31; backward 1.92–2.16 → 1.34–1.82, c=64 1.46–1.60 → 0.53–0.64.
 * Sums are taken in float vectors per plane and added up in double, over the images in order, per channel.
 */
final class BatchNorm {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();

    private BatchNorm() {}

    static void forward(Parallel par, boolean simd, int n, int c, int hw, boolean training, boolean relu,
                        float momentum, float eps, float[] x, float[] gamma, float[] beta, float[] rm, float[] rv, float[] y, float[] mean, float[] invStd) {
        if (!par.splits(0, c, grain(n, hw))) {   // no body object to make (a compiled predictor's call allocates nothing)
            forwardChannels(simd, n, c, hw, training, relu, momentum, eps, x, gamma, beta, rm, rv, y, mean, invStd, null, 0, c);
            return;
        }
        forward(par, simd, n, c, hw, training, relu, momentum, eps, x, gamma, beta, rm, rv, y, mean, invStd, null);
    }

    /** A max-pool of the BN-ReLU's output y: its shape, its output and arg-max ({@link Pool#forward}'s). */
    record Pooling(dev.shears.core.Pool2dShape shape, float[] out, int[] argmax) {}

    /**
     * {@link #forward} with ReLU, and with {@code pool} each plane of y pooled right after it is written, while it is
     * still in L1, rather than read back by a pass of its own: the same y, pooled output and arg-max as the two
     * calls, bit for bit.
     */
    static void forward(Parallel par, boolean simd, int n, int c, int hw, boolean training, boolean relu, float momentum,
                        float eps, float[] x, float[] gamma, float[] beta, float[] rm, float[] rv, float[] y, float[] mean,
                        float[] invStd, Pooling pool) {
        par.parallelFor(0, c, grain(n, hw), (lo, hi) ->
                forwardChannels(simd, n, c, hw, training, relu, momentum, eps, x, gamma, beta, rm, rv, y, mean, invStd, pool, lo, hi));
    }

    /**
     * forward's loop over channels [lo, hi), each pass in memory order: image by image, the chunk's channel
     * planes one after the other (one contiguous run per image). Per channel the sums still run over the
     * images in order, so the result is the channel-by-channel loop's, bit for bit.
     */
    private static void forwardChannels(boolean simd, int n, int c, int hw, boolean training, boolean relu, float momentum,
                                        float eps, float[] x, float[] gamma, float[] beta, float[] rm, float[] rv, float[] y,
                                        float[] mean, float[] invStd, Pooling pool, int lo, int hi) {
        long count = (long) n * hw;
        // training: the batch's 1/√(var + eps), kept in double for the scale γ·invStd; in evaluation it comes from
        // the running variance, recomputed per plane (no array: a compiled predictor's call allocates nothing)
        double[] is = training ? new double[hi - lo] : null;
        if (training) {
            double[] mu = new double[hi - lo], sq = new double[hi - lo];   // kept in double, as the running stats take them
            // one image per call, in methods of their own: a loop over the whole batch in this method, run a few
            // times per step, made C2 compile it on stack (OSR) and then whole again (see Winograd.forwardProducts)
            for (int i = 0; i < n; i++) addSums(simd, x, i * c * hw, hw, lo, hi, mu);
            for (int ch = lo; ch < hi; ch++) mu[ch - lo] /= count;
            for (int i = 0; i < n; i++) addSquaredDeviations(simd, x, i * c * hw, hw, lo, hi, mu, sq);
            for (int ch = lo; ch < hi; ch++) {
                double m = mu[ch - lo], var = sq[ch - lo] / count;
                // PyTorch keeps the unbiased variance in its running estimate
                double unbiased = count > 1 ? sq[ch - lo] / (count - 1) : var;
                rm[ch] = (float) ((1 - momentum) * rm[ch] + momentum * m);
                rv[ch] = (float) ((1 - momentum) * rv[ch] + momentum * unbiased);
                is[ch - lo] = 1.0 / Math.sqrt(var + eps);
                mean[ch] = (float) m;
                invStd[ch] = (float) is[ch - lo];
            }
        } else
            for (int ch = lo; ch < hi; ch++) {
                mean[ch] = rm[ch];
                invStd[ch] = (float) (1.0 / Math.sqrt((double) rv[ch] + eps));
            }
        for (int i = 0; i < n; i++) applyImage(simd, i, c, hw, relu, eps, x, gamma, beta, rv, y, mean, is, pool, lo, hi);
    }

    /** mu[ch − lo] += Σ x over channel ch's plane of the image at {@code image} (its first float), for ch in [lo, hi). */
    private static void addSums(boolean simd, float[] x, int image, int hw, int lo, int hi, double[] mu) {
        for (int ch = lo; ch < hi; ch++) mu[ch - lo] += Reduce.sum(simd, x, image + ch * hw, hw);
    }

    /** sq[ch − lo] += Σ (x − mu[ch − lo])² over channel ch's plane of one image, as {@link #addSums}. */
    private static void addSquaredDeviations(boolean simd, float[] x, int image, int hw, int lo, int hi, double[] mu, double[] sq) {
        for (int ch = lo; ch < hi; ch++) sq[ch - lo] += sumSquaredDeviation(simd, x, image + ch * hw, hw, (float) mu[ch - lo]);
    }

    /**
     * y (and the pooled output) of image i's planes of channels [lo, hi); {@code is}: the batch's 1/√(var + eps)
     * in training, null in evaluation (then from the running variance).
     */
    private static void applyImage(boolean simd, int i, int c, int hw, boolean relu, float eps, float[] x, float[] gamma,
                                   float[] beta, float[] rv, float[] y, float[] mean, double[] is, Pooling pool, int lo, int hi) {
        for (int ch = lo; ch < hi; ch++) {
            double isCh = is != null ? is[ch - lo] : 1.0 / Math.sqrt((double) rv[ch] + eps);
            // (x − mean)·a + β rather than x·a + b with b = β − mean·a: no cancellation when |mean| ≫ std
            float a = (float) (gamma[ch] * isCh), b = beta[ch], m = mean[ch];
            int off = (i * c + ch) * hw;
            if (relu) applyRelu(simd, x, y, off, hw, m, a, b);
            else apply(simd, x, y, off, hw, m, a, b);
            if (pool != null) Pool.forwardPlanes(simd, pool.shape(), y, pool.out(), pool.argmax(), i * c + ch, i * c + ch + 1);
        }
    }

    /** y = (x − m)·a + b over [off .. off+len). */
    private static void apply(boolean simd, float[] x, float[] y, int off, int len, float m, float a, float b) {
        int j = 0;
        if (simd)
            for (int bound = S.loopBound(len); j < bound; j += L)
                FloatVector.fromArray(S, x, off + j).sub(m).fma(a, b).intoArray(y, off + j);
        for (; j < len; j++) y[off + j] = (x[off + j] - m) * a + b;
    }

    /** y = max((x − m)·a + b, 0) over [off .. off+len), the max as {@link Pointwise}'s RELU takes it. */
    private static void applyRelu(boolean simd, float[] x, float[] y, int off, int len, float m, float a, float b) {
        int j = 0;
        if (simd) {
            FloatVector zero = FloatVector.zero(S);
            for (int bound = S.loopBound(len); j < bound; j += L)
                FloatVector.fromArray(S, x, off + j).sub(m).fma(a, b).max(zero).intoArray(y, off + j);
        }
        for (; j < len; j++) y[off + j] = Math.max((x[off + j] - m) * a + b, 0f);
    }

    /**
     * Gradients; with {@code y} (the fused forward's output, else null) the incoming dy is first multiplied by
     * the ReLU's mask [y &gt; 0].
     */
    static void backward(Parallel par, boolean simd, int n, int c, int hw, boolean training, float[] x, float[] y,
                         float[] dy, float[] gamma, float[] mean, float[] invStd, float[] dx, float[] dgamma, float[] dbeta) {
        backward(par, simd, n, c, hw, training, x, y, dy, null, gamma, mean, invStd, dx, dgamma, dbeta);
    }

    /**
     * The gradient of a max-pool over the BN-ReLU's output y, before it is routed back: per plane of
     * {@code outPlane} outputs, dy and the pool's arg-max (the index within the input plane).
     */
    record Pooled(int outPlane, float[] dy, int[] argmax) {}

    /**
     * {@link #backward} of the BN-ReLU whose output y was max-pooled: dy is {@code pooled}'s gradient routed to the
     * arg-max positions ({@link Pool#routePlane}), one plane at a time into a buffer that stays in L1, once per pass,
     * instead of a full-size dy written by the pool's backward and read by both passes. The same values as
     * {@link Pool#backward} then {@link #backward}, bit for bit. SimpleCNN at batch 64: dy is 6.4 MB after conv1.
     */
    static void backward(Parallel par, boolean simd, int n, int c, int hw, boolean training, float[] x, float[] y,
                         Pooled pooled, float[] gamma, float[] mean, float[] invStd, float[] dx, float[] dgamma, float[] dbeta) {
        backward(par, simd, n, c, hw, training, x, y, null, pooled, gamma, mean, invStd, dx, dgamma, dbeta);
    }

    /** dy as given, or (dy null) {@code pooled} routed plane by plane into a buffer. */
    private static void backward(Parallel par, boolean simd, int n, int c, int hw, boolean training, float[] x, float[] y,
                                 float[] dy, Pooled pooled, float[] gamma, float[] mean, float[] invStd, float[] dx,
                                 float[] dgamma, float[] dbeta) {
        long count = (long) n * hw;
        par.parallelFor(0, c, grain(n, hw), (lo, hi) -> {
            // both passes in memory order, image by image over the chunk's channels (see forwardChannels)
            double[] sums = y != null ? new double[2] : null;   // one plane's Σdz, Σdz·(x − mean)
            double[] sumDy = new double[hi - lo], sumDyXc = new double[hi - lo];   // Σdy and Σ dy·(x − mean)
            float[] routed = pooled != null ? new float[hw] : null;
            // image by image in methods of their own, as forwardChannels' passes (the same reason)
            for (int i = 0; i < n; i++) addGradientSums(simd, i, c, hw, x, y, dy, pooled, routed, mean, sums, sumDy, sumDyXc, lo, hi);
            float[] k = new float[3 * (hi - lo)];   // per channel: k1, k2, k3
            for (int ch = lo; ch < hi; ch++) {
                double is = invStd[ch], sumDyXhat = sumDyXc[ch - lo] * is;
                dbeta[ch] = (float) sumDy[ch - lo];
                dgamma[ch] = (float) sumDyXhat;
                double g = gamma[ch] * is;
                k[3 * (ch - lo)] = (float) g;
                k[3 * (ch - lo) + 1] = training ? (float) (-g / count * sumDyXhat * is) : 0f;
                k[3 * (ch - lo) + 2] = training ? (float) (-g / count * sumDy[ch - lo]) : 0f;
            }
            for (int i = 0; i < n; i++) dxImage(simd, i, c, hw, x, y, dy, pooled, routed, mean, k, dx, lo, hi);
        });
    }

    /**
     * Adds Σdz and Σdz·(x − mean) over image i's planes of channels [lo, hi) to sumDy and sumDyXc, dz = dy (y null)
     * or dy·[y &gt; 0] with dy as given or (dy null) routed from {@code pooled} into {@code routed}.
     */
    private static void addGradientSums(boolean simd, int i, int c, int hw, float[] x, float[] y, float[] dy, Pooled pooled,
                                        float[] routed, float[] mean, double[] sums, double[] sumDy, double[] sumDyXc, int lo, int hi) {
        for (int ch = lo; ch < hi; ch++) {
            int off = (i * c + ch) * hw;
            if (y != null) {
                if (routed != null) route(pooled, i * c + ch, routed, hw);
                maskedSums(simd, routed != null ? routed : dy, routed != null ? 0 : off, y, x, off, hw, mean[ch], sums);
                sumDy[ch - lo] += sums[0];
                sumDyXc[ch - lo] += sums[1];
            } else {
                sumDy[ch - lo] += Reduce.sum(simd, dy, off, hw);
                sumDyXc[ch - lo] += dotCentered(simd, dy, x, off, hw, mean[ch]);
            }
        }
    }

    /** dx of image i's planes of channels [lo, hi), with k1, k2, k3 per channel in k (dz as {@link #addGradientSums}). */
    private static void dxImage(boolean simd, int i, int c, int hw, float[] x, float[] y, float[] dy, Pooled pooled,
                                float[] routed, float[] mean, float[] k, float[] dx, int lo, int hi) {
        for (int ch = lo; ch < hi; ch++) {
            int off = (i * c + ch) * hw, j = 3 * (ch - lo);
            if (y != null) {
                if (routed != null) route(pooled, i * c + ch, routed, hw);
                dxMasked(simd, x, y, routed != null ? routed : dy, routed != null ? 0 : off, dx, off, hw, mean[ch],
                        k[j], k[j + 1], k[j + 2]);
            } else dx(simd, x, dy, dx, off, hw, mean[ch], k[j], k[j + 1], k[j + 2]);
        }
    }

    /** Plane {@code plane}'s routed gradient into {@code buf} (see {@link Pooled}). */
    private static void route(Pooled p, int plane, float[] buf, int hw) {
        Pool.routePlane(p.dy(), p.argmax(), plane * p.outPlane(), p.outPlane(), buf, 0, hw);
    }

    /** dx = dy·k1 + ((x − mu)·k2 + k3) over [off .. off+len). */
    private static void dx(boolean simd, float[] x, float[] dy, float[] dx, int off, int len, float mu,
                           float k1, float k2, float k3) {
        int j = 0;
        if (simd)
            for (int bound = S.loopBound(len); j < bound; j += L) {
                FloatVector xc = FloatVector.fromArray(S, x, off + j).sub(mu);
                FloatVector.fromArray(S, dy, off + j).fma(FloatVector.broadcast(S, k1), xc.fma(k2, k3)).intoArray(dx, off + j);
            }
        for (; j < len; j++) dx[off + j] = dy[off + j] * k1 + ((x[off + j] - mu) * k2 + k3);
    }

    /** As {@link #dx} with dz = dy·[y &gt; 0] for dy (read from dyOff on): dx = dz·k1 + ((x − mu)·k2 + k3). */
    private static void dxMasked(boolean simd, float[] x, float[] y, float[] dy, int dyOff, float[] dx, int off, int len,
                                 float mu, float k1, float k2, float k3) {
        int j = 0;
        if (simd) {
            FloatVector zero = FloatVector.zero(S);
            for (int bound = S.loopBound(len); j < bound; j += L) {
                FloatVector xc = FloatVector.fromArray(S, x, off + j).sub(mu);
                FloatVector dz = zero.blend(FloatVector.fromArray(S, dy, dyOff + j),
                        FloatVector.fromArray(S, y, off + j).compare(VectorOperators.GT, 0f));
                dz.fma(FloatVector.broadcast(S, k1), xc.fma(k2, k3)).intoArray(dx, off + j);
            }
        }
        for (; j < len; j++) dx[off + j] = masked(dy[dyOff + j], y[off + j]) * k1 + ((x[off + j] - mu) * k2 + k3);
    }

    /** dy·[y &gt; 0], as 0·dy would turn an infinite or NaN dy into NaN where the ReLU passes nothing. */
    private static float masked(float dy, float y) { return y > 0 ? dy : 0f; }

    /**
     * sums[0] = Σ dz, sums[1] = Σ dz·(x − mu) over [off .. off+len), dz = dy·[y &gt; 0] (dy read from dyOff on):
     * one pass where the unfused backward takes two.
     */
    private static void maskedSums(boolean simd, float[] dy, int dyOff, float[] y, float[] x, int off, int len, float mu,
                                   double[] sums) {
        int j = 0;
        double s0 = 0, s1 = 0;
        if (simd && len >= L) {
            FloatVector zero = FloatVector.zero(S), acc0 = zero, acc1 = zero;
            for (int bound = S.loopBound(len); j < bound; j += L) {
                FloatVector dz = zero.blend(FloatVector.fromArray(S, dy, dyOff + j),
                        FloatVector.fromArray(S, y, off + j).compare(VectorOperators.GT, 0f));
                acc0 = acc0.add(dz);
                acc1 = FloatVector.fromArray(S, x, off + j).sub(mu).fma(dz, acc1);
            }
            s0 = Lanes.sum(acc0);
            s1 = Lanes.sum(acc1);
        }
        for (; j < len; j++) {
            float dz = masked(dy[dyOff + j], y[off + j]);
            s0 += dz;
            s1 += (double) dz * (x[off + j] - mu);
        }
        sums[0] = s0;
        sums[1] = s1;
    }

    /** About 32 K values per chunk: one channel of SimpleCNN at batch 64 is already 50 K. */
    private static int grain(int n, int hw) { return Math.max(1, Pointwise.GRAIN / Math.max(1, n * hw)); }

    /** Σ (x − mu)² over x[off .. off+len). */
    private static double sumSquaredDeviation(boolean simd, float[] x, int off, int len, float mu) {
        int j = 0;
        double s = 0;
        if (simd && len >= L) {
            FloatVector acc = FloatVector.zero(S);
            for (int bound = S.loopBound(len); j < bound; j += L) {
                FloatVector d = FloatVector.fromArray(S, x, off + j).sub(mu);
                acc = d.fma(d, acc);
            }
            s = Lanes.sum(acc);
        }
        for (; j < len; j++) { double d = x[off + j] - mu; s += d * d; }
        return s;
    }

    /** Σ dy·(x − mu) over [off .. off+len). */
    private static double dotCentered(boolean simd, float[] dy, float[] x, int off, int len, float mu) {
        int j = 0;
        double s = 0;
        if (simd && len >= L) {
            FloatVector acc = FloatVector.zero(S);
            for (int bound = S.loopBound(len); j < bound; j += L)
                acc = FloatVector.fromArray(S, x, off + j).sub(mu).fma(FloatVector.fromArray(S, dy, off + j), acc);
            s = Lanes.sum(acc);
        }
        for (; j < len; j++) s += (double) dy[off + j] * (x[off + j] - mu);
        return s;
    }
}
