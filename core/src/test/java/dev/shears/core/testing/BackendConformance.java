package dev.shears.core.testing;

import dev.shears.core.Backend;
import dev.shears.core.Backend.Binary;
import dev.shears.core.Backend.Unary;
import dev.shears.core.Conv2dShape;
import dev.shears.core.Pool2dShape;
import dev.shears.core.Storage;
import dev.shears.core.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;

import static dev.shears.core.testing.Close.assertClose;
import static dev.shears.core.testing.Close.random;

/**
 * Every primitive of a fast backend against the scalar reference, on random shapes that include sizes of 1
 * and sizes that are not multiples of any vector length. A backend's test class extends this and names the
 * backend; the failure messages carry the maximum difference.
 */
public abstract class BackendConformance {
    protected static final ReferenceBackend REF = ReferenceBackend.INSTANCE;

    /** The backend under test. */
    protected abstract Backend backend();

    /** Tolerance for sums over long reductions (GEMM, conv); element-wise ops use a tighter one. */
    protected double tolerance() { return 1e-4; }

    private Storage up(Backend b, float[] a) { return b.upload(a); }

    @ParameterizedTest(name = "gemm transA={0} transB={1} m={2} n={3} k={4}")
    @MethodSource("gemmCases")
    void gemm(boolean ta, boolean tb, int m, int n, int k) {
        float[] a = random(1, m * k), bm = random(2, k * n), c = random(3, m * n);
        // alpha 1 as well: a backend may choose another kernel for it (a Linear layer's product)
        for (float alpha : new float[]{1.5f, 1f})
            for (float beta : new float[]{0f, 0.5f}) {
                float[] expected = c.clone(), actual;
                REF.gemm(ta, tb, m, n, k, alpha, up(REF, a), up(REF, bm), beta, wrap(expected));
                Backend b = backend();
                Storage cs = up(b, c);
                b.gemm(ta, tb, m, n, k, alpha, up(b, a), up(b, bm), beta, cs);
                actual = b.download(cs);
                assertClose(b.name() + " gemm " + m + "x" + n + "x" + k + " ta=" + ta + " tb=" + tb + " alpha=" + alpha + " beta=" + beta,
                        expected, actual, tolerance() * Math.sqrt(k), tolerance());
            }
    }

    static Stream<Arguments> gemmCases() {
        Stream.Builder<Arguments> s = Stream.builder();
        int[][] sizes = {{1, 1, 1}, {3, 5, 7}, {17, 33, 9}, {64, 128, 3136 / 4}, {31, 1, 65}, {1, 47, 13}, {100, 100, 100}, {129, 67, 257},
                {1, 128, 980}, {2, 10, 129}, {3, 131, 37}};   // a pruned fc1 and fc2 at batch 1 and 2
        for (int[] z : sizes)
            for (boolean ta : new boolean[]{false, true})
                for (boolean tb : new boolean[]{false, true}) s.add(Arguments.of(ta, tb, z[0], z[1], z[2]));
        return s.build();
    }

    private Storage wrap(float[] data) { return dev.shears.core.HeapStorage.ofFloats(REF, data); }

    @ParameterizedTest(name = "conv2d {0}")
    @MethodSource("convCases")
    void conv2d(Conv2dShape s) {
        Backend b = backend();
        float[] x = random(4, s.inputSize()), w = random(5, s.weightSize()), bias = random(6, s.k()), dy = random(7, s.outputSize());
        float[] y0 = new float[s.outputSize()];
        REF.conv2dForward(s, up(REF, x), up(REF, w), up(REF, bias), wrap(y0));
        Storage y1 = poisoned(b, s.outputSize());
        b.conv2dForward(s, up(b, x), up(b, w), up(b, bias), y1);
        double tol = tolerance() * Math.sqrt(s.c() * s.r() * s.s());
        assertClose(b.name() + " conv2d forward " + s, y0, b.download(y1), tol, tolerance());

        Storage y2 = poisoned(b, s.outputSize());
        float[] y0nb = new float[s.outputSize()];
        REF.conv2dForward(s, up(REF, x), up(REF, w), null, wrap(y0nb));
        b.conv2dForward(s, up(b, x), up(b, w), null, y2);
        assertClose(b.name() + " conv2d forward without bias " + s, y0nb, b.download(y2), tol, tolerance());

        float[] dx0 = new float[s.inputSize()];
        REF.conv2dBackwardData(s, up(REF, dy), up(REF, w), wrap(dx0));
        Storage dx1 = poisoned(b, s.inputSize());
        b.conv2dBackwardData(s, up(b, dy), up(b, w), dx1);
        assertClose(b.name() + " conv2d backward-data " + s, dx0, b.download(dx1), tolerance() * Math.sqrt(s.k() * s.r() * s.s()), tolerance());

        float[] dw0 = new float[s.weightSize()], db0 = new float[s.k()];
        REF.conv2dBackwardWeight(s, up(REF, x), up(REF, dy), wrap(dw0), wrap(db0));
        Storage dw1 = poisoned(b, s.weightSize()), db1 = poisoned(b, s.k());
        b.conv2dBackwardWeight(s, up(b, x), up(b, dy), dw1, db1);
        double wtol = tolerance() * Math.sqrt(s.n() * s.p() * s.q());
        assertClose(b.name() + " conv2d backward-weight " + s, dw0, b.download(dw1), wtol, tolerance());
        assertClose(b.name() + " conv2d backward-bias " + s, db0, b.download(db1), wtol, tolerance());
    }

    static Stream<Conv2dShape> convCases() {
        return Stream.of(
                new Conv2dShape(2, 1, 28, 28, 32, 3, 3, 1, 1, 1, 1),     // SimpleCNN conv1
                new Conv2dShape(2, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1),    // SimpleCNN conv2
                new Conv2dShape(1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0),
                new Conv2dShape(3, 5, 7, 9, 6, 3, 3, 2, 2, 1, 1),
                new Conv2dShape(2, 3, 11, 6, 7, 5, 3, 1, 2, 2, 0),
                new Conv2dShape(1, 4, 5, 5, 3, 5, 5, 1, 1, 0, 0),
                new Conv2dShape(2, 17, 9, 13, 19, 1, 1, 1, 1, 0, 0),
                new Conv2dShape(1, 3, 8, 8, 5, 3, 3, 3, 3, 2, 2),
                new Conv2dShape(3, 10, 14, 14, 19, 3, 3, 1, 1, 1, 1),    // a pruned conv2: C·R·S = 90, K odd
                new Conv2dShape(2, 11, 6, 5, 3, 3, 3, 1, 1, 1, 1),       // C·R·S = 99, just past a small-kernel limit
                // groups: depthwise (G = C = K) at both strides, odd widths and a width of 1
                new Conv2dShape(2, 8, 9, 11, 8, 3, 3, 1, 1, 1, 1, 8),
                new Conv2dShape(2, 32, 28, 28, 32, 3, 3, 1, 1, 1, 1, 32),  // MobileNet-like, rows of 28
                new Conv2dShape(1, 5, 10, 7, 5, 3, 3, 2, 2, 1, 1, 5),
                new Conv2dShape(3, 3, 13, 37, 3, 5, 5, 2, 2, 2, 2, 3),
                new Conv2dShape(1, 2, 4, 1, 2, 3, 1, 1, 1, 1, 0, 2),
                new Conv2dShape(2, 4, 6, 5, 8, 3, 3, 1, 1, 1, 1, 4),      // depthwise with 2 filters per channel
                new Conv2dShape(2, 6, 7, 8, 9, 3, 3, 1, 1, 1, 1, 3),      // 3 groups of 2 → 3 channels
                new Conv2dShape(1, 12, 5, 5, 6, 1, 1, 1, 1, 0, 0, 2),     // grouped 1×1
                new Conv2dShape(2, 16, 9, 9, 16, 3, 3, 2, 2, 1, 1, 4));
    }

    /** The inference op conv → 2×2 max-pool (→ ReLU), against the reference backend's ops one by one. */
    @ParameterizedTest(name = "conv2d+max_pool2d {0}")
    @MethodSource("poolableConvCases")
    void conv2dMaxPool2d(Conv2dShape s) {
        Backend b = backend();
        Pool2dShape p = new Pool2dShape(s.n(), s.k(), s.p(), s.q(), 2, 2, 2, 2, 0, 0);
        float[] x = random(4, s.inputSize()), w = random(5, s.weightSize()), bias = random(6, s.k());
        float[] maps = new float[s.outputSize()];
        REF.conv2dForward(s, up(REF, x), up(REF, w), up(REF, bias), wrap(maps));
        float[] pooled = new float[p.outputSize()];
        REF.maxPool2dForwardValues(p, wrap(maps), wrap(pooled));
        double tol = tolerance() * Math.sqrt(s.c() * s.r() * s.s());
        for (boolean relu : new boolean[]{false, true}) {
            float[] y0 = pooled.clone();
            if (relu) REF.unary(Unary.RELU, y0.length, wrap(y0), wrap(y0));
            Storage y1 = b.allocate(p.outputSize());
            b.conv2dMaxPool2dForward(s, p, relu, up(b, x), up(b, w), up(b, bias), y1);
            assertClose(b.name() + " conv2d+max_pool2d" + (relu ? "+relu " : " ") + s, y0, b.download(y1), tol, tolerance());
        }
    }

    /** The conv cases whose output a 2×2 window fits (a 1×1 output has nothing to pool: not run, rather than passed). */
    static Stream<Conv2dShape> poolableConvCases() {
        return convCases().filter(s -> s.p() >= 2 && s.q() >= 2);
    }

    @ParameterizedTest(name = "max_pool2d {0}")
    @MethodSource("poolCases")
    void maxPool(Pool2dShape p) {
        Backend b = backend();
        float[] x = random(8, p.inputSize()), dy = random(9, p.outputSize());
        float[] y0 = new float[p.outputSize()];
        Storage arg0 = REF.maxPool2dForward(p, up(REF, x), wrap(y0));
        Storage y1 = poisoned(b, p.outputSize());
        Storage arg1 = b.maxPool2dForward(p, up(b, x), y1);
        assertClose(b.name() + " max_pool2d forward " + p, y0, b.download(y1), 0, 0);
        Storage y2 = poisoned(b, p.outputSize());
        b.maxPool2dForwardValues(p, up(b, x), y2);
        assertClose(b.name() + " max_pool2d forward, values only " + p, y0, b.download(y2), 0, 0);
        float[] dx0 = new float[p.inputSize()];
        REF.maxPool2dBackward(p, up(REF, dy), arg0, wrap(dx0));
        Storage dx1 = poisoned(b, p.inputSize());
        b.maxPool2dBackward(p, up(b, dy), arg1, dx1);
        assertClose(b.name() + " max_pool2d backward " + p, dx0, b.download(dx1), 1e-6, 1e-6);
    }

    static Stream<Pool2dShape> poolCases() {
        return Stream.of(
                new Pool2dShape(4, 32, 28, 28, 2, 2, 2, 2, 0, 0),
                new Pool2dShape(1, 1, 1, 1, 1, 1, 1, 1, 0, 0),
                new Pool2dShape(2, 3, 7, 9, 3, 3, 2, 2, 1, 1),
                new Pool2dShape(2, 5, 13, 11, 2, 2, 2, 2, 0, 0),
                new Pool2dShape(1, 2, 6, 6, 3, 3, 1, 1, 1, 1),
                new Pool2dShape(3, 19, 14, 14, 2, 2, 2, 2, 0, 0),     // a pruned pool2 (rows of 7)
                new Pool2dShape(1, 3, 4, 70, 2, 2, 2, 2, 0, 0));      // rows of 35: two vectors and a tail
    }

    @ParameterizedTest(name = "avg_pool2d {0}")
    @MethodSource("avgPoolCases")
    void avgPool(Pool2dShape p) {
        Backend b = backend();
        float[] x = random(8, p.inputSize()), dy = random(9, p.outputSize());
        for (boolean includePad : new boolean[]{true, false}) {
            float[] y0 = new float[p.outputSize()], dx0 = new float[p.inputSize()];
            REF.avgPool2dForward(p, includePad, up(REF, x), wrap(y0));
            REF.avgPool2dBackward(p, includePad, up(REF, dy), wrap(dx0));
            Storage y1 = b.allocate(p.outputSize()), dx1 = b.allocate(p.inputSize());
            b.fill(p.outputSize(), Float.NaN, y1);   // every element must be written
            b.fill(p.inputSize(), Float.NaN, dx1);
            b.avgPool2dForward(p, includePad, up(b, x), y1);
            b.avgPool2dBackward(p, includePad, up(b, dy), dx1);
            String what = " count_include_pad=" + includePad + " " + p;
            assertClose(b.name() + " avg_pool2d forward" + what, y0, b.download(y1), 1e-5, 1e-5);
            assertClose(b.name() + " avg_pool2d backward" + what, dx0, b.download(dx1), 1e-5, 1e-5);
        }
    }

    static Stream<Pool2dShape> avgPoolCases() {
        return Stream.concat(poolCases(), Stream.of(
                new Pool2dShape(2, 3, 7, 7, 7, 7, 1, 1, 0, 0),        // global: the window is the plane
                new Pool2dShape(3, 64, 4, 4, 4, 4, 1, 1, 0, 0),
                new Pool2dShape(2, 5, 1, 1, 1, 1, 1, 1, 0, 0),
                new Pool2dShape(1, 4, 13, 3, 13, 3, 1, 1, 0, 0),
                new Pool2dShape(2, 3, 9, 10, 3, 3, 3, 3, 1, 1),       // stride = kernel, padded
                new Pool2dShape(1, 2, 5, 6, 2, 2, 1, 1, 1, 1)));      // overlapping, padded on both sides
    }

    @Test
    void copyStrided() {
        Backend b = backend();
        int rows = 5, cols = 7, xStride = 9, yStride = 20, xOff = 3, yOff = 11;
        float[] x = random(30, xOff + rows * xStride), y0 = random(31, yOff + rows * yStride);
        float[] expected = y0.clone();
        REF.copyStrided(rows, cols, up(REF, x), xOff, xStride, wrap(expected), yOff, yStride);
        Storage y1 = up(b, y0);
        b.copyStrided(rows, cols, up(b, x), xOff, xStride, y1, yOff, yStride);
        assertClose(b.name() + " copyStrided", expected, b.download(y1), 0, 0);
    }

    /**
     * Batch norm, and with {@code relu} the fused batch norm + ReLU, against the reference's batch norm with the
     * ReLU applied by hand: y = max(BN(x), 0), dx = BN backward of dy·[y > 0]. Random x puts about half the
     * normalised values on either side of 0.
     */
    @ParameterizedTest(name = "batch_norm2d relu={0} training={1} n={2} c={3} hw={4}")
    @MethodSource("bnCases")
    void batchNorm(boolean relu, boolean training, int n, int c, int hw) {
        Backend b = backend();
        int size = n * c * hw;
        float[] x = random(10, size), gamma = random(11, c), beta = random(12, c), dy = random(13, size);
        for (int i = 0; i < x.length; i++) x[i] = 3 * x[i] + 1;
        float[] rm = random(14, c), rv = random(15, c);
        for (int i = 0; i < c; i++) rv[i] = Math.abs(rv[i]) + 0.5f;
        float[] y0 = new float[size], m0 = new float[c], s0 = new float[c], rm0 = rm.clone(), rv0 = rv.clone();
        REF.batchNorm2dForward(n, c, hw, training, 0.1f, 1e-5f, up(REF, x), up(REF, gamma), up(REF, beta), wrap(rm0), wrap(rv0), wrap(y0), wrap(m0), wrap(s0));
        float[] dz = dy.clone();
        if (relu)
            for (int i = 0; i < size; i++) {
                y0[i] = Math.max(y0[i], 0f);
                dz[i] = y0[i] > 0 ? dy[i] : 0f;
            }
        Storage y1 = b.allocate(size), m1 = b.allocate(c), s1 = b.allocate(c), rm1 = up(b, rm), rv1 = up(b, rv);
        Storage xs = up(b, x), gs = up(b, gamma);
        if (relu) b.batchNorm2dReluForward(n, c, hw, training, 0.1f, 1e-5f, xs, gs, up(b, beta), rm1, rv1, y1, m1, s1);
        else b.batchNorm2dForward(n, c, hw, training, 0.1f, 1e-5f, xs, gs, up(b, beta), rm1, rv1, y1, m1, s1);
        String what = b.name() + (relu ? " batch_norm2d_relu" : " batch_norm2d") + " training=" + training + " [" + n + "," + c + "," + hw + "]";
        assertClose(what + " y", y0, b.download(y1), 1e-4, 1e-4);
        assertClose(what + " running_mean", rm0, b.download(rm1), 1e-5, 1e-5);
        assertClose(what + " running_var", rv0, b.download(rv1), 1e-4, 1e-4);
        float[] dx0 = new float[size], dg0 = new float[c], db0 = new float[c];
        REF.batchNorm2dBackward(n, c, hw, training, up(REF, x), up(REF, dz), up(REF, gamma), wrap(m0), wrap(s0), wrap(dx0), wrap(dg0), wrap(db0));
        Storage dx1 = b.allocate(size), dg1 = b.allocate(c), db1 = b.allocate(c);
        if (relu) b.batchNorm2dReluBackward(n, c, hw, training, xs, y1, up(b, dy), gs, m1, s1, dx1, dg1, db1);
        else b.batchNorm2dBackward(n, c, hw, training, xs, up(b, dy), gs, m1, s1, dx1, dg1, db1);
        double tol = 1e-4 * Math.sqrt(n * hw);
        assertClose(what + " dx", dx0, b.download(dx1), tol, 1e-3);
        assertClose(what + " dgamma", dg0, b.download(dg1), tol, 1e-3);
        assertClose(what + " dbeta", db0, b.download(db1), tol, 1e-3);
    }

    /**
     * The BN-ReLU + max-pool forward and backward in one call each against the two calls each replaces: bit for bit
     * against this backend's own (the contract: the same values; the backward's dx also checks the fused forward's
     * arg-max), and the backward against the reference's within the batch-norm tolerance. Overlapping windows (3×3, stride 2) route
     * several gradients to one input; x is shifted so that some windows are all ≤ 0 after the ReLU (ties at 0).
     */
    @ParameterizedTest(name = "batch_norm2d_relu + max_pool2d {0}")
    @MethodSource("poolCases")
    void batchNormReluMaxPoolBackward(Pool2dShape p) {
        Backend b = backend();
        int n = p.n(), c = p.c(), hw = p.h() * p.w(), size = p.inputSize();
        boolean training = n * hw >= 2;
        float[] x = random(20, size), gamma = random(21, c), beta = random(22, c), dyPool = random(23, p.outputSize());
        for (int i = 0; i < size; i++) x[i] = 2 * x[i] - 0.5f;
        float[] rm = new float[c], rv = new float[c];
        Arrays.fill(rv, 1f);
        Storage xs = up(b, x), gs = up(b, gamma), y = b.allocate(size), m = b.allocate(c), s = b.allocate(c);
        Storage rm2 = up(b, rm), rv2 = up(b, rv), out2 = b.allocate(p.outputSize());
        b.batchNorm2dReluForward(n, c, hw, training, 0.1f, 1e-5f, xs, gs, up(b, beta), rm2, rv2, y, m, s);
        Storage argmax2 = b.maxPool2dForward(p, y, out2);
        String what = b.name() + " batch_norm2d_relu + max_pool2d training=" + training + " " + p;
        // the forward in one call against the two: y, the statistics, the pooled output, and (below) the arg-max
        Storage y1 = poisoned(b, size), m1 = poisoned(b, c), s1 = poisoned(b, c), rm1 = up(b, rm), rv1 = up(b, rv);
        Storage out1 = poisoned(b, p.outputSize());
        Storage argmax = b.batchNorm2dReluMaxPoolForward(p, training, 0.1f, 1e-5f, xs, gs, up(b, beta), rm1, rv1, y1, m1, s1, out1);
        for (Storage[] pair : new Storage[][]{{y, y1}, {m, m1}, {s, s1}, {rm2, rm1}, {rv2, rv1}, {out2, out1}})
            assertClose(what + " forward, against the two calls", b.download(pair[0]), b.download(pair[1]), 0, 0);
        // the two calls, on this backend and on the reference (pooling this backend's forward output)
        Storage dy = b.allocate(size), dx2 = b.allocate(size), dg2 = b.allocate(c), db2 = b.allocate(c);
        b.maxPool2dBackward(p, up(b, dyPool), argmax2, dy);
        b.batchNorm2dReluBackward(n, c, hw, training, xs, y, dy, gs, m, s, dx2, dg2, db2);
        float[] dx0 = new float[size], dg0 = new float[c], db0 = new float[c], dy0 = new float[size];
        Storage arg0 = REF.maxPool2dForward(p, up(REF, b.download(y)), wrap(new float[p.outputSize()]));
        REF.maxPool2dBackward(p, up(REF, dyPool), arg0, wrap(dy0));
        REF.batchNorm2dReluBackward(n, c, hw, training, up(REF, x), up(REF, b.download(y)), wrap(dy0), up(REF, gamma),
                up(REF, b.download(m)), up(REF, b.download(s)), wrap(dx0), wrap(dg0), wrap(db0));
        Storage dx1 = poisoned(b, size), dg1 = poisoned(b, c), db1 = poisoned(b, c);
        b.batchNorm2dReluMaxPoolBackward(p, training, xs, y, up(b, dyPool), argmax, gs, m, s, dx1, dg1, db1);
        assertClose(what + " dx, against the two calls", b.download(dx2), b.download(dx1), 0, 0);
        assertClose(what + " dgamma, against the two calls", b.download(dg2), b.download(dg1), 0, 0);
        assertClose(what + " dbeta, against the two calls", b.download(db2), b.download(db1), 0, 0);
        double tol = 1e-4 * Math.sqrt(n * hw);
        assertClose(what + " dx", dx0, b.download(dx1), tol, 1e-3);
        assertClose(what + " dgamma", dg0, b.download(dg1), tol, 1e-3);
        assertClose(what + " dbeta", db0, b.download(db1), tol, 1e-3);
    }

    /**
     * Batch statistics where |mean| ≫ std (10⁴ against 1): a variance taken as Σx² − (Σx)²/M in floats would
     * lose every digit. The running variance must match the reference's two-pass double statistics; y only to the
     * float rounding of a mean of 10⁴ (an ulp of 10⁻³, scaled by γ·invStd).
     */
    @Test
    void batchNormLargeMean() {
        Backend b = backend();
        int n = 4, c = 3, hw = 50, size = n * c * hw;
        float[] x = random(30, size);
        for (int i = 0; i < size; i++) x[i] += 1e4f;
        float[] gamma = {1, 2, 3}, beta = {0, 0, 0}, y0 = new float[size], rv0 = {1, 1, 1};
        REF.batchNorm2dForward(n, c, hw, true, 0.1f, 1e-5f, up(REF, x), up(REF, gamma), up(REF, beta), wrap(new float[c]),
                wrap(rv0), wrap(y0), wrap(new float[c]), wrap(new float[c]));
        Storage y1 = poisoned(b, size), rv1 = up(b, new float[]{1, 1, 1});
        b.batchNorm2dForward(n, c, hw, true, 0.1f, 1e-5f, up(b, x), up(b, gamma), up(b, beta), b.allocate(c), rv1, y1,
                b.allocate(c), b.allocate(c));
        assertClose(b.name() + " batch_norm2d with mean 1e4, y", y0, b.download(y1), 1e-2, 1e-3);
        assertClose(b.name() + " batch_norm2d with mean 1e4, running_var", rv0, b.download(rv1), 1e-4, 1e-4);
    }

    static Stream<Arguments> bnCases() {
        return Stream.of(false, true).flatMap(relu -> Stream.of(Arguments.of(relu, true, 8, 32, 28 * 28),
                Arguments.of(relu, false, 8, 32, 28 * 28), Arguments.of(relu, true, 3, 5, 7), Arguments.of(relu, true, 2, 1, 1),
                Arguments.of(relu, false, 1, 3, 1), Arguments.of(relu, true, 5, 17, 49)));
    }

    @ParameterizedTest(name = "unary {0}")
    @org.junit.jupiter.params.provider.EnumSource(Unary.class)
    void unary(Unary op) {
        Backend b = backend();
        for (int n : new int[]{1, 7, 16, 33, 1000}) {
            float[] x = random(16 + n, n);
            if (op == Unary.LOG || op == Unary.SQRT) for (int i = 0; i < n; i++) x[i] = Math.abs(x[i]) + 0.01f;
            if (n > 2) { x[0] = 0f; x[1] = -0f; }
            if (op == Unary.LOG || op == Unary.SQRT) { x[0] = Math.abs(x[0]) + 0.5f; if (n > 1) x[1] = 0.5f; }
            float[] y0 = new float[n];
            REF.unary(op, n, up(REF, x), wrap(y0));
            Storage y1 = b.allocate(n);
            b.unary(op, n, up(b, x), y1);
            assertClose(b.name() + " " + op + " n=" + n, y0, b.download(y1), 1e-6, 1e-5);
        }
    }

    /**
     * Unary ops on special values, against values worked out by hand. The CPU backend's scalar kernels call the
     * reference's own {@code unary}, {@code binary} and {@code maxPoolWindow}, so comparing the two cannot find a
     * bug in them; these tables can, and they check the SIMD lanes' ±0, NaN and infinity handling too.
     */
    @Test
    void unaryHandComputed() {
        float nan = Float.NaN, inf = Float.POSITIVE_INFINITY;
        float[] x = {-2f, -0.5f, -0f, 0f, 0.5f, 3f, nan, -inf, inf};
        java.util.Map<Unary, float[]> expected = new java.util.EnumMap<>(Unary.class);
        expected.put(Unary.NEG, new float[]{2f, 0.5f, 0f, -0f, -0.5f, -3f, nan, inf, -inf});
        expected.put(Unary.EXP, new float[]{0.13533528f, 0.60653066f, 1f, 1f, 1.6487213f, 20.085537f, nan, 0f, inf});
        expected.put(Unary.LOG, new float[]{nan, nan, -inf, -inf, -0.6931472f, 1.0986123f, nan, nan, inf});
        expected.put(Unary.SQRT, new float[]{nan, nan, -0f, 0f, 0.70710677f, 1.7320508f, nan, nan, inf});
        expected.put(Unary.ABS, new float[]{2f, 0.5f, 0f, 0f, 0.5f, 3f, nan, inf, inf});
        expected.put(Unary.SIGN, new float[]{-1f, -1f, -0f, 0f, 1f, 1f, nan, -1f, 1f});
        expected.put(Unary.RELU, new float[]{0f, 0f, 0f, 0f, 0.5f, 3f, nan, 0f, inf});
        expected.put(Unary.STEP, new float[]{0f, 0f, 0f, 0f, 1f, 1f, 0f, 0f, 1f});
        expected.put(Unary.SQUARE, new float[]{4f, 0.25f, 0f, 0f, 0.25f, 9f, nan, inf, inf});
        Backend b = backend();
        for (Unary op : Unary.values()) {
            // 9 values, and again at the end of 40 so that they also land in a vector loop, not only in a tail
            float[] in = new float[40], want = new float[40];
            for (int i = 0; i < 40; i++) { in[i] = x[i % 9]; want[i] = expected.get(op)[i % 9]; }
            Storage y = b.allocate(in.length);
            b.unary(op, in.length, up(b, in), y);
            assertClose(b.name() + " " + op + " by hand", want, b.download(y), 0, 2e-6);
        }
    }

    /** Binary ops by hand, including NaN and ±0 (a NaN wins MAX and MIN, as Math.max and PyTorch's maximum). */
    @Test
    void binaryHandComputed() {
        float nan = Float.NaN, inf = Float.POSITIVE_INFINITY;
        float[] a = {6f, -1f, 0f, -0f, nan, 2f, inf, 1f};
        float[] c = {3f, 4f, -0f, 0f, 1f, nan, inf, 0f};
        java.util.Map<Binary, float[]> expected = new java.util.EnumMap<>(Binary.class);
        expected.put(Binary.ADD, new float[]{9f, 3f, 0f, 0f, nan, nan, inf, 1f});
        expected.put(Binary.SUB, new float[]{3f, -5f, 0f, -0f, nan, nan, nan, 1f});
        expected.put(Binary.MUL, new float[]{18f, -4f, -0f, -0f, nan, nan, inf, 0f});
        expected.put(Binary.DIV, new float[]{2f, -0.25f, nan, nan, nan, nan, nan, inf});
        expected.put(Binary.MAX, new float[]{6f, 4f, 0f, 0f, nan, nan, inf, 1f});
        expected.put(Binary.MIN, new float[]{3f, -1f, -0f, -0f, nan, nan, inf, 0f});
        Backend b = backend();
        for (Binary op : Binary.values()) {
            float[] x = new float[40], z = new float[40], want = new float[40];
            for (int i = 0; i < 40; i++) { x[i] = a[i % 8]; z[i] = c[i % 8]; want[i] = expected.get(op)[i % 8]; }
            Storage y = b.allocate(40);
            b.binary(op, new int[]{40}, up(b, x), new int[]{40}, up(b, z), new int[]{40}, y);
            float[] got = b.download(y);
            assertClose(b.name() + " " + op + " by hand", want, got, 0, 0);
            // assertClose counts 0 and −0 as equal; IEEE 754 defines the sign of a zero sum, difference, product and
            // quotient, so it is checked for those. Of MAX(0, −0) and MIN it does not (OpenCL's fmax, C's fmax, and the
            // SIMD pooling in this project may return either zero), so there only the value counts.
            boolean signed = op != Binary.MAX && op != Binary.MIN;
            for (int i = 0; i < 40 && signed; i++)
                if (want[i] == 0 && Float.compare(want[i], got[i]) != 0)
                    org.junit.jupiter.api.Assertions.fail(b.name() + " " + op + "(" + x[i] + ", " + z[i] + "): expected " + want[i] + ", found " + got[i]);
        }
    }

    /** A 3×3 plane, 2×2 windows at stride 1: ties keep the first in scan order, and a NaN wins its windows. */
    @Test
    void maxPoolHandComputed() {
        float nan = Float.NaN;
        float[] x = {1, 5, 5,
                     5, 2, 0,
                     -1, -3, nan};
        Pool2dShape p = new Pool2dShape(1, 1, 3, 3, 2, 2, 1, 1, 0, 0);
        Backend b = backend();
        Storage y = b.allocate(4);
        Storage argmax = b.maxPool2dForward(p, up(b, x), y);
        assertClose(b.name() + " max_pool2d by hand", new float[]{5, 5, 5, nan}, b.download(y), 0, 0);
        float[] dx = new float[9];
        Storage dxs = up(b, dx);
        b.maxPool2dBackward(p, up(b, new float[]{1, 10, 100, 1000}), argmax, dxs);
        // window (0,0) picks x[1] (first 5), (0,1) x[1] too, (1,0) x[3], (1,1) the NaN at x[8]
        assertClose(b.name() + " max_pool2d backward by hand", new float[]{0, 11, 0, 100, 0, 0, 0, 0, 1000}, b.download(dxs), 0, 0);
    }

    @Test
    void affineFillCopy() {
        Backend b = backend();
        for (int n : new int[]{1, 15, 16, 17, 1025}) {
            float[] x = random(20 + n, n), y0 = new float[n];
            REF.affine(n, 1.5f, -0.25f, up(REF, x), wrap(y0));
            Storage y1 = b.allocate(n);
            b.affine(n, 1.5f, -0.25f, up(b, x), y1);
            assertClose(b.name() + " affine n=" + n, y0, b.download(y1), 1e-6, 1e-6);
            b.fill(n, 3.5f, y1);
            float[] threes = new float[n];
            java.util.Arrays.fill(threes, 3.5f);
            assertClose(b.name() + " fill n=" + n, threes, b.download(y1), 0, 0);
            Storage z = b.allocate(n);
            b.copy(n, up(b, x), z);
            assertClose(b.name() + " copy n=" + n, x, b.download(z), 0, 0);
        }
    }

    @ParameterizedTest(name = "binary {0}")
    @org.junit.jupiter.params.provider.EnumSource(Binary.class)
    void binary(Binary op) {
        Backend b = backend();
        int[][][] cases = {
                {{7}, {7}, {7}}, {{1}, {1}, {1}}, {{33, 17}, {33, 17}, {33, 17}}, {{33, 17}, {1, 17}, {33, 17}},
                {{33, 17}, {33, 1}, {33, 17}}, {{1, 1}, {5, 3}, {5, 3}}, {{4, 3, 5, 6}, {1, 3, 1, 1}, {4, 3, 5, 6}},
                {{2, 1, 5}, {1, 4, 1}, {2, 4, 5}}};
        for (int[][] c : cases) {
            float[] a = random(30, product(c[0])), bb = random(31, product(c[1]));
            if (op == Binary.DIV) for (int i = 0; i < bb.length; i++) bb[i] = Math.abs(bb[i]) + 0.1f;
            float[] y0 = new float[product(c[2])];
            REF.binary(op, c[2], up(REF, a), c[0], up(REF, bb), c[1], wrap(y0));
            Storage y1 = b.allocate(y0.length);
            b.binary(op, c[2], up(b, a), c[0], up(b, bb), c[1], y1);
            assertClose(b.name() + " " + op + " " + java.util.Arrays.deepToString(c), y0, b.download(y1), 1e-6, 1e-6);
        }
    }

    @Test
    void sumToAndPermute() {
        Backend b = backend();
        int[][][] cases = {{{64, 10}, {1, 10}}, {{64, 10}, {64, 1}}, {{4, 3, 5, 6}, {1, 3, 1, 1}}, {{7}, {1}}, {{3, 1000}, {1, 1}}, {{2, 3, 4}, {2, 1, 4}}};
        for (int[][] c : cases) {
            float[] x = random(40, product(c[0])), y0 = new float[product(c[1])];
            REF.sumTo(c[0], up(REF, x), c[1], wrap(y0));
            Storage y1 = b.allocate(y0.length);
            b.sumTo(c[0], up(b, x), c[1], y1);
            assertClose(b.name() + " sumTo " + java.util.Arrays.deepToString(c), y0, b.download(y1), 1e-4, 1e-5);
        }
        int[] shape = {3, 4, 5, 2};
        int[][] perms = {{1, 0, 2, 3}, {3, 2, 1, 0}, {0, 2, 3, 1}};
        for (int[] perm : perms) {
            float[] x = random(41, product(shape)), y0 = new float[x.length];
            REF.permute(shape, perm, up(REF, x), wrap(y0));
            Storage y1 = b.allocate(x.length);
            b.permute(shape, perm, up(b, x), y1);
            assertClose(b.name() + " permute " + java.util.Arrays.toString(perm), y0, b.download(y1), 0, 0);
        }
    }

    @Test
    void crossEntropy() {
        Backend b = backend();
        for (int[] nc : new int[][]{{64, 10}, {1, 1}, {3, 7}, {5, 1000}}) {
            int n = nc[0], c = nc[1];
            float[] logits = random(50, n * c);
            for (int i = 0; i < logits.length; i++) logits[i] *= 5;
            int[] labels = new Random(51).ints(n, 0, c).toArray();
            float[] lp0 = new float[n * c], loss0 = new float[1], d0 = new float[n * c];
            REF.crossEntropyForward(n, c, up(REF, logits), REF.uploadInts(labels), wrap(lp0), wrap(loss0));
            Storage lp1 = b.allocate(n * c), loss1 = b.allocate(1), lab = b.uploadInts(labels);
            b.crossEntropyForward(n, c, up(b, logits), lab, lp1, loss1);
            assertClose(b.name() + " cross_entropy log-probs " + n + "x" + c, lp0, b.download(lp1), 1e-5, 1e-5);
            assertClose(b.name() + " cross_entropy loss " + n + "x" + c, loss0, b.download(loss1), 1e-5, 1e-5);
            REF.crossEntropyBackward(n, c, wrap(lp0), REF.uploadInts(labels), up(REF, new float[]{0.7f}), wrap(d0));
            Storage d1 = b.allocate(n * c);
            b.crossEntropyBackward(n, c, lp1, lab, up(b, new float[]{0.7f}), d1);
            assertClose(b.name() + " cross_entropy backward " + n + "x" + c, d0, b.download(d1), 1e-6, 1e-5);
        }
    }

    @Test
    void sgd() {
        Backend b = backend();
        for (int n : new int[]{1, 17, 4096 + 3}) {
            for (boolean nesterov : new boolean[]{false, true}) {
                float[] p = random(60, n), g = random(61, n), buf = random(62, n);
                float[] p0 = p.clone(), buf0 = buf.clone();
                Storage p1 = up(b, p), buf1 = up(b, buf), gs = up(b, g);
                for (int step = 0; step < 3; step++) {
                    REF.sgdStep(n, 0.01f, 0.9f, 0f, 5e-4f, nesterov, step == 0, wrap(p0), up(REF, g), wrap(buf0));
                    b.sgdStep(n, 0.01f, 0.9f, 0f, 5e-4f, nesterov, step == 0, p1, gs, buf1);
                }
                assertClose(b.name() + " sgd param n=" + n, p0, b.download(p1), 1e-6, 1e-5);
                assertClose(b.name() + " sgd momentum n=" + n, buf0, b.download(buf1), 1e-6, 1e-5);
                float[] p2 = p.clone();
                Storage p3 = up(b, p);
                REF.sgdStep(n, 0.1f, 0f, 0f, 0f, false, true, wrap(p2), up(REF, g), null);
                b.sgdStep(n, 0.1f, 0f, 0f, 0f, false, true, p3, gs, null);
                assertClose(b.name() + " sgd without momentum n=" + n, p2, b.download(p3), 1e-6, 1e-5);
            }
        }
    }

    /**
     * A storage of {@code n} NaNs: the output of an op whose contract says it overwrites its output, so a kernel
     * that only adds into it, or skips elements, fails the comparison.
     */
    private Storage poisoned(Backend b, int n) {
        float[] nan = new float[n];
        java.util.Arrays.fill(nan, Float.NaN);
        return up(b, nan);
    }

    private static int product(int[] s) {
        int p = 1;
        for (int d : s) p *= d;
        return p;
    }
}
