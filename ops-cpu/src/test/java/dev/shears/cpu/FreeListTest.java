package dev.shears.cpu;

import dev.shears.core.HeapStorage;
import dev.shears.core.Storage;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** {@link FreeList} and the backend's allocateForOutput / recycle built on it. */
class FreeListTest {

    @Test
    void handsBackOnlyExactLengthsWithinItsCaps() {
        FreeList f = new FreeList();
        int n = FreeList.MIN_LENGTH;
        float[] a = new float[n], b = new float[n + 1], small = new float[n - 1];
        f.give(a);
        f.give(a);                                   // twice: kept once
        f.give(b);
        f.give(small);                               // too small to keep
        assertEquals(2L * n + 1, f.floats());
        assertNull(f.take(n - 1));
        assertSame(b, f.take(n + 1));
        assertSame(a, f.take(n));
        assertNull(f.take(n), "each array is handed out once");
        assertEquals(0, f.floats());
        for (int i = 0; i < FreeList.PER_LENGTH + 2; i++) f.give(new float[n]);
        assertEquals((long) FreeList.PER_LENGTH * n, f.floats());
    }

    @Test
    void recycledStorageIsClosedAndItsArrayReused() {
        CpuBackend be = new CpuBackend(true, 1);
        int n = FreeList.MIN_LENGTH * 2 + 3;
        Storage s = be.allocateForOutput(n);
        float[] a = HeapStorage.floats(s);
        be.recycle(s);
        assertTrue(s.isClosed(), "a recycled storage cannot be used by mistake");
        Storage t = be.allocateForOutput(n);
        assertSame(a, HeapStorage.floats(t));
        assertNotSame(a, HeapStorage.floats(be.allocateForOutput(n)), "the array is not handed out twice");
        float[] z = HeapStorage.floats(be.allocate(n));
        for (float v : z) assertEquals(0f, v, "allocate still promises zeros");
    }
}
