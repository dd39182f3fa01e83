package dev.shears.opencl;

import dev.shears.core.Backend;
import dev.shears.core.Storage;
import org.jocl.cl_mem;

import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicLong;

import static org.jocl.CL.clReleaseMemObject;

/**
 * A device buffer of floats or ints. {@link #close()} gives it back at once, to the backend's {@link BufferPool}
 * or to OpenCL (which defers the actual free until queued commands that use it have finished, so closing right
 * after enqueueing is safe); a {@link Cleaner}
 * releases it if the storage becomes unreachable unclosed, a safety net only, since the GC does not know how
 * much device memory a small Java object pins.
 */
final class ClStorage implements Storage {
    private static final Cleaner CLEANER = Cleaner.create();

    private final OpenClBackend backend;
    private final int length;
    private volatile long version;
    final boolean ints;
    final ClContext context;
    private final Release release;
    private final Cleaner.Cleanable cleanable;

    /** Holds no reference to the storage, so that the storage can become unreachable. */
    private static final class Release implements Runnable {
        private final cl_mem mem;
        private final long bytes;
        private final AtomicLong liveBytes, liveBuffers;
        private final BufferPool pool;   // null: release to OpenCL
        private volatile boolean released;

        Release(cl_mem mem, long bytes, AtomicLong liveBytes, AtomicLong liveBuffers, BufferPool pool) {
            this.mem = mem;
            this.pool = pool;
            this.bytes = bytes;
            this.liveBytes = liveBytes;
            this.liveBuffers = liveBuffers;
        }

        @Override
        public void run() {   // Cleanable.clean() runs this at most once
            released = true;
            liveBytes.addAndGet(-bytes);
            liveBuffers.decrementAndGet();
            if (pool != null) pool.give(mem, bytes);
            else Cl.check("clReleaseMemObject", clReleaseMemObject(mem));
        }
    }

    ClStorage(OpenClBackend backend, ClContext context, cl_mem mem, int length, long bytes, boolean ints,
              AtomicLong liveBytes, AtomicLong liveBuffers, BufferPool pool) {
        this.backend = backend;
        this.context = context;
        this.length = length;
        this.ints = ints;
        liveBytes.addAndGet(bytes);
        liveBuffers.incrementAndGet();
        this.release = new Release(mem, bytes, liveBytes, liveBuffers, pool);
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
    @Override public long version() { return version; }
    @SuppressWarnings("NonAtomicOperationOnVolatileField")   // writes to one storage are not concurrent
    @Override public void markModified() { version++; }
}
