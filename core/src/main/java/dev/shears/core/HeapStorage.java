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

    private HeapStorage(Backend backend, float[] floats, int[] ints) {
        this.backend = backend;
        this.floats = floats;
        this.ints = ints;
        this.length = floats != null ? floats.length : ints.length;
    }

    public static HeapStorage ofFloats(Backend backend, float[] data) {
        return new HeapStorage(backend, data, null);
    }

    public static HeapStorage ofInts(Backend backend, int[] data) {
        return new HeapStorage(backend, null, data);
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
