package dev.shears.nn;

import dev.shears.core.Tensor;

public final class ReLU extends Module {
    @Override public Tensor forward(Tensor x) { return x.relu(); }
    @Override public String describe() { return "ReLU()"; }
}
