package dev.shears.prune;

import dev.shears.core.GradMode;
import dev.shears.core.Tensor;
import dev.shears.core.TensorScope;
import dev.shears.nn.Add;
import dev.shears.nn.AvgPool2d;
import dev.shears.nn.BatchNorm2d;
import dev.shears.nn.Concat;
import dev.shears.nn.Conv2d;
import dev.shears.nn.Dropout;
import dev.shears.nn.Flatten;
import dev.shears.nn.GlobalAvgPool2d;
import dev.shears.nn.Graph;
import dev.shears.nn.Identity;
import dev.shears.nn.Linear;
import dev.shears.nn.MaxPool2d;
import dev.shears.nn.Module;
import dev.shears.nn.MultiInput;
import dev.shears.nn.ReLU;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which channel dimensions of a model are coupled, found from the model itself.
 *
 * <p>How to use it (the API the pruning methods and feature-map reconstruction build on):
 * <pre>{@code
 * DependencyGraph g = DependencyGraph.analyze(model, 1, 1, 28, 28);   // model + one input's shape [N,C,H,W]
 * for (ChannelGroup group : g.groups()) ...                          // "conv1", "conv2", "fc1": prunable widths
 * Slicer.Result r = Slicer.slice(model, g, Map.of("conv2", keptIndices), true);   // shrinks the model in place
 * DependencyGraph after = DependencyGraph.analyze(model, 1, 1, 28, 28);          // a graph is a snapshot
 * }</pre>
 *
 * <p>The analysis walks the layers in forward order — a Sequential (nested or not) is one chain, a
 * {@link Graph} is walked node by node along its wiring — and follows channel spaces. Every Conv2d or Linear
 * opens a space (its output channels) and consumes the spaces of its input. BatchNorm2d, ReLU, max and average
 * pooling, Dropout, Identity and global average pooling carry their input's spaces through; a depthwise Conv2d
 * (groups = channels) carries them through and joins them (filter c is channel c). An {@code Add} unifies the
 * spaces of its inputs, channel by channel (union-find): one decision for the whole residual group, as in
 * Torch-Pruning's DepGraph. A {@code Concat} lays its inputs' spaces side by side at offsets. Through a Flatten
 * a channel c of a [C, H, W] map owns the consumer's input features [c·H·W, (c+1)·H·W) (H·W = 1 after global
 * pooling); H·W comes from a dummy forward pass (zeros of the given shape, in eval mode and without grad, so
 * running statistics are untouched), which also records every layer's input and output shape (for FLOP counts
 * and for reading activations).
 *
 * <p>A group is one set of unified spaces that has a producer and a consumer. The network input's space and
 * the spaces the output shows (the last layer's outputs) are never groups. A layer the analysis does not know
 * (or a grouped conv that is not depthwise) stops it with an error naming the layer — guessing would prune wrongly.
 */
public final class DependencyGraph {
    private final List<ChannelGroup> groups;
    private final Map<String, Module> layers;
    private final Map<String, List<String>> inputs;
    private final Map<String, int[]> inputShapes, outputShapes;
    private final int[] inputShape;

    private DependencyGraph(List<ChannelGroup> groups, Map<String, Module> layers, Map<String, List<String>> inputs,
                            Map<String, int[]> in, Map<String, int[]> out, int[] inputShape) {
        this.groups = List.copyOf(groups);
        this.layers = Collections.unmodifiableMap(layers);
        this.inputs = inputs;
        this.inputShapes = in;
        this.outputShapes = out;
        this.inputShape = inputShape.clone();
    }

    /** Analyses {@code model} for inputs of shape {@code inputShape} (with a batch dimension, e.g. 1,1,28,28). */
    public static DependencyGraph analyze(Module model, int... inputShape) {
        Map<String, Module> layers = Layers.inForwardOrder(model);
        Map<String, List<String>> wiring = Layers.inputs(model, layers);
        Map<String, int[]> in = new LinkedHashMap<>(), out = new LinkedHashMap<>();
        traceShapes(model, layers, wiring, inputShape, in, out);
        Tracer t = new Tracer(layers, in);
        Map<String, Flow> flows = new HashMap<>();
        flows.put(Graph.INPUT, new Flow(List.of(new Seg(t.space(inputShape.length > 1 ? inputShape[1] : 1, true), 0)), 1));
        String last = Graph.INPUT;
        for (var e : layers.entrySet()) {
            List<Flow> args = wiring.get(e.getKey()).stream().map(flows::get).toList();
            flows.put(e.getKey(), t.step(e.getKey(), e.getValue(), args));
            last = e.getKey();
        }
        String output = model instanceof Graph g ? g.outputName() : last;
        for (Seg s : flows.get(output).segs()) t.find(s.space()).fixed = true;
        return new DependencyGraph(t.groups(), layers, wiring, in, out, inputShape);
    }

    /** A tensor's channels as spaces side by side ({@code segs}), each channel owning {@code perChannel} features. */
    private record Flow(List<Seg> segs, int perChannel) {
        int channels() { return segs.stream().mapToInt(s -> s.space().root().width).sum(); }
    }

    private record Seg(Space space, int offset) {}

    /** A channel space of the union-find: the members of a would-be group. */
    private static final class Space {
        Space parent = this;
        final int width, id;
        boolean fixed;
        final List<String> producers = new ArrayList<>(), norms = new ArrayList<>(), depthwise = new ArrayList<>(), between = new ArrayList<>();
        final List<Consumer> consumers = new ArrayList<>();
        final Map<String, Integer> offsets = new HashMap<>();

        Space(int width, int id) { this.width = width; this.id = id; }

        Space root() { return parent == this ? this : (parent = parent.root()); }
    }

    /** The walk: one {@link #step} per layer, in forward order. */
    private static final class Tracer {
        final Map<String, Integer> order = new HashMap<>();
        final Map<String, int[]> inShapes;
        final List<Space> spaces = new ArrayList<>();

        Tracer(Map<String, Module> layers, Map<String, int[]> inShapes) {
            for (String p : layers.keySet()) order.put(p, order.size());
            this.inShapes = inShapes;
        }

        Space space(int width, boolean fixed) {
            Space s = new Space(width, spaces.size());
            s.fixed = fixed;
            spaces.add(s);
            return s;
        }

        Space find(Space s) { return s.root(); }

        Flow step(String path, Module m, List<Flow> args) {
            Flow x = args.get(0);
            if (m instanceof Conv2d conv && conv.groups() != 1) {
                if (conv.groups() != conv.inChannels() || conv.groups() != conv.outChannels())
                    throw new IllegalArgumentException("cannot trace " + path + ": a grouped Conv2d (groups=" + conv.groups()
                            + ", " + conv.inChannels() + " in, " + conv.outChannels() + " out) that is not depthwise");
                requireUnflattened(path, x, "a depthwise Conv2d");
                requireWidth(path, conv.inChannels(), x);
                for (Seg s : x.segs()) { Space r = member(s, path); r.depthwise.add(path); r.between.add(path); }
                return x;
            }
            if (m instanceof Conv2d || m instanceof Linear) {
                int inputs = m instanceof Conv2d c ? c.inChannels() : ((Linear) m).inFeatures();
                if (m instanceof Conv2d) requireUnflattened(path, x, "a Conv2d");
                if (inputs != x.channels() * x.perChannel())
                    throw new IllegalStateException(path + " reads " + inputs + " inputs but gets " + x.channels()
                            + " channels × " + x.perChannel());
                for (Seg s : x.segs()) find(s.space()).consumers.add(new Consumer(path, x.perChannel(), s.offset()));
                Space out = space(m instanceof Conv2d c ? c.outChannels() : ((Linear) m).outFeatures(), false);
                out.producers.add(path);
                return new Flow(List.of(new Seg(out, 0)), 1);
            }
            if (m instanceof BatchNorm2d bn) {
                requireUnflattened(path, x, "a BatchNorm2d");
                requireWidth(path, bn.channels(), x);
                for (Seg s : x.segs()) { Space r = member(s, path); r.norms.add(path); r.between.add(path); }
                return x;
            }
            if (m instanceof Add) {
                for (Flow y : args.subList(1, args.size())) {
                    if (y.perChannel() != x.perChannel() || y.segs().size() != x.segs().size())
                        throw new IllegalArgumentException("cannot trace " + path + ": its inputs are laid out differently");
                    for (int i = 0; i < y.segs().size(); i++) union(path, x.segs().get(i).space(), y.segs().get(i).space());
                }
                for (Seg s : x.segs()) member(s, path).between.add(path);
                return x;
            }
            if (m instanceof Concat cat) {
                if (cat.dim() != 1) throw new IllegalArgumentException("cannot trace " + path + ": a Concat along dimension " + cat.dim());
                List<Seg> segs = new ArrayList<>();
                int offset = 0;
                for (Flow y : args) {
                    requireUnflattened(path, y, "a Concat");
                    for (Seg s : y.segs()) {
                        segs.add(new Seg(s.space(), offset + s.offset()));
                        if (!find(s.space()).between.contains(path)) find(s.space()).between.add(path);
                    }
                    offset += y.channels();
                }
                return new Flow(segs, 1);
            }
            if (m instanceof Flatten) {
                int[] s = inShapes.get(path);
                for (Seg g : x.segs()) find(g.space()).between.add(path);
                return new Flow(x.segs(), x.perChannel() * Arrays.stream(s, 2, s.length).reduce(1, (a, b) -> a * b));
            }
            if (m instanceof ReLU || m instanceof MaxPool2d || m instanceof AvgPool2d || m instanceof GlobalAvgPool2d
                    || m instanceof Dropout || m instanceof Identity) {
                if (x.perChannel() != 1 && !(m instanceof ReLU || m instanceof Dropout || m instanceof Identity))
                    throw new IllegalArgumentException("cannot trace " + path + ": a " + m.getClass().getSimpleName() + " after a Flatten");
                for (Seg s : x.segs()) member(s, path).between.add(path);
                return x;
            }
            throw new IllegalArgumentException("cannot trace the channels through " + path + " (" + m.getClass().getSimpleName()
                    + "): known layers are Conv2d, Linear, BatchNorm2d, ReLU, MaxPool2d, AvgPool2d, GlobalAvgPool2d, Flatten, "
                    + "Dropout, Identity, Add, Concat");
        }

        /** The root of {@code s}'s space, recording where the space sits in {@code path}'s channels. */
        private Space member(Seg s, String path) {
            Space r = find(s.space());
            Integer old = r.offsets.put(path, s.offset());
            if (old != null && old != s.offset())
                throw new IllegalArgumentException("cannot trace " + path + ": it sees the same channels twice (at " + old + " and " + s.offset() + ")");
            return r;
        }

        private void union(String path, Space a, Space b) {
            Space ra = find(a), rb = find(b);
            if (ra == rb) return;
            if (ra.width != rb.width)
                throw new IllegalStateException(path + " adds " + ra.width + " channels to " + rb.width);
            if (rb.id < ra.id) { Space t = ra; ra = rb; rb = t; }   // the older space absorbs the newer one
            rb.parent = ra;
            ra.fixed |= rb.fixed;
            for (String p : rb.producers) if (!ra.producers.contains(p)) ra.producers.add(p);
            ra.norms.addAll(rb.norms);
            ra.depthwise.addAll(rb.depthwise);
            for (String p : rb.between) if (!ra.between.contains(p)) ra.between.add(p);
            ra.consumers.addAll(rb.consumers);
            ra.offsets.putAll(rb.offsets);
        }

        private static void requireUnflattened(String path, Flow x, String what) {
            if (x.perChannel() != 1) throw new IllegalArgumentException("cannot trace " + path + ": " + what + " after a Flatten");
        }

        private static void requireWidth(String path, int channels, Flow x) {
            if (channels != x.channels())
                throw new IllegalStateException(path + " has " + channels + " channels but gets " + x.channels());
        }

        List<ChannelGroup> groups() {
            Comparator<String> forward = Comparator.comparingInt(order::get);
            List<ChannelGroup> out = new ArrayList<>();
            for (Space s : spaces) {
                if (s.root() != s || s.fixed || s.producers.isEmpty() || s.consumers.isEmpty()) continue;
                List<String> producers = s.producers.stream().sorted(forward).toList();
                Map<String, Integer> offsets = new HashMap<>(s.offsets);
                offsets.values().removeIf(o -> o == 0);
                out.add(new ChannelGroup(producers.get(0), s.width, producers, s.norms.stream().sorted(forward).toList(),
                        s.depthwise.stream().sorted(forward).toList(), s.between.stream().sorted(forward).toList(),
                        s.consumers, offsets));
            }
            out.sort(Comparator.comparing(g -> order.get(g.name())));
            return out;
        }
    }

    private static void traceShapes(Module model, Map<String, Module> layers, Map<String, List<String>> wiring, int[] inputShape,
                                    Map<String, int[]> in, Map<String, int[]> out) {
        boolean wasTraining = model.isTraining();
        model.eval();
        try (GradMode ignored = GradMode.off(); TensorScope scope = TensorScope.open()) {
            Tensor x = Tensor.zeros(model.parameters().isEmpty() ? dev.shears.core.Backends.getDefault()
                    : model.parameters().get(0).backend(), inputShape);
            Map<String, Tensor> values = new HashMap<>();
            values.put(Graph.INPUT, x);
            for (var e : layers.entrySet()) {
                List<Tensor> args = wiring.get(e.getKey()).stream().map(values::get).toList();
                in.put(e.getKey(), args.get(0).shape());
                Tensor y;
                try {
                    y = e.getValue() instanceof MultiInput multi ? multi.forward(args) : e.getValue().forward(args.get(0));
                } catch (RuntimeException ex) {
                    throw new IllegalArgumentException("dummy forward of " + Arrays.toString(inputShape) + " failed at "
                            + e.getKey() + " (input " + Arrays.toString(args.get(0).shape()) + "): " + ex.getMessage(), ex);
                }
                values.put(e.getKey(), y);
                out.put(e.getKey(), y.shape());
            }
        } finally {
            model.train(wasTraining);
        }
    }

    /** The prunable groups, in forward order. */
    public List<ChannelGroup> groups() { return groups; }

    public ChannelGroup group(String name) {
        for (ChannelGroup g : groups) if (g.name().equals(name)) return g;
        throw new IllegalArgumentException("no channel group '" + name + "'; groups are " + groups.stream().map(ChannelGroup::name).toList());
    }

    /** Leaf layers by path, in forward order. */
    public Map<String, Module> layers() { return layers; }

    /** The layers (or {@link Graph#INPUT}) whose values {@code path} reads, in order: the previous one in a chain. */
    public List<String> inputsOf(String path) {
        List<String> in = inputs.get(path);
        if (in == null) throw new IllegalArgumentException("no layer '" + path + "'; layers are " + inputs.keySet());
        return in;
    }

    /** The layers that read {@code path}'s value, in forward order. */
    public List<String> readersOf(String path) {
        return layers.keySet().stream().filter(p -> inputs.get(p).contains(path)).toList();
    }

    /** The shape of the input {@code path} saw in the dummy forward (batch dimension as given). */
    public int[] inputShapeOf(String path) { return shapeOf(inputShapes, path); }

    public int[] outputShapeOf(String path) { return shapeOf(outputShapes, path); }

    public int[] inputShape() { return inputShape.clone(); }

    private static int[] shapeOf(Map<String, int[]> shapes, String path) {
        int[] s = shapes.get(path);
        if (s == null) throw new IllegalArgumentException("no layer '" + path + "'; layers are " + shapes.keySet());
        return s.clone();
    }
}
