package dev.shears.examples;

import dev.shears.data.Dataset;
import dev.shears.data.Datasets;
import dev.shears.data.Mnist;
import dev.shears.nn.Sequential;
import dev.shears.nn.SimpleCNN;
import dev.shears.nn.io.Checkpoints;
import dev.shears.nn.optim.SGD;
import dev.shears.nn.train.Trainer;

import java.nio.file.Path;

public class ReadmeExample {

    public static void main(String[] args) throws Exception {
        Mnist digits = Datasets.embeddedDigits();   // 8,000 + 2,000 real MNIST digits shipped in the jar
        Trainer.Evaluation test = trainOneEpoch(digits.train(), digits.test(), Path.of("simplecnn.safetensors"));
        System.out.printf("test accuracy %.2f%% on %d images%n", 100 * test.accuracy(), test.samples());
    }

    /** Builds SimpleCNN, trains it for one epoch, evaluates it on {@code test} and saves it to {@code file}. */
    public static Trainer.Evaluation trainOneEpoch(Dataset train, Dataset test, Path file) throws Exception {
        Sequential model = SimpleCNN.create(42);   // seeded, PyTorch's default initialisation
        SGD sgd = new SGD(model.parameters(), 0.01f, 0.9f, 0f);   // lr, momentum, weight decay
        Trainer trainer = new Trainer(model, sgd);
        Trainer.EpochResult epoch = trainer.trainEpoch(train, 64, 42, 0);   // batch 64, shuffle seed, epoch 0
        System.out.printf("loss %.4f, %.0f samples/s%n", epoch.loss(), epoch.samplesPerSecond());

        Trainer.Evaluation result = Trainer.evaluate(model, test, 256);   // eval mode, no graph
        Checkpoints.save(model, file);   // safetensors with PyTorch's names: load_state_dict works on it
        Sequential reloaded = Checkpoints.loadSimpleCNN(file);   // widths come from the file, so pruned models reload
        System.out.printf("reloaded %,d parameters%n", reloaded.parameterCount());
        return result;
    }
}
