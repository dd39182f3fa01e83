package dev.shears.bench;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;

/**
 * How long a cache line takes to go from one core to another: two threads pass a counter back and forth
 * (each waits, spinning, for the other's increment), and half a round trip is one way. Printed as JSON, the
 * median of {@code windows} windows of {@code millis} ms: {@code java ... CoreToCore [windows] [millis]}.
 *
 * <p>Why {@code benchmarks/compare.sh} prints it beside the batch-1 rows: a batch-1 call split across two
 * threads moves its activations between the cores' caches at every layer, so its speed follows this figure.
 * On the project's 2-vCPU VM (Zen 4, 2026-12-07) it read 26–33 ns at some times and 158–171 ns at others, the
 * host moving the vCPUs between near and distant cores every few seconds, and SimpleCNN at batch 1 with every
 * step split ran 15,500 and 7,500 calls/s. The threads are not pinned: with two runnable spinning threads
 * on two cores the scheduler keeps them apart, and on a machine with more cores it measures whichever pair
 * the scheduler picked, as the kernels' threads get.
 */
public final class CoreToCore {

    /** Odd: the ping thread's turn to answer; even: the pong thread's. */
    private static final AtomicLong TURN = new AtomicLong();
    private static volatile boolean stop;

    public static void main(String[] args) throws InterruptedException {
        int windows = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        int millis = args.length > 1 ? Integer.parseInt(args[1]) : 100;
        Thread pong = new Thread(() -> {
            long expect = 1;
            while (!stop) {
                if (TURN.get() == expect) {
                    TURN.set(expect + 1);
                    expect += 2;
                } else Thread.onSpinWait();
            }
        }, "pong");
        pong.setDaemon(true);
        pong.start();
        passes(millis);                               // warm-up: compiled, both threads running
        double[] oneWayNs = new double[windows];
        for (int w = 0; w < windows; w++) {
            long start = System.nanoTime();
            long trips = passes(millis);
            oneWayNs[w] = (System.nanoTime() - start) / (2.0 * trips);
        }
        stop = true;
        Arrays.sort(oneWayNs);
        System.out.printf("{\"one_way_ns\": %.1f, \"min_ns\": %.1f, \"max_ns\": %.1f}%n",
                oneWayNs[windows / 2], oneWayNs[0], oneWayNs[windows - 1]);
    }

    /** Round trips for about {@code millis} ms; returns how many. */
    private static long passes(int millis) {
        long end = System.nanoTime() + millis * 1_000_000L, trips = 0;
        while (System.nanoTime() < end) {
            for (int i = 0; i < 1000; i++) {
                long next = TURN.get() + 1;           // odd: pong's turn
                TURN.set(next);
                while (TURN.get() != next + 1) Thread.onSpinWait();
            }
            trips += 1000;
        }
        return trips;
    }
}
