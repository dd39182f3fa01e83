package dev.shears.opencl;

import dev.shears.core.Backend;
import dev.shears.core.testing.BackendConformance;
import org.junit.jupiter.api.BeforeAll;

/** Every primitive of the OpenCL backend against the scalar reference (the shared harness of core's tests). */
class OpenClConformanceTest extends BackendConformance {

    @BeforeAll
    static void device() {
        System.out.println("OpenCL conformance on " + OpenClTesting.backend().device());
    }

    @Override protected Backend backend() { return OpenClTesting.backend(); }
}
