package dev.shears.prune.reconstruct;

import dev.shears.nn.Conv2d;
import dev.shears.nn.Linear;
import dev.shears.nn.Module;
import dev.shears.nn.Sequential;
import dev.shears.prune.ChannelGroup;
import dev.shears.prune.Consumer;
import dev.shears.prune.DependencyGraph;

import java.util.ArrayList;
import java.util.List;

/**
 * One place where channels are removed and the damage repaired: a {@link ChannelGroup} of the dependency
 * analysis whose single producer is a conv and whose single consumer is a conv or a Linear (through
 * Flatten). Removing channel c deletes the producer's filter c, the norm's channel c and the consumer's input
 * block c; the consumer's remaining weights are then re-fitted.
 *
 * <p>Indices are positions in {@link Sequential#layers()}: reconstruction runs the network up to a consumer
 * to sample its inputs, which needs the layers as a chain.
 *
 * @param block inputs of the consumer per channel: R·S taps for a conv, H·W features for a Linear after Flatten
 */
public record Site(int producerIndex, String producer, String norm, int consumerIndex, String consumer,
                   int channels, int block) {

    /** Every conv of {@code model} whose output channels can be pruned and re-fitted, in forward order. */
    public static List<Site> find(Sequential model, DependencyGraph graph) {
        List<String> names = model.names();
        List<Site> sites = new ArrayList<>();
        for (ChannelGroup g : graph.groups()) {
            if (g.producers().size() != 1 || g.consumers().size() != 1 || g.norms().size() > 1) continue;
            String producer = g.producers().get(0);
            Consumer c = g.consumers().get(0);
            int pi = names.indexOf(producer), ci = names.indexOf(c.path());
            if (pi < 0 || ci < 0 || !(model.layers().get(pi) instanceof Conv2d)) continue;
            Module consumer = model.layers().get(ci);
            int block;
            if (consumer instanceof Conv2d conv) block = conv.kernel() * conv.kernel();
            else if (consumer instanceof Linear) block = c.featuresPerChannel();
            else continue;
            sites.add(new Site(pi, producer, g.hasNorm() ? g.norms().get(0) : null, ci, c.path(), g.channels(), block));
        }
        return sites;
    }
}
