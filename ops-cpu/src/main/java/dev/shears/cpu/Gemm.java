package dev.shears.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Single-precision GEMM, packed and register-blocked (the BLIS / GotoBLAS scheme).
 *
 * <p>Legend: C [M×N] = alpha·op(A) [M×K] · op(B) [K×N] + beta·C, row-major with leading dimensions
 * lda, ldb, ldc (the row length of each stored matrix). A is stored M×K, or K×M when transA; B is K×N, or
 * N×K when transB. With beta = 0, C's old contents are never read (a NaN there does not leak).
 *
 * <p>The specification, which {@link #scalar} keeps as the oracle:
 * <pre>
 *   for i &lt; M, j &lt; N:  C[i][j] = alpha · Σ_p op(A)[i][p] · op(B)[p][j] + beta · C[i][j]
 * </pre>
 *
 * <p>The fast path, outside in, on each thread (GotoBLAS's loops with the roles of A and B swapped):
 * <pre>
 *   for ic in M step MC:                      A block of MC rows (L3)
 *     for pc in K step KC:                    pack alpha·op(A)[ic:ic+MC, pc:pc+KC] into MR-tall panels
 *       for jc in N step NC:                  pack op(B)[pc:pc+KC, jc:jc+NC] into NR-wide panels (L2)
 *         for ir in MC step MR:               one A micro-panel, MR×KC (L1) ...
 *           for jr in NC step NR:             ... reread while the B micro-panels stream past it from L2
 *             micro-kernel: C[MR×NR] += Apanel · Bpanel, MR·NR/L accumulators in registers
 * </pre>
 * BLIS runs jr outside ir, keeping the B micro-panel in L1 while the A micro-panels stream from L2. But a C
 * tile is MR rows of a row-major C, each row on its own 4 KiB page once ldc ≥ 1024: walking down C's columns
 * touched MR new pages per tile, walking along its rows touches the same MR pages for a whole row of tiles.
 * Measured at 1024³ on Zen 4, thread-CPU time, alternating: with 8 lanes 95–97 → 101–102 GFLOPS (the old
 * order regained the same with transparent huge pages), with 16 lanes 99–101 → 101–103. The B block, reread
 * for every A micro-panel, then belongs in L2: at 512³ a B block the size of L2/2 ran at 106–108 GFLOPS
 * against 102–106 for one of L3/4, both widths.
 * With two or more threads, C is cut once into one slab per thread (rows, or columns when N &gt; M or A needs
 * no packing) and each thread runs these loops on its slab with its own packing buffers: one hand-over per call.
 * A is not packed when its stored rows already are the packed panels (see {@link #storedAsPacked}).
 * Transposes cost nothing past packing: the packed panels have one layout whatever the stored one.
 * alpha is folded into the packed A; beta ≠ 0 scales C once up front and the kernels add; with beta = 0 the
 * first K block's kernels store their tiles (C's old contents are never read, and no pass clears C first: it
 * was a write of all of C, 4 MB at 1024², before the product) and the later K blocks add. The Vector API trap,
 * measured at 1024 on one thread: a kernel choosing between storing and adding through one merged vector
 * value ran at 34 GFLOPS, one storing through a small helper method at 65, and
 * this one, with its loads and stores written out in two branches, at ~230: wherever C2 does not inline a
 * method that takes vectors, or merges two vector values after an if, it allocates them as objects.
 *
 * <p>Tile sizes and their constraints: L = lanes of the preferred species (16 floats with AVX-512, 8 under
 * {@code -XX:UseAVX=2}); NR = 2·L; MR = 8 with 16 lanes (16 accumulators + 2 B vectors + 1 broadcast A of the
 * 32 zmm registers; 8 rows also leave no edge tile on the power-of-two and 32/64-channel shapes), MR = 6 with
 * 8 lanes (12 + 2 + 1 of the 16 ymm registers). Each kernel is written out once per tile height, not
 * generated from one loop: C2 keeps accumulators in registers only when they are named locals. The cache
 * blocking KC, MC, NC is per machine ({@link GemmTuning}): MC a multiple of MR, NC of NR. Edge tiles run the
 * full kernel on zero-padded panels into a scratch tile, then add only the valid part.
 */
public final class Gemm {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();
    /** Rows of the register tile: 8 with 16 lanes (16 accumulators of 32 zmm), 6 with 8 lanes (12 of 16 ymm). */
    static final int MR = L >= 16 ? 8 : 6;
    static final int NR = 2 * L;
    /** This JVM's cache blocking (KC, MC, NC): from -Dshears.gemm.blocking, the wisdom file or the cache sizes. */
    static final GemmTuning.Blocking BLOCKING = GemmTuning.chosen(w -> System.err.println("shears: warning: " + w));

    /** Below this many rows of C, A·Bᵀ runs as dot products ({@link DotGemm}), unpacked. */
    static final int DOTS_BELOW_M = 4;
    /**
     * Multiply-adds per thread chunk of the dot path (a few µs): less is not worth a hand-over. Was 2^17
     * while an idle worker parked after a few µs and took ~7 µs to wake (see {@link Parallel#SPIN_NANOS});
     * 2^15 lets a pruned fc1 at batch 1 (784 → 128) use both threads.
     */
    static final int DOTS_GRAIN = 1 << 15;

    private Gemm() {}

    /** Per-thread packing buffers: never shared between threads, reused between calls. */
    private static final class Buffers {
        float[] a = new float[0];
        float[] b = new float[0];
        float[] ct = new float[0];
        final float[] tile = new float[MR * NR];

        /** The A buffer, grown to hold {@code size} floats (it only grows: the blocking is fixed per JVM but for tuning). */
        float[] a(int size) { return a.length >= size ? a : (a = new float[size]); }

        float[] b(int size) { return b.length >= size ? b : (b = new float[size]); }

        /** Cᵀ of a swapped product ({@link #swapped}). */
        float[] ct(int size) { return ct.length >= size ? ct : (ct = new float[size]); }
    }

    private static final ThreadLocal<Buffers> BUFFERS = ThreadLocal.withInitial(Buffers::new);

    /**
     * C = alpha·op(A)·op(B) + beta·C on matrices that start at the given offsets. {@code par} may be null
     * (single thread, e.g. when the caller is already parallel over images).
     */
    public static void sgemm(Parallel par, boolean simd, boolean transA, boolean transB, int m, int n, int k,
                             float alpha, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                             float beta, float[] c, int cOff, int ldc) {
        if (!simd) {
            if (m > 0 && n > 0) scalar(par, transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
            return;
        }
        sgemm(BLOCKING, par, transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
    }

    /** The SIMD path with a given blocking (the tuner tries several in one JVM). */
    static void sgemm(GemmTuning.Blocking bk, Parallel par, boolean transA, boolean transB, int m, int n, int k,
                      float alpha, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                      float beta, float[] c, int cOff, int ldc) {
        if (m == 0 || n == 0) return;
        if (k == 0 || alpha == 0f) {
            scaleC(m, n, beta, c, cOff, ldc);
            return;
        }
        if (!transA && transB && m < DOTS_BELOW_M && alpha == 1f) {
            // A few rows times Bᵀ (a Linear layer at batch 1: x [1×3136] · Wᵀ): every C[i][j] is a dot of
            // two contiguous rows. Packing would copy all of B (1.6 MB for SimpleCNN's fc1) to use it once.
            scaleC(m, n, beta, c, cOff, ldc);
            int grain = Math.max(4, DOTS_GRAIN / Math.max(1, m * k));
            if (par == null || !par.splits(0, n, grain)) {
                DotGemm.addABt(true, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
                return;
            }
            Dots body = DOTS.get();
            body.set(m, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
            try {
                par.parallelFor(0, n, grain, body);
            } finally {
                body.set(0, 0, null, 0, 0, null, 0, 0, null, 0, 0);   // keeps no arrays alive
            }
            return;
        }
        if (swapped(bk, transA, transB, m, n, k, alpha, ldb)) {
            // C = A·Bᵀ as Cᵀ = B·Aᵀ: B, the larger operand, read in place as the packed A, and only A packed
            float[] ct = BUFFERS.get().ct(m * n);
            sgemm(bk, par, false, true, n, m, k, 1f, b, bOff, ldb, a, aOff, lda, 0f, ct, 0, m);
            addTransposed(m, n, ct, beta, c, cOff, ldc);
            return;
        }
        int threads = par == null ? 1 : par.threads();
        if (threads > 1) {
            // One hand-over per call: each thread takes its own slab of C and runs the whole product alone,
            // packing the operand it shares in full (B for slabs of rows, A for slabs of columns; cheap next to
            // the O(n³) work, where one packed B shared by both needed two barriers per K block). So the split
            // is along N when N is longer, or when A needs no packing at all and each thread gets a B panel.
            boolean alongN = n > m || (storedAsPacked(bk, transA, alpha, k, lda) && n >= threads * NR);
            int unit = alongN ? NR : MR, parts = Math.min(threads, (Math.max(m, n) + unit - 1) / unit);
            int len = alongN ? n : m, step = roundUp((len + parts - 1) / parts, unit);
            if (parts > 1 && par.splits(0, parts, 1)) {
                Slabs body = SLABS.get();
                body.set(bk, alongN, step, len, transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
                try {
                    par.parallelFor(0, parts, body);
                } finally {
                    body.set(null, false, 0, 0, false, false, 0, 0, 0, 0f, null, 0, 0, null, 0, 0, 0f, null, 0, 0);   // keeps no arrays alive
                }
                return;
            }
        }
        serial(bk, transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
    }

    /**
     * Whether C = A·Bᵀ (alpha = 1) runs as Cᵀ = B·Aᵀ, then C = beta·C + (Cᵀ)ᵀ: where B has more rows than A and,
     * stored K-contiguous with K ≤ KC, is already a packed A ({@link #storedAsPacked}), so the product packs A
     * (M×K) instead of B (N×K); worth it when the floats not packed, (N − M)·K, are at least twice the M·N moved
     * by the transpose. A pruned fc1 at batch 64 (64 × 735 · (128 × 735)ᵀ, Zen 4, 2026-12-07, best of 9 runs of
     * 50 calls): 164–193 → 135 µs on one thread, 84 → 71–75 µs on two.
     */
    static boolean swapped(GemmTuning.Blocking bk, boolean transA, boolean transB, int m, int n, int k, float alpha, int ldb) {
        return !transA && transB && n > m && storedAsPacked(bk, false, alpha, k, ldb) && (long) (n - m) * k >= 2L * m * n;
    }

    /** C[i][j] = beta·C[i][j] + ct[j·m + i] (C = ctᵀ when beta is 0, whatever C held), in 16 × 16 blocks. */
    private static void addTransposed(int m, int n, float[] ct, float beta, float[] c, int cOff, int ldc) {
        for (int i0 = 0; i0 < m; i0 += 16)
            for (int j0 = 0; j0 < n; j0 += 16)
                for (int i = i0; i < Math.min(m, i0 + 16); i++) {
                    int row = cOff + i * ldc;
                    for (int j = j0; j < Math.min(n, j0 + 16); j++) {
                        float v = ct[j * m + i];
                        c[row + j] = beta == 0f ? v : beta == 1f ? c[row + j] + v : beta * c[row + j] + v;
                    }
                }
    }

    /** The packed product on the calling thread: the loops of the class comment. */
    private static void serial(GemmTuning.Blocking bk, boolean transA, boolean transB, int m, int n, int k, float alpha,
                               float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
        if (beta != 0f) scaleC(m, n, beta, c, cOff, ldc);   // the kernels add into C: scale it first (beta = 0: see below)
        Buffers buf = BUFFERS.get();
        int kcMax = Math.min(bk.kc(), k), mcMax = Math.min(bk.mc(), roundUp(m, MR));
        boolean asStored = storedAsPacked(bk, transA, alpha, k, lda);
        float[] ap = buf.a((asStored ? MR : mcMax) * kcMax), bp = buf.b(roundUp(Math.min(bk.nc(), n), NR) * kcMax);
        for (int ic = 0; ic < m; ic += bk.mc()) {
            int mcur = Math.min(bk.mc(), m - ic);
            for (int pc = 0; pc < k; pc += bk.kc()) {
                int kc = Math.min(bk.kc(), k - pc);
                boolean add = beta != 0f || pc > 0;   // with beta = 0 the first K block stores C: no pass to clear it
                // the A block: its full panels as stored when they already have the packed layout, else packed
                // (and always a last panel of fewer than MR rows, padded with zeros)
                int asIs = asStored ? mcur / MR * MR : 0;
                if (asIs < mcur) packA(transA, alpha, a, aOff, lda, ic + asIs, mcur - asIs, pc, kc, ap, 0);
                for (int jc = 0; jc < n; jc += bk.nc()) {
                    int nc = Math.min(bk.nc(), n - jc), ci = cOff + ic * ldc + jc;
                    packPanels(transB, b, bOff, ldb, n, jc, pc, kc, bp, 0, (nc + NR - 1) / NR);
                    if (asIs > 0) macro(add, asIs, nc, kc, a, aOff + ic * lda, bp, c, ci, ldc, buf.tile);
                    if (asIs < mcur) macro(add, mcur - asIs, nc, kc, ap, 0, bp, c, ci + asIs * ldc, ldc, buf.tile);
                }
            }
        }
    }

    /**
     * Whether A as stored already has the packed layout, so that packing it would be a plain copy: A not
     * transposed, alpha = 1, and each row one whole K block (K ≤ KC, lda = K), so that MR consecutive rows are
     * exactly one packed MR×K panel. At 1024³ that copy was 0.5 ms of a 21 ms call on Zen 4.
     */
    private static boolean storedAsPacked(GemmTuning.Blocking bk, boolean transA, float alpha, int k, int lda) {
        return !transA && alpha == 1f && k <= bk.kc() && lda == k;
    }

    /**
     * The few-rows path's parallel body: slabs lo ≤ t &lt; hi of C, {@code step} rows or columns each, each a
     * whole product on one thread. One per calling thread, reused (a lambda capturing the arguments was a new
     * object per call).
     */
    private static final class Slabs implements Parallel.Range {
        GemmTuning.Blocking bk;
        boolean alongN, transA, transB;
        int step, len, m, n, k, aOff, lda, bOff, ldb, cOff, ldc;
        float alpha, beta;
        float[] a, b, c;

        void set(GemmTuning.Blocking bk, boolean alongN, int step, int len, boolean transA, boolean transB, int m, int n, int k, float alpha,
                 float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
            this.bk = bk; this.alongN = alongN; this.step = step; this.len = len; this.transA = transA; this.transB = transB;
            this.m = m; this.n = n; this.k = k; this.alpha = alpha; this.a = a; this.aOff = aOff; this.lda = lda;
            this.b = b; this.bOff = bOff; this.ldb = ldb; this.beta = beta; this.c = c; this.cOff = cOff; this.ldc = ldc;
        }

        @Override public void run(int lo, int hi) {
            for (int t = lo; t < hi; t++) {
                int from = t * step, to = Math.min(len, from + step);
                if (from >= to) continue;
                if (alongN)
                    serial(bk, transA, transB, m, to - from, k, alpha, a, aOff, lda,
                            b, bOff + (transB ? from * ldb : from), ldb, beta, c, cOff + from, ldc);
                else
                    serial(bk, transA, transB, to - from, n, k, alpha, a, aOff + (transA ? from : from * lda), lda,
                            b, bOff, ldb, beta, c, cOff + from * ldc, ldc);
            }
        }
    }

    private static final ThreadLocal<Slabs> SLABS = ThreadLocal.withInitial(Slabs::new);

    /**
     * The dot-product path's parallel body, columns lo ≤ j &lt; hi of C: one per calling thread, reused (a
     * lambda capturing the arguments was a new object per call of a compiled predictor's Linear layer).
     */
    private static final class Dots implements Parallel.Range {
        int m, k, aOff, lda, bOff, ldb, cOff, ldc;
        float[] a, b, c;

        void set(int m, int k, float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float[] c, int cOff, int ldc) {
            this.m = m; this.k = k; this.a = a; this.aOff = aOff; this.lda = lda; this.b = b; this.bOff = bOff; this.ldb = ldb;
            this.c = c; this.cOff = cOff; this.ldc = ldc;
        }

        @Override public void run(int lo, int hi) {
            DotGemm.addABt(true, m, hi - lo, k, a, aOff, lda, b, bOff + lo * ldb, ldb, c, cOff + lo, ldc);
        }
    }

    private static final ThreadLocal<Dots> DOTS = ThreadLocal.withInitial(Dots::new);

    /** Panels lo ≤ jp &lt; hi of B's block at (pc, jc) packed into packedB, NR columns each (see packB). */
    private static void packPanels(boolean transB, float[] b, int bOff, int ldb, int n, int jc, int pc, int kc, float[] packedB, int lo, int hi) {
        for (int jp = lo; jp < hi; jp++)
            packB(transB, b, bOff, ldb, pc, kc, jc + jp * NR, Math.min(NR, n - jc - jp * NR), packedB, jp * NR * kc);
    }

    /**
     * alpha·op(A) [M×K] packed whole, for many products with the same A (a convolution's weights, once per
     * call instead of once per image). Layout: K blocks of KC; block pc holds roundUp(M, MR)·kc floats, its
     * MR-tall panels one after another, exactly as {@link #packA} lays out one block.
     */
    static float[] packAll(boolean transA, float alpha, int m, int k, float[] a, int aOff, int lda) {
        int mPad = roundUp(m, MR);
        float[] ap = new float[mPad * Math.max(k, 1)];
        int kcMax = BLOCKING.kc();
        for (int pc = 0; pc < k; pc += kcMax) packA(transA, alpha, a, aOff, lda, 0, m, pc, Math.min(kcMax, k - pc), ap, pc * mPad);
        return ap;
    }

    /** C = A·op(B) + beta·C on this thread, with A from {@link #packAll} (alpha already folded in). */
    static void sgemmPacked(float[] ap, boolean transB, int m, int n, int k, float[] b, int bOff, int ldb,
                            float beta, float[] c, int cOff, int ldc) {
        if (m == 0 || n == 0) return;
        if (k == 0 || beta != 0f) scaleC(m, n, beta, c, cOff, ldc);
        if (k == 0) return;
        int mPad = roundUp(m, MR);
        GemmTuning.Blocking bk = BLOCKING;
        Buffers buf = BUFFERS.get();
        float[] bp = buf.b(roundUp(Math.min(bk.nc(), n), NR) * Math.min(bk.kc(), k));
        for (int pc = 0; pc < k; pc += bk.kc()) {
            int kc = Math.min(bk.kc(), k - pc);
            for (int jc = 0; jc < n; jc += bk.nc()) {
                int nc = Math.min(bk.nc(), n - jc);
                packPanels(transB, b, bOff, ldb, n, jc, pc, kc, bp, 0, (nc + NR - 1) / NR);
                macro(beta != 0f || pc > 0, m, nc, kc, ap, pc * mPad, bp, c, cOff + jc, ldc, buf.tile);
            }
        }
    }

    private static int roundUp(int x, int to) { return (x + to - 1) / to * to; }

    /** C = beta·C (C = 0 when beta is 0, whatever C held). */
    private static void scaleC(int m, int n, float beta, float[] c, int cOff, int ldc) {
        if (beta == 1f) return;
        for (int i = 0; i < m; i++) {
            int row = cOff + i * ldc;
            if (beta == 0f) java.util.Arrays.fill(c, row, row + n, 0f);
            else for (int j = 0; j < n; j++) c[row + j] *= beta;
        }
    }

    /**
     * Packs alpha·op(A)[ic:ic+mcur, pc:pc+kc] as MR-tall panels; a panel holds its MR rows one after another,
     * kc values each (rows past mcur are zeros). Row-major panels make the usual case, A stored M×K, a plain
     * copy of row segments; the kernel reads the MR rows as MR short streams.
     */
    private static void packA(boolean transA, float alpha, float[] a, int aOff, int lda, int ic, int mcur,
                              int pc, int kc, float[] ap, int apOff) {
        for (int ir = 0; ir < mcur; ir += MR) {
            int rows = Math.min(MR, mcur - ir), base = apOff + ir * kc;
            if (rows < MR) java.util.Arrays.fill(ap, base + rows * kc, base + MR * kc, 0f);
            if (transA) {
                // A stored K×M: the MR values of one p are adjacent in memory
                for (int p = 0; p < kc; p++) {
                    int src = aOff + (pc + p) * lda + ic + ir, o = base + p;
                    for (int i = 0; i < rows; i++) ap[o + i * kc] = alpha * a[src + i];
                }
            } else {
                for (int i = 0; i < rows; i++) {
                    int src = aOff + (ic + ir + i) * lda + pc, o = base + i * kc;
                    if (alpha == 1f) System.arraycopy(a, src, ap, o, kc);
                    else for (int p = 0; p < kc; p++) ap[o + p] = alpha * a[src + p];
                }
            }
        }
    }

    /** Packs op(B)[pc:pc+kc, j0:j0+cols] as one NR-wide panel at bp[off], kc rows of NR values (zero-padded). */
    private static void packB(boolean transB, float[] b, int bOff, int ldb, int pc, int kc, int j0, int cols,
                              float[] bp, int off) {
        if (!transB && cols == NR) {
            for (int p = 0; p < kc; p++) {
                int src = bOff + (pc + p) * ldb + j0, dst = off + p * NR;
                FloatVector.fromArray(S, b, src).intoArray(bp, dst);
                FloatVector.fromArray(S, b, src + L).intoArray(bp, dst + L);
            }
            return;
        }
        for (int p = 0; p < kc; p++) {
            int dst = off + p * NR;
            for (int j = 0; j < cols; j++)
                bp[dst + j] = transB ? b[bOff + (j0 + j) * ldb + pc + p] : b[bOff + (pc + p) * ldb + j0 + j];
            for (int j = cols; j < NR; j++) bp[dst + j] = 0f;
        }
    }

    /** C[mcur×nc] += packed A block · packed B block, or = when not {@code add} (C's old contents unread). */
    private static void macro(boolean add, int mcur, int nc, int kc, float[] ap, int apOff, float[] bp, float[] c, int cOff, int ldc,
                              float[] tile) {
        for (int ir = 0; ir < mcur; ir += MR)
            for (int jr = 0; jr < nc; jr += NR) tileAt(add, ir, jr, mcur, nc, kc, ap, apOff, bp, c, cOff, ldc, tile);
    }

    private static void tileAt(boolean add, int ir, int jr, int mcur, int nc, int kc, float[] ap, int apOff, float[] bp, float[] c, int cOff, int ldc,
                               float[] tile) {
        int cols = Math.min(NR, nc - jr);
        int rows = Math.min(MR, mcur - ir);
        int ci = cOff + ir * ldc + jr;
        if (rows == MR && cols == NR) {
            kernel(add, kc, ap, apOff + ir * kc, bp, jr * kc, c, ci, ldc);
        } else {
            kernel(false, kc, ap, apOff + ir * kc, bp, jr * kc, tile, 0, NR);
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < cols; j++) {
                    int at = ci + i * ldc + j;
                    c[at] = add ? c[at] + tile[i * NR + j] : tile[i * NR + j];
                }
        }
    }

    private static void kernel(boolean add, int kc, float[] ap, int ai, float[] bp, int bi, float[] c, int ci, int ldc) {
        if (MR == 8) kernel8(add, kc, ap, ai, bp, bi, c, ci, ldc);
        else kernel6(add, kc, ap, ai, bp, bi, c, ci, ldc);
    }

    /** The 8×NR micro-kernel: 16 vector accumulators; per step of k two loads of B and 8 broadcasts of A. */
    private static void kernel8(boolean add, int kc, float[] ap, int ai, float[] bp, int bi, float[] c, int ci, int ldc) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        FloatVector c60 = FloatVector.zero(S), c61 = FloatVector.zero(S);
        FloatVector c70 = FloatVector.zero(S), c71 = FloatVector.zero(S);
        int a0 = ai, a1 = ai + kc, a2 = ai + 2 * kc, a3 = ai + 3 * kc, a4 = ai + 4 * kc, a5 = ai + 5 * kc, a6 = ai + 6 * kc, a7 = ai + 7 * kc;
        for (int p = 0; p < kc; p++, bi += NR) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector b1 = FloatVector.fromArray(S, bp, bi + L);
            FloatVector a = FloatVector.broadcast(S, ap[a0 + p]);
            c00 = a.fma(b0, c00); c01 = a.fma(b1, c01);
            a = FloatVector.broadcast(S, ap[a1 + p]);
            c10 = a.fma(b0, c10); c11 = a.fma(b1, c11);
            a = FloatVector.broadcast(S, ap[a2 + p]);
            c20 = a.fma(b0, c20); c21 = a.fma(b1, c21);
            a = FloatVector.broadcast(S, ap[a3 + p]);
            c30 = a.fma(b0, c30); c31 = a.fma(b1, c31);
            a = FloatVector.broadcast(S, ap[a4 + p]);
            c40 = a.fma(b0, c40); c41 = a.fma(b1, c41);
            a = FloatVector.broadcast(S, ap[a5 + p]);
            c50 = a.fma(b0, c50); c51 = a.fma(b1, c51);
            a = FloatVector.broadcast(S, ap[a6 + p]);
            c60 = a.fma(b0, c60); c61 = a.fma(b1, c61);
            a = FloatVector.broadcast(S, ap[a7 + p]);
            c70 = a.fma(b0, c70); c71 = a.fma(b1, c71);
        }
        // written out, not through a helper: a helper that C2 declines to inline would box the vectors. Two
        // branches, each storing, never one vector chosen by the if: merging two vector values boxes them too.
        if (add) {
            int r0 = ci;
            c00.add(FloatVector.fromArray(S, c, r0)).intoArray(c, r0);
            c01.add(FloatVector.fromArray(S, c, r0 + L)).intoArray(c, r0 + L);
            int r1 = ci + ldc;
            c10.add(FloatVector.fromArray(S, c, r1)).intoArray(c, r1);
            c11.add(FloatVector.fromArray(S, c, r1 + L)).intoArray(c, r1 + L);
            int r2 = ci + 2 * ldc;
            c20.add(FloatVector.fromArray(S, c, r2)).intoArray(c, r2);
            c21.add(FloatVector.fromArray(S, c, r2 + L)).intoArray(c, r2 + L);
            int r3 = ci + 3 * ldc;
            c30.add(FloatVector.fromArray(S, c, r3)).intoArray(c, r3);
            c31.add(FloatVector.fromArray(S, c, r3 + L)).intoArray(c, r3 + L);
            int r4 = ci + 4 * ldc;
            c40.add(FloatVector.fromArray(S, c, r4)).intoArray(c, r4);
            c41.add(FloatVector.fromArray(S, c, r4 + L)).intoArray(c, r4 + L);
            int r5 = ci + 5 * ldc;
            c50.add(FloatVector.fromArray(S, c, r5)).intoArray(c, r5);
            c51.add(FloatVector.fromArray(S, c, r5 + L)).intoArray(c, r5 + L);
            int r6 = ci + 6 * ldc;
            c60.add(FloatVector.fromArray(S, c, r6)).intoArray(c, r6);
            c61.add(FloatVector.fromArray(S, c, r6 + L)).intoArray(c, r6 + L);
            int r7 = ci + 7 * ldc;
            c70.add(FloatVector.fromArray(S, c, r7)).intoArray(c, r7);
            c71.add(FloatVector.fromArray(S, c, r7 + L)).intoArray(c, r7 + L);
        } else {
            int r0 = ci;
            c00.intoArray(c, r0);
            c01.intoArray(c, r0 + L);
            int r1 = ci + ldc;
            c10.intoArray(c, r1);
            c11.intoArray(c, r1 + L);
            int r2 = ci + 2 * ldc;
            c20.intoArray(c, r2);
            c21.intoArray(c, r2 + L);
            int r3 = ci + 3 * ldc;
            c30.intoArray(c, r3);
            c31.intoArray(c, r3 + L);
            int r4 = ci + 4 * ldc;
            c40.intoArray(c, r4);
            c41.intoArray(c, r4 + L);
            int r5 = ci + 5 * ldc;
            c50.intoArray(c, r5);
            c51.intoArray(c, r5 + L);
            int r6 = ci + 6 * ldc;
            c60.intoArray(c, r6);
            c61.intoArray(c, r6 + L);
            int r7 = ci + 7 * ldc;
            c70.intoArray(c, r7);
            c71.intoArray(c, r7 + L);
        }
    }

    /** The 6×NR micro-kernel: 12 vector accumulators; per step of k two loads of B and 6 broadcasts of A. */
    private static void kernel6(boolean add, int kc, float[] ap, int ai, float[] bp, int bi, float[] c, int ci, int ldc) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        int a0 = ai, a1 = ai + kc, a2 = ai + 2 * kc, a3 = ai + 3 * kc, a4 = ai + 4 * kc, a5 = ai + 5 * kc;
        for (int p = 0; p < kc; p++, bi += NR) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector b1 = FloatVector.fromArray(S, bp, bi + L);
            FloatVector a = FloatVector.broadcast(S, ap[a0 + p]);
            c00 = a.fma(b0, c00); c01 = a.fma(b1, c01);
            a = FloatVector.broadcast(S, ap[a1 + p]);
            c10 = a.fma(b0, c10); c11 = a.fma(b1, c11);
            a = FloatVector.broadcast(S, ap[a2 + p]);
            c20 = a.fma(b0, c20); c21 = a.fma(b1, c21);
            a = FloatVector.broadcast(S, ap[a3 + p]);
            c30 = a.fma(b0, c30); c31 = a.fma(b1, c31);
            a = FloatVector.broadcast(S, ap[a4 + p]);
            c40 = a.fma(b0, c40); c41 = a.fma(b1, c41);
            a = FloatVector.broadcast(S, ap[a5 + p]);
            c50 = a.fma(b0, c50); c51 = a.fma(b1, c51);
        }
        // written out, not through a helper: a helper that C2 declines to inline would box the vectors. Two
        // branches, each storing, never one vector chosen by the if: merging two vector values boxes them too.
        if (add) {
            int r0 = ci;
            c00.add(FloatVector.fromArray(S, c, r0)).intoArray(c, r0);
            c01.add(FloatVector.fromArray(S, c, r0 + L)).intoArray(c, r0 + L);
            int r1 = ci + ldc;
            c10.add(FloatVector.fromArray(S, c, r1)).intoArray(c, r1);
            c11.add(FloatVector.fromArray(S, c, r1 + L)).intoArray(c, r1 + L);
            int r2 = ci + 2 * ldc;
            c20.add(FloatVector.fromArray(S, c, r2)).intoArray(c, r2);
            c21.add(FloatVector.fromArray(S, c, r2 + L)).intoArray(c, r2 + L);
            int r3 = ci + 3 * ldc;
            c30.add(FloatVector.fromArray(S, c, r3)).intoArray(c, r3);
            c31.add(FloatVector.fromArray(S, c, r3 + L)).intoArray(c, r3 + L);
            int r4 = ci + 4 * ldc;
            c40.add(FloatVector.fromArray(S, c, r4)).intoArray(c, r4);
            c41.add(FloatVector.fromArray(S, c, r4 + L)).intoArray(c, r4 + L);
            int r5 = ci + 5 * ldc;
            c50.add(FloatVector.fromArray(S, c, r5)).intoArray(c, r5);
            c51.add(FloatVector.fromArray(S, c, r5 + L)).intoArray(c, r5 + L);
        } else {
            int r0 = ci;
            c00.intoArray(c, r0);
            c01.intoArray(c, r0 + L);
            int r1 = ci + ldc;
            c10.intoArray(c, r1);
            c11.intoArray(c, r1 + L);
            int r2 = ci + 2 * ldc;
            c20.intoArray(c, r2);
            c21.intoArray(c, r2 + L);
            int r3 = ci + 3 * ldc;
            c30.intoArray(c, r3);
            c31.intoArray(c, r3 + L);
            int r4 = ci + 4 * ldc;
            c40.intoArray(c, r4);
            c41.intoArray(c, r4 + L);
            int r5 = ci + 5 * ldc;
            c50.intoArray(c, r5);
            c51.intoArray(c, r5 + L);
        }
    }

    /** The scalar oracle: the specification's loops, ordered i-p-j so that B and C are read along rows. */
    static void scalar(Parallel par, boolean transA, boolean transB, int m, int n, int k, float alpha,
                       float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
        Parallel.Range rows = (lo, hi) -> {
            for (int i = lo; i < hi; i++) {
                int ci = cOff + i * ldc;
                for (int j = 0; j < n; j++) c[ci + j] = beta == 0f ? 0f : beta * c[ci + j];
                for (int p = 0; p < k; p++) {
                    float av = alpha * (transA ? a[aOff + p * lda + i] : a[aOff + i * lda + p]);
                    if (transB) for (int j = 0; j < n; j++) c[ci + j] += av * b[bOff + j * ldb + p];
                    else for (int j = 0, bi = bOff + p * ldb; j < n; j++) c[ci + j] += av * b[bi + j];
                }
            }
        };
        if (par == null) rows.run(0, m);
        else par.parallelFor(0, m, (int) Math.max(1, 1_000_000L / Math.max(1L, (long) n * k)), rows);  // ≥ ~1 Mflop a chunk
    }
}
