/**
 * Checkpoints in the safetensors format ({@link dev.shears.nn.io.SafeTensors}), the format PyTorch
 * and Hugging Face exchange weights in. Tensors are held as {@link dev.shears.nn.io.NamedArray}
 * (shape + float[] + on-disk dtype), independent of the tensor core, so that a state dict can be
 * moved in and out of a model by name.
 */
package dev.shears.nn.io;
