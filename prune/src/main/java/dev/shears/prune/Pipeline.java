package dev.shears.prune;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.shears.data.DataLoader;
import dev.shears.data.Datasets;
import dev.shears.data.Mnist;
import dev.shears.nn.Conv2d;
import dev.shears.nn.Linear;
import dev.shears.nn.Sequential;
import dev.shears.nn.SimpleCNN;
import dev.shears.nn.io.Checkpoints;
import dev.shears.nn.train.Trainer;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * The whole story on a SimpleCNN: train with a sparsity penalty → prune → fine-tune → report, with the γ
 * histogram (against a normally trained twin) and the sensitivity curves. What {@code shears demo} runs; usable
 * from Java as {@code Pipeline.run(config, System.out)}.
 *
 * <p>Files written to {@code out}: {@code sparse.safetensors} (before pruning), {@code pruned.safetensors}
 * (right after), {@code finetuned.safetensors}, {@code report.md}, {@code report.json}, and the PNG plots.
 */
public final class Pipeline {
    private Pipeline() {}

    /**
     * @param lambda      sparsity strength: on BN γ for SLIM, on conv weights for L1 (0 for none)
     * @param baseline    also train a λ = 0 twin, for the γ histogram's comparison
     * @param sensitivity also measure accuracy against pruning ratio (per layer and global)
     * @param fineTuneLrStep fine-tuning multiplies the learning rate by {@code fineTuneLrGamma} every this many
     *                       epochs (PyTorch's StepLR); 0 for a constant rate
     * @param batchSize   the mini-batch of every training run (sparse, the twin, fine-tuning)
     */
    public record Config(Path out, Method method, Criterion criterion, MinKeep minKeep, float lambda,
                         int trainEpochs, int fineTuneEpochs, float lr, long seed, boolean baseline,
                         boolean sensitivity, int latencyRepeats, List<String> commands,
                         int fineTuneLrStep, float fineTuneLrGamma, int batchSize) {

        /** With a constant fine-tuning rate. */
        public Config(Path out, Method method, Criterion criterion, MinKeep minKeep, float lambda, int trainEpochs,
                      int fineTuneEpochs, float lr, long seed, boolean baseline, boolean sensitivity,
                      int latencyRepeats, List<String> commands) {
            this(out, method, criterion, minKeep, lambda, trainEpochs, fineTuneEpochs, lr, seed, baseline, sensitivity,
                    latencyRepeats, commands, 0, 0.1f, DataLoader.DEFAULT_BATCH_SIZE);
        }
    }

    /** The sparse model, its training options, the plots drawn so far, the λ = 0 twin's test accuracy (NaN without one). */
    private record Trained(Sequential model, Training.Options train, List<String> plots, double accNormal) {}

    /** Sparse training on {@code trainSet}, then the γ histogram and the sensitivity plot (on the test set: a picture, never a decision) if asked. */
    private static Trained trainSparse(Config c, dev.shears.data.Dataset trainSet, Mnist data, String dataName, Consumer<String> log) throws IOException {
        Files.createDirectories(c.out());
        int[] one = {1, 1, data.train().rows(), data.train().cols()};
        Training.Options train = Training.Options.defaults(c.trainEpochs()).withLr(c.lr()).withSeed(c.seed()).withBatchSize(c.batchSize());
        List<String> plots = new ArrayList<>();

        Sparsity sparsity = c.method() == Method.SLIM ? Sparsity.bnScales(c.lambda()) : Sparsity.convWeights(c.lambda());
        log.accept(String.format(Locale.ROOT, "training SimpleCNN on %s: %d epochs, lr %s, sparsity λ = %s on %s", dataName, c.trainEpochs(),
                c.lr(), c.lambda(), c.method() == Method.SLIM ? "BN γ" : "conv weights"));
        Sequential model = SimpleCNN.create(c.seed());
        Training.train(model, trainSet, train, sparsity, r -> epochLine(log, r));
        Checkpoints.save(model, c.out().resolve("sparse.safetensors"));

        double accNormal = Double.NaN;
        if (c.baseline() && c.method() == Method.SLIM) {
            log.accept("training the λ = 0 twin for the γ histogram");
            Sequential normal = SimpleCNN.create(c.seed());
            Training.train(normal, trainSet, train, null, r -> epochLine(log, r));
            accNormal = Training.accuracy(normal, data.test());
            Plots.gammaHistogram(Plots.of("normal training", Plots.allGammas(normal), "sparse, λ = " + c.lambda(), Plots.allGammas(model)),
                    25, c.out().resolve("gamma-histogram.png"));
            plots.add("gamma-histogram.png");
        }
        if (c.sensitivity()) {
            log.accept("sensitivity: accuracy against pruning ratio, no fine-tuning");
            double[] ratios = {0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9};
            Sequential frozen = copy(model);
            var curves = Sensitivity.measure(() -> copy(frozen), c.method(), ratios, data.test(), one);
            Plots.sensitivity(curves, "Sensitivity of SimpleCNN (" + c.method().name().toLowerCase() + ", " + shortName(dataName) + ")",
                    c.out().resolve("sensitivity.png"));
            plots.add("sensitivity.png");
        }
        return new Trained(model, train, plots, accNormal);
    }

    /**
     * The demo with a budget instead of a criterion: sparse training on the training images less a seeded validation
     * split, then {@link BudgetRun} (the search, and the uniform and global ratios at the same budget, each fine-tuned
     * {@code c.fineTuneEpochs()} epochs). Writes sparse.safetensors, finetuned.safetensors (the searched model),
     * report.md, report.json and the plots, budget.png among them.
     */
    public static BudgetReport runBudget(Config c, Budget budget, Mnist data, String dataName, Consumer<String> log) throws IOException {
        int[] one = {1, 1, data.train().rows(), data.train().cols()};
        ValidationSplit split = ValidationSplit.of(data.train(), c.seed());
        log.accept(String.format(Locale.ROOT, "validation split: %,d training images held out of all training, for the search's decisions",
                split.validation().size()));
        Trained t = trainSparse(c, split.fit(), data, dataName, log);
        Training.Options tune = t.train().withEpochs(c.fineTuneEpochs());
        if (c.fineTuneLrStep() > 0) tune = tune.withStepLR(c.fineTuneLrStep(), c.fineTuneLrGamma());
        var setup = new BudgetRun.Setup(c.method(), budget, c.minKeep(), true, 1, 0, c.fineTuneEpochs(), tune, 2000, c.latencyRepeats());
        BudgetReport report = BudgetRun.run(t.model(), one, split, data.test(), setup, log);
        Checkpoints.save(t.model(), c.out().resolve("finetuned.safetensors"));
        List<String> plots = new ArrayList<>(t.plots());
        Plots.budgetPath(report, "Budget search on SimpleCNN (" + c.method().name().toLowerCase(Locale.ROOT) + ", " + budget.describe() + ")",
                c.out().resolve("budget.png"));
        plots.add("budget.png");
        StringBuilder md = new StringBuilder(report.toMarkdown());
        md.append(String.format(Locale.ROOT, "%nSparse training: SimpleCNN on %s less the validation split, λ = %s, %d epochs, lr %s, batch %d.%n",
                dataName, c.lambda(), c.trainEpochs(), c.lr(), c.batchSize()));
        md.append("\n## Plots\n\n");
        for (String p : plots) md.append("![").append(p).append("](").append(p).append(")\n\n");
        md.append("## Reproduce\n\n```\n");
        for (String cmd : c.commands()) md.append(cmd).append('\n');
        md.append("```\n");
        Files.writeString(c.out().resolve("report.md"), md);
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(c.out().resolve("report.json").toFile(), report.toMap());
        return report;
    }

    /** On the embedded digits, logging to {@code log}. */
    public static PruneReport run(Config c, PrintStream log) throws IOException {
        return run(c, Datasets.embeddedDigits(), "embedded digits (8,000 train / 2,000 test)", log::println);
    }

    public static PruneReport run(Config c, Mnist data, String dataName, Consumer<String> log) throws IOException {
        int[] one = {1, 1, data.train().rows(), data.train().cols()};
        Trained t = trainSparse(c, data.train(), data, dataName, log);
        Sequential model = t.model();
        Training.Options train = t.train();
        List<String> plots = t.plots();
        double accNormal = t.accNormal();

        double accBefore = Training.accuracy(model, data.test());
        Sequential unpruned = copy(model);   // kept for the latency comparison at the end

        PruneResult result = new Pruner(c.method(), c.criterion()).minKeep(c.minKeep()).prune(model, one);
        for (String w : result.warnings()) log.accept("warning: " + w);
        double accPruned = Training.accuracy(model, data.test());
        Checkpoints.save(model, c.out().resolve("pruned.safetensors"));
        log.accept(String.format(Locale.ROOT, "pruned: %s; accuracy %.2f%% → %.2f%%", result.channelsAfter(), 100 * accBefore, 100 * accPruned));

        double accTuned = Double.NaN;
        if (c.fineTuneEpochs() > 0) {
            Training.Options tune = train.withEpochs(c.fineTuneEpochs());
            if (c.fineTuneLrStep() > 0) tune = tune.withStepLR(c.fineTuneLrStep(), c.fineTuneLrGamma());
            log.accept(String.format(Locale.ROOT, "fine-tuning %d epochs with a fresh SGD%s", c.fineTuneEpochs(), fineTuneSchedule(c)));
            Training.fineTune(model, data.train(), tune, r -> epochLine(log, r));
            accTuned = Training.accuracy(model, data.test());
            Checkpoints.save(model, c.out().resolve("finetuned.safetensors"));
        }
        log.accept("latency: unpruned and pruned models, interleaved");
        double[] lat1 = Latency.compare(List.of(unpruned, model), 20, c.latencyRepeats(), 1, 1, one[2], one[3]);
        double[] lat64 = Latency.compare(List.of(unpruned, model), 5, c.latencyRepeats(), 64, 1, one[2], one[3]);
        var perLayer = Latency.perLayer(List.of(unpruned, model), 5, c.latencyRepeats(), 64, 1, one[2], one[3]);
        var layersBefore = perLayer.get(0);
        var layersAfter = perLayer.get(1);
        var layerMillis = new java.util.LinkedHashMap<String, double[]>();
        layersBefore.forEach((k, v) -> layerMillis.put(k, new double[]{v, layersAfter.getOrDefault(k, Double.NaN)}));

        String setup = String.format(Locale.ROOT, "SimpleCNN on %s; %s pruning by %s (minimum kept: %s); sparse training "
                        + "λ = %s, %d epochs, lr %s, momentum 0.9, batch %d; fine-tuning %d epochs%s; backend %s. %s",
                dataName, c.method().name().toLowerCase(), c.criterion().describe(), c.minKeep(), c.lambda(), c.trainEpochs(), c.lr(), c.batchSize(),
                c.fineTuneEpochs(), fineTuneSchedule(c), model.backend().name(), Latency.method(c.latencyRepeats(), model));
        PruneReport report = new PruneReport("Pruning report", setup, result, accBefore, accPruned, accTuned, accNormal,
                lat1[0], lat1[1], lat64[0], lat64[1], plots, c.commands(), layerMillis);
        Files.writeString(c.out().resolve("report.md"), report.toMarkdown());
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(c.out().resolve("report.json").toFile(), report.toMap());
        return report;
    }

    private static String shortName(String dataName) { return dataName.startsWith("embedded") ? "embedded digits" : dataName; }

    /** ", lr × γ every N epochs" for a fine-tuning schedule, else "". */
    private static String fineTuneSchedule(Config c) {
        return c.fineTuneLrStep() > 0 ? String.format(Locale.ROOT, ", lr × %s every %d epochs", c.fineTuneLrGamma(), c.fineTuneLrStep()) : "";
    }

    private static void epochLine(Consumer<String> log, Trainer.EpochResult r) {
        log.accept(String.format(Locale.ROOT, "  epoch %d: loss %.4f, train accuracy %.2f%%, %.1f s", r.epoch() + 1, r.loss(), 100 * r.accuracy(), r.seconds()));
    }

    /** A SimpleCNN of the same widths holding copies of {@code m}'s tensors. */
    public static Sequential copy(Sequential m) {
        Sequential c = SimpleCNN.create(((Conv2d) m.child("conv1")).outChannels(), ((Conv2d) m.child("conv2")).outChannels(),
                ((Linear) m.child("fc1")).outFeatures(), 0);
        var state = new java.util.LinkedHashMap<String, dev.shears.core.Tensor>();
        m.stateDict().forEach((k, t) -> state.put(k, dev.shears.core.Tensor.of(t.backend(), t.toArray(), t.shape())));
        c.loadStateDict(state, false);
        c.train(m.isTraining());
        return c;
    }

    /** A SimpleCNN of whatever widths {@code file} holds (a pruned checkpoint). */
    public static Sequential load(Path file) throws IOException { return Checkpoints.loadSimpleCNN(file); }

}
