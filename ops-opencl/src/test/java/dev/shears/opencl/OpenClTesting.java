package dev.shears.opencl;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * One backend for the whole test JVM: PoCL compiles the kernels in seconds, so the program is built once and
 * shared. Tests call {@link #backend()}, which skips them, with the reason, where there is no OpenCL.
 */
final class OpenClTesting {
    private OpenClTesting() {}

    private static final class Shared {
        static final OpenClBackend BACKEND = OpenClDevices.isAvailable()
                ? OpenClBackend.open(System.getProperty("shears.opencl.device", "opencl")) : null;
    }

    static OpenClBackend backend() {
        assumeTrue(OpenClDevices.isAvailable(), () -> "skipped: " + OpenClDevices.problem());
        return Shared.BACKEND;
    }
}
