package dev.shears.bench;

import dev.shears.core.Conv2dShape;
import org.openjdk.jmh.annotations.Param;

/**
 * SimpleCNN's two convolutions at batch 64, forward and both backward passes, in ms per call.
 * conv1: N=64, C=1, 28×28, K=32, 3×3, pad 1 (2·N·K·P·Q·C·R·S = 28.9 MFLOP);
 * conv2: N=64, C=32, 14×14, K=64, 3×3, pad 1 (462 MFLOP). GFLOPS = that / time.
 *
 * <pre>java --add-modules jdk.incubator.vector -jar benchmarks/target/benchmarks.jar ConvBenchmark -f 1 -wi 2 -i 3 -w 1 -r 2</pre>
 */
public class ConvBenchmark extends ConvPasses {
    @Param({"conv1", "conv2"}) public String layer;
    @Param({"cpu-1", "cpu-2"}) public String backendName;

    static Conv2dShape shape(String layer) {
        return switch (layer) {
            case "conv1" -> new Conv2dShape(64, 1, 28, 28, 32, 3, 3, 1, 1, 1, 1);
            case "conv2" -> new Conv2dShape(64, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1);
            default -> throw new IllegalArgumentException(layer);
        };
    }

    @Override protected Conv2dShape shape() { return shape(layer); }

    @Override protected String backendName() { return backendName; }
}
