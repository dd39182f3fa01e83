// What folding the pruned channels' leftover constant (BN β through ReLU) into the next layer is worth: prunes
// a saved sparse SimpleCNN four ways, with and without folding, and prints the accuracy right after (no fine-tuning).
//
//   java --add-modules jdk.incubator.vector -cp "$(cat prune/target/shears.classpath):prune/target/classes" \
//        prune/tools/FoldEffect.java DATA MODEL.safetensors...      (DATA: an MNIST-format directory, or - for the digits)
import dev.shears.data.Datasets;
import dev.shears.data.Mnist;
import dev.shears.nn.Sequential;
import dev.shears.nn.io.Checkpoints;
import dev.shears.prune.*;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

public class FoldEffect {
    public static void main(String[] a) throws Exception {
        Mnist d = a[0].equals("-") ? Datasets.embeddedDigits() : Datasets.load(Path.of(a[0]));
        for (int i = 1; i < a.length; i++) {
            Sequential m = Checkpoints.loadSimpleCNN(Path.of(a[i]));
            double acc = Training.accuracy(m, d.test());
            for (Criterion c : List.of(Criterion.threshold(0.01), Criterion.globalRatio(0.5), Criterion.globalRatio(0.7), Criterion.perLayerRatio(0.65))) {
                StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%s %s: before %.2f%%", Path.of(a[i]).getFileName(), c.describe(), 100 * acc));
                for (boolean fold : new boolean[]{true, false}) {
                    Sequential p = Pipeline.copy(m);
                    PruneResult r = new Pruner(Method.SLIM, c).fold(fold).prune(p, 1, 1, 28, 28);
                    sb.append(String.format(Locale.ROOT, " | %s %s %.2f%%", fold ? "folded" : "not folded", r.channelsAfter(), 100 * Training.accuracy(p, d.test())));
                }
                System.out.println(sb);
            }
        }
    }
}
