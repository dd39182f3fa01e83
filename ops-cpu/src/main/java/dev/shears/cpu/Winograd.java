package dev.shears.cpu;

import dev.shears.core.Conv2dShape;
import jdk.incubator.vector.FloatVector;

import static dev.shears.cpu.ConvTile.L;
import static dev.shears.cpu.ConvTile.PX;
import static dev.shears.cpu.ConvTile.S;

/**
 * Winograd F(2×2, 3×3) convolution (Lavin and Gray, 2015) for 3×3 kernels at stride 1: each 2×2 block of
 * outputs (a tile) comes from the 4×4 input patch d under it with 16 multiplications per channel pair instead
 * of 36. Legend as {@link Conv2dShape}; L = lanes = channels per block, Cp = ⌈C/L⌉·L, Kb = ⌈K/L⌉, ξ = one of
 * the 16 positions of a 4×4 transform, t = a tile of the band being worked on (tiles numbered row by row).
 * <pre>
 *   weights   U[ξ][kb][c][l] = (G · g[k, c] · Gᵀ)[ξ],  k = kb·L + l     G  = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]
 *   input     V[ξ][t][c]     = (Bᵀ · d[t, c] · B)[ξ]                     Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]
 *   products  M[ξ][kb][t][l] = Σ_c V[ξ][t][c] · U[ξ][kb][c][l]           16 independent GEMMs ({@link ConvTile})
 *   output    y[tile t, k]   = Aᵀ · M[·][k][t] · A + bias[k]             Aᵀ = [1 1 1 0; 0 1 −1 −1]
 * </pre>
 * The input transform is vectorised over a block of L channels of the channel-blocked input band
 * ({@code xb[cb][row][col][l]}), the output transform over a block of L filters. The ops take and give NCHW
 * like {@link DirectConv}; each image is cut into bands of tile rows whose V and M stay in L2
 * ({@link #BAND_FLOATS}), and the work items (image, band) are split across threads. A band's outputs do not
 * depend on which band or thread computes them, so results are the same bits run to run, for any thread count.
 * <p>
 * Backward-data is a forward convolution of dy with padding 2 − pad and the weights transposed per channel
 * pair and flipped (as {@link DirectConv#backwardData}); its U is cached too. Backward-weight runs the same
 * transforms the other way round ({@link #backwardWeight}).
 * <p>
 * Rounding: the transforms add up to 4 (input) and 9 (output) terms before and after the products, so the
 * error against the direct sum is larger than a direct kernel's; on WinogradTest's shapes (values ~N(0, 1))
 * the largest differences from ReferenceBackend were 1.7e-5 forward, 3.2e-5 backward-data and 5.3e-5
 * backward-weight, inside DirectConvTest's tolerances (which WinogradTest uses).
 */
final class Winograd {
    private Winograd() {}

    /**
     * {@code shears.conv.winograd}: {@code auto} (default: {@link #wins} decides), {@code never} (today's
     * kernels), {@code always} (every shape Winograd can take, for measuring).
     */
    static final String MODE = System.getProperty("shears.conv.winograd", "auto");

    /** Floats of V and M per band: 64 Ki floats = 256 KiB, a quarter of Zen 4's L2, next to U and the input band. */
    static final int BAND_FLOATS = 64 * 1024;

    /** Whether Winograd can take s: 3×3 at stride 1, ungrouped, padding at most 2 (backward-data: 2 − pad ≥ 0). */
    static boolean fits(Conv2dShape s) {
        return s.r() == 3 && s.s() == 3 && s.strideH() == 1 && s.strideW() == 1 && s.groups() == 1
                && s.padH() <= 2 && s.padW() <= 2;
    }

    /**
     * Whether {@link Conv} should take Winograd for pass {@code pass} of s: only with
     * SIMD and for shapes that {@link #fits}. In {@code auto} mode by the products per transformed value,
     * h = C·K / (C + K): a tile's GEMM work grows as C·K, its transforms as C + K. From ConvCpuTime at batch 64
     * on one thread (the caller's CPU time, Zen 4, 2026-12-06, `never` → `always`):
     * <ul>
     *   <li>h ≥ {@link #MIN_PRODUCTS} wins both passes, at 16 and 8 lanes (SimpleCNN's conv2, h = 21: forward
     *       4.96 → 3.65 ms, backward-data 6.68 → 4.05; under {@code -XX:UseAVX=2} 6.58 → 4.72 and 6.57 → 4.79;
     *       the ResNet fixture's 32- and 64-channel convs, h = 16 and 32, 1.2–1.9× faster);</li>
     *   <li>below it forward loses (the ResNet 16-channel conv at 28², h = 8: 2.82 → 3.93 ms; a pruned conv2,
     *       14 → 15 channels, h = 7.2: 0.57 → 0.81), and so does backward-data at 8 lanes, where DirectConv
     *       takes it (r16 3.69 → 4.10); where today's backward-data is im2col + GEMM, Winograd still wins it
     *       down to h = {@link #MIN_PRODUCTS_IM2COL} (pruned conv2 1.22 → 0.85 ms, r16 4.44 → 4.06);</li>
     *   <li>backward-weight at h ≥ {@link #MIN_PRODUCTS} from {@link #MIN_BATCH_WEIGHT} images on (conv2 5.04–5.14
     *       → 4.08–4.12 ms, under {@code -XX:UseAVX=2} 6.68 → 5.08; r32 3.03 → 2.25, r64 2.74 → 2.43), since a call
     *       has a fixed cost (the partial dU per chunk, its reduction and Gᵀ·dU·G) that loses at small batches
     *       (conv2 at batch 16 1.25 → 1.32–1.74 ms, at batch 1 0.09 → 0.15).</li>
     * </ul>
     */
    static boolean wins(Parallel par, boolean simd, Conv2dShape s, DirectConv.Pass pass) {
        if (!simd || "never".equals(MODE) || !fits(s)) return false;
        if ("always".equals(MODE)) return true;
        double h = (double) s.c() * s.k() / (s.c() + s.k());
        if (pass == DirectConv.Pass.BACKWARD_WEIGHT) return h >= MIN_PRODUCTS && s.n() >= MIN_BATCH_WEIGHT;
        if (h >= MIN_PRODUCTS) return true;
        return pass == DirectConv.Pass.BACKWARD_DATA && h >= MIN_PRODUCTS_IM2COL && !DirectConv.wins(par, true, s, pass);
    }

    /** The least C·K / (C + K) at which Winograd takes a convolution in auto mode (see {@link #wins}). */
    static final double MIN_PRODUCTS = 12;

    /** The least batch at which backward-weight takes Winograd in auto mode (measured at 1, 4, 16 and 64). */
    static final int MIN_BATCH_WEIGHT = 64;

    /** The same for a backward-data that would otherwise run as im2col + GEMM. */
    static final double MIN_PRODUCTS_IM2COL = 6;

    private static final Blocked.Reorder FORWARD_U = (w, K, C, u) -> transformWeights(w, K, C, false, u);
    private static final Blocked.Reorder BACKWARD_U = (w, K, C, u) -> transformWeights(w, K, C, true, u);
    private static final Blocked.Reorder BLOCK_BIAS = Nchwc::blockBias;

    /** y = conv(x, w) + bias (bias may be null) for a shape that {@link #fits}; NCHW in and out. */
    static void forward(Parallel par, Conv2dShape s, float[] x, float[] w, float[] bias, float[] y) {
        forward(par, s, x, w, bias, false, false, y);
    }

    /**
     * y = maxPool2d(conv(x, w) + bias), 2×2 at stride 2 with floor rounding (P/2 × Q/2 outputs), then with
     * {@code relu} max(y, 0), for a shape that {@link #fits}. A tile is one pooling window, so each band pools
     * its own tiles while they are in its blocked output, still in this core's cache: the conv's full-size maps
     * never reach memory, and at batch 1, where the threads split each image into bands, no thread reads the
     * other's outputs (the conv, the pool and the ReLU as three parallel ops: the pool read every map, half of
     * it from the other core). The same values as those three ops, bit for bit: a max of the same floats.
     */
    static void forwardMaxPool(Parallel par, Conv2dShape s, float[] x, float[] w, float[] bias, boolean relu, float[] y) {
        forward(par, s, x, w, bias, true, relu, y);
    }

    /** {@link #forward}, or with {@code pooled} {@link #forwardMaxPool}. */
    private static void forward(Parallel par, Conv2dShape s, float[] x, float[] w, float[] bias, boolean pooled, boolean relu,
                                float[] y) {
        int K = s.k(), C = s.c();
        float[] u = Blocked.of(FORWARD_U, K, C, w, K * C * 9, 16 * Nchwc.blocks(K) * C * L);
        float[] b = bias == null ? null : Blocked.of(BLOCK_BIAS, K, 0, bias, K, Nchwc.blocks(K) * L);
        run(par, s, x, u, b, pooled, relu, y);
    }

    /** dx = the gradient of conv(x, w) with respect to x, given dy, for a shape that {@link #fits}. */
    static void backwardData(Parallel par, Conv2dShape s, float[] dy, float[] w, float[] dx) {
        Conv2dShape t = new Conv2dShape(s.n(), s.k(), s.p(), s.q(), s.c(), 3, 3, 1, 1, 2 - s.padH(), 2 - s.padW());
        float[] u = Blocked.of(BACKWARD_U, s.k(), s.c(), w, s.k() * s.c() * 9, 16 * Nchwc.blocks(s.c()) * s.k() * L);
        run(par, t, dy, u, null, false, false, dx);
    }

    /**
     * U (see the class comment) of the K×C 3×3 kernels w; with {@code flipped}, of the convolution whose
     * filters are w's input channels: g'[c, k] = w[k, c] rotated by 180°, K' = C, C' = K. Computed in double.
     */
    static void transformWeights(float[] w, int K, int C, boolean flipped, float[] u) {
        int outs = flipped ? C : K, ins = flipped ? K : C, Kb = Nchwc.blocks(outs);
        java.util.Arrays.fill(u, 0f);
        double[] g = new double[9], gg = new double[12];
        // one kernel per call, in a method of its own: the K·C loop in one method was compiled twice (OSR, then
        // whole), as Body.forwardItem explains
        for (int k = 0; k < outs; k++)
            for (int c = 0; c < ins; c++)
                transformKernel(w, flipped ? (c * C + k) * 9 : (k * C + c) * 9, flipped, g, gg, u, (k / L * ins + c) * L + k % L, Kb * ins * L);
    }

    /**
     * U of the 3×3 kernel at w[base..] (rotated by 180° if {@code flipped}), its 16 values stored {@code stride}
     * floats apart from u[at] on ({@link #transformWeights}' layout); g and gg are scratch of 9 and 12 doubles.
     */
    private static void transformKernel(float[] w, int base, boolean flipped, double[] g, double[] gg, float[] u, int at, int stride) {
        for (int i = 0; i < 9; i++) g[i] = w[base + (flipped ? 8 - i : i)];
        for (int j = 0; j < 3; j++) {                 // gg = G · g (4×3)
            double a = g[j], b = g[3 + j], d = g[6 + j];
            gg[j] = a; gg[3 + j] = 0.5 * (a + b + d); gg[6 + j] = 0.5 * (a - b + d); gg[9 + j] = d;
        }
        for (int i = 0; i < 4; i++) {                 // U = gg · Gᵀ (4×4)
            double a = gg[3 * i], b = gg[3 * i + 1], d = gg[3 * i + 2];
            int o = at + 4 * i * stride;
            u[o] = (float) a;
            u[o + stride] = (float) (0.5 * (a + b + d));
            u[o + 2 * stride] = (float) (0.5 * (a - b + d));
            u[o + 3 * stride] = (float) d;
        }
    }

    private static void run(Parallel par, Conv2dShape s, float[] x, float[] u, float[] biasBlocked, boolean pooled, boolean relu,
                            float[] y) {
        Body body = BODY.get();
        body.set(s, x, u, biasBlocked, y, par.threads());
        body.pooled = pooled;
        body.relu = relu;
        try {
            par.parallelFor(0, s.n() * body.bands, body);
        } finally {
            body.set(null, null, null, null, null, 0);
        }
    }

    /**
     * The parallel body over (image, band) items, one per calling thread and reused, so that a warm call
     * allocates nothing (as {@link DirectConv}'s); the workers read the fields the caller set.
     */
    private static final class Body implements Parallel.Range {
        Conv2dShape s;
        float[] x, u, biasBlocked, y, zeros = new float[0];
        int tilesH, tilesW, bandRows, bands, slots;
        boolean pooled, relu;                   // forwardMaxPool: y is the pooled output, ReLU'd with relu

        void set(Conv2dShape s, float[] x, float[] u, float[] biasBlocked, float[] y, int threads) {
            this.s = s; this.x = x; this.u = u; this.y = y;
            pooled = relu = false;
            if (s == null) { this.biasBlocked = null; return; }
            int bl = Nchwc.blocks(s.k()) * L;
            if (biasBlocked == null && zeros.length < bl) zeros = new float[bl];
            this.biasBlocked = biasBlocked == null ? zeros : biasBlocked;
            tilesH = (s.p() + 1) / 2;
            tilesW = (s.q() + 1) / 2;
            int perTileRow = 16 * tilesW * (Nchwc.blocks(s.c()) + Nchwc.blocks(s.k())) * L;
            int rows = Math.max(1, BAND_FLOATS / perTileRow);
            bands = (tilesH + rows - 1) / rows;
            // fewer images than threads (batch 1): cut each image into at least as many bands as the threads need
            if (s.n() < threads) bands = Math.max(bands, Math.min(tilesH, (threads + s.n() - 1) / s.n()));
            bandRows = (tilesH + bands - 1) / bands;
            bands = (tilesH + bandRows - 1) / bandRows;
            slots = Nchwc.roundUp(bandRows * tilesW, PX);
        }

        @Override public void run(int lo, int hi) {
            Conv2dShape s = this.s;
            int C = s.c(), Cb = Nchwc.blocks(C), Kb = Nchwc.blocks(s.k()), Cp = Cb * L;
            int inRows = 2 * bandRows + 2, inCols = 2 * tilesW + 2, outCols = 2 * tilesW;
            Scratch sc = SCRATCH.get();
            float[] xb = sc.get(0, Cb * inRows * inCols * L), v = sc.get(1, 16 * slots * Cp);
            int plane = 2 * bandRows * outCols * L;
            float[] m = sc.get(2, 16 * Kb * slots * L), yb = sc.get(3, Kb * plane);
            ConvTile.Operands o = sc.operands(v, C, slots, Cp, u, m, slots * L);
            for (int item = lo; item < hi; item++) forwardItem(item, xb, v, m, yb, o);
        }

        /**
         * One (image, band) item of {@link #run}. The items, and below them each ξ's products, are methods of
         * their own so that the JIT compiles each once, whole and early: a method that runs a long loop on its
         * first few calls is compiled twice, on stack (OSR) and then again whole (see forwardProducts).
         */
        private void forwardItem(int item, float[] xb, float[] v, float[] m, float[] yb, ConvTile.Operands o) {
            Conv2dShape s = this.s;
            int C = s.c(), K = s.k(), Cb = Nchwc.blocks(C), Kb = Nchwc.blocks(K), Cp = Cb * L;
            int inRows = 2 * bandRows + 2, inCols = 2 * tilesW + 2, outCols = 2 * tilesW, plane = 2 * bandRows * outCols * L;
            int n = item / bands, row0 = (item % bands) * bandRows, rows = Math.min(bandRows, tilesH - row0);
            int tiles = rows * tilesW;
            blockBand(s, x, n, 2 * row0 - s.padH(), inRows, inCols, xb);
            inputTransform(Cb, rows, tilesW, inRows, inCols, xb, v, slots, Cp);
            java.util.Arrays.fill(m, 0, 16 * Kb * slots * L, 0f);
            for (int xi = 0; xi < 16; xi++) forwardProducts(o, xi, C, Kb, slots, Cp, tiles);
            outputTransform(Kb, tiles, tilesW, slots, m, biasBlocked, yb, outCols, plane);
            if (pooled) {   // pooled row i is tile row i; the pooled rows of the band compacted in yb, then unblocked
                int pp = s.p() / 2, pq = s.q() / 2, i1 = Math.min(pp, row0 + rows);
                poolBand(Kb, row0, i1, pq, outCols, plane, relu, yb);
                unblockBand(K, pp, pq, n, row0, i1, pq, plane, yb, y);
            } else unblockBand(K, s.p(), s.q(), n, 2 * row0, Math.min(s.p(), 2 * (row0 + rows)), outCols, plane, yb, y);
        }

        /**
         * Adds the dU (layout [ξ][kb][c][l], c padded to a multiple of PX) of items [lo, hi) to part, and each
         * filter's Σ dy to partBias (if not null); y holds dy here.
         */
        void gradient(int lo, int hi, float[] part, double[] partBias) {
            Conv2dShape s = this.s;
            int C = s.c(), K = s.k(), Cb = Nchwc.blocks(C), Kb = Nchwc.blocks(K), Cp = Cb * L;
            int cSlots = Nchwc.roundUp(C, PX), inRows = 2 * bandRows + 2, inCols = 2 * tilesW + 2;
            Conv2dShape dyShape = new Conv2dShape(s.n(), K, s.p(), s.q(), 1, 1, 1, 1, 1, 0, 0);
            Scratch sc = SCRATCH.get();
            float[] xb = sc.get(0, Cb * inRows * inCols * L), v = sc.get(1, 16 * slots * Cp);
            float[] dm = sc.get(2, 16 * Kb * slots * L), dyb = sc.get(3, Kb * 2 * bandRows * 2 * tilesW * L);
            int[] walk = new int[slots], fixed = new int[cSlots];
            for (int t = 0; t < slots; t++) walk[t] = t * Cp;
            for (int c = 0; c < cSlots; c++) fixed[c] = Math.min(c, C - 1);
            for (int item = lo; item < hi; item++) gradientItem(item, dyShape, xb, v, dm, dyb, walk, fixed, part, partBias);
        }

        /** One (image, band) item of {@link #gradient}, a method of its own for the reason forwardItem gives. */
        private void gradientItem(int item, Conv2dShape dyShape, float[] xb, float[] v, float[] dm, float[] dyb, int[] walk,
                                  int[] fixed, float[] part, double[] partBias) {
            Conv2dShape s = this.s;
            int C = s.c(), K = s.k(), Cb = Nchwc.blocks(C), Kb = Nchwc.blocks(K), Cp = Cb * L, PQ = s.p() * s.q();
            int cSlots = Nchwc.roundUp(C, PX), inRows = 2 * bandRows + 2, inCols = 2 * tilesW + 2;
            int n = item / bands, row0 = (item % bands) * bandRows, rows = Math.min(bandRows, tilesH - row0);
            int tiles = rows * tilesW;
            blockBand(s, x, n, 2 * row0 - s.padH(), inRows, inCols, xb);
            inputTransform(Cb, rows, tilesW, inRows, inCols, xb, v, slots, Cp);
            blockBand(dyShape, y, n, 2 * row0, 2 * bandRows, 2 * tilesW, dyb);
            gradientTransform(Kb, rows, tilesW, 2 * bandRows, dyb, dm, slots);
            ConvTile.Operands o = new ConvTile.Operands(v, walk, tiles, fixed, dm, slots * L, part, cSlots * L);
            for (int xi = 0; xi < 16; xi++) gradientProducts(o, xi, Kb, slots, Cp, cSlots);
            if (partBias != null && row0 == 0)
                for (int k = 0; k < K; k++) partBias[k] += Reduce.sum(true, y, (n * K + k) * PQ, PQ);
        }
    }

    /**
     * M[ξ] += V[ξ]·U[ξ] for one ξ of a band's tiles, PX tiles by a run of filter blocks at a time. A loop of a few
     * dozen tiles in a method called 16 times per item: the JIT compiles it once as a whole method. In one
     * method with the item loop around it (as it was), the first calls' long loop made C2 compile it on stack
     * first (OSR) and then whole a second time, each of the copies tens of KB (Winograd$Body.gradient: three
     * compilations, two OSR, 28–39 KB of code each, in one Fashion-MNIST epoch; JFR jdk.Compilation).
     */
    private static void forwardProducts(ConvTile.Operands o, int xi, int C, int Kb, int slots, int Cp, int tiles) {
        for (int kb = 0, blocks; kb < Kb; kb += blocks) {
            blocks = tileBlocks(Kb - kb);
            for (int j = 0; j < tiles; j += PX)
                ConvTile.run(blocks, o, xi * slots * Cp, j, (xi * Kb + kb) * C * L, ((xi * Kb + kb) * slots + j) * L);
        }
    }

    /** dU[ξ] += dM[ξ]ᵀ·V[ξ] for one ξ, PX channels by a run of filter blocks at a time (see forwardProducts). */
    private static void gradientProducts(ConvTile.Operands o, int xi, int Kb, int slots, int Cp, int cSlots) {
        for (int kb = 0, blocks; kb < Kb; kb += blocks) {
            blocks = tileBlocks(Kb - kb);
            for (int c = 0; c < cSlots; c += PX)
                ConvTile.run(blocks, o, xi * slots * Cp, c, (xi * Kb + kb) * slots * L, ((xi * Kb + kb) * cSlots + c) * L);
        }
    }

    private static final ThreadLocal<Body> BODY = ThreadLocal.withInitial(Body::new);

    /**
     * dw = the gradient of conv(x, w) with respect to w, and dbias = Σ dy per filter (dbias may be null), for a
     * shape that {@link #fits}. The gradient of the products M = V·U with respect to U, per ξ:
     * <pre>
     *   dM[ξ][t][k]  = (A · dy[t, k] · Aᵀ)[ξ]           (the 2×2 dy of tile t spread back over 4×4)
     *   dU[ξ][k][c]  = Σ_t dM[ξ][t][k] · V[ξ][t][c]     ({@link ConvTile}: the walk runs over tiles, the PX positions are channels)
     *   dw[k, c]     = Gᵀ · dU[·][k][c] · G
     * </pre>
     * One partial dU per chunk of (image, band) items, added up in chunk order: the same bits run to run for a
     * given thread count.
     */
    static void backwardWeight(Parallel par, Conv2dShape s, float[] x, float[] dy, float[] dw, float[] dbias) {
        int K = s.k(), C = s.c(), Kb = Nchwc.blocks(K), cSlots = Nchwc.roundUp(C, PX), partSize = 16 * Kb * cSlots * L;
        Body body = new Body();
        body.set(s, x, null, null, dy, par.threads());
        int items = s.n() * body.bands;
        float[][] parts = new float[items][];
        double[][] partsBias = new double[items][];
        par.parallelFor(0, items, (lo, hi) -> {
            float[] part = new float[partSize];
            double[] partBias = dbias == null ? null : new double[K];
            body.gradient(lo, hi, part, partBias);
            parts[lo] = part;
            partsBias[lo] = partBias;
        });
        float[] du = parts[0];   // the first chunk's, plus the others in order
        for (int lo = 1; lo < items; lo++)
            if (parts[lo] != null) for (int i = 0; i < partSize; i++) du[i] += parts[lo][i];
        double[] m = new double[16];
        for (int k = 0; k < K; k++)   // a kernel per call, as in transformWeights
            for (int c = 0; c < C; c++) weightKernel(du, (k / L * cSlots + c) * L + k % L, Kb * cSlots * L, m, dw, (k * C + c) * 9);
        if (dbias != null) {
            java.util.Arrays.fill(dbias, 0, K, 0f);
            for (int lo = 0; lo < items; lo++)
                if (partsBias[lo] != null) for (int k = 0; k < K; k++) dbias[k] += (float) partsBias[lo][k];
        }
    }

    /**
     * dw[k, c] (9 floats from dw[o] on) = Gᵀ · dU[·][k][c] · G, with dU[ξ][k][c] at du[at + ξ·stride]
     * ({@link #backwardWeight}' layout); m is scratch of 16 doubles.
     */
    private static void weightKernel(float[] du, int at, int stride, double[] m, float[] dw, int o) {
        for (int xi = 0; xi < 16; xi++) m[xi] = du[at + xi * stride];
        for (int j = 0; j < 4; j++) {                 // Gᵀ · dU (3×4), column j
            double a = m[j], b = m[4 + j], d = m[8 + j], e = m[12 + j];
            m[j] = a + 0.5 * (b + d); m[4 + j] = 0.5 * (b - d); m[8 + j] = 0.5 * (b + d) + e;
        }
        for (int i = 0; i < 3; i++, o += 3) {         // (Gᵀ · dU) · G (3×3)
            double a = m[4 * i], b = m[4 * i + 1], d = m[4 * i + 2], e = m[4 * i + 3];
            dw[o] = (float) (a + 0.5 * (b + d)); dw[o + 1] = (float) (0.5 * (b - d)); dw[o + 2] = (float) (0.5 * (b + d) + e);
        }
    }

    /**
     * A thread's buffers (the input band, V, M, the blocked output band), grown as needed and kept, and its
     * last ConvTile operands with their offset tables (walk[c] = c, fixed[t] = t·Cp), reused while the same.
     */
    private static final class Scratch {
        final float[][] buffers = {new float[0], new float[0], new float[0], new float[0]};
        int[] walk = new int[0], fixed = new int[0];
        ConvTile.Operands operands;

        float[] get(int which, int length) {
            if (buffers[which].length < length) buffers[which] = new float[length];
            return buffers[which];
        }

        ConvTile.Operands operands(float[] v, int C, int slots, int Cp, float[] u, float[] m, int oBlock) {
            if (walk.length != C) { walk = new int[C]; for (int c = 0; c < C; c++) walk[c] = c; }
            if (fixed.length != slots || slots > 1 && fixed[1] != Cp) { fixed = new int[slots]; for (int t = 0; t < slots; t++) fixed[t] = t * Cp; }
            ConvTile.Operands o = operands;
            if (o == null || o.x() != v || o.walk() != walk || o.count() != C || o.fixed() != fixed || o.v() != u
                    || o.vBlock() != C * L || o.out() != m || o.oBlock() != oBlock)
                operands = o = new ConvTile.Operands(v, walk, C, fixed, u, C * L, m, oBlock);
            return o;
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** The blocks of the next register tile: as many as remain, up to {@link DirectConv#MAX_BLOCKS}, in powers of two. */
    private static int tileBlocks(int remaining) {
        return remaining >= 4 && DirectConv.MAX_BLOCKS >= 4 ? 4 : remaining >= 2 ? 2 : 1;
    }

    /**
     * xb[cb][r][col][l] = x[n, cb·L + l, h0 + r, col − padW], 0 outside the image and for channels past C:
     * the channel-blocked, zero-haloed input rows of one band.
     */
    static void blockBand(Conv2dShape s, float[] x, int n, int h0, int inRows, int inCols, float[] xb) {
        int C = s.c(), H = s.h(), W = s.w(), pw = s.padW(), Cb = Nchwc.blocks(C);
        java.util.Arrays.fill(xb, 0, Cb * inRows * inCols * L, 0f);
        int w0 = Math.max(0, -pw), w1 = Math.min(W, inCols - pw);
        for (int c = 0; c < C; c++) {
            int plane = (c / L) * inRows * inCols * L + c % L;
            for (int r = Math.max(0, -h0); r < inRows && h0 + r < H; r++) {
                int src = ((n * C + c) * H + h0 + r) * W, dst = plane + r * inCols * L;
                for (int w = w0; w < w1; w++) xb[dst + (w + pw) * L] = x[src + w];
            }
        }
    }

    /** V[ξ][t][cb·L ..] = Bᵀ·d·B for every tile t of the band and channel block cb (16 loads, 64 adds, 16 stores). */
    static void inputTransform(int Cb, int rows, int tilesW, int inRows, int inCols, float[] xb, float[] v, int slots, int Cp) {
        int xiStride = slots * Cp;
        for (int cb = 0; cb < Cb; cb++)
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < tilesW; j++) {
                    int src = ((cb * inRows + 2 * i) * inCols + 2 * j) * L, dst = (i * tilesW + j) * Cp + cb * L, rs = inCols * L;
                    for (int col = 0; col < 4; col++) {       // columns of Bᵀ·d, one column at a time
                        int c0 = src + col * L;
                        FloatVector d0 = FloatVector.fromArray(S, xb, c0), d1 = FloatVector.fromArray(S, xb, c0 + rs);
                        FloatVector d2 = FloatVector.fromArray(S, xb, c0 + 2 * rs), d3 = FloatVector.fromArray(S, xb, c0 + 3 * rs);
                        // rows of Bᵀ·d for this column, kept in V at ξ = 4·row + col until the row pass below
                        d0.sub(d2).intoArray(v, col * xiStride + dst);
                        d1.add(d2).intoArray(v, (4 + col) * xiStride + dst);
                        d2.sub(d1).intoArray(v, (8 + col) * xiStride + dst);
                        d1.sub(d3).intoArray(v, (12 + col) * xiStride + dst);
                    }
                    for (int row = 0; row < 4; row++) {       // (Bᵀ·d)·B along each row
                        int r0 = 4 * row * xiStride + dst;
                        FloatVector t0 = FloatVector.fromArray(S, v, r0), t1 = FloatVector.fromArray(S, v, r0 + xiStride);
                        FloatVector t2 = FloatVector.fromArray(S, v, r0 + 2 * xiStride), t3 = FloatVector.fromArray(S, v, r0 + 3 * xiStride);
                        t0.sub(t2).intoArray(v, r0);
                        t1.add(t2).intoArray(v, r0 + xiStride);
                        t2.sub(t1).intoArray(v, r0 + 2 * xiStride);
                        t1.sub(t3).intoArray(v, r0 + 3 * xiStride);
                    }
                }
    }

    /**
     * dm[ξ][kb][t][l] = (A·dy·Aᵀ)[ξ] for the 2×2 dy of every tile t = (i, j) of the band, A = [1 0; 1 1; 1 −1; 0 −1]:
     * the transpose of the output transform. dyb is the band's dy, channel-blocked ([kb][row][col][l], rows rows
     * of 2·tilesW), zero past the output's edge.
     */
    static void gradientTransform(int Kb, int tileRows, int tilesW, int rows, float[] dyb, float[] dm, int slots) {
        int xiStride = Kb * slots * L, rs = 2 * tilesW * L;
        for (int kb = 0; kb < Kb; kb++)
            for (int i = 0; i < tileRows; i++)
                for (int j = 0; j < tilesW; j++) {
                    int src = (kb * rows + 2 * i) * rs + 2 * j * L, dst = (kb * slots + i * tilesW + j) * L;
                    FloatVector a = FloatVector.fromArray(S, dyb, src), b = FloatVector.fromArray(S, dyb, src + L);
                    FloatVector c = FloatVector.fromArray(S, dyb, src + rs), d = FloatVector.fromArray(S, dyb, src + rs + L);
                    // A·dy: rows (a b), (a+c b+d), (a−c b−d), (−c −d); then each row times Aᵀ: (p, p+q, p−q, −q)
                    spread(a, b, dm, dst, xiStride);
                    spread(a.add(c), b.add(d), dm, dst + 4 * xiStride, xiStride);
                    spread(a.sub(c), b.sub(d), dm, dst + 8 * xiStride, xiStride);
                    spread(c.neg(), d.neg(), dm, dst + 12 * xiStride, xiStride);
                }
    }

    private static void spread(FloatVector p, FloatVector q, float[] dm, int dst, int xiStride) {
        p.intoArray(dm, dst);
        p.add(q).intoArray(dm, dst + xiStride);
        p.sub(q).intoArray(dm, dst + 2 * xiStride);
        q.neg().intoArray(dm, dst + 3 * xiStride);
    }

    /** yb[kb][2i + a][2j + b][l] = (Aᵀ·M·A)[a][b] + bias for every tile (i, j) of the band and filter block kb. */
    static void outputTransform(int Kb, int tiles, int tilesW, int slots, float[] m, float[] biasBlocked, float[] yb, int outCols, int plane) {
        int xiStride = Kb * slots * L, rs = outCols * L;
        for (int kb = 0; kb < Kb; kb++) {
            FloatVector bias = FloatVector.fromArray(S, biasBlocked, kb * L);
            for (int t = 0; t < tiles; t++) {
                int src = (kb * slots + t) * L;
                // Aᵀ·M: two rows of 4, each the sum / difference of M's rows
                FloatVector s0 = row(m, src, 0, xiStride).add(row(m, src, 4, xiStride)).add(row(m, src, 8, xiStride));
                FloatVector s1 = row(m, src, 1, xiStride).add(row(m, src, 5, xiStride)).add(row(m, src, 9, xiStride));
                FloatVector s2 = row(m, src, 2, xiStride).add(row(m, src, 6, xiStride)).add(row(m, src, 10, xiStride));
                FloatVector s3 = row(m, src, 3, xiStride).add(row(m, src, 7, xiStride)).add(row(m, src, 11, xiStride));
                FloatVector e0 = row(m, src, 4, xiStride).sub(row(m, src, 8, xiStride)).sub(row(m, src, 12, xiStride));
                FloatVector e1 = row(m, src, 5, xiStride).sub(row(m, src, 9, xiStride)).sub(row(m, src, 13, xiStride));
                FloatVector e2 = row(m, src, 6, xiStride).sub(row(m, src, 10, xiStride)).sub(row(m, src, 14, xiStride));
                FloatVector e3 = row(m, src, 7, xiStride).sub(row(m, src, 11, xiStride)).sub(row(m, src, 15, xiStride));
                int dst = kb * plane + (t / tilesW) * 2 * rs + (t % tilesW) * 2 * L;
                s0.add(s1).add(s2).add(bias).intoArray(yb, dst);
                s1.sub(s2).sub(s3).add(bias).intoArray(yb, dst + L);
                e0.add(e1).add(e2).add(bias).intoArray(yb, dst + rs);
                e1.sub(e2).sub(e3).add(bias).intoArray(yb, dst + rs + L);
            }
        }
    }

    private static FloatVector row(float[] m, int src, int xi, int xiStride) {
        return FloatVector.fromArray(S, m, src + xi * xiStride);
    }

    /**
     * The 2×2 max (and with {@code relu} max(·, 0)) of a band's outputs yb[kb][row][col][l] (rows outCols·L
     * floats apart, blocks plane floats apart), pooled rows i0 ≤ i &lt; i1 of the image (the band's first
     * tile row is i0) and columns j &lt; PQ, written in place to yb[kb][i − i0][j][l]: each write lands below
     * every position still to be read (2·outCols ≥ PQ), so the pooled band takes the front of its block.
     */
    static void poolBand(int Kb, int i0, int i1, int PQ, int outCols, int plane, boolean relu, float[] yb) {
        FloatVector zero = FloatVector.zero(S);
        int row = outCols * L;
        for (int kb = 0; kb < Kb; kb++)
            for (int i = i0; i < i1; i++) {
                int top = kb * plane + 2 * (i - i0) * row, out = kb * plane + (i - i0) * PQ * L;
                for (int j = 0; j < PQ; j++) {
                    int a = top + 2 * j * L;
                    FloatVector v = FloatVector.fromArray(S, yb, a).max(FloatVector.fromArray(S, yb, a + L))
                            .max(FloatVector.fromArray(S, yb, a + row).max(FloatVector.fromArray(S, yb, a + row + L)));
                    if (relu) v = v.max(zero);
                    v.intoArray(yb, out + j * L);
                }
            }
    }

    /** y[n, k, p, q] = yb[kb][p − p0][q][l] for k = kb·L + l &lt; K, p0 ≤ p &lt; p1, q &lt; Q (yb's blocks plane floats apart). */
    static void unblockBand(int K, int P, int Q, int n, int p0, int p1, int outCols, int plane, float[] yb, float[] y) {
        for (int k = 0; k < K; k++) {
            int src = (k / L) * plane + k % L;
            for (int p = p0; p < p1; p++) {
                int dst = ((n * K + k) * P + p) * Q, from = src + (p - p0) * outCols * L;
                for (int q = 0; q < Q; q++) y[dst + q] = yb[from + q * L];
            }
        }
    }
}
