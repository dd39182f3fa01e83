package dev.shears.cpu;

import dev.shears.core.Backend;
import dev.shears.core.testing.BackendConformance;

/** The scalar twins (what -Dshears.simd=false runs) on two threads against the reference: the oracle is checked too. */
class CpuScalarConformanceTest extends BackendConformance {
    private static final CpuBackend CPU = new CpuBackend(false, 2);

    @Override protected Backend backend() { return CPU; }
}
