/**
 * Training loops above the modules: {@link dev.shears.nn.train.Trainer} runs a step (in its own
 * {@link dev.shears.core.TensorScope}), an epoch over a {@link dev.shears.data.DataLoader}, and evaluation in
 * eval mode without a graph; it stops with a {@link dev.shears.nn.train.TrainingDivergedException} on a
 * non-finite loss. {@link dev.shears.nn.train.TrainingCheckpoint} saves and restores a run between epochs
 * (weights, momentum, schedule) so that it can be resumed bit-identically. Losses, optimisers and layers live in
 * {@code dev.shears.nn} and below.
 */
package dev.shears.nn.train;
