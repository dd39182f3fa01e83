package dev.shears.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The register tile of the direct convolution ({@link DirectConv}): B blocks of L channels × {@link #PX}
 * positions, B·PX accumulators of L lanes, one lane per channel.
 * <pre>
 *   for i &lt; PX, b &lt; B:
 *     out[oOff + b·oBlock + i·L .. +L) += Σ_{u &lt; count}  v[vOff + b·vBlock + u·L .. +L) · x[xOff + walk[u] + fixed[fOff + i]]
 * </pre>
 * One formula serves all three passes, because a convolution's input address is the sum of a tap's offset
 * and an output pixel's offset ({@link Nchwc}):
 * <ul>
 *   <li>forward: u walks the taps (c, r, s), v = the blocked weights, the PX positions are output pixels,
 *       out = the blocked output (already holding the bias);</li>
 *   <li>backward-data: the same, with dy as x and the weights transposed and flipped;</li>
 *   <li>backward-weight: u walks the output pixels, v = the blocked dy, the PX positions are taps, out = the
 *       blocked dw, accumulated image after image.</li>
 * </ul>
 * Per step u: B vector loads of v, PX scalar loads of x broadcast to all lanes, B·PX fmas. With B = 4 on
 * AVX-512 that is 24 accumulators + 4 + 1 of the 32 vector registers (MLAS's tile); with B = 2 (either
 * width) 12 + 2 + 1, which fits AVX2's 16. The methods are kept small: the tile is unrolled, the walk is a
 * loop (see KernelsCompileTest for what C1 does with large vector methods).
 */
final class ConvTile {
    static final VectorSpecies<Float> S = species(System.getProperty("shears.conv.lanes"), FloatVector.SPECIES_PREFERRED);
    static final int L = S.length();

    /**
     * The channel block: the preferred species, as every other kernel's, unless {@code shears.conv.lanes}
     * (8 or 16) asks otherwise; never wider than the preferred species (under {@code -XX:UseAVX=2} a 512-bit
     * species would run the Vector API's Java fallback).
     *
     * <p>Not 8 lanes by default on Zen 4, although one conv measured alone ran faster so (conv2
     * backward-data 5.2 ms against 6.3–6.5 with 16 lanes, docs/performance.md, 2026-12-06): in a process
     * whose element-wise kernels use 16 lanes, the Vector API's shared methods (fma, lanewise, intoArray)
     * then see both Float256Vector and Float512Vector; C2 inlines both where it cannot prove the type,
     * merges them, and boxes a vector per fma (VectorFallbackTest: {@link #tile2}'s fmas, and the doubled
     * code pushed VectorMath's log past C2's node budget). {@code shears.conv.lanes=8} keeps that risk.
     */
    static VectorSpecies<Float> species(String lanes, VectorSpecies<Float> preferred) {
        int want = lanes != null ? Integer.parseInt(lanes.trim()) : preferred.length();
        if (want != 8 && want != 16)
            throw new IllegalArgumentException("shears.conv.lanes must be 8 or 16, got " + lanes);
        return want >= preferred.length() ? preferred : FloatVector.SPECIES_256;
    }
    /** Positions per tile: a 14-wide row is 6 + 6 + 2, but positions run on across rows (see Nchwc). */
    static final int PX = 6;

    private ConvTile() {}

    /**
     * What stays the same for every tile of one pass over one image: the input x, the walk (count offsets
     * into x) and the fixed offsets (PX per tile, a multiple of PX in all), the vector operand v with
     * vBlock floats between its blocks, and out with oBlock floats between its blocks.
     */
    record Operands(float[] x, int[] walk, int count, int[] fixed, float[] v, int vBlock, float[] out, int oBlock) {}

    /** The tile of {@code blocks} (1, 2 or 4) blocks at the given offsets. */
    static void run(int blocks, Operands o, int xOff, int fOff, int vOff, int oOff) {
        switch (blocks) {
            case 4 -> tile4(o, xOff, fOff, vOff, oOff);
            case 2 -> tile2(o, xOff, fOff, vOff, oOff);
            case 1 -> tile1(o, xOff, fOff, vOff, oOff);
            default -> throw new IllegalArgumentException("conv tile: blocks must be 1, 2 or 4, got " + blocks);
        }
    }

    static void tile1(Operands o, int xOff, int fOff, int vOff, int oOff) {
        float[] x = o.x(), v = o.v(), out = o.out();
        int[] walk = o.walk(), fixed = o.fixed();
        int count = o.count();
        int f0 = fixed[fOff], f1 = fixed[fOff + 1], f2 = fixed[fOff + 2], f3 = fixed[fOff + 3], f4 = fixed[fOff + 4], f5 = fixed[fOff + 5];
        FloatVector a0 = FloatVector.fromArray(S, out, oOff), a1 = FloatVector.fromArray(S, out, oOff + L);
        FloatVector a2 = FloatVector.fromArray(S, out, oOff + 2 * L), a3 = FloatVector.fromArray(S, out, oOff + 3 * L);
        FloatVector a4 = FloatVector.fromArray(S, out, oOff + 4 * L), a5 = FloatVector.fromArray(S, out, oOff + 5 * L);
        for (int u = 0; u < count; u++) {
            int xi = xOff + walk[u];
            FloatVector w = FloatVector.fromArray(S, v, vOff + u * L);
            a0 = w.fma(FloatVector.broadcast(S, x[xi + f0]), a0);
            a1 = w.fma(FloatVector.broadcast(S, x[xi + f1]), a1);
            a2 = w.fma(FloatVector.broadcast(S, x[xi + f2]), a2);
            a3 = w.fma(FloatVector.broadcast(S, x[xi + f3]), a3);
            a4 = w.fma(FloatVector.broadcast(S, x[xi + f4]), a4);
            a5 = w.fma(FloatVector.broadcast(S, x[xi + f5]), a5);
        }
        a0.intoArray(out, oOff); a1.intoArray(out, oOff + L); a2.intoArray(out, oOff + 2 * L);
        a3.intoArray(out, oOff + 3 * L); a4.intoArray(out, oOff + 4 * L); a5.intoArray(out, oOff + 5 * L);
    }

    static void tile2(Operands o, int xOff, int fOff, int vOff, int oOff) {
        float[] x = o.x(), v = o.v(), out = o.out();
        int[] walk = o.walk(), fixed = o.fixed();
        int count = o.count(), vb = o.vBlock(), ob = oOff + o.oBlock();
        int f0 = fixed[fOff], f1 = fixed[fOff + 1], f2 = fixed[fOff + 2], f3 = fixed[fOff + 3], f4 = fixed[fOff + 4], f5 = fixed[fOff + 5];
        FloatVector a0 = FloatVector.fromArray(S, out, oOff), a1 = FloatVector.fromArray(S, out, oOff + L);
        FloatVector a2 = FloatVector.fromArray(S, out, oOff + 2 * L), a3 = FloatVector.fromArray(S, out, oOff + 3 * L);
        FloatVector a4 = FloatVector.fromArray(S, out, oOff + 4 * L), a5 = FloatVector.fromArray(S, out, oOff + 5 * L);
        FloatVector b0 = FloatVector.fromArray(S, out, ob), b1 = FloatVector.fromArray(S, out, ob + L);
        FloatVector b2 = FloatVector.fromArray(S, out, ob + 2 * L), b3 = FloatVector.fromArray(S, out, ob + 3 * L);
        FloatVector b4 = FloatVector.fromArray(S, out, ob + 4 * L), b5 = FloatVector.fromArray(S, out, ob + 5 * L);
        for (int u = 0; u < count; u++) {
            int xi = xOff + walk[u], vi = vOff + u * L;
            FloatVector w = FloatVector.fromArray(S, v, vi), z = FloatVector.fromArray(S, v, vi + vb);
            FloatVector e = FloatVector.broadcast(S, x[xi + f0]);
            a0 = w.fma(e, a0); b0 = z.fma(e, b0);
            e = FloatVector.broadcast(S, x[xi + f1]);
            a1 = w.fma(e, a1); b1 = z.fma(e, b1);
            e = FloatVector.broadcast(S, x[xi + f2]);
            a2 = w.fma(e, a2); b2 = z.fma(e, b2);
            e = FloatVector.broadcast(S, x[xi + f3]);
            a3 = w.fma(e, a3); b3 = z.fma(e, b3);
            e = FloatVector.broadcast(S, x[xi + f4]);
            a4 = w.fma(e, a4); b4 = z.fma(e, b4);
            e = FloatVector.broadcast(S, x[xi + f5]);
            a5 = w.fma(e, a5); b5 = z.fma(e, b5);
        }
        a0.intoArray(out, oOff); a1.intoArray(out, oOff + L); a2.intoArray(out, oOff + 2 * L);
        a3.intoArray(out, oOff + 3 * L); a4.intoArray(out, oOff + 4 * L); a5.intoArray(out, oOff + 5 * L);
        b0.intoArray(out, ob); b1.intoArray(out, ob + L); b2.intoArray(out, ob + 2 * L);
        b3.intoArray(out, ob + 3 * L); b4.intoArray(out, ob + 4 * L); b5.intoArray(out, ob + 5 * L);
    }

    /** Four blocks: two {@link #tile2} halves would load every x value twice; this loads it once. */
    static void tile4(Operands o, int xOff, int fOff, int vOff, int oOff) {
        float[] x = o.x(), v = o.v(), out = o.out();
        int[] walk = o.walk(), fixed = o.fixed();
        int count = o.count(), vb = o.vBlock(), ob = o.oBlock();
        int o1 = oOff + ob, o2 = o1 + ob, o3 = o2 + ob;
        int f0 = fixed[fOff], f1 = fixed[fOff + 1], f2 = fixed[fOff + 2], f3 = fixed[fOff + 3], f4 = fixed[fOff + 4], f5 = fixed[fOff + 5];
        FloatVector a0 = FloatVector.fromArray(S, out, oOff), a1 = FloatVector.fromArray(S, out, oOff + L);
        FloatVector a2 = FloatVector.fromArray(S, out, oOff + 2 * L), a3 = FloatVector.fromArray(S, out, oOff + 3 * L);
        FloatVector a4 = FloatVector.fromArray(S, out, oOff + 4 * L), a5 = FloatVector.fromArray(S, out, oOff + 5 * L);
        FloatVector b0 = FloatVector.fromArray(S, out, o1), b1 = FloatVector.fromArray(S, out, o1 + L);
        FloatVector b2 = FloatVector.fromArray(S, out, o1 + 2 * L), b3 = FloatVector.fromArray(S, out, o1 + 3 * L);
        FloatVector b4 = FloatVector.fromArray(S, out, o1 + 4 * L), b5 = FloatVector.fromArray(S, out, o1 + 5 * L);
        FloatVector c0 = FloatVector.fromArray(S, out, o2), c1 = FloatVector.fromArray(S, out, o2 + L);
        FloatVector c2 = FloatVector.fromArray(S, out, o2 + 2 * L), c3 = FloatVector.fromArray(S, out, o2 + 3 * L);
        FloatVector c4 = FloatVector.fromArray(S, out, o2 + 4 * L), c5 = FloatVector.fromArray(S, out, o2 + 5 * L);
        FloatVector d0 = FloatVector.fromArray(S, out, o3), d1 = FloatVector.fromArray(S, out, o3 + L);
        FloatVector d2 = FloatVector.fromArray(S, out, o3 + 2 * L), d3 = FloatVector.fromArray(S, out, o3 + 3 * L);
        FloatVector d4 = FloatVector.fromArray(S, out, o3 + 4 * L), d5 = FloatVector.fromArray(S, out, o3 + 5 * L);
        for (int u = 0; u < count; u++) {
            int xi = xOff + walk[u], vi = vOff + u * L;
            FloatVector w = FloatVector.fromArray(S, v, vi), y = FloatVector.fromArray(S, v, vi + vb);
            FloatVector z = FloatVector.fromArray(S, v, vi + 2 * vb), t = FloatVector.fromArray(S, v, vi + 3 * vb);
            FloatVector e = FloatVector.broadcast(S, x[xi + f0]);
            a0 = w.fma(e, a0); b0 = y.fma(e, b0); c0 = z.fma(e, c0); d0 = t.fma(e, d0);
            e = FloatVector.broadcast(S, x[xi + f1]);
            a1 = w.fma(e, a1); b1 = y.fma(e, b1); c1 = z.fma(e, c1); d1 = t.fma(e, d1);
            e = FloatVector.broadcast(S, x[xi + f2]);
            a2 = w.fma(e, a2); b2 = y.fma(e, b2); c2 = z.fma(e, c2); d2 = t.fma(e, d2);
            e = FloatVector.broadcast(S, x[xi + f3]);
            a3 = w.fma(e, a3); b3 = y.fma(e, b3); c3 = z.fma(e, c3); d3 = t.fma(e, d3);
            e = FloatVector.broadcast(S, x[xi + f4]);
            a4 = w.fma(e, a4); b4 = y.fma(e, b4); c4 = z.fma(e, c4); d4 = t.fma(e, d4);
            e = FloatVector.broadcast(S, x[xi + f5]);
            a5 = w.fma(e, a5); b5 = y.fma(e, b5); c5 = z.fma(e, c5); d5 = t.fma(e, d5);
        }
        a0.intoArray(out, oOff); a1.intoArray(out, oOff + L); a2.intoArray(out, oOff + 2 * L);
        a3.intoArray(out, oOff + 3 * L); a4.intoArray(out, oOff + 4 * L); a5.intoArray(out, oOff + 5 * L);
        b0.intoArray(out, o1); b1.intoArray(out, o1 + L); b2.intoArray(out, o1 + 2 * L);
        b3.intoArray(out, o1 + 3 * L); b4.intoArray(out, o1 + 4 * L); b5.intoArray(out, o1 + 5 * L);
        c0.intoArray(out, o2); c1.intoArray(out, o2 + L); c2.intoArray(out, o2 + 2 * L);
        c3.intoArray(out, o2 + 3 * L); c4.intoArray(out, o2 + 4 * L); c5.intoArray(out, o2 + 5 * L);
        d0.intoArray(out, o3); d1.intoArray(out, o3 + L); d2.intoArray(out, o3 + 2 * L);
        d3.intoArray(out, o3 + 3 * L); d4.intoArray(out, o3 + 4 * L); d5.intoArray(out, o3 + 5 * L);
    }
}
