package dev.shears.opencl;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * Who handles SIGSEGV in this process: the JVM, or a native library that replaced its handler.
 *
 * <p>Why it matters: HotSpot takes SIGSEGV on purpose (safepoint polls in compiled loops, implicit null checks).
 * PoCL's LLVM installs its own handler for it when PoCL starts (llvm::sys::RemoveFileOnSignal, again after each
 * compile), with SA_RESETHAND: the first fault resets SIGSEGV to the default action until LLVM's handler has put
 * the JVM's back, and a second thread faulting in that window kills the process (exit 139, no hs_err file).
 * The JDK's signal-chaining library, {@code LD_PRELOAD=$JAVA_HOME/lib/libjsig.so}, keeps the JVM's handler
 * installed and chains the library's behind it (docs/opencl.md).
 */
final class SignalHandlers {
    private SignalHandlers() {}

    static final int SIGSEGV = 11;   // the same number on every Linux architecture the JDK runs on

    /** The advice printed when the JVM lost its handler. */
    static final String ADVICE = "start java with LD_PRELOAD=$JAVA_HOME/lib/libjsig.so (bin/shears and the Maven tests do; docs/opencl.md)";

    /**
     * The file of the shared library whose function handles {@code signal} now (e.g. ".../libjvm.so"), or null
     * where that cannot be told: not Linux, no handler function (SIG_DFL, SIG_IGN), or a failed native call.
     * Reads struct sigaction's first field, the handler, as glibc lays it out on Linux; dladdr names its library.
     */
    static String handlerLibrary(int signal) {
        if (!System.getProperty("os.name", "").startsWith("Linux")) return null;
        try (Arena arena = Arena.ofConfined()) {
            Linker linker = Linker.nativeLinker();
            SymbolLookup libc = linker.defaultLookup();
            MethodHandle sigaction = linker.downcallHandle(libc.find("sigaction").orElseThrow(),
                    FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
            MethodHandle dladdr = linker.downcallHandle(libc.find("dladdr").orElseThrow(),
                    FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
            MemorySegment action = arena.allocate(256);   // struct sigaction is 152 bytes on x86-64 and aarch64
            if ((int) sigaction.invokeExact(signal, MemorySegment.NULL, action) != 0) return null;
            MemorySegment handler = action.get(ADDRESS, 0);
            if (handler.address() <= 1) return null;      // SIG_DFL (0) or SIG_IGN (1)
            MemorySegment info = arena.allocate(4 * ADDRESS.byteSize());   // Dl_info: fname, fbase, sname, saddr
            if ((int) dladdr.invokeExact(handler, info) == 0) return null;
            MemorySegment file = info.get(ADDRESS, 0);
            return file.address() == 0 ? null : file.reinterpret(4096).getString(0);
        } catch (Throwable t) {   // no FFM access, another libc: we cannot tell, which is not an error
            return null;
        }
    }

    /**
     * A warning when a library other than the JVM (libjvm) handles SIGSEGV, as after PoCL started without libjsig;
     * null when the JVM still does or when that cannot be told.
     */
    static String segvWarning() {
        String lib = handlerLibrary(SIGSEGV);
        if (lib == null || lib.endsWith("/libjvm.so")) return null;
        return "warning: " + lib + " replaced the JVM's SIGSEGV handler when OpenCL started: this JVM may die of SIGSEGV, "
                + "with no hs_err file, when two threads reach a safepoint at once; " + ADVICE;
    }
}
