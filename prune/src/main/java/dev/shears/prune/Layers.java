package dev.shears.prune;

import dev.shears.nn.Graph;
import dev.shears.nn.Module;
import dev.shears.nn.Sequential;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The leaf layers of a model in forward order, by dotted path ("features.conv3"): Sequential containers are
 * walked into, so nested blocks look like one chain; a {@link Graph} at the top gives its nodes (which must be
 * leaf layers). Anything else that has children is not traced: the dependency analysis would not know how data
 * flows through it, and says so rather than guessing.
 */
final class Layers {
    private Layers() {}

    static Map<String, Module> inForwardOrder(Module model) {
        Map<String, Module> out = new LinkedHashMap<>();
        walk("", model, out);
        return out;
    }

    /** Which layers (or {@link Graph#INPUT}) each layer of {@code layers} reads: a Graph's wiring, else a chain. */
    static Map<String, List<String>> inputs(Module model, Map<String, Module> layers) {
        Map<String, List<String>> in = new LinkedHashMap<>();
        String previous = Graph.INPUT;
        for (String path : layers.keySet()) {
            in.put(path, model instanceof Graph g ? g.inputsOf(path) : List.of(previous));
            previous = path;
        }
        return in;
    }

    private static void walk(String prefix, Module m, Map<String, Module> out) {
        if (m instanceof Graph g && prefix.isEmpty()) {
            for (String name : g.nodeNames()) {
                Module node = g.node(name);
                if (!node.children().isEmpty())
                    throw new IllegalArgumentException("cannot trace the channels through graph node " + name + " ("
                            + node.getClass().getSimpleName() + "): the nodes of an analysed Graph must be single layers");
                out.put(name, node);
            }
        } else if (m instanceof Sequential) {
            m.children().forEach((name, child) -> walk(prefix.isEmpty() ? name : prefix + "." + name, child, out));
        } else if (!m.children().isEmpty()) {
            throw new IllegalArgumentException("cannot trace the channels through " + (prefix.isEmpty() ? "the model" : prefix)
                    + " (" + m.getClass().getSimpleName() + "): only Sequential containers of nn layers are analysed");
        } else {
            out.put(prefix.isEmpty() ? "<root>" : prefix, m);
        }
    }

    /** Swaps the layer at {@code path} (its parent must be a Sequential, or the model a Graph). */
    static void replace(Module model, String path, Module layer) {
        if (model instanceof Graph g) {
            g.replace(path, layer);
            return;
        }
        int dot = path.lastIndexOf('.');
        Module parent = model.module(dot < 0 ? "" : path.substring(0, dot));
        if (!(parent instanceof Sequential s))
            throw new IllegalArgumentException("cannot replace " + path + ": its parent is a " + parent.getClass().getSimpleName() + ", not a Sequential");
        s.replace(path.substring(dot + 1), layer);
    }
}
