package dev.shears.opencl;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What a failed OpenCL call and a failed kernel build say. */
class OpenClErrorsTest {

    @Test
    void aFailedCallNamesTheCallAndTheErrorCode() {
        OpenClTesting.backend();   // JOCL loaded
        OpenClException e = assertThrows(OpenClException.class, () -> Cl.check("clEnqueueNDRangeKernel(gemm_tiled)", -54));
        assertTrue(e.getMessage().contains("clEnqueueNDRangeKernel(gemm_tiled)") && e.getMessage().contains("CL_INVALID_WORK_GROUP_SIZE"),
                e.getMessage());
    }

    @Test
    void aBuildFailureCarriesTheCompilersLog() {
        OpenClBackend b = OpenClTesting.backend();
        ClContext ctx = ClContext.of(b.device());
        String broken = "#line 1 \"broken.cl\"\n__kernel void broken(__global float* y) { y[0] = undeclared_name; }\n";
        OpenClException e = assertThrows(OpenClException.class,
                () -> ClContext.build(b.device(), ctx.context, new String[]{broken}, ""));
        System.out.println("a failed build reports:\n" + e.getMessage());
        assertTrue(e.getMessage().contains("clBuildProgram failed") && e.getMessage().contains("undeclared_name"), e.getMessage());
    }
}
