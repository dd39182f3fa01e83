package dev.shears.opencl;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * What a user without OpenCL sees. The probe runs once per JVM, so this starts a second JVM whose ICD loader
 * finds no vendor (OCL_ICD_VENDORS points at an empty directory) and reads the message it prints.
 */
class OpenClMissingTest {

    @Test
    void noPlatformGivesAMessageSayingWhatToInstall() throws Exception {
        assumeTrue(System.getProperty("os.name").startsWith("Linux"), "OCL_ICD_VENDORS is the Linux ICD loader's variable");
        Path empty = Files.createTempDirectory("no-opencl-vendors");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(List.of(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), OpenClDevices.class.getName())).redirectErrorStream(true);
        pb.environment().put("OCL_ICD_VENDORS", empty.toString());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        assumeTrue(!out.contains("opencl:"), "this ICD loader ignores OCL_ICD_VENDORS: " + out);
        assertTrue(out.contains("OpenCL is not available") && out.contains("apt-get install ocl-icd-opencl-dev pocl-opencl-icd"), out);
        Files.delete(empty);
    }
}
