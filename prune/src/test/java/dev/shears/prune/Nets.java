package dev.shears.prune;

import dev.shears.core.Tensor;
import dev.shears.nn.BatchNorm2d;
import dev.shears.nn.Conv2d;
import dev.shears.nn.Flatten;
import dev.shears.nn.Linear;
import dev.shears.nn.MaxPool2d;
import dev.shears.nn.Module;
import dev.shears.nn.ReLU;
import dev.shears.nn.Sequential;

import java.util.Random;

/** Small test architectures besides SimpleCNN. */
final class Nets {
    private Nets() {}

    /**
     * A 3-conv VGG-style net in nested blocks, 1×12×12 in: conv1 (bias, padded) + BN; conv2 unpadded, without
     * bias, + BN; conv3 unpadded with bias and no BN; then fc1 → fc2.
     */
    static Sequential vgg(long seed) {
        Random r = new Random(seed);
        return new Sequential()
                .add("b1", new Sequential().add("conv", new Conv2d(1, 6, 3, 1, 1, true, r)).add("bn", new BatchNorm2d(6))
                        .add("relu", new ReLU()).add("pool", new MaxPool2d(2)))                        // 6×6×6
                .add("b2", new Sequential().add("conv", new Conv2d(6, 8, 3, 1, 0, false, r)).add("bn", new BatchNorm2d(8))
                        .add("relu", new ReLU()))                                                       // 8×4×4
                .add("b3", new Sequential().add("conv", new Conv2d(8, 10, 3, 1, 0, true, r)).add("relu", new ReLU()))  // 10×2×2
                .add("flatten", new Flatten())
                .add("fc1", new Linear(40, 12, r))
                .add("relu", new ReLU())
                .add("fc2", new Linear(12, 5, r));
    }

    /** Linear → Linear chain; fc2 has no bias. 16 features in. */
    static Sequential mlp(long seed) {
        Random r = new Random(seed);
        return new Sequential()
                .add("flatten", new Flatten())
                .add("fc1", new Linear(16, 10, r)).add("relu1", new ReLU())
                .add("fc2", new Linear(10, 8, false, r)).add("relu2", new ReLU())
                .add("fc3", new Linear(8, 3, r));
    }

    /** Random γ, β and running statistics, so that BatchNorm in eval mode is not the identity. */
    static void randomiseNorms(Module model, long seed) {
        Random r = new Random(seed);
        for (Module m : Layers.inForwardOrder(model).values())
            if (m instanceof BatchNorm2d bn) {
                int c = bn.channels();
                bn.setParameter("weight", vec(r, c, 0.5f, 1.5f));
                bn.setParameter("bias", vec(r, c, -0.5f, 0.5f));
                bn.setParameter("running_mean", vec(r, c, -0.2f, 0.2f));
                bn.setParameter("running_var", vec(r, c, 0.5f, 2f));
            }
    }

    static Tensor vec(Random r, int n, float lo, float hi) {
        float[] d = new float[n];
        for (int i = 0; i < n; i++) d[i] = lo + (hi - lo) * r.nextFloat();
        return Tensor.of(d, n);
    }

    /** Sets entries {@code index} of a 1-d parameter to {@code value}. */
    static void set(Module m, String name, int[] index, float value) {
        float[] d = m.parameter(name).toArray();
        for (int i : index) d[i] = value;
        m.setParameter(name, Tensor.of(d, d.length));
    }

    /** Sets row {@code row} (index {@code row} of dimension 0) of a parameter to {@code value}. */
    static void setRow(Module m, String name, int row, float value) {
        Tensor t = m.parameter(name);
        float[] d = t.toArray();
        int per = d.length / t.dim(0);
        java.util.Arrays.fill(d, row * per, (row + 1) * per, value);
        m.setParameter(name, Tensor.of(d, t.shape()));
    }
}
