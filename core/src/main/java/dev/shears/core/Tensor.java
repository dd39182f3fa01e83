package dev.shears.core;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * An n-dimensional float32 array, row-major and contiguous, whose elements live in a {@link Storage} owned by
 * a {@link Backend}, plus what reverse-mode autograd needs: whether it requires a gradient, its accumulated
 * {@link #grad()}, and the {@link Node} of the op that produced it.
 *
 * <p>Ops are written in the *Ops classes of this package, each forward beside its backward; the instance
 * methods here are shortcuts to them.
 */
public final class Tensor {
    private final int[] shape;
    private final int size;        // the product of shape, computed once (size() is asked on every op)
    private final Backend backend;
    private Storage storage;
    private boolean requiresGrad;
    private Tensor grad;
    private Node node;
    private String name;

    /** Wraps an existing storage (no copy). Backends and ops use this; users create tensors with the factories. */
    public Tensor(Storage storage, int... shape) {
        this(storage, shape, true);
    }

    /**
     * A tensor over {@code base}'s storage (reshape, detach). A view does not join the current
     * {@link TensorScope}: the storage belongs to whoever allocated it, and a scope must not close a
     * tensor created outside it just because a view of it was made inside.
     */
    static Tensor view(Tensor base, int... shape) {
        return new Tensor(base.storage(), shape, false);
    }

    private Tensor(Storage storage, int[] shape, boolean ownsStorage) {
        int size = Shapes.size(shape);
        if (storage.length() < size)
            throw new IllegalArgumentException("storage of " + storage.length() + " elements cannot hold shape "
                    + Arrays.toString(shape) + " (" + size + " elements)");
        this.shape = shape.clone();
        this.size = size;
        this.storage = storage;
        this.backend = storage.backend();
        if (ownsStorage) TensorScope.register(this);
    }

    // ---- creation ------------------------------------------------------------------------------------------

    public static Tensor zeros(int... shape) { return zeros(Backends.getDefault(), shape); }

    public static Tensor zeros(Backend b, int... shape) { return new Tensor(b.allocate(Shapes.size(shape)), shape); }

    /**
     * A tensor of unspecified contents ({@link Backend#allocateForOutput}) for an op whose backend call writes
     * every element, as the backend conventions require of outputs: in a training step it takes an array that
     * the previous step's {@link TensorScope} handed back, instead of a fresh one the JVM must zero.
     */
    static Tensor output(Backend b, int... shape) { return new Tensor(b.allocateForOutput(Shapes.size(shape)), shape); }

    public static Tensor ones(int... shape) { return full(1f, shape); }

    public static Tensor full(float value, int... shape) { return full(Backends.getDefault(), value, shape); }

    public static Tensor full(Backend b, float value, int... shape) {
        Tensor t = zeros(b, shape);
        b.fill(t.size(), value, t.storage);
        return t;
    }

    /** A tensor holding a copy of {@code data}, which must have exactly as many elements as the shape. */
    public static Tensor of(float[] data, int... shape) { return of(Backends.getDefault(), data, shape); }

    public static Tensor of(Backend b, float[] data, int... shape) {
        if (data.length != Shapes.size(shape))
            throw new IllegalArgumentException("Tensor.of: " + data.length + " values do not fill shape "
                    + Arrays.toString(shape) + " (" + Shapes.size(shape) + " elements)");
        return new Tensor(b.upload(data), shape);
    }

    public static Tensor scalar(float value) { return of(new float[]{value}); }

    /** Standard normal values from a seeded generator. */
    public static Tensor randn(long seed, int... shape) {
        Random r = new Random(seed);
        float[] d = new float[Shapes.size(shape)];
        for (int i = 0; i < d.length; i++) d[i] = (float) r.nextGaussian();
        return of(d, shape);
    }

    /** Uniform values in [lo, hi) from a seeded generator. */
    public static Tensor uniform(long seed, float lo, float hi, int... shape) {
        Random r = new Random(seed);
        float[] d = new float[Shapes.size(shape)];
        for (int i = 0; i < d.length; i++) d[i] = lo + (hi - lo) * r.nextFloat();
        return of(d, shape);
    }

    // ---- what it is ----------------------------------------------------------------------------------------

    public int[] shape() { return shape.clone(); }

    public int dim(int d) { return shape[d < 0 ? shape.length + d : d]; }

    public int rank() { return shape.length; }

    public int size() { return size; }

    public Backend backend() { return backend; }

    /** The storage; fails if it was released by {@link #close()} or a {@link TensorScope}. */
    public Storage storage() {
        if (storage == null || storage.isClosed())
            throw new IllegalStateException("tensor " + describe() + " was released (closed or left its TensorScope)");
        return storage;
    }

    Storage storageOrNull() { return storage; }

    public String name() { return name; }

    public Tensor named(String name) { this.name = name; return this; }

    /** A host copy of the elements. */
    public float[] toArray() { return backend.download(storage()); }

    /** The value of a one-element tensor. */
    public float item() {
        if (size() != 1) throw new IllegalStateException("item() needs a one-element tensor, found shape " + Arrays.toString(shape));
        return toArray()[0];
    }

    /**
     * For each position of the other dimensions, the index of the largest value along the last one, as
     * torch.argmax(t, dim=-1) flattened: logits [n, classes] give n predicted classes. The first index wins
     * a tie, and a NaN counts as the largest value, as in PyTorch. Reads the values back to the host.
     */
    public int[] argmax() {
        int n = shape.length == 0 ? 1 : shape[shape.length - 1];
        if (n == 0) throw new IllegalArgumentException("argmax() needs a non-empty last dimension, found shape " + Arrays.toString(shape));
        float[] v = toArray();
        int[] best = new int[size / n];
        for (int row = 0; row < best.length; row++) {
            int o = row * n, b = 0;
            for (int k = 1; k < n; k++)
                if (v[o + k] > v[o + b] || Float.isNaN(v[o + k]) && !Float.isNaN(v[o + b])) b = k;
            best[row] = b;
        }
        return best;
    }

    /** A copy on another backend (a plain copy, not recorded in the graph). */
    public Tensor to(Backend other) {
        if (other == backend) return this;
        return new Tensor(other.upload(toArray()), shape);
    }

    /** The number of in-place writes recorded on this tensor's storage (shared with its views): {@link Storage#version}. */
    public long version() { return storage().version(); }

    /**
     * Records an in-place write to this tensor's values (an optimiser step, a running statistic, a user's own
     * write into its array), so that whatever was computed from them can tell ({@link Storage#markModified}).
     */
    public Tensor markModified() {
        storage().markModified();
        return this;
    }

    /** Releases the storage now. */
    public void close() { if (storage != null) storage.close(); }

    String describe() { return (name != null ? name + " " : "") + Arrays.toString(shape); }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape) + (name != null ? " " + name : "") + " on " + backend.name()
                + (requiresGrad ? " requires_grad" : "") + (node != null ? " grad_fn=" + node.op : "");
    }

    // ---- autograd ------------------------------------------------------------------------------------------

    public boolean requiresGrad() { return requiresGrad; }

    /** Marks a leaf tensor as one whose gradient is wanted. */
    public Tensor requiresGrad(boolean flag) {
        if (node != null && !flag)
            throw new IllegalStateException("requiresGrad(false) on a non-leaf tensor produced by " + node.op + "; use detach()");
        requiresGrad = flag;
        return this;
    }

    public boolean isLeaf() { return node == null; }

    /** The accumulated gradient, or null before the first backward (and after {@link #zeroGrad()}). */
    public Tensor grad() { return grad; }

    public void setGrad(Tensor g) {
        if (g != null && !Arrays.equals(g.shape, shape))
            throw new IllegalArgumentException("gradient of shape " + Arrays.toString(g.shape) + " for tensor " + describe());
        grad = g;
    }

    /** Drops the gradient (PyTorch's {@code zero_grad(set_to_none=True)}). */
    public void zeroGrad() { grad = null; }

    /** The same storage, cut off from the graph. */
    public Tensor detach() { return view(this, shape); }

    /**
     * Records that {@code out} was computed by {@code op} from {@code inputs}, with {@code backward} mapping the
     * gradient of {@code out} to one gradient per input (null where none is needed). Nothing is recorded when
     * grad mode is off or no input requires a gradient.
     */
    public static Tensor record(String op, Tensor out, Node.Backward backward, Tensor... inputs) {
        if (!records(inputs)) return out;
        out.requiresGrad = true;
        out.node = new Node(op, inputs, backward);
        return out;
    }

    /**
     * Whether an op on {@code inputs} (nulls allowed) records a gradient: grad mode is on and one of them
     * requires one. The inputs are looked at first: grad mode is a thread-local read, and in inference
     * (Inference's folded weights, activations) no input requires a gradient.
     */
    static boolean records(Tensor... inputs) {
        for (Tensor in : inputs)
            if (in != null && in.requiresGrad) return GradMode.isEnabled();
        return false;
    }

    Node node() { return node; }

    /** Backward from a one-element tensor (the loss), seeding its gradient with 1. */
    public void backward() {
        if (size() != 1)
            throw new IllegalStateException("backward() without a gradient needs a one-element tensor, found shape "
                    + Arrays.toString(shape) + "; pass the gradient of the output: backward(gradient)");
        backward(full(backend, 1f, shape));
    }

    /**
     * Reverse-mode autodiff: walks the graph that produced this tensor once, in reverse topological order,
     * and accumulates (adds) into {@link #grad()} of every leaf that requires a gradient. The graph is freed
     * as it is walked; a second backward through it is an error, as in PyTorch without retain_graph.
     */
    public void backward(Tensor gradient) {
        if (!requiresGrad)
            throw new IllegalStateException("backward() on a tensor that does not require grad (was it computed under GradMode.off(), or from tensors without requiresGrad?)");
        if (!Arrays.equals(gradient.shape, shape))
            throw new IllegalArgumentException("backward: gradient of shape " + Arrays.toString(gradient.shape)
                    + " for output of shape " + Arrays.toString(shape));
        List<Tensor> order = topologicalOrder();
        Map<Tensor, Tensor> pending = new IdentityHashMap<>();
        pending.put(this, gradient);
        try (GradMode ignored = GradMode.off()) {
            for (int i = order.size() - 1; i >= 0; i--) {
                Tensor t = order.get(i);
                Tensor g = pending.remove(t);
                if (g == null) continue;
                if (t.node == null) {
                    t.grad = t.grad == null ? g : t.grad.add(g);
                    continue;
                }
                Node n = t.node;
                if (n.backward == null)
                    throw new IllegalStateException("backward through " + n.op + " a second time: its graph was freed by the first backward()");
                Tensor[] gs = n.backward.apply(g);
                n.backward = null;   // free the saved tensors now; a second pass is an error, as above
                for (int k = 0; k < n.inputs.length; k++) {
                    Tensor in = n.inputs[k];
                    if (in == null || !in.requiresGrad || gs[k] == null) continue;
                    Tensor gk = reduceToShape(n.op, gs[k], in);
                    pending.merge(in, gk, Tensor::add);
                }
            }
        }
    }

    /** A gradient that was broadcast in the forward pass is summed back to its input's shape. */
    private static Tensor reduceToShape(String op, Tensor g, Tensor input) {
        if (Arrays.equals(g.shape, input.shape)) return g;
        if (Shapes.broadcastsTo(input.shape, g.shape)) return g.sumTo(input.shape);
        throw new IllegalStateException("backward of " + op + " produced a gradient of shape " + Arrays.toString(g.shape)
                + " for an input of shape " + Arrays.toString(input.shape));
    }

    private List<Tensor> topologicalOrder() {
        // iterative post-order DFS: deep graphs (long training chains) must not overflow the stack
        List<Tensor> order = new ArrayList<>();
        Set<Tensor> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        Deque<Object[]> stack = new ArrayDeque<>();
        stack.push(new Object[]{this, 0});
        seen.add(this);
        while (!stack.isEmpty()) {
            Object[] frame = stack.peek();
            Tensor t = (Tensor) frame[0];
            int next = (int) frame[1];
            Tensor[] inputs = t.node == null ? new Tensor[0] : t.node.inputs;
            if (next < inputs.length) {
                frame[1] = next + 1;
                Tensor in = inputs[next];
                if (in != null && in.requiresGrad && seen.add(in)) stack.push(new Object[]{in, 0});
            } else {
                stack.pop();
                order.add(t);
            }
        }
        return order;
    }

    // ---- shortcuts to the ops --------------------------------------------------------------------------------

    public Tensor add(Tensor o) { return PointwiseOps.binary(Backend.Binary.ADD, this, o); }
    public Tensor sub(Tensor o) { return PointwiseOps.binary(Backend.Binary.SUB, this, o); }
    public Tensor mul(Tensor o) { return PointwiseOps.binary(Backend.Binary.MUL, this, o); }
    public Tensor div(Tensor o) { return PointwiseOps.binary(Backend.Binary.DIV, this, o); }
    public Tensor neg() { return PointwiseOps.unary(Backend.Unary.NEG, this); }
    public Tensor exp() { return PointwiseOps.unary(Backend.Unary.EXP, this); }
    public Tensor log() { return PointwiseOps.unary(Backend.Unary.LOG, this); }
    public Tensor sqrt() { return PointwiseOps.unary(Backend.Unary.SQRT, this); }
    public Tensor abs() { return PointwiseOps.unary(Backend.Unary.ABS, this); }
    public Tensor square() { return PointwiseOps.unary(Backend.Unary.SQUARE, this); }
    public Tensor relu() { return PointwiseOps.unary(Backend.Unary.RELU, this); }
    public Tensor sign() { return PointwiseOps.unary(Backend.Unary.SIGN, this); }
    /** alpha·x + beta. */
    public Tensor affine(float alpha, float beta) { return PointwiseOps.affine(this, alpha, beta); }
    public Tensor mul(float s) { return affine(s, 0f); }
    public Tensor add(float s) { return affine(1f, s); }

    public Tensor sum() { return ShapeOps.sumTo(this, Shapes.ones(shape.length)).reshape(); }
    public Tensor mean() { return sum().mul(1f / size()); }
    public Tensor sumTo(int... target) { return ShapeOps.sumTo(this, target); }
    /** A view with another shape (one dimension may be -1); shares the storage. */
    public Tensor reshape(int... newShape) { return ShapeOps.reshape(this, newShape); }
    public Tensor flatten(int fromDim) { return ShapeOps.flatten(this, fromDim); }
    public Tensor permute(int... perm) { return ShapeOps.permute(this, perm); }
    public Tensor transpose() { return ShapeOps.permute(this, 1, 0); }
    public Tensor matmul(Tensor o) { return MatrixOps.matmul(this, o); }
}
