package dev.shears.examples;

import dev.shears.data.Datasets;
import dev.shears.data.Mnist;
import dev.shears.nn.Sequential;
import dev.shears.nn.io.Checkpoints;
import dev.shears.prune.reconstruct.ReconstructionResult;
import dev.shears.prune.reconstruct.Reconstructor;
import dev.shears.prune.reconstruct.Samples;
import dev.shears.prune.reconstruct.Selection;

import java.nio.file.Path;

public class ReconstructExample {

    public static void main(String[] args) throws Exception {
        Sequential model = Checkpoints.loadSimpleCNN(Path.of(args[0]));   // a trained SimpleCNN
        reconstruct(model, Datasets.embeddedDigits(), 5000);
        Checkpoints.save(model, Path.of(args[1]));
    }

    /** Removes half the channels of every conv layer and re-fits the next layers from {@code images} training images. */
    public static ReconstructionResult.Accuracy reconstruct(Sequential model, Mnist data, int images) {
        ReconstructionResult r = Reconstructor.prune(model, 0.5, Selection.LASSO, Samples.of(data.train(), images));
        ReconstructionResult.Accuracy acc = r.accuracy(data.test());   // original, naive slicing, reconstructed
        System.out.println(r.toMarkdown(acc));                     // the per-layer errors, timings and accuracies
        return acc;                                                // and model is now the pruned, re-fitted network
    }
}
