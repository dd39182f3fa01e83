package dev.shears.prune.reconstruct;

/**
 * What happened at one site. Errors are relative, ‖Y − Ŷ‖ / ‖Y‖ on the sampled rows, where Y is the original
 * network's output of {@code consumer} (before what follows it) and Ŷ that of the pruned network:
 * {@code naiveError} with the same channels removed by Shears' structural slicing (the consumer's weights
 * sliced, the leftover constants folded into its bias, as {@code shears prune --method l1|slim} does), in the
 * network where every earlier site was only sliced too; {@code lsError} after least squares, in the network where every earlier site was
 * reconstructed. Times are milliseconds: sampling the pruned network's inputs, selecting the channels,
 * solving, and measuring the naive baseline (not part of reconstruction).
 */
public record LayerReport(String producer, String consumer, int channelsBefore, int channelsAfter, int[] kept,
                          int rows, int unknowns, double naiveError, double lsError, double ridge, String note,
                          long sampleMs, long selectMs, long solveMs, long baselineMs) {

    /** How many times smaller the error is after least squares. */
    public double improvement() { return lsError > 0 ? naiveError / lsError : Double.POSITIVE_INFINITY; }
}
