package dev.shears.nn;

import dev.shears.core.ConvOps;
import dev.shears.core.Tensor;

/** [N,C,H,W] → [N,C,1,1], the mean of each channel's plane: PyTorch's AdaptiveAvgPool2d(1), ONNX GlobalAveragePool. */
public final class GlobalAvgPool2d extends Module {
    @Override public Tensor forward(Tensor x) { return ConvOps.globalAvgPool2d(x); }
    @Override public String describe() { return "GlobalAvgPool2d()"; }
}
