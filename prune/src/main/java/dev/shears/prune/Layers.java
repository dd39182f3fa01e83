package dev.shears.prune;

import dev.shears.nn.Module;
import dev.shears.nn.Sequential;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The leaf layers of a model in forward order, by dotted path ("features.conv3"): Sequential containers are
 * walked into, so nested blocks look like one chain. Anything else that has children is not traced: the
 * dependency analysis would not know how data flows through it, and says so rather than guessing.
 */
final class Layers {
    private Layers() {}

    static Map<String, Module> inForwardOrder(Module model) {
        Map<String, Module> out = new LinkedHashMap<>();
        walk("", model, out);
        return out;
    }

    private static void walk(String prefix, Module m, Map<String, Module> out) {
        if (m instanceof Sequential) {
            m.children().forEach((name, child) -> walk(prefix.isEmpty() ? name : prefix + "." + name, child, out));
        } else if (!m.children().isEmpty()) {
            throw new IllegalArgumentException("cannot trace the channels through " + (prefix.isEmpty() ? "the model" : prefix)
                    + " (" + m.getClass().getSimpleName() + "): only Sequential containers of nn layers are analysed");
        } else {
            out.put(prefix.isEmpty() ? "<root>" : prefix, m);
        }
    }

    /** Swaps the layer at {@code path} (its parent must be a Sequential). */
    static void replace(Module model, String path, Module layer) {
        int dot = path.lastIndexOf('.');
        Module parent = model.module(dot < 0 ? "" : path.substring(0, dot));
        if (!(parent instanceof Sequential s))
            throw new IllegalArgumentException("cannot replace " + path + ": its parent is a " + parent.getClass().getSimpleName() + ", not a Sequential");
        s.replace(path.substring(dot + 1), layer);
    }
}
