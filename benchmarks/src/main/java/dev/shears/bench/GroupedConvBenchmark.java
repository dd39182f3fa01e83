package dev.shears.bench;

import dev.shears.core.Conv2dShape;
import org.openjdk.jmh.annotations.Param;

/**
 * Grouped convolutions at batch 32, forward and both backward passes, in ms per call, against the scalar
 * reference (the naive baseline) and the SIMD twin switched off (cpu-scalar-1):
 * dw1: depthwise 3×3, 32 channels of 28×28, stride 1, pad 1 (2·N·K·P·Q·R·S = 14.5 MFLOP);
 * dw2: depthwise 3×3, 64 channels of 28×28, stride 2, pad 1 (7.2 MFLOP);
 * g4: 4 groups, 64 → 64 channels (16 → 16 per group), 3×3 on 14×14, pad 1 (116 MFLOP).
 *
 * <pre>java --add-modules jdk.incubator.vector -jar benchmarks/target/benchmarks.jar GroupedConvBenchmark -f 1 -wi 2 -i 3 -w 1 -r 2</pre>
 */
public class GroupedConvBenchmark extends ConvPasses {
    @Param({"dw1", "dw2", "g4"}) public String layer;
    @Param({"reference", "cpu-scalar-1", "cpu-1", "cpu-2"}) public String backendName;

    static Conv2dShape shape(String layer) {
        return switch (layer) {
            case "dw1" -> new Conv2dShape(32, 32, 28, 28, 32, 3, 3, 1, 1, 1, 1, 32);
            case "dw2" -> new Conv2dShape(32, 64, 28, 28, 64, 3, 3, 2, 2, 1, 1, 64);
            case "g4" -> new Conv2dShape(32, 64, 14, 14, 64, 3, 3, 1, 1, 1, 1, 4);
            default -> throw new IllegalArgumentException(layer);
        };
    }

    @Override protected Conv2dShape shape() { return shape(layer); }

    @Override protected String backendName() { return backendName; }
}
