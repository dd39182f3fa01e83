/**
 * Training loops above the modules: {@link dev.shears.nn.train.Trainer} runs a step (in its own
 * {@link dev.shears.core.TensorScope}), an epoch over a {@link dev.shears.data.DataLoader}, and evaluation in
 * eval mode without a graph. Losses, optimisers and layers live in {@code dev.shears.nn} and below.
 */
package dev.shears.nn.train;
