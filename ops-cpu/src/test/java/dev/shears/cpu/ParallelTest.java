package dev.shears.cpu;

import dev.shears.core.Backends;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

class ParallelTest {
    private static final Parallel PAR = new Parallel(2);

    @Test
    void everyIndexExactlyOnce() {
        for (int n : new int[]{0, 1, 2, 3, 17, 1000}) {
            AtomicIntegerArray seen = new AtomicIntegerArray(Math.max(n, 1));
            for (int rep = 0; rep < 50; rep++) PAR.parallelFor(0, n, (lo, hi) -> { for (int i = lo; i < hi; i++) seen.incrementAndGet(i); });
            for (int i = 0; i < n; i++) assertEquals(50, seen.get(i), "index " + i + " of " + n);
        }
    }

    /**
     * Many tiny calls back to back: the hand-over races (a worker that wakes after the caller ran its chunk,
     * or after a newer call replaced the job it was given) must lose no chunk and run none twice, and never
     * leave the caller waiting forever (the timeout fails the test instead of hanging the build).
     */
    @Test
    @org.junit.jupiter.api.Timeout(60)
    void tinyCallsBackToBackLoseAndRepeatNothing() {
        AtomicInteger total = new AtomicInteger();
        int calls = 50_000;
        for (int c = 0; c < calls; c++) PAR.parallelFor(0, 2, (lo, hi) -> total.addAndGet(hi - lo));
        assertEquals(2 * calls, total.get());
    }

    /**
     * The pool reuses one job from call to call: a worker still holding it from an earlier call must never run
     * that call's body on the next call's chunks, nor the next call's body twice. Each call here has its own
     * body, which counts the items it ran under its call's number; four threads, so three workers race.
     */
    @Test
    @org.junit.jupiter.api.Timeout(60)
    void aReusedJobRunsEachCallsOwnBodyOnItsOwnChunks() {
        Parallel par = new Parallel(4);
        int calls = 30_000, items = 7;
        int[] ran = new int[calls];
        for (int c = 0; c < calls; c++) {
            int call = c;
            par.parallelFor(0, items, (lo, hi) -> { synchronized (ran) { ran[call] += hi - lo; } });
        }
        synchronized (ran) {
            for (int c = 0; c < calls; c++) assertEquals(items, ran[c], "items run for call " + c);
        }
    }

    /**
     * Calls spaced out past the spin limit, so the worker has parked when each job arrives, and chunks that
     * outlast the caller's spin, so the caller parks too: each side must be woken (a lost wake-up would hang
     * here until the timeout), and a side that is still spinning is not unparked at all.
     */
    @Test
    @org.junit.jupiter.api.Timeout(60)
    void parkedWorkersAndCallersAreWoken() {
        AtomicInteger total = new AtomicInteger();
        long longer = 3 * Parallel.SPIN_NANOS;
        for (int c = 0; c < 200; c++) {
            java.util.concurrent.locks.LockSupport.parkNanos(c % 2 == 0 ? longer : 0);
            boolean slow = c % 3 == 0;
            PAR.parallelFor(0, 2, (lo, hi) -> {
                if (slow && lo == 1) java.util.concurrent.locks.LockSupport.parkNanos(longer);
                total.addAndGet(hi - lo);
            });
        }
        assertEquals(400, total.get());
    }

    @Test
    void grainKeepsSmallRangesOnTheCaller() {
        AtomicInteger chunks = new AtomicInteger();
        PAR.parallelFor(0, 100, 64, (lo, hi) -> chunks.incrementAndGet());
        assertEquals(1, chunks.get(), "100 items with a grain of 64 is one chunk");
        chunks.set(0);
        PAR.parallelFor(0, 128, 64, (lo, hi) -> chunks.incrementAndGet());
        assertEquals(2, chunks.get());
    }

    @Test
    void nestedCallsRunSeriallyAndFailuresPropagate() {
        AtomicInteger total = new AtomicInteger();
        PAR.parallelFor(0, 4, (lo, hi) -> { for (int i = lo; i < hi; i++) PAR.parallelFor(0, 10, (a, b) -> total.addAndGet(b - a)); });
        assertEquals(40, total.get());
        RuntimeException e = assertThrows(RuntimeException.class,
                () -> PAR.parallelFor(0, 2, (lo, hi) -> { if (lo == 1) throw new IllegalStateException("boom"); }));
        assertTrue(e.getCause() instanceof IllegalStateException || e instanceof IllegalStateException);
        // the pool still works afterwards
        AtomicInteger after = new AtomicInteger();
        PAR.parallelFor(0, 2, (lo, hi) -> after.addAndGet(hi - lo));
        assertEquals(2, after.get());
    }

    @Test
    void serviceLoaderMakesCpuTheDefault() {
        assertEquals("cpu", Backends.byName("cpu").name());
        assertTrue(Backends.providers().stream().anyMatch(p -> p.name().equals("cpu") && p.priority() == 100));
        assertSame(Backends.byName("cpu"), Backends.byName("cpu"), "one shared backend, one pool");
    }
}
