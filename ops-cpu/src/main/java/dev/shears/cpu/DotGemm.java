package dev.shears.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * C += A·Bᵀ where A is M×K and B is N×K, both row-major: every C[i][j] is a dot product of two contiguous
 * rows, so nothing needs packing or transposing. This is the shape of a convolution's weight gradient
 * (dw [K×CRS] = dy [K×PQ] · colᵀ, reduced over the long, contiguous PQ), where the packed {@link Gemm}
 * would have to transpose one operand element by element.
 *
 * <p>Legend: M, N output sizes, K the reduction length; L lanes. A 4×4 block of C keeps 16 vector
 * accumulators over K (4 loads of A and 4 of B feed 16 fmas) up to the last whole vector, each reduced across
 * lanes once at the end, and the last K % L values are added by scalar dots; rows past the last group of 4
 * run 1×4 blocks with a masked last vector, leftover columns 1×1 dots.
 * <pre>
 *   for i &lt; M, j &lt; N:  C[i][j] += Σ_p A[i][p] · B[j][p]
 * </pre>
 */
final class DotGemm {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();

    private DotGemm() {}

    static void addABt(boolean simd, int m, int n, int k, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                       float[] c, int cOff, int ldc) {
        if (!simd) {
            scalarDots(m, n, 0, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
            return;
        }
        int m4 = m - m % 4, n4 = n - n % 4;
        for (int i = 0; i < m4; i += 4)
            for (int j = 0; j < n4; j += 4) block4x4(k, a, aOff + i * lda, lda, b, bOff + j * ldb, ldb, c, cOff + i * ldc + j, ldc);
        // the last k % L values of those blocks, scalar: block4x4 has no masked tail of its own (see there)
        scalarDots(m4, n4, S.loopBound(k), k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
        // rows past the last group of 4 (all of them when M < 4: a Linear layer at batch 1) take four rows
        // of B at a time, so four independent accumulators hide the fma latency a single dot would wait on
        for (int i = m4; i < m; i++)
            for (int j = 0; j < n4; j += 4) block1x4(k, a, aOff + i * lda, b, bOff + j * ldb, ldb, c, cOff + i * ldc + j);
        for (int i = 0; i < m; i++)
            for (int j = n4; j < n; j++)
                c[cOff + i * ldc + j] += dot(k, a, aOff + i * lda, b, bOff + j * ldb);
    }

    /** C[i][j] += Σ_{p0 ≤ p &lt; k} A[i][p]·B[j][p] for i &lt; m, j &lt; n, one scalar dot each. */
    private static void scalarDots(int m, int n, int p0, int k, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                                   float[] c, int cOff, int ldc) {
        if (p0 >= k) return;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                float s = 0f;
                for (int p = p0; p < k; p++) s += a[aOff + i * lda + p] * b[bOff + j * ldb + p];
                c[cOff + i * ldc + j] += s;
            }
    }

    private static void block1x4(int k, float[] a, int a0, float[] b, int b0, int ldb, float[] c, int c0) {
        FloatVector s0 = FloatVector.zero(S), s1 = FloatVector.zero(S), s2 = FloatVector.zero(S), s3 = FloatVector.zero(S);
        int bound = S.loopBound(k);
        for (int p = 0; p < bound; p += L) {
            FloatVector x = FloatVector.fromArray(S, a, a0 + p);
            s0 = x.fma(FloatVector.fromArray(S, b, b0 + p), s0);
            s1 = x.fma(FloatVector.fromArray(S, b, b0 + ldb + p), s1);
            s2 = x.fma(FloatVector.fromArray(S, b, b0 + 2 * ldb + p), s2);
            s3 = x.fma(FloatVector.fromArray(S, b, b0 + 3 * ldb + p), s3);
        }
        if (bound < k) {
            int p = bound;
            VectorMask<Float> m = S.indexInRange(p, k);
            FloatVector x = FloatVector.fromArray(S, a, a0 + p, m);
            s0 = x.fma(FloatVector.fromArray(S, b, b0 + p, m), s0);
            s1 = x.fma(FloatVector.fromArray(S, b, b0 + ldb + p, m), s1);
            s2 = x.fma(FloatVector.fromArray(S, b, b0 + 2 * ldb + p, m), s2);
            s3 = x.fma(FloatVector.fromArray(S, b, b0 + 3 * ldb + p, m), s3);
        }
        if (L < 4) {
            c[c0] += Lanes.sum(s0);
            c[c0 + 1] += Lanes.sum(s1);
            c[c0 + 2] += Lanes.sum(s2);
            c[c0 + 3] += Lanes.sum(s3);
            return;
        }
        // the four sums at once, lane-wise (see SWAP): pairs of accumulators folded into one vector whose lane
        // j holds row j % 2 of the pair (odd lanes from the second), then the two pairs likewise (lane j: row
        // j % 4), then the vector onto itself until lanes 0..3 hold the four whole sums
        FloatVector t0 = s0.blend(s1, BIT[0]).add(s1.blend(s0, BIT[0]).rearrange(SWAP[0]));
        FloatVector t1 = s2.blend(s3, BIT[0]).add(s3.blend(s2, BIT[0]).rearrange(SWAP[0]));
        FloatVector u = t0.blend(t1, BIT[1]).add(t1.blend(t0, BIT[1]).rearrange(SWAP[1]));
        for (int d = 2; d < SWAP.length; d++) u = u.add(u.rearrange(SWAP[d]));
        c[c0] += u.lane(0);
        c[c0 + 1] += u.lane(1);
        c[c0 + 2] += u.lane(2);
        c[c0 + 3] += u.lane(3);
    }

    /**
     * SWAP[b] exchanges lanes j and j ^ 2^b, BIT[b] marks the lanes with bit b set: x.blend(y, BIT[b]) +
     * y.blend(x, BIT[b]).rearrange(SWAP[b]) adds each lane of x to its partner where bit b is clear and each
     * of y where it is set, one step of a transposing sum. {@link #block1x4}'s four sums took 15 dependent
     * scalar adds each ({@link Lanes#sum}) and, at batch 1, a quarter of fc1's time: a pruned fc1 (128 × 735)
     * 3.82–3.84 → 3.33–3.43 µs, the unpruned one (128 × 3136) 17.5–17.6 → 17.1–17.4 µs (one thread, medians of
     * 20,000 calls, the two alternating in one process). Lane-wise adds in a fixed order: the same bits
     * interpreted and compiled, as {@link Lanes} explains.
     */
    private static final VectorShuffle<Float>[] SWAP;
    private static final VectorMask<Float>[] BIT;
    static {
        int levels = Integer.numberOfTrailingZeros(L);
        @SuppressWarnings("unchecked") VectorShuffle<Float>[] swap = new VectorShuffle[levels];
        @SuppressWarnings("unchecked") VectorMask<Float>[] bit = new VectorMask[levels];
        for (int b = 0; b < levels; b++) {
            int d = 1 << b;
            boolean[] set = new boolean[L];
            for (int j = 0; j < L; j++) set[j] = (j & d) != 0;
            swap[b] = VectorShuffle.fromOp(S, j -> j ^ d);
            bit[b] = VectorMask.fromArray(S, set, 0);
        }
        SWAP = swap;
        BIT = bit;
    }

    /**
     * Σ_p A[ai + p]·B[bi + p] for p &lt; k: one vector accumulator, its lanes summed in {@link Lanes}' order, then
     * the scalar tail. The lanes are summed here, not by {@link Lanes#sum}: a predictor's fc2 (10 = 8 + 2 columns)
     * runs this per call, and C2 did not always inline that 31-byte helper (which limit refused it was not caught;
     * one that can: a call site C2 finds cold is refused once the helper has compiled code of its own over 625
     * bytes, "already compiled into a medium method"); the call then boxed the vector, 168 bytes per predict
     * (PredictorTest's CI failure on 2026-12-07, reproduced in every JVM with
     * {@code -XX:CompileCommand=dontinline,dev.shears.cpu.Lanes::sum}). {@code lane} is the Vector API's own,
     * inlined by annotation.
     */
    private static float dot(int k, float[] a, int ai, float[] b, int bi) {
        FloatVector acc = FloatVector.zero(S);
        int p = 0;
        for (int bound = S.loopBound(k); p < bound; p += L)
            acc = FloatVector.fromArray(S, a, ai + p).fma(FloatVector.fromArray(S, b, bi + p), acc);
        float s = acc.lane(0);
        for (int i = 1; i < L; i++) s += acc.lane(i);
        for (; p < k; p++) s += a[ai + p] * b[bi + p];
        return s;
    }

    /**
     * The first {@code S.loopBound(k)} values of a 4×4 block's dot products; the caller adds the rest. Kept
     * this small on purpose: with a masked tail as well, C1 gave up on the method ("out of virtual registers
     * in linear scan": without intrinsics every vector op is inlined Java), and in JVM runs where the tiered
     * policy had first compiled it at tier 2 it stayed there, never reaching C2, with every vector an object:
     * a training step then ran at about 1,950 instead of 3,150 samples/s on one thread (two of six
     * `bin/shears bench --threads 1` runs, async-profiler: this method 6× the samples).
     */
    private static void block4x4(int k, float[] a, int a0, int lda, float[] b, int b0, int ldb, float[] c, int c0, int ldc) {
        FloatVector s00 = FloatVector.zero(S), s01 = FloatVector.zero(S), s02 = FloatVector.zero(S), s03 = FloatVector.zero(S);
        FloatVector s10 = FloatVector.zero(S), s11 = FloatVector.zero(S), s12 = FloatVector.zero(S), s13 = FloatVector.zero(S);
        FloatVector s20 = FloatVector.zero(S), s21 = FloatVector.zero(S), s22 = FloatVector.zero(S), s23 = FloatVector.zero(S);
        FloatVector s30 = FloatVector.zero(S), s31 = FloatVector.zero(S), s32 = FloatVector.zero(S), s33 = FloatVector.zero(S);
        int bound = S.loopBound(k);
        for (int p = 0; p < bound; p += L) {
            FloatVector x0 = FloatVector.fromArray(S, a, a0 + p), x1 = FloatVector.fromArray(S, a, a0 + lda + p);
            FloatVector x2 = FloatVector.fromArray(S, a, a0 + 2 * lda + p), x3 = FloatVector.fromArray(S, a, a0 + 3 * lda + p);
            FloatVector y = FloatVector.fromArray(S, b, b0 + p);
            s00 = x0.fma(y, s00); s10 = x1.fma(y, s10); s20 = x2.fma(y, s20); s30 = x3.fma(y, s30);
            y = FloatVector.fromArray(S, b, b0 + ldb + p);
            s01 = x0.fma(y, s01); s11 = x1.fma(y, s11); s21 = x2.fma(y, s21); s31 = x3.fma(y, s31);
            y = FloatVector.fromArray(S, b, b0 + 2 * ldb + p);
            s02 = x0.fma(y, s02); s12 = x1.fma(y, s12); s22 = x2.fma(y, s22); s32 = x3.fma(y, s32);
            y = FloatVector.fromArray(S, b, b0 + 3 * ldb + p);
            s03 = x0.fma(y, s03); s13 = x1.fma(y, s13); s23 = x2.fma(y, s23); s33 = x3.fma(y, s33);
        }
        // written out: a helper taking the vectors might not be inlined, and would box them
        c[c0] += Lanes.sum(s00);
        c[c0 + 1] += Lanes.sum(s01);
        c[c0 + 2] += Lanes.sum(s02);
        c[c0 + 3] += Lanes.sum(s03);
        c[c0 + ldc] += Lanes.sum(s10);
        c[c0 + ldc + 1] += Lanes.sum(s11);
        c[c0 + ldc + 2] += Lanes.sum(s12);
        c[c0 + ldc + 3] += Lanes.sum(s13);
        c[c0 + 2 * ldc] += Lanes.sum(s20);
        c[c0 + 2 * ldc + 1] += Lanes.sum(s21);
        c[c0 + 2 * ldc + 2] += Lanes.sum(s22);
        c[c0 + 2 * ldc + 3] += Lanes.sum(s23);
        c[c0 + 3 * ldc] += Lanes.sum(s30);
        c[c0 + 3 * ldc + 1] += Lanes.sum(s31);
        c[c0 + 3 * ldc + 2] += Lanes.sum(s32);
        c[c0 + 3 * ldc + 3] += Lanes.sum(s33);
    }

    /**
     * Lane-wise partial sums of C = A·Bᵀ (A M×K, B N×K, row-major), added into {@code acc}: acc[(i·N + j)·L + l]
     * += Σ_{p ≡ l (mod L)} A[i][p]·B[j][p] for the whole vectors, and the last K % L products into lane 0. Many
     * such calls (a convolution's images) then need one lane reduction per cell ({@link #addLaneSums}), not one
     * each: conv1's weight gradient (M = 9 taps, N = 32 maps, K = 784) reduced 288 cells per image.
     * {@code acc} holds M·N + 1 cells: the last takes the products of the 3×4 blocks' rows and columns past
     * M and N, which repeat the last row or column, and is never read.
     */
    static void addABtLanes(int m, int n, int k, float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float[] acc) {
        int bound = S.loopBound(k), trash = m * n * L;
        for (int j = 0; j < n; j += 4)
            for (int i = 0; i < m; i += 3) {
                int i1 = Math.min(i + 1, m - 1), i2 = Math.min(i + 2, m - 1);
                int j1 = Math.min(j + 1, n - 1), j2 = Math.min(j + 2, n - 1), j3 = Math.min(j + 3, n - 1);
                int c1 = i + 1 < m ? (i + 1) * n * L : -1, c2 = i + 2 < m ? (i + 2) * n * L : -1;
                block3x4(bound, a, aOff + i * lda, aOff + i1 * lda, aOff + i2 * lda, b, bOff + j * ldb, bOff + j1 * ldb,
                        bOff + j2 * ldb, bOff + j3 * ldb, acc, i * n * L, c1, c2, j * L, j + 1 < n ? (j + 1) * L : -1,
                        j + 2 < n ? (j + 2) * L : -1, j + 3 < n ? (j + 3) * L : -1, trash);
            }
        if (bound < k)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    float t = 0f;
                    for (int p = bound; p < k; p++) t += a[aOff + i * lda + p] * b[bOff + j * ldb + p];
                    acc[(i * n + j) * L] += t;
                }
    }

    /** C[i][j] += the sum of cell (i, j)'s L lanes in {@code acc} ({@link #addABtLanes}), lanes in order. */
    static void addLaneSums(int m, int n, float[] acc, float[] c, int cOff, int ldc) {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) c[cOff + i * ldc + j] += Lanes.sum(FloatVector.fromArray(S, acc, (i * n + j) * L));
    }

    /**
     * The 3×4 block of {@link #addABtLanes} over [0, bound): rows at a0..a2 of A, rows at b0..b3 of B, the
     * twelve accumulators loaded from and stored back to acc at row offset r_i + column offset c_j (or at
     * {@code trash} where either is −1). No masked tail (see {@link #block4x4}).
     */
    private static void block3x4(int bound, float[] a, int a0, int a1, int a2, float[] b, int b0, int b1, int b2, int b3,
                                 float[] acc, int r0, int r1, int r2, int c0, int c1, int c2, int c3, int trash) {
        int o00 = cell(r0, c0, trash), o01 = cell(r0, c1, trash), o02 = cell(r0, c2, trash), o03 = cell(r0, c3, trash);
        int o10 = cell(r1, c0, trash), o11 = cell(r1, c1, trash), o12 = cell(r1, c2, trash), o13 = cell(r1, c3, trash);
        int o20 = cell(r2, c0, trash), o21 = cell(r2, c1, trash), o22 = cell(r2, c2, trash), o23 = cell(r2, c3, trash);
        FloatVector s00 = FloatVector.fromArray(S, acc, o00), s01 = FloatVector.fromArray(S, acc, o01);
        FloatVector s02 = FloatVector.fromArray(S, acc, o02), s03 = FloatVector.fromArray(S, acc, o03);
        FloatVector s10 = FloatVector.fromArray(S, acc, o10), s11 = FloatVector.fromArray(S, acc, o11);
        FloatVector s12 = FloatVector.fromArray(S, acc, o12), s13 = FloatVector.fromArray(S, acc, o13);
        FloatVector s20 = FloatVector.fromArray(S, acc, o20), s21 = FloatVector.fromArray(S, acc, o21);
        FloatVector s22 = FloatVector.fromArray(S, acc, o22), s23 = FloatVector.fromArray(S, acc, o23);
        for (int p = 0; p < bound; p += L) {
            FloatVector x0 = FloatVector.fromArray(S, a, a0 + p), x1 = FloatVector.fromArray(S, a, a1 + p);
            FloatVector x2 = FloatVector.fromArray(S, a, a2 + p);
            FloatVector y = FloatVector.fromArray(S, b, b0 + p);
            s00 = x0.fma(y, s00); s10 = x1.fma(y, s10); s20 = x2.fma(y, s20);
            y = FloatVector.fromArray(S, b, b1 + p);
            s01 = x0.fma(y, s01); s11 = x1.fma(y, s11); s21 = x2.fma(y, s21);
            y = FloatVector.fromArray(S, b, b2 + p);
            s02 = x0.fma(y, s02); s12 = x1.fma(y, s12); s22 = x2.fma(y, s22);
            y = FloatVector.fromArray(S, b, b3 + p);
            s03 = x0.fma(y, s03); s13 = x1.fma(y, s13); s23 = x2.fma(y, s23);
        }
        // distinct cells but the trash one, which may take several of these and is never read
        s23.intoArray(acc, o23); s22.intoArray(acc, o22); s21.intoArray(acc, o21); s20.intoArray(acc, o20);
        s13.intoArray(acc, o13); s12.intoArray(acc, o12); s11.intoArray(acc, o11); s10.intoArray(acc, o10);
        s03.intoArray(acc, o03); s02.intoArray(acc, o02); s01.intoArray(acc, o01); s00.intoArray(acc, o00);
    }

    private static int cell(int row, int col, int trash) { return row < 0 || col < 0 ? trash : row + col; }
}
