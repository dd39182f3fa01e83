package dev.shears.cpu;

import dev.shears.core.Conv2dShape;
import dev.shears.core.Pool2dShape;
import jdk.incubator.vector.FloatVector;

import static dev.shears.cpu.WinogradImages.L;
import static dev.shears.cpu.WinogradImages.S;

/**
 * A first convolution of gray images (one channel, 3×3, stride 1) with its 2×2 max-pool, sixteen images in the
 * lanes: SimpleCNN's conv1. {@link WinogradImages} loses there (with one channel its transforms cost more than the
 * products they save), and {@link Conv}'s shifted planes spend as long building the planes and pooling the maps
 * as on the multiply-adds. With the images in the lanes ({@link WinogradImages#intoLanes}), a pooling window's
 * four outputs read a 4×4 patch of 16 plain vector loads, a filter's nine weights stay in registers as
 * broadcasts, every lane is one image's output, and the window is pooled in registers: only the pooled map is
 * stored, with the ReLU, and goes back to NCHW through a transpose ({@link WinogradImages#outOfLanes}).
 * <pre>
 *   a_ab[i] = bias[k] + Σ_(r, s) w[k, 0, r, s] · xg[2u + a + r][2v + b + s][i]      a, b ∈ {0, 1}
 *   y[n₀ + i, k, u, v] = relu(max_ab a_ab[i])
 * </pre>
 * Each sum starts from the bias and adds the taps in {@link Conv#forwardSmall}'s order (r, then s), one fma each,
 * so every output is the same bits as forwardSmall's over the shifted planes and the max the same as their pool,
 * in any lane and on any thread count: taking this kernel changes no result.
 */
final class DirectImages {
    private DirectImages() {}

    /**
     * Whether relu(maxPool(conv(x, w) + bias)) of s and p should run here on par's threads: 16 lanes, a 3×3
     * stride-1 convolution of one channel, its output pooled 2×2 at stride 2 (floor: a last odd row or column is
     * dropped), at least {@link WinogradImages#MIN_BATCH} images and a group of 16 images per thread; not with
     * {@code shears.conv.images=never}. Against the shifted planes (Zen 4, 2026-12-07, batch 64, both in one JVM):
     * 1 → 14 filters 0.80–0.87 of the time on one thread, about 0.70 on two; 1 → 32 0.76–0.85 and 0.73–0.80.
     */
    static boolean wins(Parallel par, boolean simd, Conv2dShape s, Pool2dShape p) {
        return simd && L == 16 && !"never".equals(MODE) && s.c() == 1 && s.r() == 3 && s.s() == 3 && s.strideH() == 1
                && s.strideW() == 1 && s.groups() == 1 && Conv.tilesArePools(simd, s, p) && s.n() >= WinogradImages.MIN_BATCH && (s.n() + L - 1) / L >= par.threads();
    }

    /** {@code shears.conv.images}: "never" turns this kernel off (to measure it against the shifted planes). */
    static final String MODE = System.getProperty("shears.conv.images", "auto");

    /** y = relu(maxPool2x2(conv(x, w) + bias)) (without {@code relu}, the pool alone), groups of 16 images split between par's threads. */
    static void forwardMaxPool(Parallel par, Conv2dShape s, float[] x, float[] w, float[] bias, boolean relu, float[] y) {
        int groups = (s.n() + L - 1) / L;
        par.parallelFor(0, groups, (lo, hi) -> {
            for (int g = lo; g < hi; g++) group(s, x, w, bias, relu, y, g);
        });
    }

    /** Images 16·g to 16·g + 15 (those below N). */
    private static void group(Conv2dShape s, float[] x, float[] w, float[] bias, boolean relu, float[] y, int g) {
        int K = s.k(), pooledW = s.q() / 2, plane = s.p() / 2 * pooledW;
        int n0 = g * L, images = Math.min(L, s.n() - n0);
        WinogradImages.Scratch sc = WinogradImages.SCRATCH.get();
        float[] xg = sc.xg(WinogradImages.lanesLength(s));
        WinogradImages.intoLanes(s, x, n0, images, xg, sc.tile);
        float[] yg = sc.yg(K * plane * L);
        pooled(s, xg, w, bias, relu, yg, 0, plane * L, pooledW * L);
        WinogradImages.outOfLanes(yg, K, plane, n0, images, Conv.Epilogue.NONE, y, sc.tile);
    }

    /**
     * The pooled outputs of a group whose input is xg (images in the lanes, padded: {@link WinogradImages#intoLanes}),
     * images in the lanes: filter k's window (u, v) at out[at + k·kStride + u·uStride + v·L]. Packed
     * (kStride = plane·L, uStride = pooledW·L) for the way back to NCHW, or into the padded input of a next
     * convolution ({@link WinogradImages#forwardPair}).
     */
    static void pooled(Conv2dShape s, float[] xg, float[] w, float[] bias, boolean relu, float[] out, int at, int kStride, int uStride) {
        int K = s.k(), row = (s.w() + 2 * s.padW()) * L, pooledH = s.p() / 2, pooledW = s.q() / 2;
        FloatVector low = FloatVector.broadcast(S, relu ? 0f : Float.NEGATIVE_INFINITY);   // the ReLU, or none: max(v, −∞) = v
        for (int k = 0; k < K; k++) {
            FloatVector b = FloatVector.broadcast(S, bias == null ? 0f : bias[k]);
            int wk = k * 9;
            FloatVector w0 = FloatVector.broadcast(S, w[wk]), w1 = FloatVector.broadcast(S, w[wk + 1]), w2 = FloatVector.broadcast(S, w[wk + 2]);
            FloatVector w3 = FloatVector.broadcast(S, w[wk + 3]), w4 = FloatVector.broadcast(S, w[wk + 4]), w5 = FloatVector.broadcast(S, w[wk + 5]);
            FloatVector w6 = FloatVector.broadcast(S, w[wk + 6]), w7 = FloatVector.broadcast(S, w[wk + 7]), w8 = FloatVector.broadcast(S, w[wk + 8]);
            for (int u = 0; u < pooledH; u++)
                for (int v = 0; v < pooledW; v++) {
                    FloatVector a00 = b, a01 = b, a10 = b, a11 = b;
                    // the patch's rows one by one: row a feeds the top outputs with the kernel's row a and the
                    // bottom ones with its row a − 1, so each sum still takes its taps in order
                    int o = 2 * u * row + 2 * v * L;
                    FloatVector x0 = FloatVector.fromArray(S, xg, o), x1 = FloatVector.fromArray(S, xg, o + L);
                    FloatVector x2 = FloatVector.fromArray(S, xg, o + 2 * L), x3 = FloatVector.fromArray(S, xg, o + 3 * L);
                    a00 = x0.fma(w0, a00); a01 = x1.fma(w0, a01);
                    a00 = x1.fma(w1, a00); a01 = x2.fma(w1, a01);
                    a00 = x2.fma(w2, a00); a01 = x3.fma(w2, a01);
                    x0 = FloatVector.fromArray(S, xg, o + row); x1 = FloatVector.fromArray(S, xg, o + row + L);
                    x2 = FloatVector.fromArray(S, xg, o + row + 2 * L); x3 = FloatVector.fromArray(S, xg, o + row + 3 * L);
                    a00 = x0.fma(w3, a00); a01 = x1.fma(w3, a01); a10 = x0.fma(w0, a10); a11 = x1.fma(w0, a11);
                    a00 = x1.fma(w4, a00); a01 = x2.fma(w4, a01); a10 = x1.fma(w1, a10); a11 = x2.fma(w1, a11);
                    a00 = x2.fma(w5, a00); a01 = x3.fma(w5, a01); a10 = x2.fma(w2, a10); a11 = x3.fma(w2, a11);
                    x0 = FloatVector.fromArray(S, xg, o + 2 * row); x1 = FloatVector.fromArray(S, xg, o + 2 * row + L);
                    x2 = FloatVector.fromArray(S, xg, o + 2 * row + 2 * L); x3 = FloatVector.fromArray(S, xg, o + 2 * row + 3 * L);
                    a00 = x0.fma(w6, a00); a01 = x1.fma(w6, a01); a10 = x0.fma(w3, a10); a11 = x1.fma(w3, a11);
                    a00 = x1.fma(w7, a00); a01 = x2.fma(w7, a01); a10 = x1.fma(w4, a10); a11 = x2.fma(w4, a11);
                    a00 = x2.fma(w8, a00); a01 = x3.fma(w8, a01); a10 = x2.fma(w5, a10); a11 = x3.fma(w5, a11);
                    x0 = FloatVector.fromArray(S, xg, o + 3 * row); x1 = FloatVector.fromArray(S, xg, o + 3 * row + L);
                    x2 = FloatVector.fromArray(S, xg, o + 3 * row + 2 * L); x3 = FloatVector.fromArray(S, xg, o + 3 * row + 3 * L);
                    a10 = x0.fma(w6, a10); a11 = x1.fma(w6, a11);
                    a10 = x1.fma(w7, a10); a11 = x2.fma(w7, a11);
                    a10 = x2.fma(w8, a10); a11 = x3.fma(w8, a11);
                    a00.max(a01).max(a10.max(a11)).max(low).intoArray(out, at + k * kStride + u * uStride + v * L);
                }
        }
    }
}
