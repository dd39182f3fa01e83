package dev.shears.nn.optim;

import java.util.Map;

/**
 * Cosine annealing to zero over a whole run, stepped after every batch: PyTorch's
 * {@code CosineAnnealingLR(optimizer, T_max = steps, eta_min = 0)} with {@code scheduler.step()} after each
 * {@code optimizer.step()}. At step t (0 ≤ t ≤ T) the rate is lr_t = baseLr·(1 + cos(π·t/T))/2:
 * baseLr for the first batch, baseLr/2 at T/2, close to 0 for the last.
 */
public final class CosineLR implements LrSchedule {
    private final SGD optimizer;
    private final int steps;
    private final float baseLr;
    private int t;

    /** A schedule over {@code steps} optimiser steps (T ≥ 1) from the optimiser's current rate. */
    public CosineLR(SGD optimizer, int steps) {
        if (steps < 1) throw new IllegalArgumentException("CosineLR: the number of steps must be >= 1, got " + steps);
        this.optimizer = optimizer;
        this.steps = steps;
        this.baseLr = optimizer.lr();
    }

    /** lr_t = baseLr·(1 + cos(π·t/T))/2, for 0 ≤ t ≤ T. */
    public static float rate(float baseLr, int t, int steps) {
        if (t < 0 || t > steps) throw new IllegalArgumentException("CosineLR: step " + t + " is outside 0.." + steps);
        return (float) (baseLr * (1 + Math.cos(Math.PI * t / steps)) / 2);
    }

    /** Call once after every optimiser step; past T the rate stays 0. */
    public void step() { resumeAt(Math.min(t + 1, steps)); }

    /** Steps taken so far: the schedule's position t. */
    @Override
    public int position() { return t; }

    public int steps() { return steps; }

    @Override
    public Map<String, String> settings() { return Map.of("schedule.cosine_steps", String.valueOf(steps)); }

    /** The rate at step 0, the optimiser's when the schedule was made. */
    @Override
    public float baseLr() { return baseLr; }

    /** Moves the schedule to step {@code t} and sets the optimiser's rate to lr_t (resuming). */
    @Override
    public void resumeAt(int t) {
        optimizer.setLr(rate(baseLr, t, steps));
        this.t = t;
    }
}
