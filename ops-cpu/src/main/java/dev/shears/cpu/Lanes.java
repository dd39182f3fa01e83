package dev.shears.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The sum of a vector's lanes in one fixed order: lane 0 + lane 1 + … + lane L−1.
 *
 * <p>Why not {@code reduceLanes(ADD)}: its order of additions is left to the implementation, and the
 * interpreted fallback and the JIT-compiled intrinsic use different ones. The last bits of a result then
 * depended on when C2 happened to compile a kernel, so two training runs with the same seed drifted apart
 * (measured: the epoch loss differed in the 8th digit, and after a few epochs accuracies by tenths of a point).
 * Lane-wise adds and fmas are exact IEEE operations in both modes; only the horizontal sum needed pinning.
 * Lane-wise EXP and LOG can differ in the last ulp between the two modes too, so the cross-entropy kernels
 * use scalar Math.exp (the backward's vector EXP over the flat N·C logits made one Fashion-MNIST epoch in three
 * end with another loss), and the element-wise ops behind Tensor.exp and log use {@link VectorMath}.
 */
final class Lanes {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();

    private Lanes() {}

    /**
     * Lane by lane ({@code lane(i)} is one extract once compiled): the earlier copy into a new float[L] was
     * not removed by C2's escape analysis (a vector store into it), and cost a compiled predictor 80 bytes per
     * dot product at batch 1 (ThreadMXBean.getThreadAllocatedBytes, SimpleCNN's fc2).
     */
    static float sum(FloatVector v) {
        float s = v.lane(0);
        for (int i = 1; i < L; i++) s += v.lane(i);
        return s;
    }
}
