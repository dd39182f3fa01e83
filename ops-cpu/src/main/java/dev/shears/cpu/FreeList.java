package dev.shears.cpu;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * Float arrays given back for reuse, found by exact length. Only arrays of at least {@link #MIN_LENGTH}
 * floats are kept, at most {@link #PER_LENGTH} of each length and {@link #MAX_FLOATS} floats in all, so an
 * inference chain's few activation sizes and a training step's arrays fit, and nothing grows without bound.
 * A SimpleCNN training step at batch 64 (one thread), whose TensorScope hands its arrays back here, allocated
 * 81 MB before that and 6.8 MB with it. Synchronized: a backend may
 * be shared by threads.
 *
 * <p>Why small arrays too: a fresh array is not only zeroed, its memory is new to the caches (each
 * allocation moves on through the thread's allocation buffer), while a reused one is still in L1 or L2.
 * A pruned SimpleCNN at batch 1 (activations of 2,744, 735 and 128 floats), one thread: 12.7–12.8 µs
 * with only arrays from 16 Ki floats kept, 12.1–12.4 µs from 64 or 512.
 */
final class FreeList {
    static final int MIN_LENGTH = 512;                 // 2 KiB
    static final int PER_LENGTH = 8;
    static final long MAX_FLOATS = 32L * 1024 * 1024;  // 128 MiB

    private final Map<Integer, ArrayDeque<float[]>> byLength = new HashMap<>();
    private long floats;

    /** An array of exactly {@code length} floats with unspecified contents, or null if none is kept. */
    float[] take(int length) {
        if (length < MIN_LENGTH) return null;   // never kept (see give): no lock, no lookup
        synchronized (this) {
            ArrayDeque<float[]> q = byLength.get(length);
            float[] a = q == null ? null : q.pollFirst();
            if (a != null) floats -= length;
            return a;
        }
    }

    /** Keeps {@code a} for a later {@link #take} if it is large enough and there is room; drops it otherwise. */
    synchronized void give(float[] a) {
        if (a.length < MIN_LENGTH || floats + a.length > MAX_FLOATS) return;
        ArrayDeque<float[]> q = byLength.computeIfAbsent(a.length, n -> new ArrayDeque<>());
        if (q.size() >= PER_LENGTH) return;
        for (float[] kept : q) if (kept == a) return;   // given twice: keep once
        q.addFirst(a);
        floats += a.length;
    }

    synchronized long floats() { return floats; }
}
