package dev.shears.nn;

import dev.shears.core.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Named layers applied in order. The names become the state-dict prefixes ("conv1.weight"). */
public class Sequential extends Module {

    public Sequential add(String name, Module layer) {
        registerModule(name, layer);
        return this;
    }

    /** Swaps the layer called {@code name} for another (pruning builds smaller layers this way). */
    public void replace(String name, Module layer) { replaceChild(name, layer); }

    public List<String> names() { return new ArrayList<>(children().keySet()); }

    public List<Module> layers() { return new ArrayList<>(children().values()); }

    /**
     * Layer by layer; for inference (no gradient recorded) with {@link Inference}'s exact rewrites. A
     * {@link BatchNorm2d} followed by a {@link ReLU} runs as one op ({@link BatchNorm2d#forwardRelu}): same values
     * and gradients, two passes over the maps fewer; followed by a {@link MaxPool2d} as well, the three run as one
     * ({@link BatchNorm2d#forwardReluMaxPool}), whose backward never stores the full-size gradient.
     */
    @Override
    public Tensor forward(Tensor x) {
        List<Module> layers = childModules();
        if (Inference.applies()) return Inference.forward(layers, x);
        for (int i = 0; i < layers.size(); i++) {
            if (layers.get(i) instanceof BatchNorm2d bn && i + 1 < layers.size() && layers.get(i + 1) instanceof ReLU) {
                if (i + 2 < layers.size() && layers.get(i + 2) instanceof MaxPool2d pool) {
                    x = bn.forwardReluMaxPool(x, pool);
                    i++;
                } else {
                    x = bn.forwardRelu(x);
                }
                i++;
            } else {
                x = layers.get(i).forward(x);
            }
        }
        return x;
    }

    @Override
    public String describe() {
        StringBuilder sb = new StringBuilder(getClass().getSimpleName()).append("(\n");
        for (Map.Entry<String, Module> e : children().entrySet())
            sb.append("  (").append(e.getKey()).append("): ").append(e.getValue().describe()).append('\n');
        return sb.append(')').toString();
    }
}
