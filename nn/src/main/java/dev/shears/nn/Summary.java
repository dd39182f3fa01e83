package dev.shears.nn;

import dev.shears.core.GradMode;
import dev.shears.core.Tensor;
import dev.shears.core.TensorScope;

import java.util.ArrayList;
import java.util.List;

/**
 * A per-layer table of a {@link Sequential} for one input: output shape, parameters and forward FLOPs per
 * sample (what torchsummary and thop print). Shapes come from running the layers on a zero input, so they
 * are whatever the layers really produce, pruned or not.
 *
 * <p>FLOPs count a multiply-add as 2: conv 2·K·C·R·S·P·Q (+ K·P·Q with a bias), linear 2·in·out (+ out),
 * BatchNorm 2 per element (a scale and a shift once folded), ReLU 1 per element, max-pooling R·S − 1
 * comparisons per output; reshapes are free.
 */
public final class Summary {

    public record Layer(String name, String description, int[] outputShape, long parameters, long flops) {}

    private Summary() {}

    /** Layers of {@code model} for an input of {@code sampleShape} (without the batch dimension, e.g. 1, 28, 28). */
    public static List<Layer> of(Sequential model, int... sampleShape) {
        int[] shape = new int[sampleShape.length + 1];
        shape[0] = 1;
        System.arraycopy(sampleShape, 0, shape, 1, sampleShape.length);
        List<Layer> layers = new ArrayList<>();
        boolean wasTraining = model.isTraining();
        model.eval();   // a batch of one in train mode would be a BatchNorm error, and would move its statistics
        try (GradMode ignored = GradMode.off(); TensorScope scope = TensorScope.open()) {
            Tensor x = Tensor.zeros(model.backend(), shape);
            for (String name : model.names()) {
                Module m = model.child(name);
                int[] in = x.shape();
                x = m.forward(x);
                int[] out = x.shape();
                out[0] = 1;
                layers.add(new Layer(name, m.describe(), withoutBatch(out), m.parameterCount(), flops(m, in, out)));
            }
        } finally {
            model.train(wasTraining);
        }
        return layers;
    }

    static long flops(Module m, int[] in, int[] out) {
        long outElements = 1;
        for (int i = 1; i < out.length; i++) outElements *= out[i];
        return switch (m) {
            case Conv2d c -> 2L * c.inChannels() * c.kernel() * c.kernel() * outElements + (c.bias() != null ? outElements : 0);
            case Linear l -> 2L * l.inFeatures() * l.outFeatures() + (l.bias() != null ? l.outFeatures() : 0);
            case BatchNorm2d b -> 2 * outElements;
            case ReLU r -> outElements;
            case MaxPool2d p -> (long) (p.kernel() * p.kernel() - 1) * outElements;
            default -> 0;
        };
    }

    private static int[] withoutBatch(int[] shape) {
        int[] s = new int[shape.length - 1];
        System.arraycopy(shape, 1, s, 0, s.length);
        return s;
    }
}
