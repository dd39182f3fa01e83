package dev.shears.examples;

import dev.shears.data.Dataset;
import dev.shears.data.Datasets;
import dev.shears.data.Mnist;
import dev.shears.nn.Predictor;
import dev.shears.nn.Sequential;
import dev.shears.nn.SimpleCNN;
import dev.shears.nn.io.Checkpoints;
import dev.shears.nn.optim.SGD;
import dev.shears.nn.train.Trainer;

import java.nio.file.Path;
import java.util.Arrays;

public class ReadmeExample {

    public static void main(String[] args) throws Exception {
        Mnist digits = Datasets.embeddedDigits();   // 8,000 + 2,000 real MNIST digits shipped in the jar
        Trainer.Evaluation test = trainOneEpoch(digits.train(), digits.test(), Path.of("simplecnn.safetensors"));
        System.out.printf("test accuracy %.2f%% on %d images%n", 100 * test.accuracy(), test.samples());

        Sequential model = Checkpoints.loadSimpleCNN(Path.of("simplecnn.safetensors"));
        Predictor predictor = Predictor.of(model, 1, 1, 28, 28);   // up to 1 image a call, each 1×28×28
        float[] first = Arrays.copyOf(digits.test().images(), 28 * 28);
        System.out.printf("the first test image is a %d; the model says %d%n", digits.test().labels()[0], predict(predictor, first));
    }

    /**
     * The class of one 28×28 image (values in 0..1), as a program serving requests would ask for it. The
     * Predictor is built once per model (BatchNorm folded into the convolutions, every buffer allocated): its
     * calls allocate nothing, may come from any number of threads, and refuse to run on weights changed after
     * it was built. The first calls of a fresh JVM run interpreted (about 2 ms a pass for a second or so);
     * after that a SimpleCNN's pass at batch 1 takes tens of µs, a pruned one about 10.
     */
    public static int predict(Predictor predictor, float[] image) {
        return predictor.classify(image);   // the index of the largest of the 10 logits
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
