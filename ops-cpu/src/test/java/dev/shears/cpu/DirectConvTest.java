package dev.shears.cpu;

import dev.shears.core.Conv2dShape;
import dev.shears.core.HeapStorage;
import dev.shears.core.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static dev.shears.core.testing.Close.assertClose;
import static dev.shears.core.testing.Close.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The direct kernels (DirectConv) called directly, whatever the dispatch picks, against the scalar
 * ReferenceBackend on odd shapes: channels not a multiple of the block (1, 3, 17, 33), odd H and W, stride 1
 * and 2, padding 0/1/2, kernels 1/3/5, batch 1 and 3, one and two threads. Run it under
 * {@code -XX:UseAVX=2} too for the 8-lane path (see docs/performance.md).
 */
class DirectConvTest {
    private static final ReferenceBackend R = ReferenceBackend.INSTANCE;

    static List<Conv2dShape> shapes() {
        List<Conv2dShape> shapes = new ArrayList<>(List.of(
                new Conv2dShape(2, 1, 28, 28, 32, 3, 3, 1, 1, 1, 1),      // SimpleCNN's conv1, conv2
                new Conv2dShape(2, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1),
                new Conv2dShape(3, 3, 7, 9, 17, 3, 3, 1, 1, 1, 1),
                new Conv2dShape(1, 17, 5, 11, 33, 3, 5, 1, 1, 2, 0),
                new Conv2dShape(3, 5, 9, 7, 6, 1, 1, 1, 1, 0, 0),
                new Conv2dShape(1, 4, 11, 13, 40, 5, 5, 1, 1, 2, 2),
                new Conv2dShape(3, 6, 13, 9, 7, 3, 3, 2, 2, 1, 1),       // stride 2 (no direct backward-data)
                new Conv2dShape(1, 2, 10, 15, 20, 3, 2, 2, 1, 0, 1),
                new Conv2dShape(2, 1, 1, 1, 3, 1, 1, 1, 1, 0, 0)));
        return shapes;
    }

    @Test
    void forwardMatchesReference() {
        for (int threads : new int[]{1, 2}) {
            Parallel par = new Parallel(threads);
            for (Conv2dShape s : shapes()) {
                float[] x = random(1, s.inputSize()), w = random(2, s.weightSize()), b = random(3, s.k());
                float[] expected = new float[s.outputSize()], actual = new float[s.outputSize()];
                R.conv2dForward(s, R.upload(x), R.upload(w), R.upload(b), HeapStorage.ofFloats(R, expected));
                DirectConv.forward(par, s, x, w, b, actual);
                assertClose("direct forward " + s, expected, actual, 1e-4 * Math.sqrt(s.c() * s.r() * s.s()), 1e-4);
                DirectConv.forward(par, s, x, w, null, actual);
                R.conv2dForward(s, R.upload(x), R.upload(w), null, HeapStorage.ofFloats(R, expected));
                assertClose("direct forward, no bias " + s, expected, actual, 1e-4 * Math.sqrt(s.c() * s.r() * s.s()), 1e-4);
            }
        }
    }

    @Test
    void backwardDataMatchesReference() {
        for (int threads : new int[]{1, 2}) {
            Parallel par = new Parallel(threads);
            for (Conv2dShape s : shapes()) {
                if (!DirectConv.invertible(s)) continue;
                float[] dy = random(4, s.outputSize()), w = random(2, s.weightSize());
                float[] expected = new float[s.inputSize()], actual = new float[s.inputSize()];
                java.util.Arrays.fill(actual, Float.NaN);   // overwritten: ConvOps hands it an unzeroed array
                R.conv2dBackwardData(s, R.upload(dy), R.upload(w), HeapStorage.ofFloats(R, expected));
                DirectConv.backwardData(par, s, dy, w, actual);
                assertClose("direct backward-data " + s, expected, actual, 1e-4 * Math.sqrt(s.k() * s.r() * s.s()), 1e-4);
            }
        }
    }

    @Test
    void backwardWeightMatchesReference() {
        backwardWeightMatches("direct", shapes(), new int[]{1, 2}, DirectConv::backwardWeight);
    }

    /** A backward-weight kernel called directly: dw and dbias (may be null) overwritten. */
    interface BackwardWeight {
        void run(Parallel par, Conv2dShape s, float[] x, float[] dy, float[] dw, float[] dbias);
    }

    /**
     * kernel against ReferenceBackend on every shape and thread count (tolerance 1e-4·√(N·P·Q) absolute, 1e-4
     * relative); returns the largest difference in dw.
     */
    static double backwardWeightMatches(String name, List<Conv2dShape> shapes, int[] threadCounts, BackwardWeight kernel) {
        double worst = 0;
        for (int threads : threadCounts) {
            Parallel par = new Parallel(threads);
            for (Conv2dShape s : shapes) {
                float[] x = random(1, s.inputSize()), dy = random(4, s.outputSize());
                float[] expected = new float[s.weightSize()], actual = random(9, s.weightSize());   // overwritten
                float[] expectedBias = new float[s.k()], actualBias = random(8, s.k());
                R.conv2dBackwardWeight(s, R.upload(x), R.upload(dy), HeapStorage.ofFloats(R, expected), HeapStorage.ofFloats(R, expectedBias));
                kernel.run(par, s, x, dy, actual, actualBias);
                double tol = 1e-4 * Math.sqrt(s.n() * s.p() * s.q());
                worst = Math.max(worst, assertClose(name + " backward-weight " + s, expected, actual, tol, 1e-4));
                assertClose(name + " backward-weight, bias " + s, expectedBias, actualBias, tol, 1e-4);
            }
        }
        return worst;
    }

    /**
     * Through CpuBackend, a shape the dispatch sends to the direct kernels (64 filters: whole tiles of blocks
     * at either width), the fused conv + ReLU + pool included (which then runs unfused), against the reference.
     * The dispatch needs {@code shears.conv.direct=auto}, which this module's pom sets for its tests.
     */
    @Test
    void backendDispatchAgreesWithReference() {
        CpuBackend cpu = new CpuBackend(true, 2);
        Conv2dShape s = new Conv2dShape(3, 20, 9, 10, 64, 3, 3, 1, 1, 1, 1);
        assertTrue(DirectConv.wins(new Parallel(2), true, s, DirectConv.Pass.FORWARD), "dispatch");
        float[] x = random(1, s.inputSize()), w = random(2, s.weightSize()), b = random(3, s.k()), dy = random(4, s.outputSize());
        double tol = 1e-4 * Math.sqrt(s.c() * s.r() * s.s());
        float[] expected = new float[s.outputSize()], actual = new float[s.outputSize()];
        R.conv2dForward(s, R.upload(x), R.upload(w), R.upload(b), HeapStorage.ofFloats(R, expected));
        cpu.conv2dForward(s, cpu.upload(x), cpu.upload(w), cpu.upload(b), HeapStorage.ofFloats(cpu, actual));
        assertClose("cpu forward " + s, expected, actual, tol, 1e-4);
        float[] dw = new float[s.weightSize()], dwCpu = new float[s.weightSize()], db = new float[s.k()], dbCpu = new float[s.k()];
        R.conv2dBackwardWeight(s, R.upload(x), R.upload(dy), HeapStorage.ofFloats(R, dw), HeapStorage.ofFloats(R, db));
        cpu.conv2dBackwardWeight(s, cpu.upload(x), cpu.upload(dy), HeapStorage.ofFloats(cpu, dwCpu), HeapStorage.ofFloats(cpu, dbCpu));
        assertClose("cpu backward-weight " + s, dw, dwCpu, 1e-4 * Math.sqrt(s.n() * s.p() * s.q()), 1e-4);
        dev.shears.core.Pool2dShape p = new dev.shears.core.Pool2dShape(s.n(), s.k(), s.p(), s.q(), 2, 2, 2, 2, 0, 0);
        float[] pooled = new float[p.outputSize()], pooledCpu = new float[p.outputSize()];
        R.conv2dMaxPool2dForward(s, p, true, R.upload(x), R.upload(w), R.upload(b), HeapStorage.ofFloats(R, pooled));
        cpu.conv2dMaxPool2dForward(s, p, true, cpu.upload(x), cpu.upload(w), cpu.upload(b), HeapStorage.ofFloats(cpu, pooledCpu));
        assertClose("cpu conv + relu + pool " + s, pooled, pooledCpu, tol, 1e-4);
    }

    /** The block width: the preferred species unless asked, never wider than it. */
    @Test
    void blockWidthFollowsTheMachine() {
        var s512 = jdk.incubator.vector.FloatVector.SPECIES_512;
        var s256 = jdk.incubator.vector.FloatVector.SPECIES_256;
        assertEquals(s512, ConvTile.species(null, s512));
        assertEquals(s256, ConvTile.species("8", s512));
        assertEquals(s512, ConvTile.species("16", s512));
        assertEquals(s256, ConvTile.species("16", s256));   // -XX:UseAVX=2
        assertThrows(IllegalArgumentException.class, () -> ConvTile.species("12", s512));
    }

    /** Same inputs, same thread count: the same bits, twice (backward-weight adds per-thread partials). */
    @Test
    void deterministicForAThreadCount() {
        Parallel par = new Parallel(2);
        Conv2dShape s = new Conv2dShape(5, 17, 9, 9, 33, 3, 3, 1, 1, 1, 1);
        float[] x = random(1, s.inputSize()), dy = random(4, s.outputSize()), w = random(2, s.weightSize());
        float[][] first = null;
        for (int run = 0; run < 2; run++) {
            float[] y = new float[s.outputSize()], dx = new float[s.inputSize()], dw = new float[s.weightSize()], db = new float[s.k()];
            DirectConv.forward(par, s, x, w, null, y);
            DirectConv.backwardData(par, s, dy, w, dx);
            DirectConv.backwardWeight(par, s, x, dy, dw, db);
            float[][] now = {y, dx, dw, db};
            if (first == null) first = now;
            else for (int i = 0; i < now.length; i++) assertArrayEquals(first[i], now[i], "run 2, output " + i);
        }
    }
}
