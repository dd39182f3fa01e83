package dev.shears.opencl;

import dev.shears.core.HeapStorage;
import dev.shears.core.Storage;
import dev.shears.core.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

import static dev.shears.core.testing.Close.assertClose;
import static dev.shears.core.testing.Close.random;

/**
 * Reductions long enough to be split over several work-groups per output (sum_partials, the two-stage batch
 * statistics), with slice lengths that do not divide evenly, and a loss over more rows than a work-group has
 * work-items. The shared conformance shapes are too small to reach these paths.
 */
class OpenClReductionTest {
    static final ReferenceBackend REF = ReferenceBackend.INSTANCE;

    @Test
    void longSumsSplitOverWorkGroups() {
        OpenClBackend b = OpenClTesting.backend();
        int[][][] cases = {{{3, 50001}, {1, 1}}, {{70001, 3}, {1, 3}}, {{5, 9000, 2}, {5, 1, 2}}};
        for (int[][] c : cases) {
            int size = c[0][0] * c[0][1] * (c[0].length > 2 ? c[0][2] : 1), outs = c[1][0] * c[1][1] * (c[1].length > 2 ? c[1][2] : 1);
            float[] x = random(70, size), expected = new float[outs];
            REF.sumTo(c[0], REF.upload(x), c[1], HeapStorage.ofFloats(REF, expected));
            try (Storage xs = b.upload(x); Storage out = b.allocate(outs)) {
                b.sumTo(c[0], xs, c[1], out);
                assertClose("opencl sumTo " + java.util.Arrays.deepToString(c), expected, b.download(out), 1e-3, 1e-4);
            }
        }
    }

    @Test
    void batchNormStatisticsSplitOverWorkGroups() {
        OpenClBackend b = OpenClTesting.backend();
        int n = 3, c = 2, hw = 5001, size = n * c * hw;   // 15003 values per channel: 4 slices of 3751
        float[] x = random(71, size), dy = random(72, size), gamma = {1.5f, -0.5f}, beta = {0.1f, 0.2f};
        for (int i = 0; i < size; i++) x[i] = 2 * x[i] + 5;   // an offset that E[x²]−E[x]² would suffer from
        float[] rm = {0.5f, -1f}, rv = {2f, 0.5f};
        float[] y0 = new float[size], m0 = new float[c], s0 = new float[c], dx0 = new float[size], dg0 = new float[c], db0 = new float[c];
        float[] rm0 = rm.clone(), rv0 = rv.clone();
        REF.batchNorm2dForward(n, c, hw, true, 0.1f, 1e-5f, REF.upload(x), REF.upload(gamma), REF.upload(beta),
                HeapStorage.ofFloats(REF, rm0), HeapStorage.ofFloats(REF, rv0), HeapStorage.ofFloats(REF, y0),
                HeapStorage.ofFloats(REF, m0), HeapStorage.ofFloats(REF, s0));
        REF.batchNorm2dBackward(n, c, hw, true, REF.upload(x), REF.upload(dy), REF.upload(gamma), HeapStorage.ofFloats(REF, m0),
                HeapStorage.ofFloats(REF, s0), HeapStorage.ofFloats(REF, dx0), HeapStorage.ofFloats(REF, dg0), HeapStorage.ofFloats(REF, db0));
        Storage xs = b.upload(x), gs = b.upload(gamma), rm1 = b.upload(rm), rv1 = b.upload(rv);
        Storage y1 = b.allocate(size), m1 = b.allocate(c), s1 = b.allocate(c), dx1 = b.allocate(size), dg1 = b.allocate(c), db1 = b.allocate(c);
        b.batchNorm2dForward(n, c, hw, true, 0.1f, 1e-5f, xs, gs, b.upload(beta), rm1, rv1, y1, m1, s1);
        b.batchNorm2dBackward(n, c, hw, true, xs, b.upload(dy), gs, m1, s1, dx1, dg1, db1);
        assertClose("mean", m0, b.download(m1), 1e-5, 1e-5);
        assertClose("invStd", s0, b.download(s1), 1e-5, 1e-5);
        assertClose("running mean", rm0, b.download(rm1), 1e-5, 1e-5);
        assertClose("running var", rv0, b.download(rv1), 1e-5, 1e-5);
        assertClose("y", y0, b.download(y1), 1e-4, 1e-4);
        assertClose("dgamma", dg0, b.download(dg1), 1e-2, 1e-4);
        assertClose("dbeta", db0, b.download(db1), 1e-2, 1e-4);
        assertClose("dx", dx0, b.download(dx1), 1e-4, 1e-3);
    }

    @Test
    void crossEntropyOverMoreRowsThanAWorkGroup() {
        OpenClBackend b = OpenClTesting.backend();
        int n = 601, c = 10;
        float[] logits = random(73, n * c);
        int[] labels = new java.util.Random(74).ints(n, 0, c).toArray();
        float[] lp0 = new float[n * c], loss0 = new float[1];
        REF.crossEntropyForward(n, c, REF.upload(logits), REF.uploadInts(labels), HeapStorage.ofFloats(REF, lp0), HeapStorage.ofFloats(REF, loss0));
        try (Storage lg = b.upload(logits); Storage lab = b.uploadInts(labels); Storage lp1 = b.allocate(n * c); Storage loss1 = b.allocate(1)) {
            b.crossEntropyForward(n, c, lg, lab, lp1, loss1);
            assertClose("loss over " + n + " rows", loss0, b.download(loss1), 1e-5, 1e-5);
            assertClose("log-probs", lp0, b.download(lp1), 1e-5, 1e-5);
        }
    }
}
