package dev.shears.prune.reconstruct;

import dev.shears.nn.BatchNorm2d;
import dev.shears.nn.Conv2d;
import dev.shears.nn.Flatten;
import dev.shears.nn.Linear;
import dev.shears.nn.MaxPool2d;
import dev.shears.nn.Module;
import dev.shears.nn.ReLU;
import dev.shears.nn.Sequential;

import java.util.ArrayList;
import java.util.List;

/**
 * One place where channels can be removed and the damage repaired: a conv {@code producer} whose output
 * channels are the input channels of {@code consumer} (a conv, or a Linear through Flatten, where channel c
 * owns the features [c·H·W, (c+1)·H·W)), with only channel-wise layers between them (an optional
 * BatchNorm2d {@code norm}, ReLU, MaxPool2d). Removing channel c deletes the producer's filter c, the
 * norm's channel c and the consumer's input block c; the consumer's remaining weights are then re-fitted.
 *
 * <p>Indices are positions in {@link Sequential#layers()}. This is the sequential-chain case of the
 * coupled-channel groups that {@code dev.shears.prune} analyses in general; it is all reconstruction needs.
 *
 * @param block inputs of the consumer per channel: R·S for a conv, H·W for a Linear after Flatten
 */
public record Site(int producerIndex, String producer, String norm, int consumerIndex, String consumer,
                   int channels, int block) {

    /** Every conv of {@code model} whose output channels can be pruned and re-fitted, in order. */
    public static List<Site> find(Sequential model) {
        List<String> names = model.names();
        List<Module> layers = model.layers();
        List<Site> sites = new ArrayList<>();
        for (int i = 0; i < layers.size(); i++) {
            if (!(layers.get(i) instanceof Conv2d conv)) continue;
            String norm = null;
            boolean flattened = false;
            for (int j = i + 1; j < layers.size(); j++) {
                Module m = layers.get(j);
                if (m instanceof BatchNorm2d && norm == null && !flattened) { norm = names.get(j); continue; }
                if (m instanceof ReLU || m instanceof MaxPool2d) continue;
                if (m instanceof Flatten && !flattened) { flattened = true; continue; }
                if (m instanceof Conv2d next && !flattened) {
                    sites.add(new Site(i, names.get(i), norm, j, names.get(j), conv.outChannels(), next.kernel() * next.kernel()));
                } else if (m instanceof Linear next && flattened && next.inFeatures() % conv.outChannels() == 0) {
                    sites.add(new Site(i, names.get(i), norm, j, names.get(j), conv.outChannels(), next.inFeatures() / conv.outChannels()));
                }
                break;   // anything else mixes channels (or is unknown): this conv is not a site
            }
        }
        return sites;
    }
}
