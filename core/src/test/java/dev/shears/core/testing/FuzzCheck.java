package dev.shears.core.testing;

import java.lang.management.ManagementFactory;
import java.util.Arrays;

/**
 * The contract every fuzz target checks on one input (docs/reliability.md): the code under test either
 * returns or throws one of its <em>declared</em> exceptions, and meanwhile allocates at most
 * {@code limitBytes} on the heap. Anything else — another exception, an {@code Error}, a bigger allocation
 * — fails with an {@link AssertionError} that names it, which Jazzer reports as a finding and saves as a
 * crash input.
 *
 * <p>Memory is measured as the bytes this thread allocated ({@code com.sun.management.ThreadMXBean}),
 * not the heap in use, so a reader that allocates a huge array and drops it is still caught, and an
 * allocation that would not fit the heap surfaces as an {@code OutOfMemoryError}, which is an
 * {@code Error} and fails too. An input over the limit is run a second time, and only fails if it is over
 * again, so that the one-time cost of loading classes is not counted. A hang is caught by the test's {@code @Timeout}.
 */
public final class FuzzCheck {

    /** The code under test: a reader or a parser applied to one input. */
    @FunctionalInterface
    public interface Body {
        void run() throws Exception;
    }

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private FuzzCheck() {
    }

    /**
     * Runs {@code body}; passes if it returns or throws an instance of one of {@code declared}, and if it
     * allocated at most {@code limitBytes}.
     */
    @SafeVarargs
    public static void expectOnly(long limitBytes, Body body, Class<? extends Exception>... declared) {
        long before = THREADS.getCurrentThreadAllocatedBytes();
        Throwable thrown = run(body);
        long allocated = THREADS.getCurrentThreadAllocatedBytes() - before;
        if (thrown != null && Arrays.stream(declared).noneMatch(c -> c.isInstance(thrown))) {
            throw new AssertionError("undeclared " + thrown.getClass().getName() + " (declared: "
                    + Arrays.stream(declared).map(Class::getSimpleName).toList() + "): " + thrown.getMessage(), thrown);
        }
        if (allocated > limitBytes) {
            // the first input of a run also pays for class loading and static initialisers: measure again
            long again = THREADS.getCurrentThreadAllocatedBytes();
            run(body);
            allocated = THREADS.getCurrentThreadAllocatedBytes() - again;
        }
        if (allocated > limitBytes) {
            throw new AssertionError("allocated " + allocated + " bytes for one input; the limit is " + limitBytes
                    + (thrown == null ? "" : " (it then threw " + thrown + ")"));
        }
    }

    private static Throwable run(Body body) {
        try {
            body.run();
            return null;
        } catch (Throwable t) {
            return t;
        }
    }
}
