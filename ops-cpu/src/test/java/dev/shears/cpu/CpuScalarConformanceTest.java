package dev.shears.cpu;

import dev.shears.core.Backend;
import dev.shears.core.testing.BackendConformance;

/**
 * The scalar twins (what -Dshears.simd=false runs) on two threads against the reference. Element-wise unary and
 * binary ops and the max-pool window are the reference's own static methods in this mode, so comparing them with
 * the reference checks nothing: BackendConformance's hand-computed tables are what checks them.
 */
class CpuScalarConformanceTest extends BackendConformance {
    private static final CpuBackend CPU = new CpuBackend(false, 2);

    @Override protected Backend backend() { return CPU; }
}
