package dev.shears.cpu;

import dev.shears.core.Backend;
import dev.shears.core.testing.BackendConformance;

/** The SIMD kernels on two threads against the reference. */
class CpuConformanceTest extends BackendConformance {
    private static final CpuBackend CPU = new CpuBackend(true, 2);

    @Override protected Backend backend() { return CPU; }
}
