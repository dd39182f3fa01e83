package dev.shears.nn;

import dev.shears.core.Backend;
import dev.shears.core.ConvOps;
import dev.shears.core.GradMode;
import dev.shears.core.HeapStorage;
import dev.shears.core.Tensor;

import java.util.List;

/**
 * A chain of layers run for inference only (no gradient recorded, BatchNorm in evaluation mode), with the
 * rewrites every inference engine makes, each exact up to rounding:
 * <ul>
 *   <li>Conv2d → BatchNorm2d (eval) becomes one convolution: BN is y = (z − μ)·a + β with a = γ/√(σ²+eps),
 *       per output channel k, so conv(x, w)·a + ((b − μ)·a + β) = conv(x, w·a) + b'. In the Java heap the
 *       folded weights are kept from call to call while the parameters they came from keep their values
 *       ({@link BatchNormFold}: they may change in place between calls). Unlike the BN kernel, which
 *       subtracts μ before scaling to avoid cancellation when |μ| ≫ σ, the fold adds a·conv and b'
 *       (PyTorch's fuse_conv_bn_eval does the same); for trained nets the two differ by rounding. On a
 *       device (OpenCL) the fold runs there, with nothing read back to the host.</li>
 *   <li>ReLU → MaxPool2d becomes MaxPool2d → ReLU: max is monotone, so relu(max(S)) = max(relu(S)) over
 *       every window S, and the ReLU touches a quarter of the values (2×2 pooling).</li>
 *   <li>Conv2d → BatchNorm2d → ReLU → MaxPool2d thus becomes one folded convolution with its pooling and
 *       then the ReLU, run as one backend op ({@link ConvOps#conv2dMaxPool2d}: the CPU backend pools each
 *       image's maps while they are in cache, never writes the full-size output, and each thread applies
 *       the ReLU to the outputs it has just pooled).</li>
 *   <li>A ReLU on a tensor this chain just allocated runs in place: nothing else can hold it.</li>
 *   <li>Such a tensor, once the next layer has read it, is handed back ({@link Backend#recycle}); the CPU
 *       backend gives its array to a later convolution or pooling of the same size instead of a fresh,
 *       zeroed one.</li>
 * </ul>
 * Why: in a pruned network the convolutions shrink with the product of input and output channels but
 * BatchNorm, ReLU and pooling only with the channels, each a full pass over memory (and a fresh zeroed
 * array), so they become the larger part of the time; see docs/performance.md.
 */
final class Inference {
    private Inference() {}

    /** Whether {@code forward} may be used: no gradient is recorded. Each layer's own mode is checked where it matters. */
    static boolean applies() { return !GradMode.isEnabled(); }

    static Tensor forward(List<Module> layers, Tensor x) {
        boolean fresh = false;           // x was allocated by this chain (no one else refers to it)
        for (int i = 0; i < layers.size(); i++) {
            Module m = layers.get(i), next = i + 1 < layers.size() ? layers.get(i + 1) : null;
            Tensor in = x;
            boolean consumed;            // the layer read x, wrote a new tensor and kept no reference to x
            if (m instanceof Conv2d conv && next instanceof BatchNorm2d bn && !bn.isTraining()) {
                MaxPool2d pool = conv.groups() == 1 && i + 3 < layers.size() && layers.get(i + 2) instanceof ReLU
                        && layers.get(i + 3) instanceof MaxPool2d p ? p : null;
                x = convBn(conv, bn, pool, x);
                consumed = true;
                i += pool != null ? 3 : 1;
            } else if (m instanceof ReLU && next instanceof MaxPool2d pool) {
                x = relu(ConvOps.maxPool2d(x, pool.kernel(), pool.stride(), pool.padding()), true);
                consumed = true;
                i++;
            } else if (m instanceof ReLU) {
                x = relu(x, fresh);
                consumed = true;
            } else {
                boolean known = m instanceof Conv2d || m instanceof Linear || m instanceof MaxPool2d || m instanceof BatchNorm2d
                        || m instanceof AvgPool2d || m instanceof GlobalAvgPool2d;
                boolean view = m instanceof Flatten;
                x = m.forward(x);
                consumed = known;
                if (!known) fresh = view && fresh;
            }
            // an intermediate of this chain that the next layer has read goes back to the backend, whose
            // allocateForOutput may hand the memory to a later layer (or the next call) without zeroing it
            if (consumed) {
                if (fresh && in.storage() != x.storage()) in.backend().recycle(in.storage());
                fresh = true;
            }
        }
        return x;
    }

    private static Tensor relu(Tensor x, boolean inPlace) {
        if (!inPlace) return x.relu();
        x.backend().unary(Backend.Unary.RELU, x.size(), x.storage(), x.storage());
        return x;
    }

    /**
     * conv(x, w·a) + (b − μ)·a + β, a = γ/√(σ²+eps); with {@code pool}, its max-pooling and ReLU, computed
     * by the backend in one op (the ReLU between them moves after the pooling, as above). For tensors in the Java
     * heap w·a and b' are computed on the host in BatchNorm's own arithmetic ({@link BatchNormFold}); for a
     * device's tensors by element-wise ops on the device in float, because reading γ, β, μ, σ² back to the
     * host would wait for the device's queue to drain, twice per call of a SimpleCNN.
     */
    static Tensor convBn(Conv2d conv, BatchNorm2d bn, MaxPool2d pool, Tensor x) {
        Tensor w, bias2;
        if (conv.weight().storage() instanceof HeapStorage) {
            BatchNormFold f = BatchNormFold.of(conv, bn);
            Backend be = conv.weight().backend();
            w = new Tensor(HeapStorage.ofFloats(be, f.foldedWeight), conv.weight().shape());
            bias2 = new Tensor(HeapStorage.ofFloats(be, f.foldedBias), f.foldedBias.length);
        } else {
            int k = conv.outChannels();
            Tensor a = bn.weight().div(bn.runningVar().add(bn.eps()).sqrt());
            Tensor centred = conv.bias() == null ? bn.runningMean().neg() : conv.bias().sub(bn.runningMean());
            bias2 = centred.mul(a).add(bn.bias());
            w = conv.weight().mul(a.reshape(k, 1, 1, 1));
        }
        if (pool == null) return ConvOps.conv2d(x, w, bias2, conv.stride(), conv.padding(), conv.groups());
        return ConvOps.conv2dMaxPool2d(x, w, bias2, conv.stride(), conv.padding(), pool.kernel(), pool.stride(), pool.padding(), true);
    }
}
