package dev.shears.core;

import dev.shears.core.Backend.Binary;
import dev.shears.core.Backend.Unary;

/** Element-wise ops, each forward followed by its backward rule. Binary ops broadcast as in NumPy. */
public final class PointwiseOps {
    private PointwiseOps() {}

    public static Tensor unary(Unary op, Tensor x) {
        Backend b = x.backend();
        Tensor y = Tensor.output(b, x.shape());
        b.unary(op, x.size(), x.storage(), y.storage());
        return Tensor.record(op.name().toLowerCase(), y, g -> new Tensor[]{switch (op) {
            case NEG -> g.neg();
            case EXP -> g.mul(y);                                  // d e^x = e^x, saved as the output
            case LOG -> g.div(x);
            case SQRT -> g.div(y.mul(2f));
            case ABS -> g.mul(x.sign());                           // 0 at 0, like PyTorch
            case SIGN -> null;                                     // zero almost everywhere: no gradient flows
            case RELU -> g.mul(unary(Unary.STEP, x));              // not (x >= 0): the gradient at 0 is 0
            case STEP -> null;
            case SQUARE -> g.mul(x).mul(2f);
        }}, x);
    }

    public static Tensor affine(Tensor x, float alpha, float beta) {
        Backend b = x.backend();
        Tensor y = Tensor.output(b, x.shape());
        b.affine(x.size(), alpha, beta, x.storage(), y.storage());
        return Tensor.record("affine", y, g -> new Tensor[]{g.mul(alpha)}, x);
    }

    public static Tensor binary(Binary op, Tensor a, Tensor c) {
        String name = op.name().toLowerCase();
        Shapes.requireSameBackend(name, a, c);
        int[] out = Shapes.broadcast(name, a.shape(), c.shape());
        Backend b = a.backend();
        Tensor y = Tensor.output(b, out);
        b.binary(op, out, a.storage(), Shapes.padLeft(a.shape(), out.length), c.storage(), Shapes.padLeft(c.shape(), out.length), y.storage());
        // gradients come back in the broadcast shape; the engine sums them down to each input's shape
        return Tensor.record(name, y, g -> switch (op) {
            case ADD -> new Tensor[]{g, g};
            case SUB -> new Tensor[]{g, g.neg()};
            case MUL -> new Tensor[]{g.mul(c), g.mul(a)};
            case DIV -> new Tensor[]{g.div(c), g.mul(a).div(c.square()).neg()};
            case MAX, MIN -> {
                // the gradient goes to whichever input was chosen; ties go to a, as in picking a
                Tensor pickA = binaryNoGrad(Binary.SUB, y, a).abs().affine(-1f, 0f).sign().affine(1f, 1f);
                yield new Tensor[]{g.mul(pickA), g.mul(pickA.affine(-1f, 1f))};
            }
        }, a, c);
    }

    private static Tensor binaryNoGrad(Binary op, Tensor a, Tensor c) {
        try (GradMode ignored = GradMode.off()) { return binary(op, a, c); }
    }
}
