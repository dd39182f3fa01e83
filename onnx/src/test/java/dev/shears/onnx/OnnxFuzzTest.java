package dev.shears.onnx;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.shears.core.testing.FuzzCheck;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;

/**
 * Fuzz target of the ONNX reader and importer: any bytes give a model or an {@link OnnxFormatException}
 * (the only exception {@link OnnxModel#parse} and {@link OnnxImporter#build} declare), within a memory bound
 * and in bounded time. Corpus: {@code src/test/resources/dev/shears/onnx/OnnxFuzzTestInputs/read/}.
 *
 * <p>Two bounds, because the importer's cost is not the file's: reading may allocate {@value #PER_BYTE} bytes
 * per byte of file (protobuf's copy of each field, the floats decoded from raw data, the messages) plus
 * 4 MiB; importing additionally runs each node once on a zero sample to learn its shapes, whose values the
 * importer caps at {@link OnnxImporter#MAX_SAMPLE} per tensor, so it may allocate
 * {@value #TENSORS_PER_NODE} such tensors per node on top of the read's bound (a ten-byte Relu node
 * legitimately costs a 64 MiB activation).
 */
class OnnxFuzzTest {
    private static final Path SOURCE = Path.of("fuzz.onnx");
    private static final long PER_BYTE = 16, SLACK = 4L << 20;
    /** The sample's output, and the temporaries of a layer's forward pass (padded planes, im2col), at most. */
    private static final long TENSORS_PER_NODE = 4;

    @FuzzTest
    @Timeout(value = 10, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void read(byte[] input) {
        long readBound = PER_BYTE * input.length + SLACK;
        OnnxModel[] model = new OnnxModel[1];
        FuzzCheck.expectOnly(readBound, () -> model[0] = OnnxModel.parse(input, SOURCE), OnnxFormatException.class);
        if (model[0] == null) return;
        long importBound = readBound + (model[0].nodes().size() + 1) * TENSORS_PER_NODE * Float.BYTES * OnnxImporter.MAX_SAMPLE;
        FuzzCheck.expectOnly(importBound, () -> OnnxImporter.build(model[0]), OnnxFormatException.class);
    }
}
