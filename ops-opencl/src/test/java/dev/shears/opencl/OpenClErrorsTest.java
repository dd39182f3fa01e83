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

    /** A label outside the classes is refused before any kernel runs, as on the CPU (not a NaN loss). */
    @Test
    void aLabelOutsideTheClassesIsRefusedByName() {
        OpenClBackend b = OpenClTesting.backend();
        dev.shears.core.Tensor logits = dev.shears.core.Tensor.of(b, new float[2 * 3], 2, 3);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> dev.shears.core.LossOps.crossEntropy(logits, new int[]{1, 3}));
        assertTrue(e.getMessage().contains("label 3 of sample 1 is outside [0, 3)"), e.getMessage());
    }
}
