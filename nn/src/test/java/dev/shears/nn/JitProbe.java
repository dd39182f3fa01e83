package dev.shears.nn;

import dev.shears.core.GradMode;
import dev.shears.core.Tensor;
import dev.shears.core.TensorScope;
import dev.shears.nn.optim.SGD;
import dev.shears.nn.train.Trainer;

import java.util.Random;

/**
 * Runs every CPU kernel a SimpleCNN uses once or a few times — training steps of the full and of a pruned
 * width, inference at batch 1 and 64 — and those of two graph models (depthwise and grouped convolutions,
 * average and global pooling, concatenation) for {@link KernelsCompileTest}, which runs it in a JVM that
 * compiles each method with C1 on first use.
 */
public final class JitProbe {
    public static void main(String[] args) {
        Random r = new Random(0);
        for (int[] widths : new int[][]{{32, 64, 128}, {14, 15, 128}}) {
            Sequential model = SimpleCNN.create(widths[0], widths[1], widths[2], 0);
            Trainer trainer = new Trainer(model, new SGD(model.parameters(), 0.01f, 0.9f, 0f));
            float[] x = new float[4 * 28 * 28];
            int[] labels = new int[4];
            for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
            for (int i = 0; i < labels.length; i++) labels[i] = r.nextInt(10);
            for (int step = 0; step < 2; step++) trainer.step(x, labels, 1, 28, 28);
            model.eval();
            try (GradMode g = GradMode.off()) {
                for (int batch : new int[]{1, 4})
                    try (TensorScope s = TensorScope.open()) {
                        model.forward(Tensor.randn(1, batch, 1, 28, 28)).toArray();
                    }
            }
        }
        for (Graph g : new Graph[]{GraphTest.residualNet(0), GraphParityTest.net()}) {
            int channels = ((Conv2d) g.node("conv1")).inChannels(), side = channels == 1 ? 28 : 12;
            Trainer trainer = new Trainer(g, new SGD(g.parameters(), 0.01f, 0.9f, 0f));
            float[] x = new float[4 * channels * side * side];
            for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
            for (int step = 0; step < 2; step++) trainer.step(x, new int[]{0, 1, 2, 3}, channels, side, side);
            g.eval();
            try (GradMode off = GradMode.off(); TensorScope s = TensorScope.open()) {
                g.forward(Tensor.randn(1, 1, channels, side, side)).toArray();
            }
        }
    }
}
