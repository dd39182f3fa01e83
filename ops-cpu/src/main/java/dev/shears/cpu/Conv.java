package dev.shears.cpu;

import dev.shears.core.Backend.Unary;
import dev.shears.core.Conv2dShape;
import dev.shears.core.Pool2dShape;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * 2-d convolution as im2col + GEMM, one image at a time, images split across threads.
 *
 * <p>Legend (as {@link Conv2dShape}): N batch, C input channels, H×W input, K filters, R×S kernel, P×Q
 * output; CRS = C·R·S (one column of the unrolled input), PQ = P·Q. Layouts x [N,C,H,W], w [K,C,R,S] (read
 * as a K×CRS matrix), y [N,K,P,Q] (each image a K×PQ matrix).
 * <pre>
 *   col[n]  [CRS × PQ]:  col[(c·R + r)·S + s][p·Q + q] = x[n, c, p·strideH − padH + r, q·strideW − padW + s]  (0 outside)
 *   forward:          y[n]  = w · col[n] + bias            GEMM M=K,   N=PQ,  K=CRS
 *   backward-data:    dcol  = wᵀ · dy[n];  dx[n] = col2im(dcol) (the adjoint: overlapping taps add up)
 *                                                          GEMM M=CRS, N=PQ,  K=K   (transA)
 *   backward-weight:  dwᵀ  += col[n] · dy[n]ᵀ;  dbias += Σ_pq dy[n]
 *                                                          GEMM M=CRS, N=K,   K=PQ  (transB),
 *                                                          or {@link DotGemm} when CRS is small
 * </pre>
 * A 1×1, stride-1, unpadded convolution needs no im2col: x[n] already is col[n]. The forward pass of a
 * convolution with small C·R·S, or of a stride-1 "same" one up to C·R·S = 288 (all of SimpleCNN's, pruned
 * or not), skips packing and im2col: {@link #forwardSmall} over {@link #shiftPlanes}.
 *
 * <p>Why per image: the unrolled image (CRS·PQ floats: 225 KiB for SimpleCNN's conv2) stays in L2 between
 * im2col and the GEMM that reads it, and each thread owns whole images, so nothing is shared but w. With
 * fewer images than threads the GEMM itself goes parallel instead. Backward-weight accumulates into one
 * partial dw per chunk, added into dw in image order at the end. (The forward of the small kernel splits an
 * image's filters instead: see forwardSmallImages.)
 */
final class Conv {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();

    private Conv() {}

    /** A per-thread scratch buffer for one unrolled image, grown on demand. */
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[1][0]);

    private static float[] scratch(int length) {
        float[][] holder = SCRATCH.get();
        if (holder[0].length < length) holder[0] = new float[length];
        return holder[0];
    }

    private static boolean pointwise(Conv2dShape s) {
        return s.r() == 1 && s.s() == 1 && s.strideH() == 1 && s.strideW() == 1 && s.padH() == 0 && s.padW() == 0;
    }

    /** Stride 1 with Q = W ("same" width): col's rows are shifted input planes ({@link #shiftPlanes}). */
    private static boolean shifted(Conv2dShape s) {
        return !pointwise(s) && s.strideH() == 1 && s.strideW() == 1 && s.q() == s.w();
    }

    /** The GEMM's own parallelism, used only when there are too few images to go round the threads. */
    private static Parallel inner(Parallel par, int n) { return n >= par.threads() ? null : par; }

    /**
     * im2col + GEMM, kept over {@link #forwardDirect} after measuring both on one thread at batch 64 in one
     * process (median of 6 runs, 2-core machine shared with other builds, load average ~14, so absolute
     * times are inflated): conv1 1.4 ms im2col+GEMM vs 2.8 ms direct; conv2 9.3 ms vs 27-50 ms. The direct
     * kernel issues one masked load per fma group and cannot block over output columns the way the GEMM
     * micro-kernel does (6 rows × 32 columns per B load).
     */
    static void forward(Parallel par, boolean simd, Conv2dShape s, float[] x, float[] w, float[] bias, float[] y) {
        forward(forwardKernel(par, simd, s), par, simd, s, x, w, bias, y);
    }

    /** y = conv(x, w) + bias by {@code kernel}, which must be able to take s (SMALL needs SIMD and {@link #smallFits}). */
    static void forward(ForwardKernel kernel, Parallel par, boolean simd, Conv2dShape s, float[] x, float[] w, float[] bias,
                        float[] y) {
        switch (kernel) {
            case WINOGRAD -> Winograd.forward(par, s, x, w, bias, y);
            case WINOGRAD_IMAGES -> WinogradImages.forward(par, s, x, w, bias, false, Epilogue.NONE, y);
            case DIRECT -> DirectConv.forward(par, s, x, w, bias, y);
            case SMALL -> forwardSmallImages(par, s, x, w, bias, y, null, Epilogue.NONE);   // no packing, no im2col
            case GEMM -> forwardGemm(par, simd, s, x, w, bias, y);
        }
    }

    private static void forwardGemm(Parallel par, boolean simd, Conv2dShape s, float[] x, float[] w, float[] bias, float[] y) {
        int K = s.k(), crs = s.c() * s.r() * s.s(), pq = s.p() * s.q(), chw = s.c() * s.h() * s.w();
        Parallel inner = inner(par, s.n());
        // the weights are the A of every image's GEMM: pack them once
        float[] wp = simd && inner == null ? Gemm.packAll(false, 1f, K, crs, w, 0, crs) : null;
        par.parallelFor(0, s.n(), (lo, hi) -> {
            float[] col = pointwise(s) ? null : scratch(crs * pq);
            for (int n = lo; n < hi; n++) {
                float[] src = x;
                int srcOff = n * chw;
                if (col != null) { im2col(s, x, n, col); src = col; srcOff = 0; }
                if (wp != null) Gemm.sgemmPacked(wp, false, K, pq, crs, src, srcOff, pq, 0f, y, n * K * pq, pq);
                else Gemm.sgemm(inner, simd, false, false, K, pq, crs, 1f, w, 0, crs, src, srcOff, pq, 0f, y, n * K * pq, pq);
                if (bias != null)
                    for (int k = 0; k < K; k++) addScalar(simd, bias[k], y, (n * K + k) * pq, pq);
            }
        });
    }

    /**
     * y = conv(x, w) + bias through {@code epi} ({@link dev.shears.core.Backend#conv2dAddReluForward}) where the
     * kernel {@link #forward} picks for s can apply it while its outputs are in cache: the small kernel (each
     * group of filters into the thread's maps, then through {@link #epilogue} into y; applying it in the
     * kernel's own stores, through a helper taking the accumulators, made every small conv twice as slow:
     * docs/performance.md, 2026-12-07), the direct one (each image's outputs in its reorder to NCHW) and
     * {@link WinogradImages} (in its transpose back to NCHW);
     * returns false (y untouched) otherwise, and the caller runs the ops one after the other.
     */
    static boolean forwardEpilogue(Parallel par, boolean simd, Conv2dShape s, Epilogue epi, float[] x, float[] w, float[] bias,
                                   float[] y) {
        switch (forwardKernel(par, simd, s)) {
            case WINOGRAD_IMAGES -> WinogradImages.forward(par, s, x, w, bias, false, epi, y);
            case DIRECT -> DirectConv.forward(par, s, x, w, bias, epi, y);
            case SMALL -> forwardSmallImages(par, s, x, w, bias, y, null, epi);
            default -> { return false; }
        }
        return true;
    }

    /**
     * The forward kernels: {@link Winograd}, {@link WinogradImages}, {@link DirectConv}, {@link #forwardSmall}
     * (shifted planes or im2col), im2col + GEMM.
     */
    enum ForwardKernel { WINOGRAD, WINOGRAD_IMAGES, DIRECT, SMALL, GEMM }

    /**
     * The kernel {@link #forward} and {@link #forwardMaxPool} take for s on par's threads: Winograd where it
     * {@link Winograd#wins}, then {@link WinogradImages} where it {@link WinogradImages#wins} (batches of 16 and
     * more); then {@link #forwardSmall} over shifted planes for a stride-1 "same" convolution up
     * to C·R·S = {@link #SHIFTED_CRS}, whatever its size and thread count, with 16 lanes ({@link #SHIFTED_FIRST});
     * then the direct kernel where it {@link DirectConv#wins}; then forwardSmall over im2col up to C·R·S =
     * {@link #SMALL_CRS}, or with 8 lanes over shifted planes as before (below {@link #SHIFTED_MACS_8_LANES} per image
     * where images are split between threads); else im2col + GEMM. A function of the shape and the thread count only, so a run's results do not depend on timing.
     */
    static ForwardKernel forwardKernel(Parallel par, boolean simd, Conv2dShape s) {
        if (Winograd.wins(par, simd, s, DirectConv.Pass.FORWARD)) return ForwardKernel.WINOGRAD;
        if (WinogradImages.wins(par, simd, s)) return ForwardKernel.WINOGRAD_IMAGES;
        int crs = s.c() * s.r() * s.s();
        boolean planes = simd && shifted(s) && crs <= SHIFTED_CRS;
        if (planes && SHIFTED_FIRST) return ForwardKernel.SMALL;
        if (DirectConv.wins(par, simd, s, DirectConv.Pass.FORWARD)) return ForwardKernel.DIRECT;
        // 8 lanes: images split between threads take the shifted planes only below SHIFTED_MACS_8_LANES
        boolean perImage = par.threads() == 1 || s.n() < par.threads() || (long) s.k() * crs * s.p() * s.q() < SHIFTED_MACS_8_LANES;
        return simd && crs <= SMALL_CRS || planes && perImage ? ForwardKernel.SMALL : ForwardKernel.GEMM;
    }

    /**
     * Whether the shifted planes take every conv they can, ahead of the direct kernel and im2col + GEMM: with 16
     * lanes, where that was measured (Zen 4, 2026-12-07, docs/performance.md): the GEMM lost at every shape, the
     * direct kernel (tiles of 64 filters: a pruned conv2 of 49–63 filters pays for 64) by 10–24% in the whole
     * model (14 → 50 to 64). With 8 lanes ({@code -XX:UseAVX=2}) the earlier order stays: there the direct kernel
     * (tiles of 16 filters) took 19–26% less time than the shifted planes (pruned SimpleCNN at batch 64 on one thread,
     * 14 → 32, 48, 64: 2.8–2.9 against 3.7, 3.9–4.0 against 5.2, 4.9–5.3 against 6.6–6.7 ms), and on two threads
     * the GEMM read as fast as the shifted planes or faster (16 → 40 against 16 → 36, two loaded runs), not
     * measured cleanly.
     */
    static final boolean SHIFTED_FIRST = ConvTile.L >= 16;
    /** With 8 lanes: multiply-adds per image (K·C·R·S·P·Q) below which images split between threads take the shifted planes. */
    static final long SHIFTED_MACS_8_LANES = 1 << 20;

    /** Whether {@link #forwardSmall} can take s: C·R·S up to {@link #SMALL_CRS}, or shifted planes up to {@link #SHIFTED_CRS}. */
    static boolean smallFits(boolean simd, Conv2dShape s) {
        int crs = s.c() * s.r() * s.s();
        return simd && (crs <= SMALL_CRS || shifted(s) && crs <= SHIFTED_CRS);
    }

    /**
     * {@link #forwardSmall} image by image, images split across threads; with fewer images than threads
     * (batch 1) each image is split instead, by groups of four filters and rows ({@link #filters}). With
     * {@code pool} (2×2, stride 2, no padding) each image's K output maps go to a per-thread buffer (conv1 of
     * SimpleCNN: 31 KiB pruned, 98 KiB unpruned, in L2) and only their max-pool reaches y, so the full-size
     * maps never travel to memory and back: the same values as the convolution then
     * {@link Pool#forwardValues}, bit for bit.
     */
    private static void forwardSmallImages(Parallel par, Conv2dShape s, float[] x, float[] w, float[] bias, float[] y,
                                           Pool2dShape pool, Epilogue epi) {
        int K = s.k(), crs = s.c() * s.r() * s.s(), pq = s.p() * s.q();
        boolean shifted = shifted(s);
        int[] rowOff = rowOffsets(crs);   // read by the workers too, while this thread waits for them
        for (int t = 0; t < crs; t++) rowOff[t] = t * pq;
        int colLength = shifted ? shiftedPlanes(s, rowOff) : crs * pq;
        int units = (K + 3) / 4 * rows(s, pool);
        // fewer images than threads: the threads share each image, split into units of four filters and one
        // row (see filters), each thread unrolling the image into its own buffer (SPLIT_FILTERS_MACS)
        boolean shareImages = s.n() < par.threads() && (long) K * crs * pq >= SPLIT_FILTERS_MACS;
        if (!par.splits(0, shareImages ? units : s.n(), 1)) {   // one thread, or nested: all on this one
            for (int n = 0; n < s.n(); n++) filters(s, pool, epi, shifted, colLength, rowOff, n, 0, units, x, w, bias, y);
            return;
        }
        SmallImages body = SMALL_IMAGES.get();
        body.set(s, pool, epi, shifted, colLength, rowOff, units, x, w, bias, y);
        try {
            if (shareImages)
                for (int n = 0; n < s.n(); n++) {
                    body.image = n;
                    par.parallelFor(0, units, body);
                }
            else {
                body.image = -1;
                par.parallelFor(0, s.n(), body);
            }
        } finally {
            body.clear();
        }
    }

    /**
     * {@link #forwardSmallImages}' parallel body: with {@code image} ≥ 0 units lo ≤ u &lt; hi of that image,
     * else images lo ≤ n &lt; hi whole. One per calling thread, reused (a lambda capturing the arguments was
     * a new object per call, 56 bytes of a compiled predictor's call); the workers read the fields the
     * caller set before handing out the chunks.
     */
    private static final class SmallImages implements Parallel.Range {
        Conv2dShape s;
        Pool2dShape pool;
        Epilogue epi;
        boolean shifted;
        int colLength, units, image;
        int[] rowOff;
        float[] x, w, bias, y;

        void set(Conv2dShape s, Pool2dShape pool, Epilogue epi, boolean shifted, int colLength, int[] rowOff, int units,
                 float[] x, float[] w, float[] bias, float[] y) {
            this.s = s; this.pool = pool; this.epi = epi; this.shifted = shifted; this.colLength = colLength;
            this.rowOff = rowOff; this.units = units; this.x = x; this.w = w; this.bias = bias; this.y = y;
        }

        /** Drops the references, so that a thread's body keeps no arrays alive. */
        void clear() { set(null, null, null, false, 0, null, 0, null, null, null, null); }

        @Override public void run(int lo, int hi) {
            if (image >= 0) filters(s, pool, epi, shifted, colLength, rowOff, image, lo, hi, x, w, bias, y);
            else for (int n = lo; n < hi; n++) filters(s, pool, epi, shifted, colLength, rowOff, n, 0, units, x, w, bias, y);
        }
    }

    private static final ThreadLocal<SmallImages> SMALL_IMAGES = ThreadLocal.withInitial(SmallImages::new);

    /** Rows of each filter's output, as {@link #filters} splits it: the pooled rows; without a pool, one. */
    private static int rows(Conv2dShape s, Pool2dShape pool) { return pool == null ? 1 : pool.p(); }

    /**
     * Units uLo ≤ u &lt; uHi of image n, unit g·rows + r being row r of filter group g (filters 4g to 4g + 3;
     * with {@code pool} a row of the pooled output, two of the convolution's; without, a unit is a whole
     * group). The image is first unrolled into this thread's buffer (colLength floats; none for a pointwise
     * convolution, which reads x); then the filters go into y, or with {@code pool} into this thread's maps
     * (filter k at maps[k·P·Q], P×Q the convolution's output) and their max-pool into y, and with
     * {@code epi}'s ReLU there (without a pool and with an epilogue, the filters go to the maps and through
     * {@code epi} into y), while this thread's outputs are in its cache. The whole groups in the range take one
     * {@link #tile}, a group the range cuts one for its rows in the range.
     *
     * <p>Why rows: a group of four filters costs one pass over the unrolled image, which the four share (a
     * pruned conv2's shifted planes: 37 KiB for 14 channels), so splitting whole groups between two threads
     * leaves one a pass more when their number is odd: 17 filters are five groups, three on one thread.
     * Cutting the middle group by rows evens that out. Lone filters instead (a pass over the image each) made
     * a pruned conv2 of 15 filters with its pooling, at batch 1 on two threads, 3.7 → 4.9 µs.
     */
    private static void filters(Conv2dShape s, Pool2dShape pool, Epilogue epi, boolean shifted, int colLength, int[] rowOff, int n,
                                int uLo, int uHi, float[] x, float[] w, float[] bias, float[] y) {
        float[] col = pointwise(s) ? null : scratch(colLength);
        float[] src = unrolled(s, shifted, x, n, col);
        int srcOff = col == null ? n * s.c() * s.h() * s.w() : 0;
        int K = s.k(), rows = rows(s, pool), g = uLo / rows, end = uHi / rows;
        if (uLo % rows != 0 || uHi - g * rows < rows) {    // the first group is cut
            tile(s, pool, epi, src, srcOff, rowOff, n, 4 * g, Math.min(K, 4 * g + 4), uLo - g * rows, Math.min(rows, uHi - g * rows), w, bias, y);
            g++;
        }
        if (g < end)                                        // whole groups g to end − 1
            tile(s, pool, epi, src, srcOff, rowOff, n, 4 * g, Math.min(K, 4 * end), 0, rows, w, bias, y);
        if (g <= end && end * rows < uHi)                   // the last group is cut
            tile(s, pool, epi, src, srcOff, rowOff, n, 4 * end, Math.min(K, 4 * end + 4), 0, uHi - end * rows, w, bias, y);
    }

    /**
     * Filters kLo ≤ k &lt; kHi, rows rLo ≤ r &lt; rHi (as {@link #filters} counts them) of image n, from its
     * unrolled src. Part of the rows (only with a pool) is the convolution's rows 2·rLo to 2·rHi, columns
     * 2·rLo·Q ≤ j &lt; 2·rHi·Q of its output, which {@link #forwardSmall} computes as an image of that many
     * columns read from src at 2·rLo·Q, into this thread's maps at (k − kLo)·(columns), then pooled filter by
     * filter.
     */
    private static void tile(Conv2dShape s, Pool2dShape pool, Epilogue epi, float[] src, int srcOff, int[] rowOff, int n,
                             int kLo, int kHi, int rLo, int rHi, float[] w, float[] bias, float[] y) {
        int K = s.k(), crs = s.c() * s.r() * s.s(), pq = s.p() * s.q();
        if (pool == null && epi == Epilogue.NONE) {
            forwardSmall(kLo, kHi, crs, pq, src, srcOff, rowOff, w, bias, y, n * K * pq);
            return;
        }
        if (pool == null) {   // the filters into this thread's maps, then through epi into y while in cache
            float[] maps = mapsScratch((kHi - kLo) * pq);
            forwardSmall(kLo, kHi, crs, pq, src, srcOff, rowOff, w, bias, maps, -kLo * pq);
            epilogue(epi, maps, 0, y, (n * K + kLo) * pq, (kHi - kLo) * pq);
            return;
        }
        float[] maps = mapsScratch(K * pq);
        int pooled = pool.p() * pool.q();
        if (rLo == 0 && rHi == pool.p()) {
            // four filters at a time (forwardSmall's own groups), each pooled while its maps are in L1
            for (int k0 = kLo; k0 < kHi; k0 += 4) {
                int k1 = Math.min(k0 + 4, kHi), yOff = (n * K + k0) * pooled;
                forwardSmall(k0, k1, crs, pq, src, srcOff, rowOff, w, bias, maps, -k0 * pq);
                Pool.max2x2(maps, 0, k1 - k0, s.p(), s.q(), pool.p(), pool.q(), y, yOff);
                if (epi.relu) Pointwise.unaryRange(true, Unary.RELU, y, y, yOff, yOff + (k1 - k0) * pooled);
            }
            return;
        }
        int count = rHi - rLo, cols = 2 * count * s.q();
        // filter k lands at maps[(k − kLo)·cols]: forwardSmall puts it at yOff + k·cols
        forwardSmall(kLo, kHi, crs, cols, src, srcOff + 2 * rLo * s.q(), rowOff, w, bias, maps, -kLo * cols);
        for (int k = kLo; k < kHi; k++) {
            int yOff = (n * K + k) * pooled + rLo * pool.q();
            Pool.max2x2(maps, (k - kLo) * cols, 1, 2 * count, s.q(), count, pool.q(), y, yOff);
            if (epi.relu) Pointwise.unaryRange(true, Unary.RELU, y, y, yOff, yOff + count * pool.q());
        }
    }

    /** Image n as forwardSmall reads it: col (shifted planes or im2col) filled, or x itself (pointwise). */
    private static float[] unrolled(Conv2dShape s, boolean shifted, float[] x, int n, float[] col) {
        if (shifted) shiftPlanes(s, x, n, col);
        else if (col != null) im2col(s, x, n, col);
        return col == null ? x : col;
    }

    /**
     * Multiply-adds per image (K·C·R·S·P·Q) from which a batch smaller than the thread count splits each
     * image's filters between the threads. A pruned conv1 (13 filters, 92 K multiply-adds) at batch 1 on
     * two threads: its block 4.2 → 3.7 µs; a pruned conv2 (13 → 16, 367 K): 8.8 → 7.3 µs. Needs the
     * workers still spinning when the work arrives ({@link Parallel#SPIN_NANOS}).
     *
     * <p>Each thread unrolls the image itself, into its own buffer, rather than the caller once for all:
     * the copy runs on both threads at once instead of before the split, and each then reads its buffer
     * from its own L1 instead of one written by the other core. Conv with its pooling at batch 1, two
     * threads, medians of 200,000 calls: a pruned conv2 (14 → 15) 4.20 → 3.57 µs, a pruned conv1 (1 → 14)
     * 1.94 → 1.61, the unpruned conv2 31.2 → 30.8 (on one thread 5.5–5.7, 2.4 and 60 µs).
     */
    static final long SPLIT_FILTERS_MACS = 1 << 16;

    /**
     * y = maxPool2d(conv2d(x, w) + bias), with {@code relu} then max(y, 0), for a 2×2, stride-2, unpadded pool
     * {@code p} of the convolution's output, when the convolution takes {@link #forwardSmall} or
     * {@link Winograd}; returns false (y untouched) otherwise, and the caller runs the ops one after the other
     * (which is also the scalar definition). Each thread applies the ReLU to the outputs it has just pooled,
     * still in its L1, instead of one thread afterwards reading them all (half of them from the other core's
     * cache at batch 1). Winograd pools each band's tiles in its blocked output ({@link Winograd#forwardMaxPool}:
     * SimpleCNN's conv2 block at batch 1 on two threads 41 → 32.5 µs, on one 60 → 54 µs, Zen 4, 2026-12-07).
     * Where {@link DirectConv} takes the convolution, the ops run one after the other instead (SimpleCNN's
     * batch-256 inference on one thread, caller's CPU time, 29.3–30.6 → 26.0–26.8 ms, TrainStepCpuTime),
     * the same kernels as the caller's ops, through this thread's {@link #convMaps} (a Storage for them was
     * 32 bytes of a compiled predictor's call).
     */
    static boolean forwardMaxPool(Parallel par, boolean simd, Conv2dShape s, Pool2dShape p, boolean relu, float[] x,
                                  float[] w, float[] bias, float[] y) {
        ForwardKernel kernel = forwardKernel(par, simd, s);
        boolean tilesArePools = tilesArePools(simd, s, p);
        if (kernel == ForwardKernel.WINOGRAD && tilesArePools) {
            Winograd.forwardMaxPool(par, s, x, w, bias, relu, y);
            return true;
        }
        if (kernel == ForwardKernel.WINOGRAD_IMAGES && tilesArePools) {
            WinogradImages.forward(par, s, x, w, bias, true, relu ? Epilogue.RELU : Epilogue.NONE, y);
            return true;
        }
        if (kernel == ForwardKernel.WINOGRAD || kernel == ForwardKernel.WINOGRAD_IMAGES || kernel == ForwardKernel.DIRECT) {
            float[] maps = convMaps(s.outputSize());
            forward(kernel, par, simd, s, x, w, bias, maps);
            Pool.forwardValues(par, simd, p, maps, y);
            if (relu) Pointwise.unary(par, simd, dev.shears.core.Backend.Unary.RELU, p.outputSize(), y, y);
            return true;
        }
        if (kernel != ForwardKernel.SMALL || !Pool.fast2x2(simd, p)) return false;
        if (DirectImages.wins(par, simd, s, p)) {
            DirectImages.forwardMaxPool(par, s, x, w, bias, relu, y);
            return true;
        }
        forwardSmallImages(par, s, x, w, bias, y, p, relu ? Epilogue.RELU : Epilogue.NONE);
        return true;
    }

    /**
     * Whether p is a 2×2, stride-2 pool whose windows are exactly the 2×2 tiles of s's output (floor: a last odd
     * row or column is dropped), so that a kernel may pool each tile as it finishes it.
     */
    static boolean tilesArePools(boolean simd, Conv2dShape s, Pool2dShape p) {
        return Pool.fast2x2(simd, p) && p.p() == s.p() / 2 && p.q() == s.q() / 2;
    }

    /**
     * Two pooled convolutions in a row (see {@link dev.shears.core.Backend#conv2dMaxPool2dPairForward}) without the
     * values between them leaving the lanes, where the first takes {@link DirectImages} and the second
     * {@link WinogradImages} with its tiles as pooling windows (a pruned SimpleCNN's conv1 and conv2 at batch
     * 16·threads and more): {@link WinogradImages#forwardPair}, the same bits as the two blocks one after the
     * other. Returns false (y untouched) for any other pair.
     */
    static boolean forwardMaxPoolPair(Parallel par, boolean simd, Conv2dShape s1, Pool2dShape p1, boolean relu1, float[] x,
                                      float[] w1, float[] b1, Conv2dShape s2, Pool2dShape p2, boolean relu2, float[] w2,
                                      float[] b2, float[] y) {
        boolean chained = s2.n() == s1.n() && s2.c() == s1.k() && s2.h() == p1.p() && s2.w() == p1.q();
        if (!chained || !tilesArePools(simd, s2, p2) || !DirectImages.wins(par, simd, s1, p1)
                || forwardKernel(par, simd, s2) != ForwardKernel.WINOGRAD_IMAGES) return false;
        WinogradImages.forwardPair(par, s1, x, w1, b1, relu1, s2, w2, b2, relu2, y);
        return true;
    }

    /**
     * A per-calling-thread buffer for a whole batch's convolution output before {@link #forwardMaxPool} pools
     * it, kept for the next call (a training step's conv2 at batch 64: 3.1 MiB).
     */
    private static final ThreadLocal<float[][]> CONV_MAPS = ThreadLocal.withInitial(() -> new float[1][0]);

    private static float[] convMaps(int length) {
        float[][] holder = CONV_MAPS.get();
        if (holder[0].length < length) holder[0] = new float[length];
        return holder[0];
    }

    /** A per-thread array for {@link #forwardSmall}'s row offsets: a compiled predictor's call allocates nothing. */
    private static final ThreadLocal<int[][]> ROW_OFFSETS = ThreadLocal.withInitial(() -> new int[1][0]);

    private static int[] rowOffsets(int length) {
        int[][] holder = ROW_OFFSETS.get();
        if (holder[0].length < length) holder[0] = new int[length];
        return holder[0];
    }

    /** A second per-thread buffer, for one image's output maps before pooling. */
    private static final ThreadLocal<float[][]> MAPS = ThreadLocal.withInitial(() -> new float[1][0]);

    private static float[] mapsScratch(int length) {
        float[][] holder = MAPS.get();
        if (holder[0].length < length) holder[0] = new float[length];
        return holder[0];
    }

    /** Up to this C·R·S, {@link #forwardSmall} replaces the packed GEMM (see there). */
    static final int SMALL_CRS = 96;
    /**
     * ... and up to this one when it reads shifted planes instead of col. Measured at batch 64, one thread:
     * C·R·S 126 (a pruned conv2 of 14 → 15 channels) 703 → 436 µs, 216 (24 → 20) 1361 → 878 µs, and the
     * unpruned conv2 (288, 32 → 64) 3270 → 3040 µs. Larger ones were not measured. At batch 1 on two threads
     * (the image's filters split between the threads, {@link #SPLIT_FILTERS_MACS}) it wins at any size here:
     * SimpleCNN's conv2 with its pooling and the rest of its block 37 µs against 48 µs for the GEMM split
     * across the threads.
     *
     * <p>With images split between threads it used to take only images below 2²⁰ multiply-adds, im2col + GEMM
     * above (chosen in 2026-11 from two shapes, before Winograd and the direct kernel). A pruned SimpleCNN
     * whose conv2 crossed that limit ran a third slower (issue #16). Measured again on 2026-12-07 (Zen 4, two
     * vCPUs shared, docs/performance.md "the 2²⁰ switch"), im2col + GEMM lost at every shape: at batch 64 on two
     * threads 14 → 48, 16 → 40, 32 → 64, 16 → 16 at 28² and 56², 24 → 24 at 56², by 20–45%; the shifted planes
     * also beat the direct kernel where its last block of filters is partly empty (14 → 50: 2.0 against 2.3 ms
     * on one thread) and tie with it where its tiles are full (14 → 64), where the whole model, whose shifted
     * planes pool as they go, still ran 5–10% faster with them; with 16 lanes {@link #forwardKernel} puts them first
     * ({@link #SHIFTED_FIRST}; with 8 lanes the earlier order and limit stay).
     */
    static final int SHIFTED_CRS = 288;

    /**
     * y[k][j] = bias[k] + Σ_t w[k][t]·col[t][j] for filters kLo ≤ k &lt; kHi of one image (filter k at
     * y[yOff + k·pq]), the GEMM y = w·col without packing either
     * operand: each col vector is loaded once per four filters and the bias is the accumulators' start.
     * With few rows in col (conv1: CRS = 9; a pruned conv2: CRS = 90) the packed GEMM spends its time
     * packing and padding (9 rows in two 6-row panels, col copied into NR-wide panels) rather than in fmas,
     * and adds the bias in a second pass over y.
     */
    static void forwardSmall(int kLo, int kHi, int crs, int pq, float[] col, int colOff, int[] rowOff, float[] w, float[] bias, float[] y, int yOff) {
        forwardSmall(kLo, kHi, crs, pq, col, colOff, rowOff, w, 0, bias, y, yOff);
    }

    /** {@link #forwardSmall} with filter k's weights at w[wOff + k·crs] (one of {@link WinogradImages}' 16 products). */
    static void forwardSmall(int kLo, int kHi, int crs, int pq, float[] col, int colOff, int[] rowOff, float[] w, int wOff,
                             float[] bias, float[] y, int yOff) {
        for (int k0 = kLo; k0 < kHi; k0 += 4) {
            if (kHi - k0 <= 2) { forwardSmallPair(k0, kHi, crs, pq, col, colOff, rowOff, w, wOff, bias, y, yOff); return; }
            // filters past kHi repeat the last one and are not stored
            int k1 = Math.min(k0 + 1, kHi - 1), k2 = Math.min(k0 + 2, kHi - 1), k3 = Math.min(k0 + 3, kHi - 1);
            int w0 = wOff + k0 * crs, w1 = wOff + k1 * crs, w2 = wOff + k2 * crs, w3 = wOff + k3 * crs;
            float b0 = bias == null ? 0f : bias[k0], b1 = bias == null ? 0f : bias[k1];
            float b2 = bias == null ? 0f : bias[k2], b3 = bias == null ? 0f : bias[k3];
            int o0 = yOff + k0 * pq;
            int j = 0;
            // three vectors of columns per pass: 12 accumulators (enough fmas in flight to cover their
            // latency on two pipes), each broadcast weight feeds three fmas
            for (; j + 3 * L <= pq; j += 3 * L) {
                FloatVector a0 = FloatVector.broadcast(S, b0), a1 = FloatVector.broadcast(S, b1);
                FloatVector a2 = FloatVector.broadcast(S, b2), a3 = FloatVector.broadcast(S, b3);
                FloatVector e0 = a0, e1 = a1, e2 = a2, e3 = a3, f0 = a0, f1 = a1, f2 = a2, f3 = a3;
                for (int t = 0; t < crs; t++) {
                    int ct = colOff + rowOff[t] + j;
                    FloatVector c = FloatVector.fromArray(S, col, ct);
                    FloatVector d = FloatVector.fromArray(S, col, ct + L);
                    FloatVector g = FloatVector.fromArray(S, col, ct + 2 * L);
                    FloatVector v = FloatVector.broadcast(S, w[w0 + t]);
                    a0 = c.fma(v, a0); e0 = d.fma(v, e0); f0 = g.fma(v, f0);
                    v = FloatVector.broadcast(S, w[w1 + t]);
                    a1 = c.fma(v, a1); e1 = d.fma(v, e1); f1 = g.fma(v, f1);
                    v = FloatVector.broadcast(S, w[w2 + t]);
                    a2 = c.fma(v, a2); e2 = d.fma(v, e2); f2 = g.fma(v, f2);
                    v = FloatVector.broadcast(S, w[w3 + t]);
                    a3 = c.fma(v, a3); e3 = d.fma(v, e3); f3 = g.fma(v, f3);
                }
                int o = o0 + j;
                a0.intoArray(y, o); e0.intoArray(y, o + L); f0.intoArray(y, o + 2 * L);
                if (k0 + 1 < kHi) { o += pq; a1.intoArray(y, o); e1.intoArray(y, o + L); f1.intoArray(y, o + 2 * L); }
                if (k0 + 2 < kHi) { o += pq; a2.intoArray(y, o); e2.intoArray(y, o + L); f2.intoArray(y, o + 2 * L); }
                if (k0 + 3 < kHi) { o += pq; a3.intoArray(y, o); e3.intoArray(y, o + L); f3.intoArray(y, o + 2 * L); }
            }
            for (int bound = S.loopBound(pq); j < bound; j += L) {
                FloatVector a0 = FloatVector.broadcast(S, b0), a1 = FloatVector.broadcast(S, b1);
                FloatVector a2 = FloatVector.broadcast(S, b2), a3 = FloatVector.broadcast(S, b3);
                for (int t = 0; t < crs; t++) {
                    FloatVector c = FloatVector.fromArray(S, col, colOff + rowOff[t] + j);
                    a0 = c.fma(FloatVector.broadcast(S, w[w0 + t]), a0);
                    a1 = c.fma(FloatVector.broadcast(S, w[w1 + t]), a1);
                    a2 = c.fma(FloatVector.broadcast(S, w[w2 + t]), a2);
                    a3 = c.fma(FloatVector.broadcast(S, w[w3 + t]), a3);
                }
                a0.intoArray(y, o0 + j);
                if (k0 + 1 < kHi) a1.intoArray(y, o0 + pq + j);
                if (k0 + 2 < kHi) a2.intoArray(y, o0 + 2 * pq + j);
                if (k0 + 3 < kHi) a3.intoArray(y, o0 + 3 * pq + j);
            }
            if (j < pq) {   // the last pq % L columns: masked loads (off lanes read 0) and stores
                VectorMask<Float> m = S.indexInRange(j, pq);
                FloatVector a0 = FloatVector.broadcast(S, b0), a1 = FloatVector.broadcast(S, b1);
                FloatVector a2 = FloatVector.broadcast(S, b2), a3 = FloatVector.broadcast(S, b3);
                for (int t = 0; t < crs; t++) {
                    FloatVector c = FloatVector.fromArray(S, col, colOff + rowOff[t] + j, m);
                    a0 = c.fma(FloatVector.broadcast(S, w[w0 + t]), a0);
                    a1 = c.fma(FloatVector.broadcast(S, w[w1 + t]), a1);
                    a2 = c.fma(FloatVector.broadcast(S, w[w2 + t]), a2);
                    a3 = c.fma(FloatVector.broadcast(S, w[w3 + t]), a3);
                }
                a0.intoArray(y, o0 + j, m);
                if (k0 + 1 < kHi) a1.intoArray(y, o0 + pq + j, m);
                if (k0 + 2 < kHi) a2.intoArray(y, o0 + 2 * pq + j, m);
                if (k0 + 3 < kHi) a3.intoArray(y, o0 + 3 * pq + j, m);
            }
        }
    }

    /**
     * What a convolution does to each finished output a (conv + bias) on its way to y: with {@code add}, a + y (the
     * value y held: a residual block's shortcut), then with {@code relu}, max(·, 0), lanewise MAX as
     * {@link Pointwise}'s ReLU, so the same bits as the ops run one after the other
     * ({@link dev.shears.core.Backend#conv2dAddReluForward}).
     */
    enum Epilogue {
        NONE(false, false), RELU(false, true), ADD(true, false), ADD_RELU(true, true);

        final boolean add, relu;

        Epilogue(boolean add, boolean relu) { this.add = add; this.relu = relu; }

        static Epilogue of(boolean add, boolean relu) { return add ? (relu ? ADD_RELU : ADD) : (relu ? RELU : NONE); }
    }

    /** y[yOff + i] = epi(a[aOff + i]) for i &lt; length, y's old value being the addend with {@code epi.add}. */
    static void epilogue(Epilogue epi, float[] a, int aOff, float[] y, int yOff, int length) {
        boolean add = epi.add, relu = epi.relu;
        FloatVector zero = FloatVector.zero(S);
        int i = 0;
        for (int bound = S.loopBound(length); i < bound; i += L) {
            FloatVector v = FloatVector.fromArray(S, a, aOff + i);
            if (add) v = v.add(FloatVector.fromArray(S, y, yOff + i));
            if (relu) v = v.max(zero);
            v.intoArray(y, yOff + i);
        }
        for (; i < length; i++) {
            float v = a[aOff + i];
            if (add) v += y[yOff + i];
            y[yOff + i] = relu ? Math.max(v, 0f) : v;
        }
    }

    /**
     * {@link #forwardSmall} for the last one or two filters k0 ≤ k &lt; kHi (k0 + 2 ≥ kHi): two accumulators per
     * column vector instead of four, so a conv whose filters are not a multiple of four does not pay for a whole
     * group of them (26 filters cost 26 filters' fmas instead of 28, 25 cost 26). Each filter's sums are the same as in
     * forwardSmall, term by term, so the values are the same bits. Written out apart from forwardSmall's loops
     * (the same shape with half the accumulators), as Gemm's kernel8 and kernel6 are: C2 keeps accumulators in
     * registers only as named locals. Whole model at batch 64, one thread, a clean pair of JVMs: 26, 30, ..., 62
     * filters after 14 channels 1–3.5% faster (26: 1.61 → 1.57 ms, 42: 2.36 → 2.29), multiples of four the same.
     */
    private static void forwardSmallPair(int k0, int kHi, int crs, int pq, float[] col, int colOff, int[] rowOff, float[] w,
                                         int wOff, float[] bias, float[] y, int yOff) {
        int k1 = Math.min(k0 + 1, kHi - 1), w0 = wOff + k0 * crs, w1 = wOff + k1 * crs;   // a lone filter is computed twice, stored once
        float b0 = bias == null ? 0f : bias[k0], b1 = bias == null ? 0f : bias[k1];
        int o0 = yOff + k0 * pq, o1 = o0 + pq;
        boolean two = k0 + 1 < kHi;
        int j = 0;
        for (; j + 3 * L <= pq; j += 3 * L) {
            FloatVector a0 = FloatVector.broadcast(S, b0), a1 = FloatVector.broadcast(S, b1);
            FloatVector e0 = a0, e1 = a1, f0 = a0, f1 = a1;
            for (int t = 0; t < crs; t++) {
                int ct = colOff + rowOff[t] + j;
                FloatVector c = FloatVector.fromArray(S, col, ct);
                FloatVector d = FloatVector.fromArray(S, col, ct + L);
                FloatVector g = FloatVector.fromArray(S, col, ct + 2 * L);
                FloatVector v = FloatVector.broadcast(S, w[w0 + t]);
                a0 = c.fma(v, a0); e0 = d.fma(v, e0); f0 = g.fma(v, f0);
                v = FloatVector.broadcast(S, w[w1 + t]);
                a1 = c.fma(v, a1); e1 = d.fma(v, e1); f1 = g.fma(v, f1);
            }
            a0.intoArray(y, o0 + j); e0.intoArray(y, o0 + j + L); f0.intoArray(y, o0 + j + 2 * L);
            if (two) { a1.intoArray(y, o1 + j); e1.intoArray(y, o1 + j + L); f1.intoArray(y, o1 + j + 2 * L); }
        }
        for (; j < pq; j += L) {   // one vector of columns at a time, the last pq % L masked (off lanes read 0)
            VectorMask<Float> m = S.indexInRange(j, pq);
            FloatVector a0 = FloatVector.broadcast(S, b0), a1 = FloatVector.broadcast(S, b1);
            for (int t = 0; t < crs; t++) {
                FloatVector c = FloatVector.fromArray(S, col, colOff + rowOff[t] + j, m);
                a0 = c.fma(FloatVector.broadcast(S, w[w0 + t]), a0);
                a1 = c.fma(FloatVector.broadcast(S, w[w1 + t]), a1);
            }
            a0.intoArray(y, o0 + j, m);
            if (two) a1.intoArray(y, o1 + j, m);
        }
    }

    /**
     * For stride 1 with Q = W (SimpleCNN's "same" padding), col need not be built: row (c, r, s) of col is
     * row (c, s) of the buffer {@link #shiftPlanes} fills, read from its r-th row on. Sets rowOff[t] to
     * where row t = (c·R + r)·S + s starts and returns the buffer's length: C·S planes of (H + 2·padH)·W
     * floats, R times smaller than col (27 KiB for a pruned conv2 image, which stays in L1, against 70).
     */
    static int shiftedPlanes(Conv2dShape s, int[] rowOff) {
        int C = s.c(), R = s.r(), Sk = s.s(), W = s.w(), padded = (s.h() + 2 * s.padH()) * W;
        for (int c = 0; c < C; c++)
            for (int r = 0; r < R; r++)
                for (int t = 0; t < Sk; t++) rowOff[(c * R + r) * Sk + t] = (c * Sk + t) * padded + r * W;
        return C * Sk * padded;
    }

    /**
     * buf[(c·S + s)] [hp][q] = x[n, c, hp − padH, q − padW + s], 0 outside the input: each input plane
     * shifted by s − padW columns (wrapped columns zeroed) with padH zero rows above and below. Then for
     * output position j = p·W + q, buf plane (c, s) at j + r·W holds x[n, c, p − padH + r, q − padW + s],
     * which is col[(c·R + r)·S + s][j] (stride 1, and P = H + 2·padH − R + 1 rows).
     */
    static void shiftPlanes(Conv2dShape s, float[] x, int n, float[] buf) {
        int C = s.c(), H = s.h(), W = s.w(), Sk = s.s(), ph = s.padH(), pw = s.padW(), padded = (H + 2 * ph) * W;
        FloatVector zero = FloatVector.zero(S);
        // one masked load and store per row and L columns: the load's mask leaves out the columns whose
        // source lies outside the row (they read as 0), the store's the lanes past the row. Pruned conv2 image
        // (14 channels, 14×14), one thread: 1.40 µs as one arraycopy per plane and a scalar loop zeroing the
        // wrapped columns, 0.77 µs this way; unpruned (32 channels) 3.1 → 1.9 µs.
        for (int t = 0; t < Sk; t++) {
            int shift = t - pw;
            for (int j = 0; j < W; j += L) {
                VectorMask<Float> read = lanes(-shift - j, W - j - shift).and(S.indexInRange(j, W)), write = S.indexInRange(j, W);
                for (int c = 0; c < C; c++) {
                    int o = (c * Sk + t) * padded + j, src = (n * C + c) * H * W + j + shift;
                    for (int h = 0; h < ph; h++, o += W) zero.intoArray(buf, o, write);
                    for (int h = 0; h < H; h++, o += W, src += W) FloatVector.fromArray(S, x, src, read).intoArray(buf, o, write);
                    for (int h = 0; h < ph; h++, o += W) zero.intoArray(buf, o, write);
                }
            }
        }
    }

    /**
     * The direct alternative for one image of a stride-1 convolution: no im2col, each output row computed
     * L columns at a time from masked, shifted loads of input rows, four filters per pass sharing every load
     * (4 accumulators). Measured against im2col + GEMM in {@link #forward}'s comment.
     */
    static void forwardDirect(Conv2dShape s, float[] x, float[] w, float[] bias, float[] y, int n) {
        int C = s.c(), H = s.h(), W = s.w(), K = s.k(), R = s.r(), Sk = s.s(), P = s.p(), Q = s.q();
        int ph = s.padH(), pw = s.padW(), kStride = C * R * Sk;
        for (int k0 = 0; k0 < K; k0 += 4) {
            // filters past K repeat the last one and are not stored
            int w0 = k0 * kStride, w1 = Math.min(k0 + 1, K - 1) * kStride, w2 = Math.min(k0 + 2, K - 1) * kStride, w3 = Math.min(k0 + 3, K - 1) * kStride;
            for (int p = 0; p < P; p++)
                for (int q0 = 0; q0 < Q; q0 += L) {
                    FloatVector a0 = FloatVector.broadcast(S, bias == null ? 0f : bias[k0]);
                    FloatVector a1 = FloatVector.broadcast(S, bias == null ? 0f : bias[Math.min(k0 + 1, K - 1)]);
                    FloatVector a2 = FloatVector.broadcast(S, bias == null ? 0f : bias[Math.min(k0 + 2, K - 1)]);
                    FloatVector a3 = FloatVector.broadcast(S, bias == null ? 0f : bias[Math.min(k0 + 3, K - 1)]);
                    for (int t = 0; t < Sk; t++) {
                        int col0 = q0 + t - pw;                      // input column under lane 0
                        VectorMask<Float> m = lanes(-col0, Math.min(W - col0, Q - q0));
                        for (int c = 0; c < C; c++)
                            for (int r = 0; r < R; r++) {
                                int h = p - ph + r;
                                if (h < 0 || h >= H) continue;
                                FloatVector xv = FloatVector.fromArray(S, x, ((n * C + c) * H + h) * W + col0, m);
                                int wi = (c * R + r) * Sk + t;
                                a0 = xv.fma(FloatVector.broadcast(S, w[w0 + wi]), a0);
                                a1 = xv.fma(FloatVector.broadcast(S, w[w1 + wi]), a1);
                                a2 = xv.fma(FloatVector.broadcast(S, w[w2 + wi]), a2);
                                a3 = xv.fma(FloatVector.broadcast(S, w[w3 + wi]), a3);
                            }
                    }
                    VectorMask<Float> out = S.indexInRange(0, Q - q0);
                    int o = ((n * K + k0) * P + p) * Q + q0, plane = P * Q;
                    a0.intoArray(y, o, out);
                    if (k0 + 1 < K) a1.intoArray(y, o + plane, out);
                    if (k0 + 2 < K) a2.intoArray(y, o + 2 * plane, out);
                    if (k0 + 3 < K) a3.intoArray(y, o + 3 * plane, out);
                }
        }
    }

    /** The mask of lanes i with lo ≤ i &lt; hi (either bound may lie outside [0, L]). */
    private static VectorMask<Float> lanes(int lo, int hi) {
        return S.indexInRange(0, Math.max(0, hi)).andNot(S.indexInRange(0, Math.max(0, lo)));
    }

    static void backwardData(Parallel par, boolean simd, Conv2dShape s, float[] dy, float[] w, float[] dx) {
        if (Winograd.wins(par, simd, s, DirectConv.Pass.BACKWARD_DATA)) { Winograd.backwardData(par, s, dy, w, dx); return; }
        if (DirectConv.wins(par, simd, s, DirectConv.Pass.BACKWARD_DATA)) { DirectConv.backwardData(par, s, dy, w, dx); return; }
        int K = s.k(), crs = s.c() * s.r() * s.s(), pq = s.p() * s.q(), chw = s.c() * s.h() * s.w();
        Parallel inner = inner(par, s.n());
        float[] wtp = simd && inner == null ? Gemm.packAll(true, 1f, crs, K, w, 0, crs) : null;   // wᵀ, packed once
        par.parallelFor(0, s.n(), (lo, hi) -> {
            float[] dcol = pointwise(s) ? null : scratch(crs * pq);
            for (int n = lo; n < hi; n++) {
                float[] dst = dcol == null ? dx : dcol;
                int dstOff = dcol == null ? n * chw : 0;
                if (wtp != null) Gemm.sgemmPacked(wtp, false, crs, pq, K, dy, n * K * pq, pq, 0f, dst, dstOff, pq);
                else Gemm.sgemm(inner, simd, true, false, crs, pq, K, 1f, w, 0, crs, dy, n * K * pq, pq, 0f, dst, dstOff, pq);
                if (dcol != null) col2im(simd, s, dcol, dx, n);
            }
        });
    }

    static void backwardWeight(Parallel par, boolean simd, Conv2dShape s, float[] x, float[] dy, float[] dw, float[] dbias) {
        if (Winograd.wins(par, simd, s, DirectConv.Pass.BACKWARD_WEIGHT)) { Winograd.backwardWeight(par, s, x, dy, dw, dbias); return; }
        if (DirectConv.wins(par, simd, s, DirectConv.Pass.BACKWARD_WEIGHT)) { DirectConv.backwardWeight(par, s, x, dy, dw, dbias); return; }
        int K = s.k(), crs = s.c() * s.r() * s.s(), pq = s.p() * s.q(), chw = s.c() * s.h() * s.w();
        java.util.Arrays.fill(dw, 0, K * crs, 0f);
        if (dbias != null) java.util.Arrays.fill(dbias, 0, K, 0f);
        Parallel inner = inner(par, s.n());
        // With few rows of col (conv1: CRS = 9) the packed GEMM is all packing and padding (9 rows in two
        // 6-row panels); plain dot products over the contiguous PQ measured ~8 µs per conv1 image against
        // ~50-80 µs. For conv2 (CRS = 288) the two were within noise of each other (150-250 µs) on a
        // loaded machine, and the packed GEMM is kept.
        // The dots keep lane-wise sums over all of a chunk's images (DotGemm.addABtLanes) and reduce them across
        // lanes once: conv1 at batch 64, one thread, CPU time, alone: 1.0-1.1 -> 0.55-0.59 ms.
        boolean dots = crs < 32;
        // one partial dwᵀ per chunk, filed under the chunk's first image and added up in image order after
        // the loop: adding them in the order the chunks finished gave other last bits from run to run with
        // three or more threads (two partials add up the same either way)
        float[][] partsT = new float[s.n()][];
        double[][] partsBias = new double[s.n()][];
        par.parallelFor(0, s.n(), (lo, hi) -> {
            // dwᵀ [CRS × K] += col · dyᵀ: the transposed operand is dy[n] (K·PQ floats), not col (CRS·PQ)
            float[] partT = new float[crs * K];
            double[] partBias = new double[K];
            float[] col = pointwise(s) ? null : scratch(crs * pq);
            // with dots, the lane-wise sums over all the chunk's images, reduced across lanes once at the end
            float[] lanes = dots && simd ? new float[(crs * K + 1) * DotGemm.L] : null;
            for (int n = lo; n < hi; n++) {
                float[] src = x;
                int srcOff = n * chw;
                if (col != null) { im2col(s, x, n, col); src = col; srcOff = 0; }
                if (lanes != null) DotGemm.addABtLanes(crs, K, pq, src, srcOff, pq, dy, n * K * pq, pq, lanes);
                else if (dots) DotGemm.addABt(simd, crs, K, pq, src, srcOff, pq, dy, n * K * pq, pq, partT, 0, K);
                else Gemm.sgemm(inner, simd, false, true, crs, K, pq, 1f, src, srcOff, pq, dy, n * K * pq, pq, 1f, partT, 0, K);
                if (dbias != null)
                    for (int k = 0; k < K; k++) partBias[k] += Reduce.sum(simd, dy, (n * K + k) * pq, pq);
            }
            if (lanes != null) DotGemm.addLaneSums(crs, K, lanes, partT, 0, K);
            partsT[lo] = partT;
            partsBias[lo] = partBias;
        });
        for (int lo = 0; lo < s.n(); lo++) {
            float[] partT = partsT[lo];
            if (partT == null) continue;
            for (int j = 0; j < crs; j++)
                for (int k = 0; k < K; k++) dw[k * crs + j] += partT[j * K + k];
            if (dbias != null) for (int k = 0; k < K; k++) dbias[k] += (float) partsBias[lo][k];
        }
    }

    /**
     * col[CRS × PQ] for image n. When the output plane is as wide as the input (stride 1, "same" padding
     * along W: SimpleCNN), row (c, r, t) of col is the input plane shifted by (r − padH)·W + (t − padW): one
     * contiguous copy, then the few positions that wrapped around a row edge are zeroed. Otherwise, one
     * copy per output row. (Per conv2 image, single runs on the shared machine: ~21 µs with one copy per
     * output row, ~28 µs with a masked vector load and store per output row, ~8 µs with the plane shift.)
     */
    static void im2col(Conv2dShape s, float[] x, int n, float[] col) {
        int C = s.c(), H = s.h(), W = s.w(), R = s.r(), Sk = s.s(), P = s.p(), Q = s.q();
        int sh = s.strideH(), sw = s.strideW(), ph = s.padH(), pw = s.padW();
        boolean planeShift = sh == 1 && sw == 1 && Q == W;
        for (int c = 0; c < C; c++)
            for (int r = 0; r < R; r++)
                for (int t = 0; t < Sk; t++) {
                    int row = ((c * R + r) * Sk + t) * P * Q, plane = (n * C + c) * H * W;
                    // output columns q whose input column q·sw − pw + t lies in [0, W)
                    int qlo = Math.max(0, ceilDiv(pw - t, sw)), qhi = Math.min(Q, ceilDiv(W + pw - t, sw));
                    if (planeShift) {
                        // output rows p whose input row p − ph + r lies in [0, H)
                        int plo = Math.max(0, ph - r), phi = Math.min(P, H + ph - r);
                        if (plo >= phi || qlo >= qhi) { java.util.Arrays.fill(col, row, row + P * Q, 0f); continue; }
                        int first = plo * Q + qlo, last = (phi - 1) * Q + qhi;      // [first, last) of this row
                        java.util.Arrays.fill(col, row, row + first, 0f);
                        System.arraycopy(x, plane + first + (r - ph) * W + (t - pw), col, row + first, last - first);
                        java.util.Arrays.fill(col, row + last, row + P * Q, 0f);
                        for (int p = plo; p < phi; p++) {
                            for (int q = 0; q < qlo; q++) col[row + p * Q + q] = 0f;
                            for (int q = qhi; q < Q; q++) col[row + p * Q + q] = 0f;
                        }
                        continue;
                    }
                    for (int p = 0; p < P; p++) {
                        int h = p * sh - ph + r, o = row + p * Q;
                        if (h < 0 || h >= H || qlo >= qhi) { java.util.Arrays.fill(col, o, o + Q, 0f); continue; }
                        int xRow = plane + h * W;
                        java.util.Arrays.fill(col, o, o + qlo, 0f);
                        if (sw == 1) System.arraycopy(x, xRow + qlo - pw + t, col, o + qlo, qhi - qlo);
                        else for (int q = qlo; q < qhi; q++) col[o + q] = x[xRow + q * sw - pw + t];
                        java.util.Arrays.fill(col, o + qhi, o + Q, 0f);
                    }
                }
    }

    /**
     * dx[n] = Σ of dcol's entries over every (row, column) that im2col copied from that input element: the
     * adjoint of im2col. In the plane-shift case the entries im2col zeroed are zeroed in dcol (scratch) too,
     * and each row of dcol is added to the shifted plane as one long vector loop.
     */
    static void col2im(boolean simd, Conv2dShape s, float[] dcol, float[] dx, int n) {
        int C = s.c(), H = s.h(), W = s.w(), R = s.r(), Sk = s.s(), P = s.p(), Q = s.q();
        int sh = s.strideH(), sw = s.strideW(), ph = s.padH(), pw = s.padW();
        boolean planeShift = sh == 1 && sw == 1 && Q == W;
        java.util.Arrays.fill(dx, n * C * H * W, (n + 1) * C * H * W, 0f);
        for (int c = 0; c < C; c++)
            for (int r = 0; r < R; r++)
                for (int t = 0; t < Sk; t++) {
                    int row = ((c * R + r) * Sk + t) * P * Q, plane = (n * C + c) * H * W;
                    int qlo = Math.max(0, ceilDiv(pw - t, sw)), qhi = Math.min(Q, ceilDiv(W + pw - t, sw));
                    if (qlo >= qhi) continue;
                    if (planeShift) {
                        int plo = Math.max(0, ph - r), phi = Math.min(P, H + ph - r);
                        if (plo >= phi) continue;
                        for (int p = plo; p < phi; p++) {
                            for (int q = 0; q < qlo; q++) dcol[row + p * Q + q] = 0f;
                            for (int q = qhi; q < Q; q++) dcol[row + p * Q + q] = 0f;
                        }
                        int first = plo * Q + qlo, last = (phi - 1) * Q + qhi;
                        addInto(simd, dcol, row + first, dx, plane + first + (r - ph) * W + (t - pw), last - first);
                        continue;
                    }
                    for (int p = 0; p < P; p++) {
                        int h = p * sh - ph + r;
                        if (h < 0 || h >= H) continue;
                        int xRow = plane + h * W, o = row + p * Q;
                        if (sw == 1) addInto(simd, dcol, o + qlo, dx, xRow + qlo - pw + t, qhi - qlo);
                        else for (int q = qlo; q < qhi; q++) dx[xRow + q * sw - pw + t] += dcol[o + q];
                    }
                }
    }

    /** dst[d .. d+len) += src[s .. s+len). */
    private static void addInto(boolean simd, float[] src, int s, float[] dst, int d, int len) {
        int i = 0;
        if (simd)
            for (int bound = S.loopBound(len); i < bound; i += L)
                FloatVector.fromArray(S, dst, d + i).add(FloatVector.fromArray(S, src, s + i)).intoArray(dst, d + i);
        for (; i < len; i++) dst[d + i] += src[s + i];
    }

    private static int ceilDiv(int a, int b) { return Math.floorDiv(a + b - 1, b); }

    /** y[off .. off+len) += v. */
    private static void addScalar(boolean simd, float v, float[] y, int off, int len) {
        int i = 0;
        if (simd)
            for (int bound = S.loopBound(len); i < bound; i += L)
                FloatVector.fromArray(S, y, off + i).add(v).intoArray(y, off + i);
        for (; i < len; i++) y[off + i] += v;
    }
}
