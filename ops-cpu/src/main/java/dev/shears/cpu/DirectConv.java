package dev.shears.cpu;

import dev.shears.core.Conv2dShape;
import jdk.incubator.vector.FloatVector;

import static dev.shears.cpu.ConvTile.L;
import static dev.shears.cpu.ConvTile.PX;

/**
 * Direct convolution over channel-blocked weights and outputs (layouts in {@link Nchwc}, the register tile in
 * {@link ConvTile}): no im2col, no GEMM packing. The ops take and give NCHW like every {@link
 * dev.shears.core.Backend} primitive; each image is reordered into a padded buffer on the way in and out of a
 * blocked buffer on the way out, both per thread and small against the convolution (conv2's input image
 * 32 KiB, its output 49 KiB).
 * <pre>
 *   forward:          y[n, k, j]  = bias[k] + Σ_t w[k, t] · xp[tap[t] + pixel[j]]
 *   backward-data:    dx = the forward convolution of dy (padding R−1−padH, S−1−padW, stride 1) with the
 *                     weights transposed per channel pair and flipped (Nchwc.blockFlipped)
 *   backward-weight:  dw[k, t] = Σ_n Σ_j dy[n, k, j] · xp_n[pixel[j] + tap[t]];  dbias[k] = Σ_n Σ_j dy[n, k, j]
 * </pre>
 * Images are split across threads; backward-weight sums one partial dw per chunk of images, in chunk order,
 * so results are the same bits run to run for a given thread count. {@link Conv} calls these only for the
 * shapes {@link #wins} names (see {@link #MODE}); today's kernels keep the rest.
 */
final class DirectConv {
    private DirectConv() {}

    /**
     * {@code shears.conv.direct}: {@code auto} (default: {@link #wins} decides), {@code never} (today's kernels
     * only), {@code always} (every shape the direct kernels can take, for measuring).
     *
     * <p>A call allocates nothing once warm: the blocked weights come from a per-thread cache checked by value
     * ({@link Blocked}), and the parallel body, offsets and tile operands are reused per thread, so a
     * {@code Predictor} call allocates 0 bytes with the direct kernels too (PredictorTest, batches 1–8 on one
     * and two threads).
     */
    static final String MODE = System.getProperty("shears.conv.direct", "auto");

    /** The passes of a convolution, for {@link #wins}. */
    enum Pass { FORWARD, BACKWARD_DATA, BACKWARD_WEIGHT }

    /**
     * The most blocks one tile takes: 4 × 6 needs 24 + 4 + 1 vector registers, which an AVX-512 machine has
     * (32, at either block width) and AVX2 (16) has not.
     */
    static final int MAX_BLOCKS = FloatVector.SPECIES_PREFERRED.length() >= 16 ? 4 : 2;

    /**
     * Whether {@link Conv} should take the direct kernel for pass {@code pass} of s on {@code par}'s threads:
     * only with SIMD, with at least as many images as threads (a batch-1 image is split by filters in Conv),
     * and backward-data only for stride 1 with padding below the kernel size. Then, from ConvCpuTime at batch
     * 64 on one thread (the calling thread's CPU time, medians; Zen 4; docs/performance.md, 2026-12-06):
     * <ul>
     *   <li>forward only when every tile has {@link #MAX_BLOCKS} blocks of filters (SimpleCNN's conv2:
     *       5.0–9.8 ms → 5.1–5.4): with fewer, one broadcast feeds only one or two fmas, and the
     *       shifted-plane kernel in Conv wins (a pruned conv2 of 14 → 15 channels: 0.6–0.8 against 1.0); and
     *       with 16 lanes Conv keeps the shifted planes for the shapes they take even then ({@link Conv#SHIFTED_FIRST}: 14 → 50
     *       filters at batch 64, one thread, 1.8–2.0 ms against 2.3–2.4; 14 → 64 a tie alone, 10% slower in the
     *       whole model, where the shifted planes pool as they go and this kernel's output is pooled after);
     *       and for a strided convolution of at least one full block of filters, where Conv's small kernel
     *       must build im2col's gathered rows (the ResNet fixture's 3×3 stride-2 conv, 8 → 16 channels, 28×28,
     *       batch 256, one thread, in the compiled predictor: 4.9 → 3.0 ms, docs/performance.md, 2026-12-07);</li>
     *   <li>backward-data likewise on the input channels (conv2 6.5 → 5.2 ms);</li>
     *   <li>backward-weight from {@link #MIN_TAPS} taps C·R·S on (conv2 7.8–8.8 → 5.2 ms, the pruned conv2
     *       2.4–2.5 → 1.0–1.1); conv1's 9 taps stay with Conv's dot products (0.9–1.3 against 2.1 ms).</li>
     * </ul>
     */
    static boolean wins(Parallel par, boolean simd, Conv2dShape s, Pass pass) {
        if (!simd || "never".equals(MODE) || s.n() < par.threads()) return false;
        if (pass == Pass.BACKWARD_DATA && !invertible(s)) return false;
        if ("always".equals(MODE)) return true;
        return switch (pass) {
            case FORWARD -> (Nchwc.blocks(s.k()) % MAX_BLOCKS == 0 || strided(s) && s.k() >= L) && s.c() * s.r() * s.s() >= MIN_TAPS;
            case BACKWARD_DATA -> Nchwc.blocks(s.c()) % MAX_BLOCKS == 0 && s.k() * s.r() * s.s() >= MIN_TAPS;
            case BACKWARD_WEIGHT -> s.c() * s.r() * s.s() >= MIN_TAPS;
        };
    }

    private static boolean strided(Conv2dShape s) { return s.strideH() > 1 || s.strideW() > 1; }

    /** Below this many taps per output (C·R·S) a tile's loads and stores outweigh its few steps. */
    static final int MIN_TAPS = 32;

    /** Backward-data as a forward convolution needs stride 1 and padding that leaves a non-negative one. */
    static boolean invertible(Conv2dShape s) {
        return s.strideH() == 1 && s.strideW() == 1 && s.padH() < s.r() && s.padW() < s.s();
    }

    /** Two per-thread buffers: a padded input image and a blocked output (or dy) image. */
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[2][0]);

    private static float[] scratch(int which, int length) {
        float[][] holder = SCRATCH.get();
        if (holder[which].length < length) holder[which] = new float[length];
        return holder[which];
    }

    /** The blocks of the next tile: as many as remain, up to {@link #MAX_BLOCKS}, in powers of two. */
    private static int tileBlocks(int remaining) {
        return remaining >= 4 && MAX_BLOCKS >= 4 ? 4 : remaining >= 2 ? 2 : 1;
    }

    private static final Blocked.Reorder BLOCK_ROWS = Nchwc::blockRows, BLOCK_BIAS = Nchwc::blockBias;

    /**
     * The weights and bias blocked ({@link Nchwc#blockRows}) come from this thread's {@link Blocked} cache: a
     * compiled model's calls reorder them once, not per call.
     */
    static void forward(Parallel par, Conv2dShape s, float[] x, float[] w, float[] bias, float[] y) {
        forward(par, s, x, w, bias, Conv.Epilogue.NONE, y);
    }

    /** The same, each image's outputs through {@code epi} as they leave the blocked layout ({@link Nchwc#unblock}). */
    static void forward(Parallel par, Conv2dShape s, float[] x, float[] w, float[] bias, Conv.Epilogue epi, float[] y) {
        int K = s.k(), Kb = Nchwc.blocks(K), T = s.c() * s.r() * s.s();
        float[] wb = Blocked.of(BLOCK_ROWS, K, T, w, K * T, Kb * T * L);
        float[] biasBlocked = bias == null ? null : Blocked.of(BLOCK_BIAS, K, 0, bias, K, Kb * L);
        run(par, s, x, wb, biasBlocked, epi, y);
    }

    static void backwardData(Parallel par, Conv2dShape s, float[] dy, float[] w, float[] dx) {
        if (!invertible(s)) throw new IllegalArgumentException("direct backward-data needs stride 1 and padding below the kernel, got " + s);
        Conv2dShape t = new Conv2dShape(s.n(), s.k(), s.p(), s.q(), s.c(), s.r(), s.s(), 1, 1,
                s.r() - 1 - s.padH(), s.s() - 1 - s.padW());
        run(par, t, dy, Nchwc.blockFlipped(s, w), null, Conv.Epilogue.NONE, dx);
    }

    /** y = the convolution of x with the blocked weights wb, plus the blocked bias (Kb·L floats; null: none). */
    private static void run(Parallel par, Conv2dShape s, float[] x, float[] wb, float[] biasBlocked, Conv.Epilogue epi, float[] y) {
        Forward body = FORWARD.get();
        body.set(s, x, wb, biasBlocked, y);
        body.epi = epi;
        try {
            par.parallelFor(0, s.n(), body);
        } finally {
            body.set(null, null, null, null, null);
        }
    }

    /**
     * {@link #run}'s parallel body over images, one per calling thread, reused (like Conv's SmallImages: a
     * lambda capturing the arguments was an object per call); the workers read the fields the caller set
     * before handing out the chunks. Its tap and pixel offsets are kept while the geometry stays the same.
     */
    private static final class Forward implements Parallel.Range {
        Conv2dShape s, geometry;
        Conv.Epilogue epi;
        float[] x, wb, biasBlocked, y, zeros = new float[0];
        int[] taps, pixels;

        void set(Conv2dShape s, float[] x, float[] wb, float[] biasBlocked, float[] y) {
            this.s = s; this.x = x; this.wb = wb; this.y = y;
            if (s == null) { this.biasBlocked = null; return; }
            if (!sameGeometry(s, geometry)) { taps = Nchwc.taps(s, 1); pixels = Nchwc.pixels(s, PX); geometry = s; }
            int bl = Nchwc.blocks(s.k()) * L;
            if (biasBlocked == null && zeros.length < bl) zeros = new float[bl];
            this.biasBlocked = biasBlocked == null ? zeros : biasBlocked;
        }

        @Override public void run(int lo, int hi) {
            int K = s.k(), Kb = Nchwc.blocks(K), T = s.c() * s.r() * s.s(), PQ = s.p() * s.q(), pqPadded = Nchwc.roundUp(PQ, PX);
            float[] xp = scratch(0, Nchwc.paddedSize(s)), yb = scratch(1, Kb * pqPadded * L);
            ConvTile.Operands o = operands(xp, taps, T, pixels, wb, T * L, yb, pqPadded * L);
            for (int n = lo; n < hi; n++) {
                Nchwc.pad(s, x, n, xp);
                for (int kb = 0; kb < Kb; kb++) {
                    FloatVector b = FloatVector.fromArray(ConvTile.S, biasBlocked, kb * L);
                    for (int j = 0; j < pqPadded; j++) b.intoArray(yb, (kb * pqPadded + j) * L);
                }
                for (int kb = 0, blocks; kb < Kb; kb += blocks) {
                    blocks = tileBlocks(Kb - kb);
                    for (int j = 0; j < pqPadded; j += PX) ConvTile.run(blocks, o, 0, j, kb * T * L, (kb * pqPadded + j) * L);
                }
                Nchwc.unblock(yb, pqPadded, K, PQ, epi, y, n * K * PQ);
            }
        }
    }

    private static final ThreadLocal<Forward> FORWARD = ThreadLocal.withInitial(Forward::new);

    /** Whether the taps and pixel offsets of a and b are the same: every size but the batch and the filters. */
    private static boolean sameGeometry(Conv2dShape a, Conv2dShape b) {
        return b != null && a.c() == b.c() && a.h() == b.h() && a.w() == b.w() && a.r() == b.r() && a.s() == b.s()
                && a.strideH() == b.strideH() && a.strideW() == b.strideW() && a.padH() == b.padH() && a.padW() == b.padW();
    }

    /** This thread's last operands, reused while every array and size is the same (a record per chunk otherwise). */
    private static final ThreadLocal<ConvTile.Operands[]> OPERANDS = ThreadLocal.withInitial(() -> new ConvTile.Operands[1]);

    private static ConvTile.Operands operands(float[] x, int[] walk, int count, int[] fixed, float[] v, int vBlock, float[] out, int oBlock) {
        ConvTile.Operands[] held = OPERANDS.get();
        ConvTile.Operands o = held[0];
        if (o == null || o.x() != x || o.walk() != walk || o.count() != count || o.fixed() != fixed || o.v() != v
                || o.vBlock() != vBlock || o.out() != out || o.oBlock() != oBlock)
            held[0] = o = new ConvTile.Operands(x, walk, count, fixed, v, vBlock, out, oBlock);
        return o;
    }

    static void backwardWeight(Parallel par, Conv2dShape s, float[] x, float[] dy, float[] dw, float[] dbias) {
        int K = s.k(), Kb = Nchwc.blocks(K), T = s.c() * s.r() * s.s(), tPadded = Nchwc.roundUp(T, PX), PQ = s.p() * s.q();
        int[] taps = Nchwc.taps(s, PX), pixels = Nchwc.pixels(s, 1);
        // one partial blocked dw per chunk, filed under its first image, added up in image order below
        float[][] parts = new float[s.n()][];
        double[][] partsBias = new double[s.n()][];
        par.parallelFor(0, s.n(), (lo, hi) -> {
            float[] part = new float[Kb * tPadded * L];
            double[] partBias = new double[K];
            float[] xp = scratch(0, Nchwc.paddedSize(s)), dyb = scratch(1, Kb * PQ * L);
            ConvTile.Operands o = new ConvTile.Operands(xp, pixels, PQ, taps, dyb, PQ * L, part, tPadded * L);
            for (int n = lo; n < hi; n++) {
                Nchwc.pad(s, x, n, xp);
                Nchwc.block(dy, n * K * PQ, K, PQ, dyb);
                for (int kb = 0, blocks; kb < Kb; kb += blocks) {
                    blocks = tileBlocks(Kb - kb);
                    for (int t = 0; t < tPadded; t += PX) ConvTile.run(blocks, o, 0, t, kb * PQ * L, (kb * tPadded + t) * L);
                }
                if (dbias != null)
                    for (int k = 0; k < K; k++) partBias[k] += Reduce.sum(true, dy, (n * K + k) * PQ, PQ);
            }
            parts[lo] = part;
            partsBias[lo] = partBias;
        });
        java.util.Arrays.fill(dw, 0, K * T, 0f);
        if (dbias != null) java.util.Arrays.fill(dbias, 0, K, 0f);
        for (int lo = 0; lo < s.n(); lo++) {
            if (parts[lo] == null) continue;
            float[] part = parts[lo];
            for (int k = 0; k < K; k++) {
                int src = (k / L) * tPadded * L + k % L;
                for (int t = 0; t < T; t++) dw[k * T + t] += part[src + t * L];
            }
            if (dbias != null) for (int k = 0; k < K; k++) dbias[k] += (float) partsBias[lo][k];
        }
    }
}
