package dev.shears.opencl;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * PoCL's LLVM asks for the JVM's fault signals as PoCL starts; the test JVM preloads the JDK's libjsig (pom.xml),
 * so the JVM keeps them and a safepoint cannot kill it (SignalHandlers has the mechanism, docs/opencl.md the
 * evidence). Without the preload this fails, naming libLLVM.
 */
class OpenClSignalHandlerTest {
    /** SIGILL, SIGBUS, SIGFPE, SIGSEGV: the signals HotSpot handles itself (the same numbers on x86-64 and aarch64 Linux). */
    static final int[] JVM_SIGNALS = {4, 7, 8, SignalHandlers.SIGSEGV};

    @Test
    void jvmKeepsItsFaultHandlersAfterPoclStarts() {
        OpenClTesting.backend();   // PoCL has started and compiled the kernels
        assumeTrue(System.getProperty("os.name").startsWith("Linux"), "signal handlers are checked on Linux only");
        for (int signal : JVM_SIGNALS) {
            String lib = SignalHandlers.handlerLibrary(signal);
            assertNotNull(lib, "no library found for the handler of signal " + signal);
            assertTrue(lib.endsWith("/libjvm.so"), "signal " + signal + " is handled by " + lib + ", not by the JVM: "
                    + "run the tests with LD_PRELOAD=$JAVA_HOME/lib/libjsig.so (pom.xml, surefire's environmentVariables)");
        }
        assertNull(SignalHandlers.segvWarning());
    }
}
