package dev.shears.core;

import java.util.Arrays;

/** Losses. */
public final class LossOps {
    private LossOps() {}

    /** Mean cross-entropy of logits [N, C] against class labels, fused log-softmax + NLL (PyTorch's default). */
    public static Tensor crossEntropy(Tensor logits, int[] labels) {
        Shapes.requireRank("cross_entropy", "logits", logits, 2);
        int n = logits.dim(0), c = logits.dim(1);
        if (labels.length != n)
            throw new IllegalArgumentException("cross_entropy: " + labels.length + " labels for logits " + Arrays.toString(logits.shape()));
        for (int i = 0; i < n; i++)
            if (labels[i] < 0 || labels[i] >= c)
                throw new IllegalArgumentException("cross_entropy: label " + labels[i] + " of sample " + i + " is outside [0, " + c + ")");
        Backend b = logits.backend();
        Storage labelStorage = b.uploadInts(labels);
        Tensor logProbs = Tensor.output(b, n, c);   // saved for backward: softmax = exp(logProbs)
        Tensor loss = Tensor.output(b, 1);
        b.crossEntropyForward(n, c, logits.storage(), labelStorage, logProbs.storage(), loss.storage());
        Tensor scalar = loss.reshape();
        if (!GradMode.isEnabled() || !logits.requiresGrad()) {
            labelStorage.close();
            return scalar;
        }
        return Tensor.record("cross_entropy", scalar, g -> {
            Tensor dLogits = Tensor.output(b, n, c);
            b.crossEntropyBackward(n, c, logProbs.storage(), labelStorage, g.storage(), dLogits.storage());
            labelStorage.close();
            return new Tensor[]{dLogits};
        }, logits);
    }
}
