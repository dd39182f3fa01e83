package dev.shears.cli;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.Collection;
import java.util.Map;

/**
 * The one JSON object a command prints with {@code --json}, written with jackson-core's streaming generator:
 * maps (keys as {@code String.valueOf}), lists and other collections, strings, numbers, booleans, enums (by name)
 * and null. Anything else (a record, an array) goes through jackson-databind's {@code ObjectMapper}, created only then.
 *
 * <p>Why not the {@code ObjectMapper} for all: making one loads about 370 classes, 0.3–0.4 s of CPU on this
 * project's 2-vCPU machine, paid by every command at its start (a static field of {@link ShearsCommand}), with
 * or without {@code --json}; the generator alone costs about 0.07 s. The output is the same text the mapper
 * writes for these types ({@code JsonOutTest} checks it against the mapper).
 */
final class JsonOut {
    private static final JsonFactory FACTORY = new JsonFactory();

    private JsonOut() {}

    /** {@code value} as one line of compact JSON, as {@code new ObjectMapper().writeValueAsString(value)} writes it. */
    static String write(Object value) {
        StringWriter text = new StringWriter();
        try (JsonGenerator g = FACTORY.createGenerator(text)) {
            write(g, value);
        } catch (IOException e) {
            throw new UncheckedIOException("writing JSON", e);
        }
        return text.toString();
    }

    private static void write(JsonGenerator g, Object v) throws IOException {
        switch (v) {
            case null -> g.writeNull();
            case Map<?, ?> m -> {
                g.writeStartObject();
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    g.writeFieldName(String.valueOf(e.getKey()));
                    write(g, e.getValue());
                }
                g.writeEndObject();
            }
            case Collection<?> list -> {
                g.writeStartArray();
                for (Object o : list) write(g, o);
                g.writeEndArray();
            }
            case CharSequence s -> g.writeString(s.toString());
            case Double d -> g.writeNumber(d);
            case Float f -> g.writeNumber(f);
            case Long l -> g.writeNumber(l);
            case Integer i -> g.writeNumber(i);
            case Short s -> g.writeNumber(s);
            case Byte b -> g.writeNumber(b);
            case Boolean b -> g.writeBoolean(b);
            case Enum<?> e -> g.writeString(e.name());
            default -> g.writeRawValue(Mapper.INSTANCE.writeValueAsString(v));
        }
    }

    /** Made on first use only: most commands never print anything the generator cannot write itself. */
    private static final class Mapper {
        static final ObjectMapper INSTANCE = new ObjectMapper();
    }
}
