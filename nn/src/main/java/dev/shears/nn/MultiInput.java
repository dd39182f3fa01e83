package dev.shears.nn;

import dev.shears.core.Tensor;

import java.util.List;

/**
 * A module that takes several inputs ({@link Add}, {@link Concat}); a {@link Graph} node of such a module may
 * name one or more input nodes, and {@link Graph#forward} hands it their values in that order. Its
 * single-input {@link Module#forward(Tensor)} treats the tensor as a list of one.
 */
public interface MultiInput {
    Tensor forward(List<Tensor> inputs);
}
