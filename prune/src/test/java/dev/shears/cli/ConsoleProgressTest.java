package dev.shears.cli;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConsoleProgressTest {

    @Test
    void withoutATerminalTheBarIsPlainLines() {
        List<String> lines = new ArrayList<>();
        try (ConsoleProgress p = ConsoleProgress.lines("epoch 1/1", 4, lines::add, 1)) {
            for (int b = 1; b <= 4; b++) p.onStep(0, b, 4, 64 * b, 0.5, 0.75, 1000);
        }
        assertFalse(lines.isEmpty(), "at least the final state is printed");
        for (String line : lines) assertFalse(line.contains("\r"), "a line, not a redraw: " + line);
        String last = lines.getLast();
        assertTrue(last.contains("epoch 1/1") && last.contains("4/4") && last.contains("loss 0.5000"), last);
    }
}
