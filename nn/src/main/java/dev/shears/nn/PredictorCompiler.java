package dev.shears.nn;

import dev.shears.core.Backend;
import dev.shears.core.Conv2dShape;
import dev.shears.core.Pool2dShape;
import dev.shears.core.Storage;
import dev.shears.core.Tensor;
import dev.shears.nn.PredictorSteps.Step;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.IntUnaryOperator;

/**
 * Builds a {@link Predictor}'s plan, in three passes:
 * <ol>
 *   <li>lowering: the model becomes a list of leaf layers applied to numbered values (value 0 is the input,
 *       layer i writes value i + 1), Sequentials inlined as chains and Graphs along their wiring, nested
 *       in any way; every module on the way is watched for changes;</li>
 *   <li>fusing: each layer not yet taken becomes one step, with the layers after it that only read its
 *       result where a kernel allows (Conv2d → BatchNorm2d folded, then ReLU, then MaxPool2d, or instead an
 *       Add of an earlier value, a residual shortcut, then ReLU; ReLU → MaxPool2d as pooling then ReLU; a
 *       ReLU after any other step in place on its output). Flatten, Identity and
 *       Dropout (evaluation: the identity) become no step at all: their value is their input's buffer. Two
 *       pooled convolutions in a row, the second alone reading the first, then become one step
 *       ({@link #pairConvolutions});</li>
 *   <li>buffers: walking the steps in order, each output takes a free buffer (the smallest that fits,
 *       else the largest, grown) and a value's buffer is freed after its last reader; a ReLU or an Add
 *       writes over an input that nothing reads afterwards. The model's output is never freed.</li>
 * </ol>
 * Steps run in the order of their first layer, which is topological: a fused layer reads only the step's
 * chain.
 */
final class PredictorCompiler {

    /** A leaf layer applied to values; layer i writes value i + 1. */
    private record Layer(String name, Module module, int[] in) {}

    /**
     * A step before its buffers are known: what it reads and writes, and how to make it given value → buffer;
     * temps: values that live only during the step (a buffer each, free again after it); pooledConv: a pooled
     * convolution reading reads[0] and nothing else ({@link #pairConvolutions}).
     */
    private record Planned(String label, int[] reads, int writes, int[] inPlace, Function<IntUnaryOperator, Step> make,
                           int[] temps, boolean pooledConv) {
        Planned(String label, int[] reads, int writes, int[] inPlace, Function<IntUnaryOperator, Step> make) {
            this(label, reads, writes, inPlace, make, NONE, false);
        }
    }

    private static final int[] NONE = {};

    final Module model;
    final Backend backend;
    final int maxBatch;
    final int[] inputShape;
    private final List<Layer> layers = new ArrayList<>();
    private int[][] shapes;          // one example's shape of each value
    private int[] alias;             // the value whose buffer holds each value (itself, unless Flatten & co.)
    private int[] readers;           // how many layer inputs name each value (+1 for the output)
    private int[] soleReader;        // the layer that reads a value read once
    private boolean[] taken;         // layers already fused into an earlier step
    private int output;
    private final List<Planned> planned = new ArrayList<>();
    private final List<String> fused = new ArrayList<>();   // names of the layers fused into the step being compiled

    // results
    final List<Step> steps = new ArrayList<>();
    final List<String> labels = new ArrayList<>();
    final List<Integer> bufferLengths = new ArrayList<>();
    final List<Storage> weights = new ArrayList<>();
    final List<Module> modules = new ArrayList<>();
    final List<String> moduleNames = new ArrayList<>();
    final List<Storage> sources = new ArrayList<>();
    final List<Long> sourceVersions = new ArrayList<>();
    final List<String> sourceNames = new ArrayList<>();
    int outputBuffer;
    int[] outputShape;
    long weightFloats;               // of every weight (and bias) the plan uploaded

    PredictorCompiler(Module model, int maxBatch, int[] exampleShape) {
        this.model = model;
        this.backend = model.backend();
        this.maxBatch = maxBatch;
        this.inputShape = exampleShape.clone();
        bufferLengths.add(size(inputShape) * maxBatch);   // buffer 0: the input, copied in by every call
    }

    /** Whether {@link #lower} knows every layer of {@code m}. */
    static boolean supports(Module m) {
        if (m instanceof Sequential || m instanceof Graph) return m.childModules().stream().allMatch(PredictorCompiler::supports);
        return m instanceof Conv2d || m instanceof BatchNorm2d || m instanceof ReLU || m instanceof MaxPool2d || m instanceof AvgPool2d
                || m instanceof GlobalAvgPool2d || m instanceof Flatten || m instanceof Linear || m instanceof Add
                || m instanceof Concat || m instanceof Identity || m instanceof Dropout;
    }

    PredictorCompiler build() {
        output = lower("", model, new int[]{0});
        int values = layers.size() + 1;
        shapes = new int[values][];
        shapes[0] = inputShape;
        alias = new int[values];
        for (int v = 0; v < values; v++) alias[v] = v;
        readers = new int[values];
        soleReader = new int[values];
        for (int i = 0; i < layers.size(); i++)
            for (int v : layers.get(i).in) {
                readers[v]++;
                soleReader[v] = i;
            }
        readers[output]++;                       // the output is read by the caller: nothing fuses it away
        taken = new boolean[layers.size()];
        for (int i = 0; i < layers.size(); i++) if (!taken[i]) compile(i);
        pairConvolutions();
        assignBuffers();
        outputShape = shapes[output];
        return this;
    }

    // ---- lowering ----

    /** Appends the leaf layers of {@code m} applied to values {@code in}; returns the value of its output. */
    private int lower(String name, Module m, int[] in) {
        modules.add(m);
        moduleNames.add(name.isEmpty() ? "the model" : name);
        String prefix = name.isEmpty() ? "" : name + ".";
        if (m instanceof Sequential seq) {
            int v = in[0];
            for (var e : seq.children().entrySet()) v = lower(prefix + e.getKey(), e.getValue(), new int[]{v});
            return v;
        }
        if (m instanceof Graph g) {
            Map<String, Integer> at = new HashMap<>();
            at.put(Graph.INPUT, in[0]);
            for (String node : g.nodeNames())
                at.put(node, lower(prefix + node, g.node(node), g.inputsOf(node).stream().mapToInt(at::get).toArray()));
            return at.get(g.outputName());
        }
        if (!supports(m))
            throw new IllegalArgumentException("Predictor: cannot compile layer " + (name.isEmpty() ? "(the model)" : name) + " of type "
                    + m.getClass().getName() + "; it compiles Conv2d (grouped too), BatchNorm2d, ReLU, MaxPool2d, AvgPool2d, GlobalAvgPool2d, "
                    + "Flatten, Linear, Add, Concat, Identity, Dropout, Sequential and Graph");
        layers.add(new Layer(name.isEmpty() ? m.getClass().getSimpleName() : name, m, in));
        return layers.size();
    }

    // ---- fusing ----

    /** The layer that alone reads value v (and v is not the output), if it is a {@code type}; else null. */
    private <T extends Module> T next(int v, Class<T> type) {
        if (readers[v] != 1 || v == 0) return null;
        Module m = layers.get(soleReader[v]).module;
        return type.isInstance(m) ? type.cast(m) : null;
    }

    /** Marks the sole reader of v as fused and returns its value. */
    private int take(int v) {
        int layer = soleReader[v];
        taken[layer] = true;
        fused.add(layers.get(layer).name);
        return layer + 1;
    }

    /** Fuses a ReLU that alone reads v, if there is one: the value the step then writes (v or the ReLU's). */
    private int reluAfter(int v) {
        if (next(v, ReLU.class) == null) return v;
        int r = take(v);
        shapes[r] = shapes[v];
        return r;
    }

    /** The label of the step starting at layer i: its name and those of the layers fused into it. */
    private String label(int i) {
        return fused.isEmpty() ? layers.get(i).name : layers.get(i).name + "+" + String.join("+", fused);
    }

    private void compile(int i) {
        Layer layer = layers.get(i);
        Module m = layer.module;
        String name = layer.name;
        int x = layer.in[0], v = i + 1;
        int[] shape = shapes[x];
        fused.clear();
        if (m instanceof Flatten) {
            if (shape.length < 1)
                throw new IllegalArgumentException("Predictor: " + name + " (Flatten) needs an input, got shape " + Arrays.toString(shape));
            view(v, x, new int[]{size(shape)});
        } else if (m instanceof Identity || m instanceof Dropout) {
            view(v, x, shape);
        } else if (m instanceof Conv2d conv) {
            conv(i, conv, x);
        } else if (m instanceof ReLU && next(v, MaxPool2d.class) != null) {
            MaxPool2d pool = next(v, MaxPool2d.class);
            String poolName = layers.get(soleReader[v]).name;
            maxPool(i, poolName, pool, x, take(v), true);
        } else if (m instanceof ReLU) {
            shapes[v] = shape;
            int size = size(shape);
            planned.add(new Planned(name, new int[]{x}, v, new int[]{x}, buf -> new PredictorSteps.Relu(buf.applyAsInt(x), buf.applyAsInt(v), size)));
        } else if (m instanceof MaxPool2d pool) {
            maxPool(i, name, pool, x, v, false);
        } else if (m instanceof AvgPool2d pool) {
            avgPool(i, pool.kernel(), pool.kernel(), pool.stride(), pool.padding(), pool.countIncludePad(), x);
        } else if (m instanceof GlobalAvgPool2d) {
            int[] s = requireRank(name, m, shape, 3);
            avgPool(i, s[1], s[2], 1, 0, true, x);
        } else if (m instanceof Linear linear) {
            dense(i, linear, x);
        } else if (m instanceof BatchNorm2d bn) {
            norm(i, bn, x);
        } else if (m instanceof Add) {
            sum(i, layer.in);
        } else if (m instanceof Concat c) {
            concat(i, c, layer.in);
        } else {
            throw new AssertionError(m.getClass());   // supports() listed it
        }
    }

    /** Value v is value x seen with another shape (no step, no copy). */
    private void view(int v, int x, int[] shape) {
        alias[v] = alias[x];
        shapes[v] = shape;
    }

    private void conv(int i, Conv2d conv, int x) {
        String name = layers.get(i).name;
        int[] s = requireChannels(name, conv, shapes[x], conv.inChannels());
        int k = conv.outChannels(), r = conv.kernel(), st = conv.stride(), pad = conv.padding(), g = conv.groups();
        Conv2dShape[] convShapes = new Conv2dShape[maxBatch];
        try {
            for (int n = 1; n <= maxBatch; n++) convShapes[n - 1] = new Conv2dShape(n, s[0], s[1], s[2], k, r, r, st, st, pad, pad, g);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("Predictor: " + name + " cannot take input " + Arrays.toString(s) + ": " + e.getMessage(), e);
        }
        int v = i + 1;
        shapes[v] = new int[]{k, convShapes[0].p(), convShapes[0].q()};
        float[] w = read(name + ".weight", conv.weight()), b = conv.bias() == null ? null : read(name + ".bias", conv.bias());
        BatchNorm2d bn = next(v, BatchNorm2d.class);
        if (bn != null) {
            String bnName = layers.get(soleReader[v]).name;
            if (bn.channels() != k)
                throw new IllegalArgumentException("Predictor: " + bnName + " has " + bn.channels() + " channels after " + name + "'s " + k);
            float[] fw = new float[w.length], fb = new float[k];
            BatchNormFold.fold(w, b, read(bnName + ".weight", bn.weight()), read(bnName + ".bias", bn.bias()),
                    read(bnName + ".running_mean", bn.runningMean()), read(bnName + ".running_var", bn.runningVar()), bn.eps(), fw, fb);
            w = fw;
            b = fb;
            int folded = take(v);
            shapes[folded] = shapes[v];
            v = folded;
        }
        int end = reluAfter(v);
        boolean relu = end != v;
        Pool2dShape[] pools = null;
        MaxPool2d pool = g == 1 ? next(end, MaxPool2d.class) : null;   // the CPU backend fuses ungrouped convolutions only
        if (pool != null) {
            String poolName = layers.get(soleReader[end]).name;
            pools = poolShapes(poolName, pool, shapes[end]);
            int p = take(end);
            shapes[p] = new int[]{k, pools[0].p(), pools[0].q()};
            end = p;
            if (!relu) {                                  // conv → pool → ReLU: the same as conv → ReLU → pool
                int e = reluAfter(end);
                relu = e != end;
                end = e;
            }
        }
        int residual = -1;
        if (pool == null && !relu) {
            residual = shortcut(i, x, end);
            if (residual >= 0) {
                int sum = take(end);
                shapes[sum] = shapes[end];
                end = reluAfter(sum);
                relu = end != sum;
            }
        }
        Storage wS = upload(w), bS = b == null ? null : upload(b);
        int out = end, outSize = size(shapes[end]), sc = residual;
        Pool2dShape[] ps = pools;
        boolean re = relu;
        planned.add(new Planned(label(i), sc < 0 ? new int[]{x} : new int[]{x, sc}, out, sc < 0 ? NONE : new int[]{sc},
                buf -> new PredictorSteps.Conv(buf.applyAsInt(x), buf.applyAsInt(out), convShapes, ps, re,
                        sc < 0 ? -1 : buf.applyAsInt(sc), outSize, wS, bS), NONE, ps != null));
    }

    /**
     * Two pooled convolutions in a row, the second alone reading the first's output, become one step
     * ({@link PredictorSteps.ConvPair}, {@link Backend#conv2dMaxPool2dPairForward}), so that the backend may keep
     * the values between them in a layout of its own; the first's output becomes the step's temporary.
     */
    private void pairConvolutions() {
        for (int s = 0; s + 1 < planned.size(); s++) {
            Planned a = planned.get(s), b = planned.get(s + 1);
            if (!a.pooledConv || !b.pooledConv || b.reads[0] != a.writes || readers[a.writes] != 1) continue;
            planned.set(s, new Planned(a.label + "+" + b.label, a.reads, b.writes, NONE,
                    buf -> new PredictorSteps.ConvPair((PredictorSteps.Conv) a.make.apply(buf), (PredictorSteps.Conv) b.make.apply(buf)),
                    new int[]{a.writes}, false));
            planned.remove(s + 1);
        }
    }

    /**
     * The other input of an Add of two inputs that alone reads v, the output of the convolution at layer i
     * (BatchNorm folded), if the convolution can take it in (a residual block's shortcut, added in the
     * convolution's stores): it must be computed by an earlier step (value u is layer u − 1's output, so
     * u ≤ i) and be neither v nor the convolution's input x (the sum is written over it where nothing reads
     * it afterwards); else −1.
     */
    private int shortcut(int i, int x, int v) {
        if (next(v, Add.class) == null) return -1;
        int[] in = layers.get(soleReader[v]).in;
        if (in.length != 2) return -1;
        int other = in[0] == v ? in[1] : in[0];
        if (other == v || other > i || alias[other] == alias[x] || !Arrays.equals(shapes[other], shapes[v])) return -1;
        return other;
    }

    /** Max-pooling of x (by layer {@code name}) written to value v, then ReLU if {@code relu} or if one alone reads v. */
    private void maxPool(int i, String name, MaxPool2d pool, int x, int v, boolean relu) {
        Pool2dShape[] ps = poolShapes(name, pool, shapes[x]);
        shapes[v] = new int[]{ps[0].c(), ps[0].p(), ps[0].q()};
        int end = relu ? v : reluAfter(v);
        boolean re = relu || end != v;
        int outSize = size(shapes[v]);
        planned.add(new Planned(label(i), new int[]{x}, end, NONE,
                buf -> new PredictorSteps.MaxPool(buf.applyAsInt(x), buf.applyAsInt(end), ps, re, outSize)));
        shapes[end] = shapes[v];
    }

    private Pool2dShape[] poolShapes(String name, MaxPool2d pool, int[] shape) {
        int[] s = requireRank(name, pool, shape, 3);
        return poolShapes(name, s, pool.kernel(), pool.kernel(), pool.stride(), pool.stride(), pool.padding());
    }

    private Pool2dShape[] poolShapes(String name, int[] s, int kh, int kw, int sh, int sw, int pad) {
        Pool2dShape[] shapes = new Pool2dShape[maxBatch];
        try {
            for (int n = 1; n <= maxBatch; n++) shapes[n - 1] = new Pool2dShape(n, s[0], s[1], s[2], kh, kw, sh, sw, pad, pad);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("Predictor: " + name + " cannot take input " + Arrays.toString(s) + ": " + e.getMessage(), e);
        }
        return shapes;
    }

    private void avgPool(int i, int kh, int kw, int stride, int pad, boolean countIncludePad, int x) {
        Layer layer = layers.get(i);
        int[] s = requireRank(layer.name, layer.module, shapes[x], 3);
        Pool2dShape[] ps = poolShapes(layer.name, s, kh, kw, stride, stride, pad);
        int v = i + 1;
        shapes[v] = new int[]{s[0], ps[0].p(), ps[0].q()};
        int end = reluAfter(v), outSize = size(shapes[v]);
        boolean relu = end != v;
        planned.add(new Planned(label(i), new int[]{x}, end, NONE,
                buf -> new PredictorSteps.AvgPool(buf.applyAsInt(x), buf.applyAsInt(end), ps, countIncludePad, relu, outSize)));
    }

    private void dense(int i, Linear linear, int x) {
        String name = layers.get(i).name;
        int[] s = requireRank(name, linear, shapes[x], 1);
        int inF = linear.inFeatures(), outF = linear.outFeatures();
        if (s[0] != inF)
            throw new IllegalArgumentException("Predictor: " + name + " (" + linear.describe() + ") expects " + inF
                    + " features, gets input " + Arrays.toString(s));
        Storage w = upload(read(name + ".weight", linear.weight()));
        Storage biasRows = null;
        if (linear.bias() != null) {
            float[] b = read(name + ".bias", linear.bias()), rows = new float[maxBatch * outF];
            for (int n = 0; n < maxBatch; n++) System.arraycopy(b, 0, rows, n * outF, outF);
            biasRows = upload(rows);
        }
        int v = i + 1;
        shapes[v] = new int[]{outF};
        int end = reluAfter(v);
        boolean relu = end != v;
        Storage bias = biasRows;
        planned.add(new Planned(label(i), new int[]{x}, end, NONE,
                buf -> new PredictorSteps.Dense(buf.applyAsInt(x), buf.applyAsInt(end), inF, outF, w, bias, relu)));
    }

    private void norm(int i, BatchNorm2d bn, int x) {
        String name = layers.get(i).name;
        int[] s = requireChannels(name, bn, shapes[x], bn.channels());
        Storage gamma = upload(read(name + ".weight", bn.weight())), beta = upload(read(name + ".bias", bn.bias()));
        Storage mean = upload(read(name + ".running_mean", bn.runningMean())), var = upload(read(name + ".running_var", bn.runningVar()));
        int meanOut = scratch(s[0]), invStdOut = scratch(s[0]);
        int v = i + 1;
        shapes[v] = s;
        int end = reluAfter(v);
        boolean relu = end != v;
        planned.add(new Planned(label(i), new int[]{x}, end, NONE, buf -> new PredictorSteps.Norm(buf.applyAsInt(x),
                buf.applyAsInt(end), s[0], s[1] * s[2], bn.eps(), gamma, beta, mean, var, meanOut, invStdOut, relu)));
    }

    private void sum(int i, int[] in) {
        Layer layer = layers.get(i);
        int[] s = shapes[in[0]];
        for (int j = 1; j < in.length; j++)
            if (!Arrays.equals(s, shapes[in[j]]))
                throw new IllegalArgumentException("Predictor: " + layer.name + " (Add): input " + j + " has shape "
                        + Arrays.toString(shapes[in[j]]) + " but input 0 has " + Arrays.toString(s));
        int v = i + 1;
        if (in.length == 1) {
            view(v, in[0], s);
            return;
        }
        shapes[v] = s;
        int end = reluAfter(v), size = size(s);
        boolean relu = end != v;
        int[][] flat = new int[maxBatch][];
        for (int n = 1; n <= maxBatch; n++) flat[n - 1] = new int[]{n * size};
        // the sum may be written over its first or second input where nothing reads it afterwards
        int[] inPlace = Arrays.stream(in, 0, 2)
                .filter(u -> Arrays.stream(in, 2, in.length).noneMatch(w -> alias[w] == alias[u])).toArray();   // read again after the first add
        planned.add(new Planned(label(i), in, end, inPlace, buf -> new PredictorSteps.Sum(
                Arrays.stream(in).map(buf).toArray(), buf.applyAsInt(end), flat, relu)));
    }

    private void concat(int i, Concat c, int[] in) {
        Layer layer = layers.get(i);
        int[] s = shapes[in[0]];
        int d = c.dim() - 1;                                 // the dimension within one example
        if (d < 0 || d >= s.length)
            throw new IllegalArgumentException("Predictor: " + layer.name + " (" + c.describe() + ") needs a dimension between 1 and "
                    + s.length + " for examples of shape " + Arrays.toString(s));
        int outer = 1, inner = 1, along = 0;
        for (int j = 0; j < d; j++) outer *= s[j];
        for (int j = d + 1; j < s.length; j++) inner *= s[j];
        int[] cols = new int[in.length], offsets = new int[in.length];
        for (int j = 0; j < in.length; j++) {
            int[] t = shapes[in[j]];
            boolean fits = t.length == s.length;
            for (int e = 0; fits && e < s.length; e++) fits = e == d || t[e] == s[e];
            if (!fits)
                throw new IllegalArgumentException("Predictor: " + layer.name + " (" + c.describe() + "): input " + j + " has shape "
                        + Arrays.toString(t) + ", which does not fit input 0's " + Arrays.toString(s) + " but along dimension " + c.dim());
            offsets[j] = along * inner;
            cols[j] = t[d] * inner;
            along += t[d];
        }
        int v = i + 1;
        shapes[v] = s.clone();
        shapes[v][d] = along;
        int end = reluAfter(v), o = outer, total = along * inner;
        boolean relu = end != v;
        planned.add(new Planned(label(i), in, end, NONE, buf -> new PredictorSteps.Concat(
                Arrays.stream(in).map(buf).toArray(), buf.applyAsInt(end), o, cols, offsets, total, relu)));
    }

    /** shape, if it is [channels, H, W]. */
    private static int[] requireChannels(String name, Module m, int[] shape, int channels) {
        requireRank(name, m, shape, 3);
        if (shape[0] != channels)
            throw new IllegalArgumentException("Predictor: " + name + " (" + m.describe() + ") expects " + channels
                    + " channels, gets input " + Arrays.toString(shape));
        return shape;
    }

    private static int[] requireRank(String name, Module m, int[] shape, int rank) {
        if (shape.length != rank)
            throw new IllegalArgumentException("Predictor: " + name + " (" + m.describe() + ") needs an example of rank " + rank
                    + ", gets " + Arrays.toString(shape));
        return shape;
    }

    // ---- buffers ----

    private void assignBuffers() {
        int values = layers.size() + 1;
        int[] last = new int[values];                      // the last step reading each value's buffer
        Arrays.fill(last, -1);
        for (int s = 0; s < planned.size(); s++) {
            Planned p = planned.get(s);
            last[p.writes] = s;                           // a value nobody reads is freed at once
            for (int v : p.reads) last[alias[v]] = s;
        }
        last[alias[output]] = Integer.MAX_VALUE;
        int[] buffer = new int[values];
        Arrays.fill(buffer, -1);
        buffer[0] = 0;
        List<Integer> free = new ArrayList<>();
        for (int s = 0; s < planned.size(); s++) {
            Planned p = planned.get(s);
            int len = size(shapes[p.writes]) * maxBatch, kept = -1;
            for (int v : p.inPlace)
                if (kept < 0 && last[alias[v]] == s) kept = alias[v];   // never the output's: its last is MAX_VALUE
            buffer[p.writes] = kept >= 0 ? buffer[kept] : allocate(free, len);
            for (int t : p.temps) buffer[t] = allocate(free, size(shapes[t]) * maxBatch);   // none of the step's own
            for (int v : Arrays.stream(p.reads).map(u -> alias[u]).distinct().toArray())
                if (v != kept && last[v] == s) free.add(buffer[v]);
            if (last[p.writes] == s && p.writes != alias[output]) free.add(buffer[p.writes]);
            for (int t : p.temps) free.add(buffer[t]);
        }
        IntUnaryOperator bufferOf = v -> buffer[alias[v]];
        for (Planned p : planned) {
            steps.add(p.make.apply(bufferOf));
            labels.add(p.label);
        }
        outputBuffer = bufferOf.applyAsInt(output);
    }

    /** A free buffer for len floats (the smallest that fits, else the largest, grown), or a new one. */
    private int allocate(List<Integer> free, int len) {
        int best = -1;
        for (int j = 0; j < free.size(); j++) {
            int b = free.get(j), have = bufferLengths.get(b);
            if (best < 0) { best = j; continue; }
            int bestLen = bufferLengths.get(free.get(best));
            boolean fits = have >= len, bestFits = bestLen >= len;
            if (fits && (!bestFits || have < bestLen) || !fits && !bestFits && have > bestLen) best = j;
        }
        if (best < 0) {
            bufferLengths.add(len);
            return bufferLengths.size() - 1;
        }
        int b = free.remove(best);
        bufferLengths.set(b, Math.max(bufferLengths.get(b), len));
        return b;
    }

    /** A buffer of its own (never shared), for a step's scratch values. */
    private int scratch(int len) {
        bufferLengths.add(len);
        return bufferLengths.size() - 1;
    }

    // ---- weights ----

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
        weightFloats += values.length;
        return s;
    }

    static int size(int[] shape) {
        int n = 1;
        for (int d : shape) n *= d;
        return n;
    }
}
