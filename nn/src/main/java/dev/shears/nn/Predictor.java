package dev.shears.nn;

import dev.shears.core.Backend;
import dev.shears.core.HeapStorage;
import dev.shears.core.Storage;
import dev.shears.core.Tensor;

import dev.shears.nn.PredictorSteps.Step;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A model compiled once for inference: {@code predict(images, n, logitsOut)} and {@code classify(image)} run
 * a flat plan of backend calls on storages allocated when it was built, with the evaluation-mode semantics of
 * the model's forward pass (BatchNorm with its running statistics) whatever mode the model is in.
 *
 * <p>What building does, once ({@link PredictorCompiler}): the model's layers — a {@link Sequential}'s chain
 * or a {@link Graph}'s nodes along their wiring, nested in any way — become steps, with {@link Inference}'s
 * exact rewrites: Conv2d → BatchNorm2d folded into one convolution ({@link BatchNormFold}'s arithmetic), a
 * ReLU → MaxPool2d run as pooling then ReLU, an (ungrouped) convolution with its pooling and ReLU as one
 * backend op ({@link Backend#conv2dMaxPool2dForward}), a convolution with an Add of an earlier value (a residual
 * block's shortcut, written over it where nothing reads it afterwards) and a ReLU, or with a ReLU alone, as one
 * backend op ({@link Backend#conv2dAddReluForward}), a ReLU that alone reads a step's output applied in
 * place (after a convolution, pooling, Linear, Add, Concat, BatchNorm), Flatten, Identity and Dropout as
 * nothing at all (the next step reads the same buffer), a Linear's bias as the GEMM's starting value
 * (beta = 1). Add sums its inputs, Concat copies each into its range, AvgPool2d and GlobalAvgPool2d are
 * average pooling, grouped and depthwise convolutions the backend's. The weights are copied (folded where a
 * BatchNorm follows) to the model's backend: the plan reads nothing of the model afterwards. Each value's
 * buffer, sized for {@code maxBatch} examples, belongs to a workspace and is handed to a later value once its
 * last reader has run (a ReLU or an Add writes over an input nothing reads afterwards), so a ResNet's
 * workspace holds a few activations, not all of them. Layer types other than those are refused when
 * building, with the layer's name and type.
 *
 * <p>Per call: the staleness check below, one workspace taken from a pool, the input copied into its first
 * buffer, the steps, the output copied out; a large batch on several threads in chunks of about {@link #CHUNK}
 * examples instead, each thread taking its share of the chunks through all the steps with a workspace of its
 * own ({@link #chunks}). On the CPU backend (storages in the Java heap) a call allocates
 * nothing on the calling thread once the JIT has compiled it: SimpleCNN, pruned or not, and a graph with residual
 * adds, a depthwise conv, a concatenation, average pools and a lone BatchNorm, at batches 1 to 8 on one thread or
 * two (measured by {@code PredictorTest} with {@code ThreadMXBean.getThreadAllocatedBytes}); the
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
 * call runs its kernels on its own thread, with the same results.) A call with fewer examples than the backend
 * has threads (batch 1 on two) runs each step's kernels split across the threads or on the calling thread
 * alone, as recent calls timed faster ({@link SplitChoice}; {@code -Dshears.predict.split=threads} or
 * {@code caller} fixes it): sharing one example between cores pays for every activation crossing between
 * their caches, and that price depends on where the cores are.
 *
 * <p>Staleness: a call first checks that the model still holds what the plan was built from — each module's
 * count of replaced parameters, buffers and children ({@link Module#setParameter}, loadStateDict, pruning,
 * {@link Module#to}) and each weight's {@link Storage#version} (bumped by optimiser steps and BatchNorm's
 * training updates, or by {@link Tensor#markModified} after a write of one's own) — and otherwise throws an
 * {@link IllegalStateException} naming what changed: build a new Predictor. A few field reads per layer.
 *
 */
public final class Predictor implements AutoCloseable {

    /** Idle workspaces kept for the next calls; more threads than this at once still work, each with its own. */
    public static final int POOLED = Math.max(8, 2 * Runtime.getRuntime().availableProcessors());

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

    private final boolean host;                 // the backend's storages are Java arrays (HeapStorage)
    private final long weightFloats;            // of the plan's weights, for chunks()
    private final AtomicReferenceArray<Storage[]> idle = new AtomicReferenceArray<>(POOLED);
    /** For n examples, 1 ≤ n &lt; the backend's threads, on a backend of Java arrays: split or alone ({@link SplitChoice}). */
    private final SplitChoice[] splitChoices;
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
        return new Predictor(new PredictorCompiler(model, maxBatch, exampleShape).build());
    }

    /**
     * Whether {@link #of} knows every layer of {@code model}: a Sequential (nested ones too) of Conv2d,
     * BatchNorm2d, ReLU, MaxPool2d, Flatten and Linear, or one of those alone. Their shapes must still fit.
     */
    public static boolean supports(Module model) { return PredictorCompiler.supports(model); }

    private Predictor(PredictorCompiler c) {
        this.backend = c.backend;
        this.maxBatch = c.maxBatch;
        this.inputShape = c.inputShape;
        this.outputShape = c.outputShape;
        this.inputSize = size(inputShape);
        this.outputSize = size(outputShape);
        this.steps = c.steps.toArray(Step[]::new);
        this.labels = c.labels.toArray(String[]::new);
        this.bufferLengths = c.bufferLengths.stream().mapToInt(Integer::intValue).toArray();
        this.output = c.outputBuffer;
        this.weights = List.copyOf(c.weights);
        this.modules = c.modules.toArray(Module[]::new);
        this.moduleChanges = new int[modules.length];
        for (int i = 0; i < modules.length; i++) moduleChanges[i] = modules[i].changes();
        this.moduleNames = c.moduleNames.toArray(String[]::new);
        this.sources = c.sources.toArray(Storage[]::new);
        this.sourceVersions = c.sourceVersions.stream().mapToLong(Long::longValue).toArray();
        this.sourceNames = c.sourceNames.toArray(String[]::new);
        this.weightFloats = c.weightFloats;
        try (Storage probe = backend.allocate(1)) {
            this.host = probe instanceof HeapStorage;
        }
        this.splitChoices = new SplitChoice[host ? Math.min(backend.threads(), maxBatch + 1) : 0];
        for (int n = 1; n < splitChoices.length; n++) splitChoices[n] = SplitChoice.fromSetting(steps.length);
    }

    /** For tests: every batch size below the thread count runs every step split (false) or alone (true), or is timed anew (null). */
    void fixSplit(Boolean alone) {
        for (int n = 1; n < splitChoices.length; n++) splitChoices[n] = new SplitChoice(steps.length, alone);
    }

    /** Steps in the plan. */
    int stepCount() { return steps.length; }

    /** For tests and profiling: the steps that calls of n examples run on the calling thread alone now (bit s: step s). */
    long stepsAlone(int n) { return n < splitChoices.length ? splitChoices[n].alone() : 0; }

    public int maxBatch() { return maxBatch; }

    /** One example's shape, as given to {@link #of}. */
    public int[] inputShape() { return inputShape.clone(); }

    /** One example's output shape (for a classifier, [classes]). */
    public int[] outputShape() { return outputShape.clone(); }

    /** Values per example in the output (for a classifier, its classes): logitsOut needs n times this. */
    public int outputSize() { return outputSize; }

    public Backend backend() { return backend; }

    /** Buffers in one workspace (the input, the values live at once, scratch): the plan reuses a buffer after its last reader. */
    int workspaceBuffers() { return bufferLengths.length; }

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
        int chunks = chunks(n);
        if (chunks > 1) {
            requireCurrent();
            backend.splitAcrossThreads(chunks, (lo, hi) -> {
                Storage[] ws = take();
                try {
                    for (int c = lo; c < hi; c++) {
                        int first = (int) ((long) c * n / chunks), count = (int) ((long) (c + 1) * n / chunks) - first;
                        runSteps(ws, images, first, count);
                        copyOut(ws, first, count, logitsOut);
                    }
                } finally {
                    give(ws);
                }
            });
            return;
        }
        Storage[] ws = take();
        try {
            runChoosingThreads(ws, images, n);
            copyOut(ws, 0, n, logitsOut);
        } finally {
            give(ws);
        }
    }

    /**
     * {@link #run}; with fewer examples than the backend has threads, each step's kernels split across the
     * threads or on this thread alone, as the batch size's {@link SplitChoice} says, and the call's time
     * reported to it.
     */
    private void runChoosingThreads(Storage[] ws, float[] images, int n) {
        if (n >= splitChoices.length) {
            run(ws, images, n);
            return;
        }
        SplitChoice choice = splitChoices[n];
        long alone = choice.next();
        long start = System.nanoTime();
        run(ws, images, n, steps.length, alone);
        choice.took(alone, System.nanoTime() - start);
    }

    /** Examples per chunk of a large batch (see {@link #chunks}); {@code shears.predict.chunk}, 0: no chunks. */
    static final int CHUNK = Integer.getInteger("shears.predict.chunk", 16);

    /** The most weights (floats, biases included) of a plan that runs a large batch in chunks (see {@link #chunks}). */
    static final long CHUNK_WEIGHTS = 64 * 1024;

    /**
     * How many chunks {@link #predict} cuts n examples into: each chunk (CHUNK examples or a few more) runs
     * through every step before the next starts, on a thread of its own ({@link Backend#splitAcrossThreads},
     * each with a workspace of its own), so a chunk's activations stay in that core's cache from one layer to
     * the next and the threads meet once per call instead of once per step. Only on a backend whose storages
     * are Java arrays, for a plan of at most {@link #CHUNK_WEIGHTS} weights, and with enough examples for two
     * chunks per thread; else 1 (the whole batch step by step). A chunked call allocates its task (a lambda
     * and the backend's range, a few dozen bytes); the calls PredictorTest watches for allocation (batches 1
     * to 8) are never chunked.
     *
     * <p>Measured on one thread at batch 256, the calling thread's CPU time, medians of 40 calls (Zen 4,
     * shared machine, docs/performance.md, 2026-12-07): the ResNet fixture 22.5–23.3 → 18.2–18.8 ms in chunks
     * of 16 (8 to 32 alike, 64: 19.4, 256: 22.7). SimpleCNN 20.8–21.1 → 23.8–24.3 ms: its fc1 (1.6 M
     * weights) is packed for the GEMM on every call, once per chunk instead of once.
     */
    private int chunks(int n) {
        if (CHUNK <= 0 || !host || weightFloats > CHUNK_WEIGHTS) return 1;
        int chunks = n / CHUNK;
        return chunks >= 2 * backend.threads() ? chunks : 1;
    }

    /** logitsOut[first·O ..) = the outputs of examples first to first + n − 1, from workspace ws. */
    private void copyOut(Storage[] ws, int first, int n, float[] logitsOut) {
        Storage out = ws[output];
        float[] values = out instanceof HeapStorage ? HeapStorage.floats(out) : backend.download(out);
        System.arraycopy(values, 0, logitsOut, first * outputSize, n * outputSize);
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
            runChoosingThreads(ws, image, 1);
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

    private void run(Storage[] ws, float[] images, int n) { run(ws, images, n, steps.length, 0); }

    /**
     * Copies the images in and runs the first {@code count} steps, each whose bit is set in {@code alone} (bit s:
     * step s, the first 64) on this thread alone ({@link Backend#callingThreadOnly}).
     */
    private void run(Storage[] ws, float[] images, int n, int count, long alone) {
        requireCurrent();
        copyIn(ws, images, 0, n);
        for (int i = 0; i < count; i++) {
            if (i >= 64 || (alone & 1L << i) == 0) steps[i].run(backend, ws, n);
            else {
                boolean was = backend.callingThreadOnly(true);
                try {
                    steps[i].run(backend, ws, n);
                } finally {
                    backend.callingThreadOnly(was);
                }
            }
        }
    }

    /** Examples first to first + n − 1 of images through every step, in workspace ws. */
    private void runSteps(Storage[] ws, float[] images, int first, int n) {
        copyIn(ws, images, first, n);
        for (Step step : steps) step.run(backend, ws, n);
    }

    /** The workspace's input buffer = examples first to first + n − 1 of images. */
    private void copyIn(Storage[] ws, float[] images, int first, int n) {
        Storage in = ws[0];
        if (in instanceof HeapStorage) System.arraycopy(images, first * inputSize, HeapStorage.floats(in), 0, n * inputSize);
        else try (Storage up = backend.upload(Arrays.copyOfRange(images, first * inputSize, (first + n) * inputSize))) {
            backend.copy(n * inputSize, up, in);
        }
    }

    /**
     * Where a pass's time goes: {@code passes} passes of the first n examples of {@code images}, each step
     * timed on its own (the backend synchronised after it); the median microseconds of each step, by its
     * label (a step's fused layers joined by '+'; a label that repeats gets " #2", ...), in plan order.
     * For profiling: the timing itself allocates.
     */
    public java.util.LinkedHashMap<String, Double> stepMicros(float[] images, int n, int passes) {
        if (passes < 1) throw new IllegalArgumentException("Predictor.stepMicros: passes must be at least 1, got " + passes);
        predict(images, n, new float[n * outputSize]);          // checks the arguments
        long[][] ns = new long[steps.length][passes];
        Storage[] ws = take();
        try {
            for (int i = 0; i < passes; i++) {
                run(ws, images, n, 0, 0);
                for (int s = 0; s < steps.length; s++) {
                    long t = System.nanoTime();
                    steps[s].run(backend, ws, n);
                    backend.synchronize();
                    ns[s][i] = System.nanoTime() - t;
                }
            }
        } finally {
            give(ws);
        }
        java.util.LinkedHashMap<String, Double> micros = new java.util.LinkedHashMap<>();
        for (int s = 0; s < steps.length; s++) {
            long[] sorted = ns[s].clone();
            Arrays.sort(sorted);
            String label = labels[s];
            for (int k = 2; micros.containsKey(label); k++) label = labels[s] + " #" + k;
            micros.put(label, sorted[passes / 2] / 1e3);
        }
        return micros;
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
}
