package dev.shears.prune;

import dev.shears.core.Tensor;
import dev.shears.nn.Module;
import dev.shears.nn.io.Architecture;

import java.util.LinkedHashMap;
import java.util.Map;

/** Deep copies of models, for trying a cut without touching the original. */
public final class Copies {
    private Copies() {}

    /**
     * A model of the same architecture (rebuilt from {@link Architecture}'s description, so a chain or a graph of
     * any widths) holding copies of {@code m}'s parameters and buffers, in the same training mode.
     */
    public static Module of(Module m) {
        Module c = Architecture.fromJson(Architecture.toJson(m));
        Map<String, Tensor> state = new LinkedHashMap<>();
        m.stateDict().forEach((k, t) -> state.put(k, Tensor.of(t.backend(), t.toArray(), t.shape())));
        c.loadStateDict(state, false);
        if (!m.parameters().isEmpty()) c.to(m.parameters().get(0).backend());
        c.train(m.isTraining());
        return c;
    }
}
