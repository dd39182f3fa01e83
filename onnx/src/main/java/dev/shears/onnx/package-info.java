/**
 * ONNX import and export.
 *
 * <pre>{@code
 * Module model = OnnxImporter.read(Path.of("resnet.onnx"));            // a Sequential (a chain) or a Graph
 * OnnxExporter.write(model, Path.of("out.onnx"), new int[]{1, 28, 28}); // opset 14, batch dimension N
 * }</pre>
 *
 * <p>{@link dev.shears.onnx.OnnxModel} reads a file with protobuf-java and the classes that protoc generates at
 * build time from ONNX's own {@code onnx.proto} (vendored in {@code src/main/proto} with its Apache-2.0 licence),
 * and checks it; {@link dev.shears.onnx.OnnxImporter} turns it into Shears layers;
 * {@link dev.shears.onnx.OnnxExporter} writes any Shears model back. Opsets 11 to 17; the operators are listed in
 * {@link dev.shears.onnx.OnnxImporter#SUPPORTED}. The test models (ResNet-, MobileNet- and Inception-style, and a
 * narrow SimpleCNN) and PyTorch's logits for them come from
 * {@code src/test/resources/fixtures/make_onnx_fixtures.py}.
 */
package dev.shears.onnx;
