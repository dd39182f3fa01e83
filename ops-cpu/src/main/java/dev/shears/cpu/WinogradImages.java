package dev.shears.cpu;

import dev.shears.core.Conv2dShape;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * Winograd F(2×2, 3×3) with sixteen images in the lanes, for the narrow convolutions {@link Winograd} does not
 * take (a pruned SimpleCNN's conv2: 14 → 15 channels). Winograd vectorises over a block of 16 channels; with 14
 * channels and 15 filters its products are one block wide and its transforms cost as much as they save. Here
 * a vector holds one value of sixteen images, so every size of C, K and of the image fills every lane, and no
 * load needs a shuffle: a tile's 4×4 patch is 16 plain vector loads.
 * <pre>
 *   xg[c][h][w][i]      = x[n₀ + i, c, h − padH, w − padW]  (0 outside)        a group of 16 images, transposed once
 *   V[ξ][c][t][i]       = (Bᵀ · xg[c, tile t] · B)[ξ]                            per band of tile rows
 *   M[ξ][k][t][i]       = Σ_c U[ξ][k][c] · V[ξ][c][t][i]                         16 products: {@link Conv#forwardSmall}
 *   y[n₀ + i, k, tile t] = Aᵀ · M[·][k][t][i] · A + bias[k]                      transposed back to NCHW
 * </pre>
 * with U = G·g·Gᵀ and the Bᵀ, G and Aᵀ of {@link Winograd}. Each product is forwardSmall's filters × columns
 * GEMM with the tile-and-image index as its columns (C rows, K filters), which runs near the FMA peak for any
 * C and K. With a pool, a tile is one 2×2 pooling window: the max of its four outputs, plus the bias, is the
 * pooled value, and the full-size outputs are never stored. Adding the bias after the max gives the same
 * bits as before it (rounding is monotone), so the pooled values are the same bits as this kernel's
 * convolution followed by the pool.
 *
 * <p>Results do not depend on the thread count: groups of images are split between threads, and each value is
 * computed the same way in any group. A batch that is not a multiple of 16 leaves the last group's extra
 * lanes empty (read as 0, not stored). Into and out of the lanes, rows of 16 images go through a 16 × 16
 * transpose in registers ({@link #transpose}).
 */
final class WinogradImages {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();

    private WinogradImages() {}

    /**
     * Whether this kernel can take s: 16 lanes, a shape {@link Winograd#fits} (3×3, stride 1, one group), an
     * even output (whole tiles), and at least {@link #MIN_BATCH} images; not with {@code shears.conv.winograd=never}.
     */
    static boolean fits(boolean simd, Conv2dShape s) {
        return simd && L == 16 && !"never".equals(Winograd.MODE) && Winograd.fits(s) && s.p() % 2 == 0 && s.q() % 2 == 0
                && s.n() >= MIN_BATCH;
    }

    /** The least batch this kernel takes: below it most lanes would be empty. */
    static final int MIN_BATCH = 16;

    /**
     * Whether {@link Conv} should take this kernel for the forward pass of s on par's threads: where it
     * {@link #fits}, {@link Winograd} does not take s, each thread gets a group of 16 images, and C·K / (C + K)
     * (Winograd's measure, products per transformed value) is at least {@link #MIN_PRODUCTS}. Zen 4, 2026-12-07,
     * batch 64, 14×14, best of 7 rounds each, against {@link Conv}'s shifted planes:
     * <ul>
     *   <li>with the 2×2 pool after it (the pooled kernels), one thread: 14 → 15 channels 626 → 468 µs, 19 → 20
     *       1036 → 723, 21 → 27 1533 → 1006, 8 → 8 215 → 198, 16 → 16 at 28×28 2749 → 2253; 4 → 8 113 → 133 and
     *       1 → 14 at 28×28 249 → 528 lose (the transforms outweigh the products); two threads: 14 → 15 311–412 →
     *       241–352, 21 → 27 888 → 635;</li>
     *   <li>the convolution alone, one thread: 21 → 27 0.67 of the time, 14 → 15 0.89, 10 → 10 0.94, 11 → 14 0.99,
     *       12 → 12 1.10, 8 → 8 1.24, 5 → 6 1.41; at batch 256 (the ResNet fixture's), one and two threads: 16 → 16
     *       0.74 and 0.84, 8 → 8 at 28×28 1.10 and 1.22.</li>
     * </ul>
     * One limit for both, so that a pooled convolution gives the same bits as the convolution and the pool run
     * one after the other (the limit the convolution alone needs). SimpleCNN's unpruned conv2 (32 → 64) stays
     * with Winograd (3383 against 3296 µs pooled, a tie).
     */
    static boolean wins(Parallel par, boolean simd, Conv2dShape s) {
        if (!fits(simd, s) || Winograd.wins(par, simd, s, DirectConv.Pass.FORWARD)) return false;
        return (s.n() + L - 1) / L >= par.threads() && (double) s.c() * s.k() / (s.c() + s.k()) >= MIN_PRODUCTS;
    }

    /** The least C·K / (C + K) at which this kernel takes a convolution (see {@link #wins}). */
    static final double MIN_PRODUCTS = 7;

    /**
     * Floats of V and M per band of tiles: 128 Ki floats = 512 KiB, half of Zen 4's L2. A pruned conv2 (14 → 15
     * channels) takes 15 of its 49 tiles per band. Bands of 7, 14, 21, 28 and 49 tiles (the last 1.45 MB) timed
     * within the noise of each other on one thread (466–485 µs at batch 64) and on two (241–352 µs).
     */
    static final int BAND_FLOATS = 128 * 1024;

    /** Tiles per band: as many as {@link #BAND_FLOATS} allows, in threes (forwardSmall's columns go three vectors at a time). */
    static int bandTiles(Conv2dShape s) {
        int tiles = s.p() / 2 * (s.q() / 2), fit = BAND_FLOATS / (16 * L * (s.c() + s.k()));
        return Math.min(tiles, Math.max(3, fit / 3 * 3));
    }

    /**
     * y = conv(x, w) + bias, or with {@code pooled} the 2×2 max-pool of it, through {@code epi} (its ReLU, and
     * unpooled its addition of y's old value: a residual block's shortcut) as {@link Conv#epilogue} applies it.
     */
    static void forward(Parallel par, Conv2dShape s, float[] x, float[] w, float[] bias, boolean pooled, Conv.Epilogue epi, float[] y) {
        if (pooled && epi.add) throw new IllegalArgumentException("WinogradImages: a pooled convolution adds nothing, got " + epi);
        float[] u = weights(s, w, SCRATCH.get());
        int groups = (s.n() + L - 1) / L;
        par.parallelFor(0, groups, (lo, hi) -> {
            for (int g = lo; g < hi; g++) group(s, x, u, bias, pooled, epi, y, g);
        });
    }

    /**
     * U[ξ][k][c] = (G · w[k, c] · Gᵀ)[ξ], ξ = 4i + j: the 16 products' weights, each K × C as forwardSmall reads
     * them, in the calling thread's scratch (read by the workers while it waits).
     */
    static float[] weights(Conv2dShape s, float[] w, Scratch sc) {
        int K = s.k(), C = s.c();
        float[] u = sc.u(16 * K * C), t = sc.g;
        for (int k = 0; k < K; k++)
            for (int c = 0; c < C; c++) {
                int g = (k * C + c) * 9;
                for (int j = 0; j < 3; j++) {   // t = G · g (4 × 3)
                    float g0 = w[g + j], g1 = w[g + 3 + j], g2 = w[g + 6 + j];
                    t[j] = g0;
                    t[3 + j] = 0.5f * (g0 + g1 + g2);
                    t[6 + j] = 0.5f * (g0 - g1 + g2);
                    t[9 + j] = g2;
                }
                for (int i = 0; i < 4; i++) {   // U = t · Gᵀ (4 × 4)
                    float t0 = t[3 * i], t1 = t[3 * i + 1], t2 = t[3 * i + 2];
                    u[((4 * i) * K + k) * C + c] = t0;
                    u[((4 * i + 1) * K + k) * C + c] = 0.5f * (t0 + t1 + t2);
                    u[((4 * i + 2) * K + k) * C + c] = 0.5f * (t0 - t1 + t2);
                    u[((4 * i + 3) * K + k) * C + c] = t2;
                }
            }
        return u;
    }

    /**
     * Per-thread buffers: the group's images and outputs, a band's V and M, U, the row offsets, a 16 × 16 block;
     * a pair's first input ({@link #forwardPair}).
     */
    static final class Scratch {
        final float[] tile = new float[L * L];
        float[] xg = new float[0], v = new float[0], m = new float[0], u = new float[0], yg = new float[0], first = new float[0];
        final float[] g = new float[12];
        int[] rowOff = new int[0];

        float[] xg(int n) { return xg.length >= n ? xg : (xg = new float[n]); }
        float[] first(int n) { return first.length >= n ? first : (first = new float[n]); }
        float[] v(int n) { return v.length >= n ? v : (v = new float[n]); }
        float[] m(int n) { return m.length >= n ? m : (m = new float[n]); }
        float[] u(int n) { return u.length >= n ? u : (u = new float[n]); }
        float[] yg(int n) { return yg.length >= n ? yg : (yg = new float[n]); }
        int[] rowOff(int n) { return rowOff.length >= n ? rowOff : (rowOff = new int[n]); }
    }

    static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** Images 16·g to 16·g + 15 (those below N). */
    private static void group(Conv2dShape s, float[] x, float[] u, float[] bias, boolean pooled, Conv.Epilogue epi, float[] y, int g) {
        int n0 = g * L, images = Math.min(L, s.n() - n0);
        Scratch sc = SCRATCH.get();
        float[] xg = sc.xg(lanesLength(s));
        intoLanes(s, x, n0, images, xg, sc.tile);
        fromLanes(s, xg, u, bias, pooled, epi, y, n0, images, sc);
    }

    /**
     * y = a first convolution (s1: {@link DirectImages}) with its pool, then this kernel's pooled convolution (s2) of
     * that, group by group, the values between them never leaving the lanes: the first's pooled outputs go straight
     * into the padded input of the second, instead of out to NCHW and back in through two transposes per block
     * (with a pruned SimpleCNN, as much data as the images themselves, 14 times over). The same bits as
     * {@link DirectImages#forwardMaxPool} then {@link #forward} pooled.
     */
    static void forwardPair(Parallel par, Conv2dShape s1, float[] x, float[] w1, float[] b1, boolean relu1,
                            Conv2dShape s2, float[] w2, float[] b2, boolean relu2, float[] y) {
        float[] u = weights(s2, w2, SCRATCH.get());
        Conv.Epilogue epi = relu2 ? Conv.Epilogue.RELU : Conv.Epilogue.NONE;
        int groups = (s1.n() + L - 1) / L;
        par.parallelFor(0, groups, (lo, hi) -> {
            for (int g = lo; g < hi; g++) {
                int n0 = g * L, images = Math.min(L, s1.n() - n0);
                Scratch sc = SCRATCH.get();
                float[] first = sc.first(lanesLength(s1)), xg = sc.xg(lanesLength(s2));
                intoLanes(s1, x, n0, images, first, sc.tile);
                zeroHalo(s2, xg);
                int hp = s2.h() + 2 * s2.padH(), wp = s2.w() + 2 * s2.padW();
                DirectImages.pooled(s1, first, w1, b1, relu1, xg, (s2.padH() * wp + s2.padW()) * L, hp * wp * L, wp * L);
                fromLanes(s2, xg, u, b2, true, epi, y, n0, images, sc);
            }
        });
    }

    /** Floats of s's input for a group of 16 images in the lanes, padded: C planes of (H + 2·padH) × (W + 2·padW) vectors. */
    static int lanesLength(Conv2dShape s) {
        return s.c() * (s.h() + 2 * s.padH()) * (s.w() + 2 * s.padW()) * L;
    }

    /** Zeros in the padding of s's input in the lanes (C planes of H × W inside a halo of padH rows and padW columns). */
    private static void zeroHalo(Conv2dShape s, float[] xg) {
        int C = s.c(), H = s.h(), W = s.w(), padH = s.padH(), padW = s.padW(), hp = H + 2 * padH, wp = W + 2 * padW;
        FloatVector zero = FloatVector.zero(S);
        for (int c = 0; c < C; c++)
            for (int h = 0; h < hp; h++) {
                int o = (c * hp + h) * wp * L;
                boolean halo = h < padH || h >= padH + H;
                for (int w = 0; w < wp; w++)
                    if (halo || w < padW || w >= padW + W) zero.intoArray(xg, o + w * L);
            }
    }

    /**
     * The convolution (and pool, and epi) of the group of images n₀ to n₀ + images − 1 whose input is xg (images in
     * the lanes, padded: {@link #intoLanes}), into y.
     */
    private static void fromLanes(Conv2dShape s, float[] xg, float[] u, float[] bias, boolean pooled, Conv.Epilogue epi,
                                  float[] y, int n0, int images, Scratch sc) {
        int C = s.c(), K = s.k(), hp = s.h() + 2 * s.padH(), wp = s.w() + 2 * s.padW(), tilesH = s.p() / 2, tilesW = s.q() / 2;
        int outPlane = pooled ? tilesH * tilesW : s.p() * s.q();
        float[] yg = sc.yg(K * outPlane * L);   // the group's outputs, images in the lanes
        int bandMax = bandTiles(s);
        float[] v = sc.v(16 * C * bandMax * L), m = sc.m(16 * K * bandMax * L);
        int[] rowOff = sc.rowOff(C);
        for (int t0 = 0; t0 < tilesH * tilesW; t0 += bandMax) {
            int band = Math.min(bandMax, tilesH * tilesW - t0), cols = band * L;
            for (int c = 0; c < C; c++) {
                rowOff[c] = c * cols;
                for (int t = 0; t < band; t++) inputTile(xg, ((c * hp + 2 * ((t0 + t) / tilesW)) * wp + 2 * ((t0 + t) % tilesW)) * L, wp * L, v, (c * band + t) * L, C * cols);
            }
            for (int xi = 0; xi < 16; xi++)
                Conv.forwardSmall(0, K, C, cols, v, xi * C * cols, rowOff, u, xi * K * C, null, m, xi * K * cols);
            // the ReLU here where nothing is added first (it commutes with the transpose out), else in outOfLanes
            float floor = epi.relu && !epi.add ? 0f : Float.NEGATIVE_INFINITY;
            for (int k = 0; k < K; k++) {
                float b = bias == null ? 0f : bias[k];
                for (int t = 0; t < band; t++) {
                    int tile = t0 + t, ty = tile / tilesW, tx = tile % tilesW;
                    int at = k * outPlane + (pooled ? tile : 2 * ty * s.q() + 2 * tx);
                    outputTile(m, (k * band + t) * L, K * cols, b, floor, pooled, yg, at * L, s.q() * L);
                }
            }
        }
        outOfLanes(yg, K, outPlane, n0, images, epi.add ? epi : Conv.Epilogue.NONE, y, sc.tile);
    }

    /**
     * xg[c][h][w][i] = x[n₀ + i, c, h − padH, w − padW] for the group's images (i &lt; images), 0 outside the
     * image (a zero halo of padH rows and padW columns) and in the lanes past the last image: each row of the 16
     * images goes through a {@link #transpose}, L columns at a time.
     */
    static void intoLanes(Conv2dShape s, float[] x, int n0, int images, float[] xg, float[] tile) {
        int C = s.c(), H = s.h(), W = s.w(), padH = s.padH(), padW = s.padW(), hp = H + 2 * padH, wp = W + 2 * padW;
        int chw = C * H * W;
        FloatVector zero = FloatVector.zero(S);
        zeroHalo(s, xg);
        for (int c = 0; c < C; c++)
            for (int xh = 0; xh < H; xh++) {
                int o = (c * hp + padH + xh) * wp * L;
                for (int w0 = 0; w0 < W; w0 += L) {   // L columns at a time
                    int from = n0 * chw + (c * H + xh) * W + w0, to = o + (padW + w0) * L, columns = Math.min(L, W - w0);
                    // a whole group, straight from x (columns past W, the next row's, become rows of the
                    // transpose that it does not store)
                    if (images == L && from + (L - 1) * chw + L <= x.length) {
                        transpose(x, from, chw, xg, to, L, columns);
                        continue;
                    }
                    VectorMask<Float> valid = S.indexInRange(w0, W);   // a last group, or the batch's last row
                    for (int i = 0; i < L; i++)
                        (i < images ? FloatVector.fromArray(S, x, from + i * chw, valid) : zero).intoArray(tile, i * L);
                    transpose(tile, 0, L, xg, to, L, columns);
                }
            }
    }

    /**
     * y[n₀ + i, k, j] = yg[k][j][i] for the group's images (i &lt; images), k &lt; K, j &lt; plane, or with
     * {@code shortcut}'s add (and ReLU) that value plus what y held: each filter's outputs, 16 positions at a
     * time, through a {@link #transpose} back to the images' rows of y: straight from yg to y, except the
     * plane's last positions (stored masked) and a shortcut's blocks, which go through a 16 × 16 buffer.
     */
    static void outOfLanes(float[] yg, int K, int plane, int n0, int images, Conv.Epilogue shortcut, float[] y, float[] tile) {
        FloatVector zero = FloatVector.zero(S);
        for (int k = 0; k < K; k++)
            for (int j0 = 0; j0 < plane; j0 += L) {
                int from = (k * plane + j0) * L, to = (n0 * K + k) * plane + j0;
                if (j0 + L <= plane && shortcut == Conv.Epilogue.NONE) {
                    transpose(yg, from, L, y, to, K * plane, images);
                    continue;
                }
                if (j0 + L <= plane) transpose(yg, from, L, tile, 0, L, L);
                else {   // the last positions: the rows past the plane are copies of its last
                    for (int i = 0; i < L; i++) FloatVector.fromArray(S, yg, from + Math.min(i, plane - 1 - j0) * L).intoArray(tile, i * L);
                    transpose(tile, 0, L, tile, 0, L, L);
                }
                VectorMask<Float> positions = S.indexInRange(j0, plane);
                for (int i = 0; i < images; i++) {
                    int o = to + i * K * plane;
                    FloatVector r = FloatVector.fromArray(S, tile, i * L);
                    if (shortcut.add) r = r.add(FloatVector.fromArray(S, y, o, positions));
                    if (shortcut.relu) r = r.max(zero);
                    r.intoArray(y, o, positions);
                }
            }
    }

    /**
     * The 16 × 16 block whose row i is src[sOff + i·sStride ...], transposed: its column j to
     * dst[dOff + j·dStride ...], for j &lt; dRows. For b = 8, 4, 2, 1, rows r and r + b (r's bit b clear) swap the
     * b × b blocks off their diagonal, one two-vector permute per row ({@link #SWAP_LOW}, {@link #SWAP_HIGH}), all
     * 16 rows in registers (written out: C2 keeps vectors in registers only as named locals). Rows of 16 images
     * become 16 vectors of one position each, and back.
     * <p>It reads from and writes to the tensors themselves: copied through a 16 × 16 buffer on both sides, the
     * transposes in and out took a quarter of a pruned conv2's 400 µs (batch 64, one thread). Whole vectors only:
     * a caller with fewer rows or lanes than 16 goes through the buffer. With masks and a ReLU in this method, C2
     * ran out of nodes compiling it in some JVMs and left its permutes to the Vector API's Java fallback. 16
     * gathers per row instead took about 35 cycles apiece.
     */
    private static void transpose(float[] src, int sOff, int sStride, float[] dst, int dOff, int dStride, int dRows) {
        FloatVector r0 = FloatVector.fromArray(S, src, sOff);
        FloatVector r1 = FloatVector.fromArray(S, src, sOff + 1 * sStride);
        FloatVector r2 = FloatVector.fromArray(S, src, sOff + 2 * sStride);
        FloatVector r3 = FloatVector.fromArray(S, src, sOff + 3 * sStride);
        FloatVector r4 = FloatVector.fromArray(S, src, sOff + 4 * sStride);
        FloatVector r5 = FloatVector.fromArray(S, src, sOff + 5 * sStride);
        FloatVector r6 = FloatVector.fromArray(S, src, sOff + 6 * sStride);
        FloatVector r7 = FloatVector.fromArray(S, src, sOff + 7 * sStride);
        FloatVector r8 = FloatVector.fromArray(S, src, sOff + 8 * sStride);
        FloatVector r9 = FloatVector.fromArray(S, src, sOff + 9 * sStride);
        FloatVector r10 = FloatVector.fromArray(S, src, sOff + 10 * sStride);
        FloatVector r11 = FloatVector.fromArray(S, src, sOff + 11 * sStride);
        FloatVector r12 = FloatVector.fromArray(S, src, sOff + 12 * sStride);
        FloatVector r13 = FloatVector.fromArray(S, src, sOff + 13 * sStride);
        FloatVector r14 = FloatVector.fromArray(S, src, sOff + 14 * sStride);
        FloatVector r15 = FloatVector.fromArray(S, src, sOff + 15 * sStride);
        // b = 8
        FloatVector a0_0 = SWAP_LOW[0].selectFrom(r0, r8), b0_0 = SWAP_HIGH[0].selectFrom(r0, r8);
        FloatVector a0_1 = SWAP_LOW[0].selectFrom(r1, r9), b0_1 = SWAP_HIGH[0].selectFrom(r1, r9);
        FloatVector a0_2 = SWAP_LOW[0].selectFrom(r2, r10), b0_2 = SWAP_HIGH[0].selectFrom(r2, r10);
        FloatVector a0_3 = SWAP_LOW[0].selectFrom(r3, r11), b0_3 = SWAP_HIGH[0].selectFrom(r3, r11);
        FloatVector a0_4 = SWAP_LOW[0].selectFrom(r4, r12), b0_4 = SWAP_HIGH[0].selectFrom(r4, r12);
        FloatVector a0_5 = SWAP_LOW[0].selectFrom(r5, r13), b0_5 = SWAP_HIGH[0].selectFrom(r5, r13);
        FloatVector a0_6 = SWAP_LOW[0].selectFrom(r6, r14), b0_6 = SWAP_HIGH[0].selectFrom(r6, r14);
        FloatVector a0_7 = SWAP_LOW[0].selectFrom(r7, r15), b0_7 = SWAP_HIGH[0].selectFrom(r7, r15);
        r0 = a0_0; r8 = b0_0;
        r1 = a0_1; r9 = b0_1;
        r2 = a0_2; r10 = b0_2;
        r3 = a0_3; r11 = b0_3;
        r4 = a0_4; r12 = b0_4;
        r5 = a0_5; r13 = b0_5;
        r6 = a0_6; r14 = b0_6;
        r7 = a0_7; r15 = b0_7;
        // b = 4
        FloatVector a1_0 = SWAP_LOW[1].selectFrom(r0, r4), b1_0 = SWAP_HIGH[1].selectFrom(r0, r4);
        FloatVector a1_1 = SWAP_LOW[1].selectFrom(r1, r5), b1_1 = SWAP_HIGH[1].selectFrom(r1, r5);
        FloatVector a1_2 = SWAP_LOW[1].selectFrom(r2, r6), b1_2 = SWAP_HIGH[1].selectFrom(r2, r6);
        FloatVector a1_3 = SWAP_LOW[1].selectFrom(r3, r7), b1_3 = SWAP_HIGH[1].selectFrom(r3, r7);
        FloatVector a1_8 = SWAP_LOW[1].selectFrom(r8, r12), b1_8 = SWAP_HIGH[1].selectFrom(r8, r12);
        FloatVector a1_9 = SWAP_LOW[1].selectFrom(r9, r13), b1_9 = SWAP_HIGH[1].selectFrom(r9, r13);
        FloatVector a1_10 = SWAP_LOW[1].selectFrom(r10, r14), b1_10 = SWAP_HIGH[1].selectFrom(r10, r14);
        FloatVector a1_11 = SWAP_LOW[1].selectFrom(r11, r15), b1_11 = SWAP_HIGH[1].selectFrom(r11, r15);
        r0 = a1_0; r4 = b1_0;
        r1 = a1_1; r5 = b1_1;
        r2 = a1_2; r6 = b1_2;
        r3 = a1_3; r7 = b1_3;
        r8 = a1_8; r12 = b1_8;
        r9 = a1_9; r13 = b1_9;
        r10 = a1_10; r14 = b1_10;
        r11 = a1_11; r15 = b1_11;
        // b = 2
        FloatVector a2_0 = SWAP_LOW[2].selectFrom(r0, r2), b2_0 = SWAP_HIGH[2].selectFrom(r0, r2);
        FloatVector a2_1 = SWAP_LOW[2].selectFrom(r1, r3), b2_1 = SWAP_HIGH[2].selectFrom(r1, r3);
        FloatVector a2_4 = SWAP_LOW[2].selectFrom(r4, r6), b2_4 = SWAP_HIGH[2].selectFrom(r4, r6);
        FloatVector a2_5 = SWAP_LOW[2].selectFrom(r5, r7), b2_5 = SWAP_HIGH[2].selectFrom(r5, r7);
        FloatVector a2_8 = SWAP_LOW[2].selectFrom(r8, r10), b2_8 = SWAP_HIGH[2].selectFrom(r8, r10);
        FloatVector a2_9 = SWAP_LOW[2].selectFrom(r9, r11), b2_9 = SWAP_HIGH[2].selectFrom(r9, r11);
        FloatVector a2_12 = SWAP_LOW[2].selectFrom(r12, r14), b2_12 = SWAP_HIGH[2].selectFrom(r12, r14);
        FloatVector a2_13 = SWAP_LOW[2].selectFrom(r13, r15), b2_13 = SWAP_HIGH[2].selectFrom(r13, r15);
        r0 = a2_0; r2 = b2_0;
        r1 = a2_1; r3 = b2_1;
        r4 = a2_4; r6 = b2_4;
        r5 = a2_5; r7 = b2_5;
        r8 = a2_8; r10 = b2_8;
        r9 = a2_9; r11 = b2_9;
        r12 = a2_12; r14 = b2_12;
        r13 = a2_13; r15 = b2_13;
        // b = 1
        FloatVector a3_0 = SWAP_LOW[3].selectFrom(r0, r1), b3_0 = SWAP_HIGH[3].selectFrom(r0, r1);
        FloatVector a3_2 = SWAP_LOW[3].selectFrom(r2, r3), b3_2 = SWAP_HIGH[3].selectFrom(r2, r3);
        FloatVector a3_4 = SWAP_LOW[3].selectFrom(r4, r5), b3_4 = SWAP_HIGH[3].selectFrom(r4, r5);
        FloatVector a3_6 = SWAP_LOW[3].selectFrom(r6, r7), b3_6 = SWAP_HIGH[3].selectFrom(r6, r7);
        FloatVector a3_8 = SWAP_LOW[3].selectFrom(r8, r9), b3_8 = SWAP_HIGH[3].selectFrom(r8, r9);
        FloatVector a3_10 = SWAP_LOW[3].selectFrom(r10, r11), b3_10 = SWAP_HIGH[3].selectFrom(r10, r11);
        FloatVector a3_12 = SWAP_LOW[3].selectFrom(r12, r13), b3_12 = SWAP_HIGH[3].selectFrom(r12, r13);
        FloatVector a3_14 = SWAP_LOW[3].selectFrom(r14, r15), b3_14 = SWAP_HIGH[3].selectFrom(r14, r15);
        r0 = a3_0; r1 = b3_0;
        r2 = a3_2; r3 = b3_2;
        r4 = a3_4; r5 = b3_4;
        r6 = a3_6; r7 = b3_6;
        r8 = a3_8; r9 = b3_8;
        r10 = a3_10; r11 = b3_10;
        r12 = a3_12; r13 = b3_12;
        r14 = a3_14; r15 = b3_14;
        if (0 < dRows) r0.intoArray(dst, dOff); if (1 < dRows) r1.intoArray(dst, dOff + 1 * dStride);
        if (2 < dRows) r2.intoArray(dst, dOff + 2 * dStride); if (3 < dRows) r3.intoArray(dst, dOff + 3 * dStride);
        if (4 < dRows) r4.intoArray(dst, dOff + 4 * dStride); if (5 < dRows) r5.intoArray(dst, dOff + 5 * dStride);
        if (6 < dRows) r6.intoArray(dst, dOff + 6 * dStride); if (7 < dRows) r7.intoArray(dst, dOff + 7 * dStride);
        if (8 < dRows) r8.intoArray(dst, dOff + 8 * dStride); if (9 < dRows) r9.intoArray(dst, dOff + 9 * dStride);
        if (10 < dRows) r10.intoArray(dst, dOff + 10 * dStride); if (11 < dRows) r11.intoArray(dst, dOff + 11 * dStride);
        if (12 < dRows) r12.intoArray(dst, dOff + 12 * dStride); if (13 < dRows) r13.intoArray(dst, dOff + 13 * dStride);
        if (14 < dRows) r14.intoArray(dst, dOff + 14 * dStride); if (15 < dRows) r15.intoArray(dst, dOff + 15 * dStride);
    }

    /**
     * Per stage (b = L/2, ..., 1), lane c of the new row r: r's own value where c's bit b is clear, else lane
     * c − b of row r + b (index L + c − b of the pair); of the new row r + b: lane c + b of row r, else its own.
     */
    private static final FloatVector[] SWAP_LOW = swaps(true), SWAP_HIGH = swaps(false);

    private static FloatVector[] swaps(boolean low) {
        int stages = Integer.numberOfTrailingZeros(L);
        FloatVector[] v = new FloatVector[stages];
        for (int stage = 0, b = L / 2; b >= 1; stage++, b /= 2) {
            float[] index = new float[L];
            for (int c = 0; c < L; c++)
                index[c] = (c & b) == 0 ? (low ? c : c + b) : (low ? L + c - b : L + c);
            v[stage] = FloatVector.fromArray(S, index, 0);
        }
        return v;
    }

    /**
     * V[ξ] = (Bᵀ · d · B)[ξ] at v[vOff + ξ·stride] for the 4×4 patch d whose first value is at xg[dOff], rows
     * {@code row} floats apart, vectors L apart.
     */
    private static void inputTile(float[] xg, int dOff, int row, float[] v, int vOff, int stride) {
        // d[r][j] at xg[dOff + r·row + j·L]; t = Bᵀ · d by columns (Bᵀ rows: [1 0 −1 0], [0 1 1 0], [0 −1 1 0], [0 1 0 −1]),
        // then V = t · B by rows: all in registers (written out: C2 keeps vectors in registers only as named locals)
        int r1 = dOff + row, r2 = dOff + 2 * row, r3 = dOff + 3 * row;
        FloatVector d00 = FloatVector.fromArray(S, xg, dOff), d01 = FloatVector.fromArray(S, xg, dOff + L);
        FloatVector d02 = FloatVector.fromArray(S, xg, dOff + 2 * L), d03 = FloatVector.fromArray(S, xg, dOff + 3 * L);
        FloatVector d10 = FloatVector.fromArray(S, xg, r1), d11 = FloatVector.fromArray(S, xg, r1 + L);
        FloatVector d12 = FloatVector.fromArray(S, xg, r1 + 2 * L), d13 = FloatVector.fromArray(S, xg, r1 + 3 * L);
        FloatVector d20 = FloatVector.fromArray(S, xg, r2), d21 = FloatVector.fromArray(S, xg, r2 + L);
        FloatVector d22 = FloatVector.fromArray(S, xg, r2 + 2 * L), d23 = FloatVector.fromArray(S, xg, r2 + 3 * L);
        FloatVector d30 = FloatVector.fromArray(S, xg, r3), d31 = FloatVector.fromArray(S, xg, r3 + L);
        FloatVector d32 = FloatVector.fromArray(S, xg, r3 + 2 * L), d33 = FloatVector.fromArray(S, xg, r3 + 3 * L);
        FloatVector t00 = d00.sub(d20), t01 = d01.sub(d21), t02 = d02.sub(d22), t03 = d03.sub(d23);
        FloatVector t10 = d10.add(d20), t11 = d11.add(d21), t12 = d12.add(d22), t13 = d13.add(d23);
        FloatVector t20 = d20.sub(d10), t21 = d21.sub(d11), t22 = d22.sub(d12), t23 = d23.sub(d13);
        FloatVector t30 = d10.sub(d30), t31 = d11.sub(d31), t32 = d12.sub(d32), t33 = d13.sub(d33);
        t00.sub(t02).intoArray(v, vOff);
        t01.add(t02).intoArray(v, vOff + stride);
        t02.sub(t01).intoArray(v, vOff + 2 * stride);
        t01.sub(t03).intoArray(v, vOff + 3 * stride);
        t10.sub(t12).intoArray(v, vOff + 4 * stride);
        t11.add(t12).intoArray(v, vOff + 5 * stride);
        t12.sub(t11).intoArray(v, vOff + 6 * stride);
        t11.sub(t13).intoArray(v, vOff + 7 * stride);
        t20.sub(t22).intoArray(v, vOff + 8 * stride);
        t21.add(t22).intoArray(v, vOff + 9 * stride);
        t22.sub(t21).intoArray(v, vOff + 10 * stride);
        t21.sub(t23).intoArray(v, vOff + 11 * stride);
        t30.sub(t32).intoArray(v, vOff + 12 * stride);
        t31.add(t32).intoArray(v, vOff + 13 * stride);
        t32.sub(t31).intoArray(v, vOff + 14 * stride);
        t31.sub(t33).intoArray(v, vOff + 15 * stride);
    }

    /**
     * One tile of one filter from its 16 products at m[mOff + ξ·stride]: the 2×2 outputs Aᵀ · M · A + b, or with
     * {@code pooled} their max + b, each then max(·, floor) (0: a ReLU; −∞: none), into the group's outputs at
     * yg[at] (and, unpooled, at + L, at + row, at + row + L). (Scattered straight into y instead, C2 left the scatters to the
     * Vector API's Java fallback in VectorFallbackTest's probe.)
     */
    private static void outputTile(float[] m, int mOff, int stride, float b, float floor, boolean pooled, float[] yg, int at, int row) {
        // Aᵀ rows: [1 1 1 0], [0 1 −1 −1]; s_aj = (Aᵀ · M)[a][j], M[i][j] at m[mOff + (4i + j)·stride]
        // (written out, not a helper returning vectors: C2 may box those)
        FloatVector m0 = FloatVector.fromArray(S, m, mOff), m1 = FloatVector.fromArray(S, m, mOff + stride);
        FloatVector m2 = FloatVector.fromArray(S, m, mOff + 2 * stride), m3 = FloatVector.fromArray(S, m, mOff + 3 * stride);
        FloatVector m4 = FloatVector.fromArray(S, m, mOff + 4 * stride), m5 = FloatVector.fromArray(S, m, mOff + 5 * stride);
        FloatVector m6 = FloatVector.fromArray(S, m, mOff + 6 * stride), m7 = FloatVector.fromArray(S, m, mOff + 7 * stride);
        FloatVector m8 = FloatVector.fromArray(S, m, mOff + 8 * stride), m9 = FloatVector.fromArray(S, m, mOff + 9 * stride);
        FloatVector m10 = FloatVector.fromArray(S, m, mOff + 10 * stride), m11 = FloatVector.fromArray(S, m, mOff + 11 * stride);
        FloatVector m12 = FloatVector.fromArray(S, m, mOff + 12 * stride), m13 = FloatVector.fromArray(S, m, mOff + 13 * stride);
        FloatVector m14 = FloatVector.fromArray(S, m, mOff + 14 * stride), m15 = FloatVector.fromArray(S, m, mOff + 15 * stride);
        FloatVector s00 = m0.add(m4).add(m8), s01 = m1.add(m5).add(m9), s02 = m2.add(m6).add(m10), s03 = m3.add(m7).add(m11);
        FloatVector s10 = m4.sub(m8).sub(m12), s11 = m5.sub(m9).sub(m13), s12 = m6.sub(m10).sub(m14), s13 = m7.sub(m11).sub(m15);
        FloatVector y00 = s00.add(s01).add(s02), y01 = s01.sub(s02).sub(s03);
        FloatVector y10 = s10.add(s11).add(s12), y11 = s11.sub(s12).sub(s13);
        FloatVector bias = FloatVector.broadcast(S, b), low = FloatVector.broadcast(S, floor);
        if (pooled) {
            FloatVector p = y00.max(y01).max(y10.max(y11)).add(bias).max(low);
            p.intoArray(yg, at);
            return;
        }
        y00 = y00.add(bias).max(low); y01 = y01.add(bias).max(low); y10 = y10.add(bias).max(low); y11 = y11.add(bias).max(low);
        y00.intoArray(yg, at);
        y01.intoArray(yg, at + L);
        y10.intoArray(yg, at + row);
        y11.intoArray(yg, at + row + L);
    }
}
