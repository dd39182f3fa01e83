package dev.shears.cli;

import dev.shears.data.DataLoader;
import dev.shears.data.Mnist;
import dev.shears.nn.Sequential;
import dev.shears.nn.io.Checkpoints;
import dev.shears.nn.optim.SGD;
import dev.shears.nn.optim.StepLR;
import dev.shears.nn.train.Trainer;
import picocli.CommandLine.Command;
import dev.shears.prune.Sparsity;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

@Command(name = "train", mixinStandardHelpOptions = true,
        description = {"Train SimpleCNN with SGD and report test accuracy after every epoch.",
                "Starts from --model if given (its widths, so a pruned model trains as it is), else from fresh weights (--seed)."})
final class TrainCommand extends ShearsCommand {
    /** Evaluation only runs forwards: a larger batch is faster and gives the same numbers. */
    static final int EVAL_BATCH = 256;

    @Mixin TrainingOptions training;
    @Mixin ScheduleOptions schedule;

    @Option(names = "--sparsity-l1", paramLabel = "λ", defaultValue = "0",
            description = "Network Slimming's sparse training: add λ·Σ|γ| over every BatchNorm scale to the loss (default: ${DEFAULT-VALUE}, none).")
    float sparsityL1;

    @Option(names = "--measure-heap",
            description = "After every epoch, run a full garbage collection and report the Java heap still in use "
                    + "(JSON: heap_bytes per epoch), to check that memory stays flat from epoch to epoch.")
    boolean measureHeap;

    @Override
    protected int run() throws Exception {
        if (training.epochs < 0) throw usageError("--epochs must be >= 0, got " + training.epochs);
        Mnist data = loadData();
        Sequential model = loadOrCreateModel();
        log("training SimpleCNN (%,d parameters) on %s, %d thread(s): %d epochs, batch %d, SGD lr %s momentum %s weight decay %s",
                model.parameterCount(), deviceName(), threads(), training.epochs, common.batchSize, training.lr,
                training.momentum, training.weightDecay);
        if (schedule.problem() != null) throw usageError(schedule.problem());
        SGD sgd = new SGD(model.parameters(), training.lr, training.momentum, training.weightDecay);
        StepLR stepLr = schedule.over(sgd);
        Trainer trainer = new Trainer(model, sgd);
        if (!(sparsityL1 >= 0) || Float.isInfinite(sparsityL1))
            throw usageError("--sparsity-l1 must be finite and >= 0, got " + sparsityL1);
        if (sparsityL1 > 0) trainer.regularizer(Sparsity.bnScales(sparsityL1)::penalty);
        DataLoader loader = new DataLoader(data.train(), common.batchSize, true, common.seed);
        int[] imageShape = {1, data.train().rows(), data.train().cols()};

        List<Map<String, Object>> epochs = new ArrayList<>();
        Trainer.Evaluation test = null;
        double trainSeconds = 0;
        for (int e = 0; e < training.epochs; e++) {
            Trainer.EpochResult r;
            try (ConsoleProgress bar = progress(String.format("epoch %d/%d", e + 1, training.epochs), loader.batchesPerEpoch())) {
                r = trainer.progress(bar).trainEpoch(loader, e, imageShape);
            }
            trainSeconds += r.seconds();
            test = Trainer.evaluate(model, data.test(), EVAL_BATCH);
            log("epoch %d/%d: loss %.4f, train accuracy %.2f%%, %,.0f samples/s (%.1f s); test loss %.4f, test accuracy %.2f%%",
                    e + 1, training.epochs, r.loss(), 100 * r.accuracy(), r.samplesPerSecond(), r.seconds(), test.loss(), 100 * test.accuracy());
            Map<String, Object> epoch = new LinkedHashMap<>();
            epoch.put("epoch", e + 1);
            epoch.put("lr", sgd.lr());
            epoch.put("loss", r.loss());
            epoch.put("accuracy", r.accuracy());
            epoch.put("samples", r.samples());
            epoch.put("seconds", r.seconds());
            epoch.put("samples_per_s", r.samplesPerSecond());
            epoch.put("test_loss", test.loss());
            epoch.put("test_accuracy", test.accuracy());
            long deviceBytes = backend.deviceBytes();
            if (deviceBytes >= 0) {
                // every step runs in a TensorScope: what the device holds must not grow from epoch to epoch
                log("device memory held: %,d bytes", deviceBytes);
                epoch.put("device_bytes", deviceBytes);
            }
            if (measureHeap) {
                long heap = heapAfterGc();
                log("Java heap in use after a full GC: %,d bytes", heap);
                epoch.put("heap_bytes", heap);
            }
            epochs.add(epoch);
            if (stepLr != null) stepLr.step();
        }
        if (test == null) test = Trainer.evaluate(model, data.test(), EVAL_BATCH);
        if (common.out != null) {
            Checkpoints.save(model, common.out, Map.of("shears.command", "train", "shears.data", common.data));
            log("saved %s", common.out);
        }

        say("trained %d epoch(s) in %.1f s on %s: test accuracy %.2f%%, test loss %.4f (%,d test images)%s",
                training.epochs, trainSeconds, deviceName(), 100 * test.accuracy(), test.loss(), test.samples(),
                common.out == null ? "" : "; model saved to " + common.out);
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("command", "train");
        json.put("device", deviceName());
        json.put("threads", threads());
        json.put("data", common.data);
        json.put("batch_size", common.batchSize);
        json.put("lr", training.lr);
        json.put("momentum", training.momentum);
        json.put("weight_decay", training.weightDecay);
        json.put("lr_step", schedule.step);
        json.put("lr_gamma", schedule.gamma);
        json.put("sparsity_l1", sparsityL1);
        json.put("seed", common.seed);
        json.put("parameters", model.parameterCount());
        json.put("epochs", epochs);
        json.put("train_seconds", trainSeconds);
        json.put("test_accuracy", test.accuracy());
        json.put("test_loss", test.loss());
        json.put("test_samples", test.samples());
        json.put("model", common.out == null ? null : common.out.toString());
        emitJson(json);
        return 0;
    }

    /** The heap in use once a full collection has run: what is still reachable, without the garbage of the epoch. */
    private static long heapAfterGc() {
        System.gc();   // a full, stop-the-world collection with G1 and the other collectors of the JDK's default setup
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }
}
