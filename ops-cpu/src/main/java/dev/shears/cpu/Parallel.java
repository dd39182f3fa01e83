package dev.shears.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * One reusable pool of worker threads and {@link #parallelFor}, the only way the CPU kernels run in parallel.
 *
 * <p>A range [start, end) is cut into at most {@code threads} contiguous chunks of at least {@code grain}
 * items; the calling thread and the workers claim them one by one (the caller runs any a worker has not
 * started by then). Fixed chunks suit these kernels (every item costs about the same) and mean no per-item
 * scheduling. A call made from inside a parallel body runs serially, so kernels may nest without
 * deadlocking or oversubscribing the cores.
 */
public final class Parallel {

    /** The body of a parallel loop: handles items [lo, hi). */
    @FunctionalInterface
    public interface Range {
        void run(int lo, int hi);
    }

    private static final ThreadLocal<Boolean> INSIDE = ThreadLocal.withInitial(() -> false);

    private final int threads;
    private final Worker[] workers;
    private final java.util.concurrent.locks.ReentrantLock lock = new java.util.concurrent.locks.ReentrantLock();

    private static final java.lang.ref.Cleaner CLEANER = java.lang.ref.Cleaner.create();

    /**
     * The most threads a pool takes: far past any core count these kernels split well over, and a bound that
     * keeps a mistyped count from exhausting the operating system's threads (100,000 did, with an
     * OutOfMemoryError from thread creation).
     */
    public static final int MAX_THREADS = 1024;

    /**
     * A pool of {@code threads - 1} daemon workers (the caller is the last thread). The workers stop when
     * this object becomes unreachable, so short-lived backends (tests, benchmark trials) do not leak threads.
     */
    public Parallel(int threads) {
        if (threads < 1 || threads > MAX_THREADS)
            throw new IllegalArgumentException("shears.threads must be between 1 and " + MAX_THREADS + ", got " + threads);
        this.threads = threads;
        this.workers = new Worker[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = new Worker();
            Thread t = new Thread(workers[i], "shears-cpu-" + (i + 1));
            t.setDaemon(true);
            workers[i].thread = t;
            t.start();
        }
        Worker[] ws = workers.clone();   // the cleaning action must not reach this object
        CLEANER.register(this, () -> { for (Worker w : ws) w.stop(); });
    }

    public int threads() { return threads; }

    /**
     * Whether {@link #parallelFor} over [start, end) with this grain would hand chunks to the workers (if the
     * pool is free): false when the range makes one chunk or the caller is inside a parallel body. A kernel
     * that finds false may run its loop directly, without making a body object: a compiled predictor's call
     * at batch 1 on one thread then allocates nothing.
     */
    public boolean splits(int start, int end, int grain) {
        return Math.min(threads, Math.max(1, (end - start) / Math.max(1, grain))) > 1 && !INSIDE.get();
    }

    /**
     * Sets whether this thread's parallelFor calls, on any pool, run serially on it (as they do inside a
     * parallel body: the same results, {@link #splits} false); returns the previous setting, to be put back.
     * For a caller that has measured its work to run faster on one core than split (a compiled model at batch
     * 1, whose every activation would travel between the cores' caches).
     */
    public static boolean serialOnThisThread(boolean serial) {
        boolean was = INSIDE.get();
        INSIDE.set(serial);
        return was;
    }

    /** Runs {@code body} over [start, end) in chunks of at least one item. */
    public void parallelFor(int start, int end, Range body) { parallelFor(start, end, 1, body); }

    /**
     * Runs {@code body} over [start, end), split into at most {@link #threads()} chunks of at least
     * {@code grain} items each (fewer chunks when the range is small: a tiny task costs more to hand over than
     * to run). Returns when every chunk is done; the first exception thrown by a chunk is rethrown.
     */
    public void parallelFor(int start, int end, int grain, Range body) {
        int total = end - start;
        if (total <= 0) return;
        int chunks = Math.min(threads, Math.max(1, total / Math.max(1, grain)));
        // serial when small, when nested inside a parallel body, or when another caller holds the pool
        if (chunks == 1 || INSIDE.get() || !lock.tryLock()) {
            body.run(start, end);
            return;
        }
        try {
            dispatch(start, total, chunks, body);
        } finally {
            lock.unlock();
        }
    }

    /** The pool's one job, reused by every parallelFor that hands out chunks (one at a time: they hold the lock). */
    private final Job job = new Job();

    private void dispatch(int start, int total, int chunks, Range body) {
        job.open(body, start, total, chunks);
        for (int i = 0; i < chunks - 1; i++) workers[i].submit(job);
        INSIDE.set(true);
        try {
            job.runChunks();
        } finally {
            INSIDE.set(false);
            job.await();
        }
        Throwable failure = job.close();
        if (failure != null) throw new RuntimeException("parallel chunk failed", failure);
    }

    /**
     * The chunks of one parallelFor call at a time (a round): they are claimed one by one, by the caller and
     * by the workers it woke, so a worker that is slow to start (parked, or its core taken by another
     * process) costs nothing but its share of the work, which the caller then runs itself. Which thread runs
     * a chunk never changes what the chunk computes.
     *
     * <p>Reused from round to round, so that a call allocates nothing (a compiled predictor's pass makes
     * three such calls at batch 1 on two threads; a new job each was 80 of its 136 bytes per call). A worker
     * may still hold the job from a round that has ended: {@code state} pairs the round with the next chunk,
     * so its claim (a compare-and-set) fails once the owner has closed that round, and one that succeeds
     * read the fields of the round it claimed from (the owner writes the next round's only after closing
     * this one, which follows every claim of it).
     */
    private static final class Job {
        /** The next chunk while the round is open; as high as it gets while it is closed (nothing to claim). */
        private static final long CLOSED = Integer.MAX_VALUE;
        /** round << 32 | next chunk */
        private final AtomicLong state = new AtomicLong(CLOSED);
        private long round;                              // the owner's: the last round opened
        // the open round's, written while it is closed, published by open's write of state
        private Range body;
        private int start, total, chunks;
        private Thread owner;
        private final AtomicInteger finished = new AtomicInteger();
        private volatile boolean ownerParked;   // set before the owner parks: only then must the last chunk unpark it
        private volatile Throwable failure;

        void open(Range body, int start, int total, int chunks) {
            this.body = body;
            this.start = start;
            this.total = total;
            this.chunks = chunks;
            this.owner = Thread.currentThread();
            finished.set(0);
            ownerParked = false;
            failure = null;
            state.set(++round << 32);
        }

        /**
         * Ends the round once every chunk is done; returns the first failure. A read of state (getAndSet):
         * every claim of the round happens-before the fields are written again.
         */
        Throwable close() {
            state.getAndSet(round << 32 | CLOSED);
            body = null;   // not kept alive by the pool
            return failure;
        }

        void runChunks() {
            for (;;) {
                long s = state.get();
                int i = (int) s, chunks = this.chunks, start = this.start, total = this.total;
                Range body = this.body;
                Thread owner = this.owner;
                if (i >= chunks) return;                             // all claimed, or closed
                if (!state.compareAndSet(s, s + 1)) continue;        // claimed by another, or another round now
                try {
                    body.run(start + (int) ((long) total * i / chunks), start + (int) ((long) total * (i + 1) / chunks));
                } catch (Throwable t) {
                    if (failure == null) failure = t;
                } finally {
                    if (finished.incrementAndGet() == chunks && ownerParked) LockSupport.unpark(owner);
                }
            }
        }

        /**
         * Spins up to SPIN_NANOS (chunks are often that short), then parks until the last chunk unparks us:
         * on a machine shared with other processes a long spin steals the core from our own worker. Each side
         * unparks the other only once it has parked (here ownerParked, in a worker its parked flag), and
         * unpark costs a lock and a system call even for a running thread: an empty two-chunk parallelFor
         * took 0.25 µs with an unpark each way, 0.12 µs without; a pruned SimpleCNN at batch 1 on two
         * threads 8.75 → 8.54 µs (medians of six 3-second runs each, alternating).
         */
        void await() {
            long until = System.nanoTime() + SPIN_NANOS;
            while (finished.get() < chunks && System.nanoTime() < until) Thread.onSpinWait();
            if (finished.get() == chunks) return;
            ownerParked = true;          // then finished is read again: the last chunk sees the flag or we see it done
            while (finished.get() < chunks) LockSupport.park(this);
        }
    }

    /**
     * How long an idle worker, or a caller waiting for the workers, spins before it parks. Waking a parked
     * thread took about 7 µs here, as long as a whole pruned conv2 at batch 1, which then ran slower on two
     * threads than on one (14.9 against 7.3 µs); 1,000 spin-wait hints, the earlier limit, lasted only a
     * few µs on this CPU. Set by {@code -Dshears.spinMicros}.
     */
    static final long SPIN_NANOS = Long.getLong("shears.spinMicros", 50) * 1000;

    /** A worker: runs the chunks it can claim of one job at a time, handed over through {@code job}. */
    private static final class Worker implements Runnable {
        Thread thread;
        private final AtomicReference<Job> job = new AtomicReference<>();

        /** Set while this worker parks or is about to; a spinning worker needs no unpark (a system call). */
        private volatile boolean parked;

        void submit(Job j) {
            job.set(j);            // replaces a job this worker never got to: its chunks were run by others
            if (parked) LockSupport.unpark(thread);
        }

        private volatile boolean stopped;

        void stop() {
            stopped = true;
            LockSupport.unpark(thread);
        }

        @Override public void run() {
            INSIDE.set(true);
            while (!stopped) {
                Job j = job.get();
                if (j == null) {
                    long until = System.nanoTime() + SPIN_NANOS;
                    while ((j = job.get()) == null && System.nanoTime() < until) Thread.onSpinWait();
                    if (j == null) {
                        parked = true;   // then job is read again: submit sees the flag or we see its job
                        if (job.get() == null && !stopped) LockSupport.park(this);
                        parked = false;
                        continue;
                    }
                }
                job.compareAndSet(j, null);   // not a newer job submitted meanwhile
                j.runChunks();
            }
        }
    }
}
