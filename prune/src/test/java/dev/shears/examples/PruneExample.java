package dev.shears.examples;

import dev.shears.data.Dataset;
import dev.shears.data.Datasets;
import dev.shears.data.Mnist;
import dev.shears.nn.Sequential;
import dev.shears.nn.SimpleCNN;
import dev.shears.nn.io.Checkpoints;
import dev.shears.prune.Criterion;
import dev.shears.prune.Method;
import dev.shears.prune.MinKeep;
import dev.shears.prune.PruneResult;
import dev.shears.prune.Pruner;
import dev.shears.prune.Sparsity;
import dev.shears.prune.Training;

import java.nio.file.Path;

public class PruneExample {

    public static void main(String[] args) throws Exception {
        Mnist digits = Datasets.embeddedDigits();
        PruneResult r = slim(digits.train(), digits.test(), 10, Path.of("slim.safetensors"));
        System.out.printf("channels %s -> %s, parameters %,d -> %,d, FLOPs %,d -> %,d%n", r.channelsBefore(), r.channelsAfter(),
                r.before().parameters(), r.after().parameters(), r.before().flops(), r.after().flops());
    }

    /** Network Slimming: sparse training, a global 70% cut of the BatchNorm channels, fine-tuning, save. */
    public static PruneResult slim(Dataset train, Dataset test, int epochs, Path file) throws Exception {
        Sequential model = SimpleCNN.create(0);
        // λ·Σ|γ| over every BatchNorm scale, added to the loss through the Trainer's regularizer hook
        Training.train(model, train, Training.Options.defaults(epochs), Sparsity.bnScales(2e-2f), null);
        System.out.printf("sparse model: %.2f%%%n", 100 * Training.accuracy(model, test));

        PruneResult r = new Pruner(Method.SLIM, Criterion.globalRatio(0.7))   // or threshold(0.01), perLayerRatio(0.5)
                .minKeep(MinKeep.fraction(0.1))                                  // never below 10% of a layer
                .prune(model, 1, 1, 28, 28);                                     // shrinks the model in place
        r.warnings().forEach(w -> System.out.println("warning: " + w));         // a layer the cut would have emptied
        System.out.printf("right after pruning: %.2f%%%n", 100 * Training.accuracy(model, test));

        Training.fineTune(model, train, Training.Options.defaults(3), null);      // a fresh SGD over the new tensors
        System.out.printf("fine-tuned: %.2f%%%n", 100 * Training.accuracy(model, test));
        Checkpoints.save(model, file);   // loads back with Checkpoints.loadSimpleCNN, and into PyTorch at these widths
        return r;
    }
}
