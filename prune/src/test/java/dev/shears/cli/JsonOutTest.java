package dev.shears.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** {@link JsonOut} writes the same text as jackson-databind's {@code ObjectMapper}, the writer it replaced. */
class JsonOutTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    enum Kind { step, cosine }

    record Pair(String name, double value) {}

    @Test
    void sameTextAsTheObjectMapperForWhatCommandsPrint() throws Exception {
        Map<String, Object> epoch = new LinkedHashMap<>();
        epoch.put("epoch", 1);
        epoch.put("lr", 0.01f);                 // a float: 0.01, not its double widening 0.009999999776482582
        epoch.put("loss", 0.39995695293744404);
        epoch.put("samples", 60_000L);
        epoch.put("second_half_samples_per_s", null);
        epoch.put("nan", Double.NaN);
        epoch.put("inf", Float.NEGATIVE_INFINITY);
        epoch.put("tiny", 1e-300);
        epoch.put("big", 1.5e12);
        epoch.put("short", (short) -3);
        epoch.put("byte", (byte) 7);
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("command", "train");
        json.put("text", "quote \" backslash \\ tab \t newline \n control \u0001 é 漢 😀");
        json.put("json_flag", true);
        json.put("off", false);
        json.put("kind", Kind.cosine);
        json.put("epochs", List.of(epoch, Map.of()));
        json.put("set", new LinkedHashSet<>(List.of(3, 1, 2)));
        json.put("nested", new ArrayList<>(Arrays.asList(List.of(), null, List.of(1.25, -0.0))));
        json.put("int_keys", new LinkedHashMap<>(Map.of(7, "seven")));
        // not written by the generator itself: handed to the ObjectMapper
        json.put("record", new Pair("a", 2.5));
        json.put("array", new int[]{1, 2});
        json.put("path", Path.of("/tmp/model.safetensors"));
        assertEquals(MAPPER.writeValueAsString(json), JsonOut.write(json));
    }

    @Test
    void topLevelValuesOtherThanMaps() throws Exception {
        for (Object v : new Object[]{null, "x", 3, 2.5, List.of("a", 1)})
            assertEquals(MAPPER.writeValueAsString(v), JsonOut.write(v), String.valueOf(v));
    }
}
