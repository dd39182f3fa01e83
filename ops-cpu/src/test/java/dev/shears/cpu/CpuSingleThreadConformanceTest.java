package dev.shears.cpu;

import dev.shears.core.Backend;
import dev.shears.core.testing.BackendConformance;

/** The SIMD kernels on one thread: no parallelFor ever splits, so every serial path is exercised. */
class CpuSingleThreadConformanceTest extends BackendConformance {
    private static final CpuBackend CPU = new CpuBackend(true, 1);

    @Override protected Backend backend() { return CPU; }
}
