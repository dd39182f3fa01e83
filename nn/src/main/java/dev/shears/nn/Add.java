package dev.shears.nn;

import dev.shears.core.Tensor;

import java.util.Arrays;
import java.util.List;

/** The element-wise sum of its inputs, which have equal shapes: a residual connection (ONNX Add). */
public final class Add extends Module implements MultiInput {

    @Override
    public Tensor forward(List<Tensor> inputs) {
        if (inputs.isEmpty()) throw new IllegalArgumentException("Add: no inputs");
        Tensor sum = inputs.get(0);
        for (int i = 1; i < inputs.size(); i++) {
            Tensor x = inputs.get(i);
            if (!Arrays.equals(sum.shape(), x.shape()))   // no broadcasting: a residual of another shape is a bug
                throw new IllegalArgumentException("Add: input " + i + " has shape " + Arrays.toString(x.shape())
                        + " but input 0 has " + Arrays.toString(sum.shape()));
            sum = sum.add(x);
        }
        return sum;
    }

    @Override public Tensor forward(Tensor x) { return forward(List.of(x)); }

    @Override public String describe() { return "Add()"; }
}
