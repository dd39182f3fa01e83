package dev.shears.onnx;

import java.io.IOException;

/**
 * An ONNX file is corrupt, hostile, or describes something Shears cannot build. The message names the file,
 * the node or tensor, and what was expected against what was found.
 */
public final class OnnxFormatException extends IOException {

    public OnnxFormatException(String message) {
        super(message);
    }

    public OnnxFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
