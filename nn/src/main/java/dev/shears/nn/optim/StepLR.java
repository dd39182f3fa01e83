package dev.shears.nn.optim;

import java.util.Map;

/** Multiplies the learning rate by {@code gamma} every {@code stepSize} epochs (torch.optim.lr_scheduler.StepLR). */
public final class StepLR implements LrSchedule {
    private final SGD optimizer;
    private final int stepSize;
    private final float gamma;
    private final float baseLr;
    private int epoch;

    public StepLR(SGD optimizer, int stepSize, float gamma) {
        if (stepSize < 1) throw new IllegalArgumentException("StepLR: step size must be >= 1, got " + stepSize);
        this.optimizer = optimizer;
        this.stepSize = stepSize;
        this.gamma = gamma;
        this.baseLr = optimizer.lr();
    }

    /** Call once at the end of every epoch. */
    public void step() {
        resumeAt(epoch + 1);
    }

    /** Epochs stepped so far: the schedule's position, as PyTorch's {@code last_epoch}. */
    public int epoch() { return epoch; }

    @Override
    public int position() { return epoch; }

    @Override
    public Map<String, String> settings() {
        return Map.of("schedule.step_size", String.valueOf(stepSize), "schedule.gamma", Float.toString(gamma));
    }

    public int stepSize() { return stepSize; }

    public float gamma() { return gamma; }

    /** The rate at epoch 0, the optimiser's when the schedule was made. */
    @Override
    public float baseLr() { return baseLr; }

    /** Moves the schedule to {@code epoch} and sets the optimiser's rate to baseLr·γ^⌊epoch/stepSize⌋ (resuming). */
    @Override
    public void resumeAt(int epoch) {
        if (epoch < 0) throw new IllegalArgumentException("StepLR: epoch must be >= 0, got " + epoch);
        this.epoch = epoch;
        optimizer.setLr((float) (baseLr * Math.pow(gamma, epoch / stepSize)));
    }
}
