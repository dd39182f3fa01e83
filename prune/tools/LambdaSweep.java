// Sparsity strength sweep behind the demo's default λ: for each λ, sparse-train a SimpleCNN (seed 0, SGD lr 0.01,
// momentum 0.9, batch 64), print the test accuracy and how many BatchNorm |γ| fell below 0.01 / 0.05, then prune
// copies of it four ways and print channels, parameter and FLOP reductions, accuracy right after pruning and,
// for the ratio cuts, after FT epochs of fine-tuning. Saves each sparse model under /tmp/shears-sweep/.
//
//   bin/shears --version >/dev/null   # builds prune/target and its classpath file
//   java --add-modules jdk.incubator.vector -cp "$(cat prune/target/shears.classpath):prune/target/classes" \
//        prune/tools/LambdaSweep.java DATA EPOCHS FT λ...          (DATA: an MNIST-format directory, or - for the digits)
import dev.shears.data.Datasets;
import dev.shears.data.Mnist;
import dev.shears.nn.Sequential;
import dev.shears.nn.SimpleCNN;
import dev.shears.nn.io.Checkpoints;
import dev.shears.prune.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

public class LambdaSweep {
    record Cut(Criterion criterion, MinKeep minKeep, boolean fineTune) {}

    public static void main(String[] a) throws Exception {
        Mnist d = a[0].equals("-") ? Datasets.embeddedDigits() : Datasets.load(Path.of(a[0]));
        int epochs = Integer.parseInt(a[1]), ft = Integer.parseInt(a[2]);
        Path saved = Files.createDirectories(Path.of("/tmp/shears-sweep"));
        List<Cut> cuts = List.of(new Cut(Criterion.threshold(0.01), MinKeep.ONE, false),
                new Cut(Criterion.globalRatio(0.7), MinKeep.ONE, true),
                new Cut(Criterion.globalRatio(0.7), MinKeep.fraction(0.25), true),
                new Cut(Criterion.perLayerRatio(0.65), MinKeep.ONE, true));
        for (int i = 3; i < a.length; i++) {
            float lambda = Float.parseFloat(a[i]);
            Sequential m = SimpleCNN.create(0);
            long t0 = System.nanoTime();
            Training.train(m, d.train(), Training.Options.defaults(epochs), Sparsity.bnScales(lambda), null);
            double acc = Training.accuracy(m, d.test());
            Checkpoints.save(m, saved.resolve((a[0].equals("-") ? "digits" : Path.of(a[0]).getFileName()) + "-" + epochs + "-" + lambda + ".safetensors"));
            float[] g = Plots.allGammas(m);
            for (int j = 0; j < g.length; j++) g[j] = Math.abs(g[j]);
            Arrays.sort(g);
            long below01 = 0, below05 = 0;
            for (float v : g) { if (v < 0.01f) below01++; if (v < 0.05f) below05++; }
            System.out.printf(Locale.ROOT, "λ=%g epochs=%d acc=%.2f%% train %.0fs | |γ| median %.4f, <0.01: %d/%d, <0.05: %d%n",
                    lambda, epochs, 100 * acc, (System.nanoTime() - t0) / 1e9, g[g.length / 2], below01, g.length, below05);
            for (Cut c : cuts) {
                Sequential p = Pipeline.copy(m);
                PruneResult r = new Pruner(Method.SLIM, c.criterion()).minKeep(c.minKeep()).prune(p, 1, 1, 28, 28);
                double pruned = Training.accuracy(p, d.test());
                String tuned = "";
                if (ft > 0 && c.fineTune()) {
                    Training.fineTune(p, d.train(), Training.Options.defaults(ft), null);
                    tuned = String.format(Locale.ROOT, " ft%d=%.2f%%", ft, 100 * Training.accuracy(p, d.test()));
                }
                System.out.printf(Locale.ROOT, "   %-22s %-18s %s ch -%.1f%% params -%.1f%% flops %.2fx  pruned acc %.2f%%%s %s%n",
                        c.criterion().describe(), c.minKeep(), r.channelsAfter(), 100 * r.channelReduction(), 100 * r.parameterReduction(),
                        (double) r.before().flops() / r.after().flops(), 100 * pruned, tuned, r.warnings().isEmpty() ? "" : "WARN " + r.warnings());
            }
        }
    }
}
