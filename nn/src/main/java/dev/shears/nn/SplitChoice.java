package dev.shears.nn;

import java.util.Arrays;

/**
 * Which steps of a compiled model's call with fewer examples than the backend has threads run their kernels
 * split across the threads, and which on the calling thread alone: chosen by timing whole calls, and timed
 * again from time to time. Every choice gives the same results, bit for bit; it changes only the time.
 *
 * <p>Why timing: split, the threads share each example (a convolution's filters, a Linear's columns), so at
 * every layer each core reads the whole input, half of it written by the other core: the activations travel
 * between the cores' caches. What that costs depends on how far apart the cores are, which a program cannot
 * see and which can change while it runs. On the project's 2-vCPU VM (Zen 4, 2026-12-07) a cache line went
 * from one vCPU to the other in 26–33 ns at some times and in 158–171 ns at others (the host had put the
 * vCPUs on distant cores), switching every few seconds. SimpleCNN at batch 1 ran about 15,500 calls/s with
 * every step split and 10,000 alone in the first case; split, 7,500 in the second, where conv1 alone took 9
 * µs against 17 split while fc1 still gained from the split (docs/performance.md).
 *
 * <p>How: the choice (a bit per step, set: alone) holds for {@code period} calls. Then a trial runs
 * {@link #TRIAL} calls with a flip of it and {@link #TRIAL} with the choice, and keeps the flip if its median
 * call was faster by {@link #MARGIN}. Medians, because the first calls after a change are slow whichever way
 * is faster (after a stretch alone the pool's workers have gone to sleep; the caches hold the other way's
 * data), and so is any call the operating system interrupts. The flips take turns: every step alone (or,
 * when most are alone already, every step split), then each step's bit on its own. The first keeps a call
 * from staying slower than one thread, which flipping one step at a time can miss (SimpleCNN in the slow
 * case: no single step gained alone). A kept flip sets the period back to {@link #MIN_PERIOD}; a trial that
 * changes nothing doubles it, up to {@link #MAX_PERIOD}. Steps past the 64th always split.
 *
 * <p>One per Predictor and batch size, shared by the threads that call it: the bookkeeping is synchronized
 * (a few field writes per call). Calls from several threads at once also time each other's contention, so
 * the choice may then be the slower one for a while; never the results.
 */
final class SplitChoice {

    static final int MIN_PERIOD = 64, MAX_PERIOD = 1024;
    /** Calls each way in a trial. */
    static final int TRIAL = 8;
    /** A flip is kept when its median call takes less than this fraction of the choice's. */
    static final double MARGIN = 0.97;

    private final long all;                      // a bit for each step that may run alone
    private final boolean timed;                 // false: fixed (shears.predict.split)
    private long alone;                          // the choice: steps on the calling thread alone
    private int period = MIN_PERIOD, untilTrial = MIN_PERIOD;
    private int trialCall = -1;                  // calls into the current trial; −1 outside one
    private int nextFlip;                        // the next trial's flip: 0 every step, s + 1 step s
    private long trialMask;                      // the choice with that flip
    private final long[] flippedNanos = new long[TRIAL], keptNanos = new long[TRIAL];

    /** For a plan of {@code steps} steps, chosen by timing from every step split. */
    SplitChoice(int steps) { this(steps, null); }

    /** Every step alone (true), every step split (false), or chosen by timing (null). */
    SplitChoice(int steps, Boolean fixedAlone) {
        this.all = steps >= 64 ? -1L : (1L << steps) - 1;
        this.timed = fixedAlone == null && steps > 0;
        this.alone = fixedAlone != null && fixedAlone ? all : 0;
    }

    /**
     * The {@code shears.predict.split} setting: {@code auto} (the default) times the steps both ways,
     * {@code threads} always splits, {@code caller} always runs on the calling thread.
     */
    static SplitChoice fromSetting(int steps) {
        String setting = System.getProperty("shears.predict.split", "auto");
        return switch (setting) {
            case "auto" -> new SplitChoice(steps);
            case "threads" -> new SplitChoice(steps, false);
            case "caller" -> new SplitChoice(steps, true);
            default -> throw new IllegalArgumentException("shears.predict.split must be auto, threads or caller, got " + setting);
        };
    }

    /** The steps the next call runs on the calling thread alone (bit s: step s); report its time with {@link #took}. */
    synchronized long next() {
        if (!timed) return alone;
        if (trialCall < 0 && --untilTrial <= 0) {
            trialCall = 0;
            // flip 0: every step the other way from where most are; flip s + 1: step s alone
            trialMask = nextFlip == 0 ? (Long.bitCount(alone) * 2 > Long.bitCount(all) ? 0 : all) : alone ^ (1L << nextFlip - 1);
            nextFlip = (nextFlip + 1) % (Long.bitCount(all) + 1);
        }
        return trialCall < 0 || trialCall >= TRIAL ? alone : trialMask;
    }

    /** A call whose steps ran as {@code mask} says took {@code nanos}. */
    synchronized void took(long mask, long nanos) {
        if (!timed || trialCall < 0) return;
        (mask == trialMask ? flippedNanos : keptNanos)[trialCall % TRIAL] = nanos;
        if (++trialCall == 2 * TRIAL) decide();
    }

    private void decide() {
        if (median(flippedNanos) < MARGIN * median(keptNanos)) {
            alone = trialMask;
            period = MIN_PERIOD;
        } else period = Math.min(2 * period, MAX_PERIOD);
        untilTrial = period;
        trialCall = -1;
    }

    /** Sorts a in place (no allocation on a call). */
    private static long median(long[] a) {
        Arrays.sort(a);
        return a[a.length / 2];
    }

    /** The current choice (for tests). */
    synchronized long alone() { return alone; }

    /** Calls the current choice holds for before the next trial (for tests). */
    synchronized int period() { return period; }
}
