package dev.shears.nn;

import dev.shears.core.GradMode;
import dev.shears.core.Tensor;
import dev.shears.core.TensorScope;

import java.util.ArrayList;
import java.util.List;

/**
 * A per-layer table of a {@link Sequential} or per-node table of a {@link Graph} for one input: output shape, parameters and forward FLOPs per
 * sample (what torchsummary and thop print). Shapes come from running the layers on a zero input, so they
 * are whatever the layers really produce, pruned or not.
 *
 * <p>FLOPs count a multiply-add as 2: conv 2·K·(C/G)·R·S·P·Q (+ K·P·Q with a bias), linear 2·in·out (+ out),
 * BatchNorm 2 per element (a scale and a shift once folded), ReLU 1 per element, max-pooling R·S − 1
 * comparisons per output, average pooling R·S per output (the adds and a division), global average pooling
 * 1 per input element, Add (inputs − 1) per output element; reshapes, concatenation, Identity and Dropout
 * (evaluation) are free.
 */
public final class Summary {

    public record Layer(String name, String description, int[] outputShape, long parameters, long flops) {}

    private Summary() {}

    /** Layers of {@code model} for an input of {@code sampleShape} (without the batch dimension, e.g. 1, 28, 28). */
    public static List<Layer> of(Sequential model, int... sampleShape) {
        return of((Module) model, sampleShape);
    }

    /**
     * Rows of {@code model} for an input of {@code sampleShape} (without the batch dimension): one per layer
     * of a {@link Sequential}, one per node of a {@link Graph}, else one for the module itself.
     */
    public static List<Layer> of(Module model, int... sampleShape) {
        int[] shape = new int[sampleShape.length + 1];
        shape[0] = 1;
        System.arraycopy(sampleShape, 0, shape, 1, sampleShape.length);
        List<Layer> layers = new ArrayList<>();
        boolean wasTraining = model.isTraining();
        model.eval();   // a batch of one in train mode would be a BatchNorm error, and would move its statistics
        try (GradMode ignored = GradMode.off(); TensorScope scope = TensorScope.open()) {
            Tensor x = Tensor.zeros(model.backend(), shape);
            switch (model) {
                case Sequential seq -> {
                    for (String name : seq.names()) {
                        Module m = seq.child(name);
                        int[] in = x.shape();
                        x = m.forward(x);
                        layers.add(row(name, m, in, 1, x));
                    }
                }
                case Graph g -> g.run(x, (name, m, inputs, y) -> layers.add(row(name, m, inputs.getFirst().shape(), inputs.size(), y)));
                default -> layers.add(row(model.getClass().getSimpleName(), model, x.shape(), 1, model.forward(x)));
            }
        } finally {
            model.train(wasTraining);
        }
        return layers;
    }

    private static Layer row(String name, Module m, int[] in, int inputs, Tensor y) {
        int[] out = y.shape();
        out[0] = 1;
        long flops = m instanceof Add ? (inputs - 1L) * elements(out) : flops(m, in, out);
        return new Layer(name, m.describe(), withoutBatch(out), m.parameterCount(), flops);
    }

    /** Elements per sample: the product of all but the batch dimension. */
    private static long elements(int[] shape) {
        long n = 1;
        for (int i = 1; i < shape.length; i++) n *= shape[i];
        return n;
    }

    static long flops(Module m, int[] in, int[] out) {
        long outElements = elements(out);
        return switch (m) {
            case Conv2d c -> 2L * c.weight().dim(1) * c.kernel() * c.kernel() * outElements + (c.bias() != null ? outElements : 0);
            case Linear l -> 2L * l.inFeatures() * l.outFeatures() + (l.bias() != null ? l.outFeatures() : 0);
            case BatchNorm2d b -> 2 * outElements;
            case ReLU r -> outElements;
            case MaxPool2d p -> (long) (p.kernel() * p.kernel() - 1) * outElements;
            case AvgPool2d p -> (long) p.kernel() * p.kernel() * outElements;
            case GlobalAvgPool2d p -> elements(in);
            default -> 0;
        };
    }

    private static int[] withoutBatch(int[] shape) {
        int[] s = new int[shape.length - 1];
        System.arraycopy(shape, 1, s, 0, s.length);
        return s;
    }
}
