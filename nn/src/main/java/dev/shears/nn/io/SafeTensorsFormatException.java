package dev.shears.nn.io;

import java.io.IOException;

/**
 * A safetensors file is corrupt or hostile. The message names the file, the tensor (or the
 * header) and what was expected against what was found.
 */
public final class SafeTensorsFormatException extends IOException {

    public SafeTensorsFormatException(String message) {
        super(message);
    }

    public SafeTensorsFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
