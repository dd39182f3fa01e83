/**
 * Channel pruning with feature-map reconstruction: remove channels, then re-fit the next layer by least
 * squares so that its output matches the original network's — He et al. 2017 (LASSO selection + least
 * squares) and ThiNet (Luo et al. 2017, greedy selection) — with no gradient step.
 *
 * <p>The room, in reading order:
 * <ul>
 *   <li>{@link dev.shears.prune.reconstruct.Reconstructor}: the Java front and the layer-by-layer loop for a
 *       chain ({@code Sequential}), with LASSO or greedy selection per layer;</li>
 *   <li>{@link dev.shears.prune.reconstruct.GraphReconstructor}: any traced model, a {@code Graph} with residual
 *       adds and concatenations too: the channels of an L1 or slimming plan (global or per layer), then every
 *       consumer of a pruned group re-fitted in forward order;</li>
 *   <li>{@link dev.shears.prune.reconstruct.Site}: where channels are removed and which layer is re-fitted,
 *       from the dependency analysis of {@code dev.shears.prune};</li>
 *   <li>{@link dev.shears.prune.reconstruct.Samples} and {@code SiteSamples}: which images and positions, and
 *       the design matrices X (im2col patches, or a Linear's feature blocks, grouped by input channel) and Y;</li>
 *   <li>{@link dev.shears.prune.reconstruct.ChannelSelection}: top-k, LASSO and greedy over plain arrays;</li>
 *   <li>{@code Regression}, {@link dev.shears.prune.reconstruct.Gram} and
 *       {@link dev.shears.prune.reconstruct.LeastSquares}: centring, the normal equations, EJML's Cholesky;</li>
 *   <li>{@link dev.shears.prune.reconstruct.ReconstructionResult} and
 *       {@link dev.shears.prune.reconstruct.LayerReport}: errors, accuracies, timings.</li>
 * </ul>
 *
 * <p>Choices, and why:
 * <ul>
 *   <li>Y is the re-fitted layer's own output (conv2's before bn2, fc1's before its ReLU). An eval-mode
 *       BatchNorm is a per-channel affine map, so each output channel's least-squares weights would be the
 *       same after it; before it, the problem stays linear and independent of what follows.</li>
 *   <li>X comes from the network pruned so far, Y from the original, as in the paper: each fit also repairs
 *       what the earlier sites left.</li>
 *   <li>Data are centred before anything is multiplied: the bias then absorbs every mean (including the
 *       constants the removed channels leave behind), and the normal equations — which square the condition
 *       number — do not lose float digits to a large common offset.</li>
 *   <li>Normal equations rather than QR of X: the system is N×N (144 for conv2, 1,568 for fc1 at 50%)
 *       however many samples there are; their Gram matrix is one SGEMM.</li>
 *   <li>Rank deficiency (too few samples, constant or repeated inputs) never produces NaN: constant inputs
 *       leave the system with weight 0, and a near-singular factor raises a ridge, said in the report.</li>
 *   <li>The naive baseline is Shears' own structural slicing of the same channels, with the leftover
 *       constants folded ({@code shears prune --method l1|slim}), so the comparison isolates the re-fit.</li>
 * </ul>
 */
package dev.shears.prune.reconstruct;
