package dev.shears.opencl;

import org.jocl.cl_mem;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

import static org.jocl.CL.clReleaseMemObject;

/**
 * Device buffers of closed storages, kept by exact size for reuse. A training step allocates the same sizes
 * every time, so after the first step no buffer is created or freed: on GPU drivers both are slow, and a free
 * may wait for the device. Reuse is safe because one backend has one in-order queue: a buffer handed out again
 * is only touched by commands enqueued after those that used it. Bounded by {@code capBytes}; beyond it
 * buffers are released at once.
 */
final class BufferPool {
    private final Map<Long, ArrayDeque<cl_mem>> free = new HashMap<>();
    private final long capBytes;
    private long pooledBytes;
    private boolean closed;

    BufferPool(long capBytes) { this.capBytes = capBytes; }

    /** A pooled buffer of exactly {@code bytes}, or null. */
    synchronized cl_mem take(long bytes) {
        ArrayDeque<cl_mem> q = free.get(bytes);
        if (q == null || q.isEmpty()) return null;
        pooledBytes -= bytes;
        return q.pop();
    }

    /** Keeps {@code mem} for reuse, or releases it when the pool is full or closed. */
    synchronized void give(cl_mem mem, long bytes) {
        if (closed || pooledBytes + bytes > capBytes) {
            Cl.check("clReleaseMemObject", clReleaseMemObject(mem));
            return;
        }
        free.computeIfAbsent(bytes, k -> new ArrayDeque<>()).push(mem);
        pooledBytes += bytes;
    }

    synchronized long pooledBytes() { return pooledBytes; }

    /** Releases every pooled buffer; buffers given back later are released at once. */
    synchronized void close() {
        closed = true;
        for (ArrayDeque<cl_mem> q : free.values())
            for (cl_mem m : q) Cl.check("clReleaseMemObject", clReleaseMemObject(m));
        free.clear();
        pooledBytes = 0;
    }
}
