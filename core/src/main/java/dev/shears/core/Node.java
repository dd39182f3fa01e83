package dev.shears.core;

/**
 * One recorded op in the autograd graph: its name (for error messages), its inputs, and the rule that maps
 * the gradient of its output to one gradient per input. The rule holds whatever the forward pass saved for
 * it; it is dropped after use, which frees those tensors.
 */
public final class Node {

    @FunctionalInterface
    public interface Backward {
        /** One gradient per input, in order; null where an input needs none. Runs with grad mode off. */
        Tensor[] apply(Tensor gradOutput);
    }

    final String op;
    final Tensor[] inputs;
    Backward backward;

    Node(String op, Tensor[] inputs, Backward backward) {
        this.op = op;
        this.inputs = inputs;
        this.backward = backward;
    }

    public String op() { return op; }
}
