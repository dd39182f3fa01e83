package dev.shears.prune;

import dev.shears.core.GradMode;
import dev.shears.core.Tensor;
import dev.shears.core.TensorScope;
import dev.shears.nn.BatchNorm2d;
import dev.shears.nn.Conv2d;
import dev.shears.nn.Flatten;
import dev.shears.nn.Linear;
import dev.shears.nn.MaxPool2d;
import dev.shears.nn.Module;
import dev.shears.nn.ReLU;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
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
 * <p>The analysis walks the leaf layers in forward order (Sequential containers, nested or not, are one chain)
 * and opens a group at every Conv2d or Linear — its output channels. BatchNorm2d, ReLU, MaxPool2d and Flatten
 * carry the channels through; the next Conv2d or Linear closes the group as its consumer. Through a Flatten a
 * channel c of a [C, H, W] map owns the consumer's input features [c·H·W, (c+1)·H·W); H·W comes from a dummy
 * forward pass (zeros of the given shape, in eval mode and without grad, so running statistics are untouched),
 * which also records every layer's input and output shape (for FLOP counts and for reading activations).
 * The last layer's outputs are the model's outputs and form no group.
 *
 * <p>Branches: a group already holds lists of producers and consumers, which is what a residual add (several
 * producers tied together) or a fork (several consumers) needs; tracing them waits for a module that branches.
 * A layer the analysis does not know stops it with an error naming the layer — guessing would prune wrongly.
 */
public final class DependencyGraph {
    private final List<ChannelGroup> groups;
    private final Map<String, Module> layers;
    private final Map<String, int[]> inputShapes, outputShapes;
    private final int[] inputShape;

    private DependencyGraph(List<ChannelGroup> groups, Map<String, Module> layers, Map<String, int[]> in,
                            Map<String, int[]> out, int[] inputShape) {
        this.groups = List.copyOf(groups);
        this.layers = Collections.unmodifiableMap(layers);
        this.inputShapes = in;
        this.outputShapes = out;
        this.inputShape = inputShape.clone();
    }

    /** Analyses {@code model} for inputs of shape {@code inputShape} (with a batch dimension, e.g. 1,1,28,28). */
    public static DependencyGraph analyze(Module model, int... inputShape) {
        Map<String, Module> layers = Layers.inForwardOrder(model);
        Map<String, int[]> in = new LinkedHashMap<>(), out = new LinkedHashMap<>();
        traceShapes(model, layers, inputShape, in, out);

        List<ChannelGroup> groups = new ArrayList<>();
        String producer = null;
        int channels = 0;
        List<String> norms = new ArrayList<>(), between = new ArrayList<>();
        int featuresPerChannel = 1;
        for (var e : layers.entrySet()) {
            String path = e.getKey();
            Module m = e.getValue();
            if (m instanceof Conv2d conv && conv.groups() != 1)   // its channels are coupled group by group: not traced yet
                throw new IllegalArgumentException("cannot trace " + path + ": a grouped Conv2d (groups=" + conv.groups() + ")");
            if (m instanceof Conv2d || m instanceof Linear) {
                if (producer != null) {
                    if (m instanceof Conv2d && featuresPerChannel != 1)
                        throw new IllegalArgumentException("cannot trace " + path + ": a Conv2d after a Flatten");
                    int inputs = m instanceof Conv2d c ? c.inChannels() : ((Linear) m).inFeatures();
                    if (inputs != channels * featuresPerChannel)
                        throw new IllegalStateException(path + " reads " + inputs + " inputs but " + producer + " gives "
                                + channels + " channels × " + featuresPerChannel);
                    groups.add(new ChannelGroup(producer, channels, List.of(producer), norms, between,
                            List.of(new Consumer(path, featuresPerChannel))));
                }
                producer = path;
                channels = m instanceof Conv2d c ? c.outChannels() : ((Linear) m).outFeatures();
                norms = new ArrayList<>();
                between = new ArrayList<>();
                featuresPerChannel = 1;
            } else if (m instanceof BatchNorm2d || m instanceof ReLU || m instanceof MaxPool2d || m instanceof Flatten) {
                if (producer == null) continue;   // before the first producer: nothing to couple
                if (m instanceof BatchNorm2d bn) {
                    if (featuresPerChannel != 1) throw new IllegalArgumentException("cannot trace " + path + ": a BatchNorm2d after a Flatten");
                    if (bn.channels() != channels)
                        throw new IllegalStateException(path + " has " + bn.channels() + " channels but " + producer + " gives " + channels);
                    norms.add(path);
                }
                if (m instanceof Flatten) {
                    int[] s = in.get(path);
                    featuresPerChannel *= Arrays.stream(s, 2, s.length).reduce(1, (a, b) -> a * b);
                }
                between.add(path);
            } else {
                throw new IllegalArgumentException("cannot trace the channels through " + path + " ("
                        + m.getClass().getSimpleName() + "): known layers are Conv2d, Linear, BatchNorm2d, ReLU, MaxPool2d, Flatten");
            }
        }
        return new DependencyGraph(groups, layers, in, out, inputShape);
    }

    private static void traceShapes(Module model, Map<String, Module> layers, int[] inputShape,
                                    Map<String, int[]> in, Map<String, int[]> out) {
        boolean wasTraining = model.isTraining();
        model.eval();
        try (GradMode ignored = GradMode.off(); TensorScope scope = TensorScope.open()) {
            Tensor x = Tensor.zeros(model.parameters().isEmpty() ? dev.shears.core.Backends.getDefault()
                    : model.parameters().get(0).backend(), inputShape);
            for (var e : layers.entrySet()) {
                in.put(e.getKey(), x.shape());
                try {
                    x = e.getValue().forward(x);
                } catch (RuntimeException ex) {
                    throw new IllegalArgumentException("dummy forward of " + Arrays.toString(inputShape) + " failed at "
                            + e.getKey() + " (input " + Arrays.toString(x.shape()) + "): " + ex.getMessage(), ex);
                }
                out.put(e.getKey(), x.shape());
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
