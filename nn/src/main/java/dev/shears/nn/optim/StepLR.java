package dev.shears.nn.optim;

/** Multiplies the learning rate by {@code gamma} every {@code stepSize} epochs (torch.optim.lr_scheduler.StepLR). */
public final class StepLR {
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
        epoch++;
        optimizer.setLr((float) (baseLr * Math.pow(gamma, epoch / stepSize)));
    }
}
