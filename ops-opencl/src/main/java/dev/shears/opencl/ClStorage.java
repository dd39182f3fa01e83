package dev.shears.opencl;

import dev.shears.core.Backend;
import dev.shears.core.Storage;
import org.jocl.cl_mem;

import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicLong;

import static org.jocl.CL.clReleaseMemObject;

/**
 * A device buffer of floats or ints. {@link #close()} releases it at once (OpenCL defers the actual free until
 * queued commands that use it have finished, so closing right after enqueueing is safe); a {@link Cleaner}
 * releases it if the storage becomes unreachable unclosed, a safety net only, since the GC does not know how
 * much device memory a small Java object pins.
 */
final class ClStorage implements Storage {
    private static final Cleaner CLEANER = Cleaner.create();

    private final OpenClBackend backend;
    private final int length;
    final boolean ints;
    final ClContext context;
    private final Release release;
    private final Cleaner.Cleanable cleanable;

    /** Holds no reference to the storage, so that the storage can become unreachable. */
    private static final class Release implements Runnable {
        private final cl_mem mem;
        private final long bytes;
        private final AtomicLong liveBytes, liveBuffers;
        private volatile boolean released;

        Release(cl_mem mem, long bytes, AtomicLong liveBytes, AtomicLong liveBuffers) {
            this.mem = mem;
            this.bytes = bytes;
            this.liveBytes = liveBytes;
            this.liveBuffers = liveBuffers;
        }

        @Override
        public void run() {   // Cleanable.clean() runs this at most once
            released = true;
            liveBytes.addAndGet(-bytes);
            liveBuffers.decrementAndGet();
            Cl.check("clReleaseMemObject", clReleaseMemObject(mem));
        }
    }

    ClStorage(OpenClBackend backend, ClContext context, cl_mem mem, int length, long bytes, boolean ints,
              AtomicLong liveBytes, AtomicLong liveBuffers) {
        this.backend = backend;
        this.context = context;
        this.length = length;
        this.ints = ints;
        liveBytes.addAndGet(bytes);
        liveBuffers.incrementAndGet();
        this.release = new Release(mem, bytes, liveBytes, liveBuffers);
        this.cleanable = CLEANER.register(this, release);
    }

    /** The buffer; fails clearly after close. */
    cl_mem mem() {
        if (release.released) throw new IllegalStateException("OpenCL storage was closed (released by close() or a TensorScope)");
        return release.mem;
    }

    @Override public int length() { return length; }
    @Override public Backend backend() { return backend; }
    @Override public void close() { cleanable.clean(); }
    @Override public boolean isClosed() { return release.released; }
}
