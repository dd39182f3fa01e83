package dev.shears.prune.reconstruct;

import dev.shears.core.GradMode;
import dev.shears.core.Tensor;
import dev.shears.core.TensorScope;
import dev.shears.data.Dataset;
import dev.shears.nn.Module;
import dev.shears.nn.Sequential;

import java.util.Arrays;
import java.util.List;

/** Runs a prefix of a {@link Sequential} on chosen images in batches and hands over intermediate values. */
final class Activations {
    static final int BATCH = 250;

    private Activations() {}

    /** Receives the input of layer {@code layer} for images[first .. first + shape[0]) of the chosen list. */
    interface Sink { void accept(int layer, float[] values, int[] shape, int first); }

    /**
     * Feeds {@code images} of {@code data} through {@code model} (evaluation mode, no graph) and, for every
     * index in {@code layers}, passes the tensor entering that layer (an index equal to the number of
     * layers means the model's output) to {@code sink}. Only the layers needed for the last capture run.
     */
    static void capture(Sequential model, Dataset data, int[] images, int[] layers, Sink sink) {
        List<Module> mods = model.layers();
        int last = Arrays.stream(layers).max().orElse(0);
        int pixels = data.imageSize();
        model.eval();
        for (int first = 0; first < images.length; first += BATCH) {
            int n = Math.min(BATCH, images.length - first);
            float[] x = new float[n * pixels];
            for (int i = 0; i < n; i++) System.arraycopy(data.images(), images[first + i] * pixels, x, i * pixels, pixels);
            try (GradMode g = GradMode.off(); TensorScope s = TensorScope.open()) {
                Tensor t = Tensor.of(x, n, 1, data.rows(), data.cols());
                for (int l = 0; l <= last; l++) {
                    for (int want : layers) if (want == l) sink.accept(l, t.toArray(), t.shape(), first);
                    if (l < mods.size() && l < last) t = mods.get(l).forward(t);
                }
            }
        }
    }
}
