package dev.shears.nn;

import java.util.Random;

/**
 * The reference model of the pruning text:
 * conv1 1→c1 (3×3, pad 1), bn1, relu, max-pool 2; conv2 c1→c2, bn2, relu, max-pool 2;
 * flatten c2·7·7; fc1 →hidden, relu; fc2 →10. Defaults c1 = 32, c2 = 64, hidden = 128. Other widths build
 * the same network with fewer channels, which is what a pruned SimpleCNN is.
 */
public final class SimpleCNN {
    private SimpleCNN() {}

    public static Sequential create(long seed) { return create(32, 64, 128, seed); }

    public static Sequential create(int c1, int c2, int hidden, long seed) {
        Random init = new Random(seed);
        return new Sequential()
                .add("conv1", new Conv2d(1, c1, 3, 1, init))
                .add("bn1", new BatchNorm2d(c1))
                .add("relu1", new ReLU())
                .add("pool1", new MaxPool2d(2))
                .add("conv2", new Conv2d(c1, c2, 3, 1, init))
                .add("bn2", new BatchNorm2d(c2))
                .add("relu2", new ReLU())
                .add("pool2", new MaxPool2d(2))
                .add("flatten", new Flatten())
                .add("fc1", new Linear(c2 * 7 * 7, hidden, init))
                .add("relu3", new ReLU())
                .add("fc2", new Linear(hidden, 10, init));
    }
}
