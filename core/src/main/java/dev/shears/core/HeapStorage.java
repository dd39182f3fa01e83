package dev.shears.core;

/**
 * Storage in the Java heap, shared by the CPU backends (the scalar reference and the SIMD one), so a tensor
 * can be handed from one to the other without a copy. Exactly one of {@code floats} and {@code ints} is set.
 */
public final class HeapStorage implements Storage {
    private final Backend backend;
    private float[] floats;
    private int[] ints;
    private final int length;
    private volatile long version;
    private final boolean owned;

    private HeapStorage(Backend backend, float[] floats, int[] ints, boolean owned) {
        this.backend = backend;
        this.floats = floats;
        this.ints = ints;
        this.length = floats != null ? floats.length : ints.length;
        this.owned = owned;
    }

    /** Wraps {@code data}, which others may still refer to: its array is never handed out again. */
    public static HeapStorage ofFloats(Backend backend, float[] data) {
        return new HeapStorage(backend, data, null, false);
    }

    /**
     * Wraps {@code data}, an array the backend allocated for this storage alone, so that once the storage is
     * closed the backend may reuse the array ({@link #ownedFloats}, {@link Backend#recycle}).
     */
    public static HeapStorage owning(Backend backend, float[] data) {
        return new HeapStorage(backend, data, null, true);
    }

    public static HeapStorage ofInts(Backend backend, int[] data) {
        return new HeapStorage(backend, null, data, false);
    }

    /**
     * The float array of an open storage made by {@link #owning}, or null (another kind, or closed): what a
     * backend may reuse after closing {@code s}.
     */
    public static float[] ownedFloats(Storage s) {
        return s instanceof HeapStorage h && h.owned ? h.floats : null;
    }

    /** The float array behind a heap storage; fails clearly for another backend's storage. */
    public static float[] floats(Storage s) {
        HeapStorage h = cast(s);
        if (h.floats == null) throw new IllegalStateException("expected a float storage, found an int storage");
        return h.floats;
    }

    public static int[] ints(Storage s) {
        HeapStorage h = cast(s);
        if (h.ints == null) throw new IllegalStateException("expected an int storage, found a float storage");
        return h.ints;
    }

    private static HeapStorage cast(Storage s) {
        if (s instanceof HeapStorage h) {
            if (h.isClosed()) throw new IllegalStateException("storage was closed (released by close() or a TensorScope)");
            return h;
        }
        throw new IllegalArgumentException("expected a CPU (heap) storage, found one of backend "
                + (s == null ? "null" : s.backend().name()) + ": move the tensor with Tensor.to(backend) first");
    }

    @Override public int length() { return length; }
    @Override public Backend backend() { return backend; }
    @Override public void close() { floats = null; ints = null; }
    @Override public boolean isClosed() { return floats == null && ints == null; }
    @Override public long version() { return version; }
    @SuppressWarnings("NonAtomicOperationOnVolatileField")   // writes to one storage are not concurrent
    @Override public void markModified() { version++; }
}
