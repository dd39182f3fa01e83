package dev.shears.data;

import java.io.IOException;

/**
 * A data file (IDX, or a dataset built from IDX files) is not what it claims to be.
 *
 * <p>Checked, like the other {@link IOException}s a reader throws, because a bad file is an
 * ordinary outcome of reading one. The message always names the file, the field, the byte offset
 * and what was expected against what was found, so that the user can open a hex dump at the
 * right place.
 */
public final class IdxFormatException extends IOException {

    public IdxFormatException(String message) {
        super(message);
    }

    public IdxFormatException(String message, Throwable cause) {
        super(message, cause);
    }

    /** "{@code source}: field {@code field} at byte offset {@code offset}: expected ..., found ...". */
    static IdxFormatException at(String source, String field, long offset, String expected, String found) {
        return new IdxFormatException(
                source + ": field '" + field + "' at byte offset " + offset + ": expected " + expected + ", found " + found);
    }
}
