package dev.shears.nn;

import dev.shears.core.Backend;
import dev.shears.core.Backend.Unary;
import dev.shears.core.Conv2dShape;
import dev.shears.core.HeapStorage;
import dev.shears.core.Pool2dShape;
import dev.shears.core.Storage;
import dev.shears.core.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A model compiled once for inference: {@code predict(images, n, logitsOut)} and {@code classify(image)} run
 * a flat plan of backend calls on storages allocated when it was built, with the evaluation-mode semantics of
 * the model's forward pass (BatchNorm with its running statistics) whatever mode the model is in.
 *
 * <p>What building does, once: the layers of a {@link Sequential} (nested ones inlined) become steps, with
 * {@link Inference}'s exact rewrites — Conv2d → BatchNorm2d folded into one convolution
 * ({@link BatchNormFold}'s arithmetic), a ReLU → MaxPool2d run as pooling then ReLU, a convolution with its
 * pooling and ReLU as one backend op ({@link Backend#conv2dMaxPool2dForward}), a ReLU after a convolution,
 * pooling or Linear in place, Flatten as nothing at all (the next step reads the same buffer), a Linear's bias
 * as the GEMM's starting value (beta = 1). The weights are copied (folded where a BatchNorm follows) to the
 * model's backend: the plan reads nothing of the model afterwards. Each step's output buffer, sized for
 * {@code maxBatch} examples, belongs to a workspace. Layer types other than Conv2d, BatchNorm2d, ReLU,
 * MaxPool2d, Flatten, Linear and Sequential are refused when building, with the layer's name and type.
 *
 * <p>Per call: the staleness check below, one workspace taken from a pool, the input copied into its first
 * buffer, the steps, the output copied out. On the CPU backend (storages in the Java heap) a call allocates
 * nothing on the calling thread once the JIT has compiled it: SimpleCNN, pruned or not, at batches 1 to 8 on
 * one thread or two (measured by {@code PredictorTest} with {@code ThreadMXBean.getThreadAllocatedBytes}); the
 * pool's workers allocate nothing either (they run chunks of bodies the calling thread reuses). The direct
 * convolution (the full SimpleCNN's conv2 wherever the batch has at least as many images as threads) takes
 * its blocked weights from a per-thread cache checked against the weights' values. Where a convolution takes
 * im2col + GEMM instead (other shapes) the weights are packed anew per call, and a GEMM on several threads
 * past a few rows makes small task objects. A device backend (OpenCL) copies the input and output through
 * fresh host arrays.
 *
 * <p>Threads: any number of threads may call one Predictor at once. Each call takes an idle workspace from a
 * pool of {@link #POOLED} slots, or makes a new one when none is idle, and puts it back (or drops it, when
 * the pool is full) at the end; nothing else is written, so results are bit for bit those of the same calls
 * made one after another. (On the CPU backend a call that finds the backend's thread pool busy with another
 * call runs its kernels on its own thread, with the same results.)
 *
 * <p>Staleness: a call first checks that the model still holds what the plan was built from — each module's
 * count of replaced parameters, buffers and children ({@link Module#setParameter}, loadStateDict, pruning,
 * {@link Module#to}) and each weight's {@link Storage#version} (bumped by optimiser steps and BatchNorm's
 * training updates, or by {@link Tensor#markModified} after a write of one's own) — and otherwise throws an
 * {@link IllegalStateException} naming what changed: build a new Predictor. A few field reads per layer.
 *
 * <p>Made for a graph of layers as well as a chain: steps name their input and output buffers by index.
 */
public final class Predictor implements AutoCloseable {

    /** Idle workspaces kept for the next calls; more threads than this at once still work, each with its own. */
    public static final int POOLED = Math.max(8, 2 * Runtime.getRuntime().availableProcessors());

    /** One step of the plan: reads and writes a workspace's buffers for a batch of n examples. */
    private interface Step {
        void run(Backend b, Storage[] buf, int n);
    }

    private final Backend backend;
    private final int maxBatch, inputSize, outputSize;
    private final int[] inputShape, outputShape;
    private final Step[] steps;
    private final String[] labels;              // what each step computes, for toString
    private final int[] bufferLengths;          // of each workspace buffer; buffer 0 is the input
    private final int output;                   // the buffer holding the logits
    private final List<Storage> weights;        // the plan's own copies, closed by close()

    // what the plan was built from, for the staleness check
    private final Module[] modules;
    private final int[] moduleChanges;
    private final String[] moduleNames;
    private final Storage[] sources;
    private final long[] sourceVersions;
    private final String[] sourceNames;

    private final AtomicReferenceArray<Storage[]> idle = new AtomicReferenceArray<>(POOLED);
    private volatile boolean closed;

    /**
     * Compiles {@code model} for batches of 1 to {@code maxBatch} examples shaped {@code exampleShape} (for
     * SimpleCNN 1, 28, 28), on the model's backend.
     *
     * @throws IllegalArgumentException for a layer type it cannot compile, or shapes that do not fit
     */
    public static Predictor of(Module model, int maxBatch, int... exampleShape) {
        if (maxBatch < 1) throw new IllegalArgumentException("Predictor: maxBatch must be at least 1, got " + maxBatch);
        if (exampleShape.length == 0 || Arrays.stream(exampleShape).anyMatch(d -> d < 1))
            throw new IllegalArgumentException("Predictor: an example's shape must have positive sizes, got " + Arrays.toString(exampleShape));
        return new Compiler(model, maxBatch, exampleShape).build();
    }

    /**
     * Whether {@link #of} knows every layer of {@code model}: a Sequential (nested ones too) of Conv2d,
     * BatchNorm2d, ReLU, MaxPool2d, Flatten and Linear, or one of those alone. Their shapes must still fit.
     */
    public static boolean supports(Module model) {
        if (model instanceof Sequential seq) return seq.childModules().stream().allMatch(Predictor::supports);
        return model instanceof Conv2d || model instanceof BatchNorm2d || model instanceof ReLU || model instanceof MaxPool2d
                || model instanceof Flatten || model instanceof Linear;
    }

    private Predictor(Compiler c) {
        this.backend = c.backend;
        this.maxBatch = c.maxBatch;
        this.inputShape = c.inputShape;
        this.outputShape = c.shape;
        this.inputSize = size(inputShape);
        this.outputSize = size(outputShape);
        this.steps = c.steps.toArray(Step[]::new);
        this.labels = c.labels.toArray(String[]::new);
        this.bufferLengths = c.bufferLengths.stream().mapToInt(Integer::intValue).toArray();
        this.output = c.current;
        this.weights = List.copyOf(c.weights);
        this.modules = c.modules.toArray(Module[]::new);
        this.moduleChanges = new int[modules.length];
        for (int i = 0; i < modules.length; i++) moduleChanges[i] = modules[i].changes();
        this.moduleNames = c.moduleNames.toArray(String[]::new);
        this.sources = c.sources.toArray(Storage[]::new);
        this.sourceVersions = c.sourceVersions.stream().mapToLong(Long::longValue).toArray();
        this.sourceNames = c.sourceNames.toArray(String[]::new);
    }

    public int maxBatch() { return maxBatch; }

    /** One example's shape, as given to {@link #of}. */
    public int[] inputShape() { return inputShape.clone(); }

    /** One example's output shape (for a classifier, [classes]). */
    public int[] outputShape() { return outputShape.clone(); }

    /** Values per example in the output (for a classifier, its classes): logitsOut needs n times this. */
    public int outputSize() { return outputSize; }

    public Backend backend() { return backend; }

    /**
     * logitsOut[i·O .. (i+1)·O) = the model's output for example i, read from images[i·I .. (i+1)·I), for
     * i &lt; n, with I and O the sizes of one example's input and output. Nothing else of either array is
     * touched.
     *
     * @throws IllegalArgumentException if n is not in 1..maxBatch or an array is too short
     * @throws IllegalStateException if the model changed since this Predictor was built, or it was closed
     */
    public void predict(float[] images, int n, float[] logitsOut) {
        if (n < 1 || n > maxBatch)
            throw new IllegalArgumentException("Predictor.predict: n must be between 1 and maxBatch = " + maxBatch + ", got " + n);
        if (images.length < n * inputSize || logitsOut.length < n * outputSize)
            throw new IllegalArgumentException("Predictor.predict: " + n + " examples need " + n * inputSize + " input values ("
                    + Arrays.toString(inputShape) + " each) and room for " + n * outputSize + " outputs, got arrays of "
                    + images.length + " and " + logitsOut.length);
        Storage[] ws = take();
        try {
            run(ws, images, n);
            Storage out = ws[output];
            if (out instanceof HeapStorage) System.arraycopy(HeapStorage.floats(out), 0, logitsOut, 0, n * outputSize);
            else System.arraycopy(backend.download(out), 0, logitsOut, 0, n * outputSize);
        } finally {
            give(ws);
        }
    }

    /**
     * The index of the largest output for one example (the first on a tie, a NaN counting as the largest, as
     * {@link Tensor#argmax}).
     */
    public int classify(float[] image) {
        if (image.length < inputSize)
            throw new IllegalArgumentException("Predictor.classify: an example has " + inputSize + " values "
                    + Arrays.toString(inputShape) + ", got an array of " + image.length);
        Storage[] ws = take();
        try {
            run(ws, image, 1);
            Storage out = ws[output];
            return argmax(out instanceof HeapStorage ? HeapStorage.floats(out) : backend.download(out), outputSize);
        } finally {
            give(ws);
        }
    }

    private static int argmax(float[] v, int n) {
        int best = 0;
        for (int k = 1; k < n; k++)
            if (v[k] > v[best] || Float.isNaN(v[k]) && !Float.isNaN(v[best])) best = k;
        return best;
    }

    private void run(Storage[] ws, float[] images, int n) {
        requireCurrent();
        Storage in = ws[0];
        if (in instanceof HeapStorage) System.arraycopy(images, 0, HeapStorage.floats(in), 0, n * inputSize);
        else try (Storage up = backend.upload(Arrays.copyOf(images, n * inputSize))) {
            backend.copy(n * inputSize, up, in);
        }
        for (Step s : steps) s.run(backend, ws, n);
    }

    /** Whether the model still holds exactly what this Predictor was built from (see the class comment). */
    public boolean isCurrent() { return staleness() == null; }

    private void requireCurrent() {
        if (closed) throw new IllegalStateException("Predictor: used after close()");
        String why = staleness();
        if (why != null)
            throw new IllegalStateException("Predictor: the model changed after this Predictor was built (" + why
                    + "); build a new one with Predictor.of(model, maxBatch, exampleShape)");
    }

    /** What changed since building, or null. */
    private String staleness() {
        for (int i = 0; i < modules.length; i++)
            if (modules[i].changes() != moduleChanges[i])
                return "a parameter, buffer or layer of " + moduleNames[i] + " was replaced";
        for (int i = 0; i < sources.length; i++)
            if (sources[i].version() != sourceVersions[i])
                return sourceNames[i] + " was modified in place";
        return null;
    }

    // ---- workspaces ----

    private Storage[] take() {
        for (int i = 0; i < POOLED; i++) {
            Storage[] ws = idle.get(i);
            if (ws != null && idle.compareAndSet(i, ws, null)) return ws;
        }
        Storage[] ws = new Storage[bufferLengths.length];
        for (int i = 0; i < ws.length; i++) ws[i] = backend.allocate(bufferLengths[i]);
        return ws;
    }

    private void give(Storage[] ws) {
        if (!closed)
            for (int i = 0; i < POOLED; i++)
                if (idle.get(i) == null && idle.compareAndSet(i, null, ws)) return;
        for (Storage s : ws) s.close();
    }

    /** Releases the plan's weights and idle workspaces (device memory on a device backend); calls fail afterwards. */
    @Override
    public void close() {
        closed = true;
        for (int i = 0; i < POOLED; i++) {
            Storage[] ws = idle.getAndSet(i, null);
            if (ws != null) for (Storage s : ws) s.close();
        }
        weights.forEach(Storage::close);
    }

    @Override
    public String toString() {
        return "Predictor(" + Arrays.toString(inputShape) + " → " + Arrays.toString(outputShape) + ", batches up to "
                + maxBatch + ", on " + backend + ": " + String.join(" → ", labels) + ")";
    }

    private static int size(int[] shape) {
        int n = 1;
        for (int d : shape) n *= d;
        return n;
    }

    // ---- the steps ----

    /** A convolution (BatchNorm folded in w and bias), then its pooling (pool non-null), then ReLU if asked. */
    private record Conv(int in, int out, Conv2dShape[] shape, Pool2dShape[] pool, boolean relu, int outSize,
                        Storage w, Storage bias) implements Step {
        @Override public void run(Backend b, Storage[] buf, int n) {
            if (pool != null) {
                b.conv2dMaxPool2dForward(shape[n - 1], pool[n - 1], relu, buf[in], w, bias, buf[out]);
                return;
            }
            b.conv2dForward(shape[n - 1], buf[in], w, bias, buf[out]);
            if (relu) b.unary(Unary.RELU, n * outSize, buf[out], buf[out]);
        }
    }

    /** Max-pooling, then ReLU if asked (a ReLU before a pooling moves after it: max is monotone). */
    private record Pool(int in, int out, Pool2dShape[] shape, boolean relu, int outSize) implements Step {
        @Override public void run(Backend b, Storage[] buf, int n) {
            b.maxPool2dForwardValues(shape[n - 1], buf[in], buf[out]);
            if (relu) b.unary(Unary.RELU, n * outSize, buf[out], buf[out]);
        }
    }

    /** ReLU in place. */
    private record Relu(int buf, int size) implements Step {
        @Override public void run(Backend b, Storage[] buffers, int n) {
            b.unary(Unary.RELU, n * size, buffers[buf], buffers[buf]);
        }
    }

    /** y = x·Wᵀ + bias, the bias rows (maxBatch copies) as the GEMM's starting value; then ReLU if asked. */
    private record Dense(int in, int out, int inFeatures, int outFeatures, Storage w, Storage biasRows, boolean relu) implements Step {
        @Override public void run(Backend b, Storage[] buf, int n) {
            if (biasRows != null) b.copy(n * outFeatures, biasRows, buf[out]);
            b.gemm(false, true, n, outFeatures, inFeatures, 1f, buf[in], w, biasRows != null ? 1f : 0f, buf[out]);
            if (relu) b.unary(Unary.RELU, n * outFeatures, buf[out], buf[out]);
        }
    }

    /** A BatchNorm2d with no convolution before it, in evaluation mode (mean and invStd: scratch buffers). */
    private record Norm(int in, int out, int channels, int hw, float eps, Storage gamma, Storage beta, Storage mean,
                        Storage var, int meanOut, int invStdOut) implements Step {
        @Override public void run(Backend b, Storage[] buf, int n) {
            b.batchNorm2dForward(n, channels, hw, false, 0f, eps, buf[in], gamma, beta, mean, var, buf[out], buf[meanOut], buf[invStdOut]);
        }
    }

    // ---- building ----

    /** Walks the layers once, tracking one example's shape and the buffer that holds the current activation. */
    private static final class Compiler {
        final Module model;
        final Backend backend;
        final int maxBatch;
        final int[] inputShape;
        int[] shape;
        int current;
        final List<Step> steps = new ArrayList<>();
        final List<String> labels = new ArrayList<>();
        final List<Integer> bufferLengths = new ArrayList<>();
        final List<Storage> weights = new ArrayList<>();
        final List<Module> modules = new ArrayList<>();
        final List<String> moduleNames = new ArrayList<>();
        final List<Storage> sources = new ArrayList<>();
        final List<Long> sourceVersions = new ArrayList<>();
        final List<String> sourceNames = new ArrayList<>();

        Compiler(Module model, int maxBatch, int[] exampleShape) {
            this.model = model;
            this.backend = model.backend();
            this.maxBatch = maxBatch;
            this.inputShape = exampleShape.clone();
            this.shape = inputShape;
            this.current = buffer(size(inputShape) * maxBatch);
        }

        Predictor build() {
            List<String> names = new ArrayList<>();
            List<Module> layers = new ArrayList<>();
            flatten("", model, names, layers);
            for (int i = 0; i < layers.size(); ) i = compile(names, layers, i);
            return new Predictor(this);
        }

        /** Leaf layers in order, Sequentials inlined; every module on the way is watched for changes. */
        private void flatten(String name, Module m, List<String> names, List<Module> layers) {
            modules.add(m);
            moduleNames.add(name.isEmpty() ? "the model" : name);
            if (m instanceof Sequential seq) {
                for (var e : seq.children().entrySet())
                    flatten(name.isEmpty() ? e.getKey() : name + "." + e.getKey(), e.getValue(), names, layers);
                return;
            }
            names.add(name.isEmpty() ? m.getClass().getSimpleName() : name);
            layers.add(m);
        }

        /** Compiles the layers starting at i into one step (or none, for Flatten); returns the next layer's index. */
        private int compile(List<String> names, List<Module> layers, int i) {
            Module m = layers.get(i);
            Module next = at(layers, i + 1);
            String name = names.get(i);
            if (m instanceof Conv2d conv) {
                int j = i + 1;
                BatchNorm2d bn = next instanceof BatchNorm2d b ? b : null;
                if (bn != null) j++;
                boolean relu = at(layers, j) instanceof ReLU;
                MaxPool2d pool = at(layers, relu ? j + 1 : j) instanceof MaxPool2d p ? p : null;
                if (relu) j++;
                if (pool != null) j++;
                conv(String.join("+", names.subList(i, j)), names.get(i), conv, bn, bn == null ? null : names.get(i + 1), relu, pool);
                return j;
            }
            if (m instanceof ReLU && next instanceof MaxPool2d pool) {
                pool(name + "+" + names.get(i + 1), pool, true);
                return i + 2;
            }
            if (m instanceof MaxPool2d pool) {
                boolean relu = next instanceof ReLU;
                pool(relu ? name + "+" + names.get(i + 1) : name, pool, relu);
                return relu ? i + 2 : i + 1;
            }
            if (m instanceof Linear linear) {
                boolean relu = next instanceof ReLU;
                dense(relu ? name + "+" + names.get(i + 1) : name, name, linear, relu);
                return relu ? i + 2 : i + 1;
            }
            if (m instanceof ReLU) {
                int size = size(shape);
                steps.add(new Relu(current, size));
                labels.add(name);
                return i + 1;
            }
            if (m instanceof Flatten) {
                if (shape.length < 1)
                    throw new IllegalArgumentException("Predictor: " + name + " (Flatten) needs an input, got shape " + Arrays.toString(shape));
                shape = new int[]{size(shape)};
                return i + 1;
            }
            if (m instanceof BatchNorm2d bn) {
                norm(name, bn);
                return i + 1;
            }
            throw new IllegalArgumentException("Predictor: cannot compile layer " + name + " of type " + m.getClass().getName()
                    + "; it compiles Conv2d, BatchNorm2d, ReLU, MaxPool2d, Flatten, Linear and Sequential");
        }

        private static Module at(List<Module> layers, int i) { return i < layers.size() ? layers.get(i) : null; }

        private void conv(String label, String name, Conv2d conv, BatchNorm2d bn, String bnName, boolean relu, MaxPool2d pool) {
            int[] x = requireRank(name, conv, 3);
            if (x[0] != conv.inChannels())
                throw new IllegalArgumentException("Predictor: " + name + " (" + conv.describe() + ") expects " + conv.inChannels()
                        + " channels, gets input " + Arrays.toString(x));
            int k = conv.outChannels(), r = conv.kernel(), st = conv.stride(), pad = conv.padding();
            Conv2dShape[] shapes = new Conv2dShape[maxBatch];
            try {
                for (int n = 1; n <= maxBatch; n++) shapes[n - 1] = new Conv2dShape(n, x[0], x[1], x[2], k, r, r, st, st, pad, pad);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("Predictor: " + name + " cannot take input " + Arrays.toString(x) + ": " + e.getMessage(), e);
            }
            shape = new int[]{k, shapes[0].p(), shapes[0].q()};
            float[] w = read(name + ".weight", conv.weight()), b = conv.bias() == null ? null : read(name + ".bias", conv.bias());
            if (bn != null) {
                if (bn.channels() != k)
                    throw new IllegalArgumentException("Predictor: " + bnName + " has " + bn.channels() + " channels after " + name + "'s " + k);
                float[] fw = new float[w.length], fb = new float[k];
                BatchNormFold.fold(w, b, read(bnName + ".weight", bn.weight()), read(bnName + ".bias", bn.bias()),
                        read(bnName + ".running_mean", bn.runningMean()), read(bnName + ".running_var", bn.runningVar()), bn.eps(), fw, fb);
                w = fw;
                b = fb;
            }
            Pool2dShape[] pools = pool == null ? null : poolShapes(name, pool);
            int in = current;
            current = buffer(size(shape) * maxBatch);
            steps.add(new Conv(in, current, shapes, pools, relu, size(shape), upload(w), b == null ? null : upload(b)));
            labels.add(label);
        }

        private void pool(String label, MaxPool2d pool, boolean relu) {
            Pool2dShape[] shapes = poolShapes(label, pool);
            int in = current;
            current = buffer(size(shape) * maxBatch);
            steps.add(new Pool(in, current, shapes, relu, size(shape)));
            labels.add(label);
        }

        /** The pooling's shapes for every batch size, of the current shape; sets shape to its output's. */
        private Pool2dShape[] poolShapes(String name, MaxPool2d pool) {
            int[] x = requireRank(name, pool, 3);
            int r = pool.kernel(), st = pool.stride(), pad = pool.padding();
            Pool2dShape[] shapes = new Pool2dShape[maxBatch];
            try {
                for (int n = 1; n <= maxBatch; n++) shapes[n - 1] = new Pool2dShape(n, x[0], x[1], x[2], r, r, st, st, pad, pad);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("Predictor: " + name + " cannot take input " + Arrays.toString(x) + ": " + e.getMessage(), e);
            }
            shape = new int[]{x[0], shapes[0].p(), shapes[0].q()};
            return shapes;
        }

        private void dense(String label, String name, Linear linear, boolean relu) {
            int[] x = requireRank(name, linear, 1);
            int inF = linear.inFeatures(), outF = linear.outFeatures();
            if (x[0] != inF)
                throw new IllegalArgumentException("Predictor: " + name + " (" + linear.describe() + ") expects " + inF
                        + " features, gets input " + Arrays.toString(x));
            float[] w = read(name + ".weight", linear.weight());
            Storage biasRows = null;
            if (linear.bias() != null) {
                float[] b = read(name + ".bias", linear.bias()), rows = new float[maxBatch * outF];
                for (int n = 0; n < maxBatch; n++) System.arraycopy(b, 0, rows, n * outF, outF);
                biasRows = upload(rows);
            }
            shape = new int[]{outF};
            int in = current;
            current = buffer(outF * maxBatch);
            steps.add(new Dense(in, current, inF, outF, upload(w), biasRows, relu));
            labels.add(label);
        }

        private void norm(String name, BatchNorm2d bn) {
            int[] x = requireRank(name, bn, 3);
            if (x[0] != bn.channels())
                throw new IllegalArgumentException("Predictor: " + name + " (" + bn.describe() + ") expects " + bn.channels()
                        + " channels, gets input " + Arrays.toString(x));
            Storage gamma = upload(read(name + ".weight", bn.weight())), beta = upload(read(name + ".bias", bn.bias()));
            Storage mean = upload(read(name + ".running_mean", bn.runningMean())), var = upload(read(name + ".running_var", bn.runningVar()));
            int in = current;
            current = buffer(size(shape) * maxBatch);
            int out = current, meanOut = buffer(x[0]), invStdOut = buffer(x[0]);
            steps.add(new Norm(in, out, x[0], x[1] * x[2], bn.eps(), gamma, beta, mean, var, meanOut, invStdOut));
            labels.add(name);
        }

        private int[] requireRank(String name, Module m, int rank) {
            if (shape.length != rank)
                throw new IllegalArgumentException("Predictor: " + name + " (" + m.describe() + ") needs an example of rank " + rank
                        + ", gets " + Arrays.toString(shape));
            return shape;
        }

        /** A new workspace buffer of {@code length} floats; its index. */
        private int buffer(int length) {
            bufferLengths.add(length);
            return bufferLengths.size() - 1;
        }

        /** The values of a model tensor, which from now on is watched for in-place changes. */
        private float[] read(String name, Tensor t) {
            sources.add(t.storage());
            sourceVersions.add(t.version());
            sourceNames.add(name);
            return Arrays.copyOf(t.toArray(), t.size());
        }

        private Storage upload(float[] values) {
            Storage s = backend.upload(values);
            weights.add(s);
            return s;
        }
    }
}
