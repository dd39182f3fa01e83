package dev.shears.examples;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Java examples in the READMEs are this package's files, character for character. */
final class ReadmeBlocks {
    static final Path ROOT = Path.of(System.getProperty("basedir", ".")).toAbsolutePath().getParent();

    private ReadmeBlocks() {}

    /** The ```java block right after {@code <!-- example: PATH -->} in {@code readme} equals the file PATH. */
    static void assertShowsExample(String readme, String exampleClass) throws Exception {
        String path = "prune/src/test/java/dev/shears/examples/" + exampleClass + ".java";
        String text = Files.readString(ROOT.resolve(readme));
        Matcher m = Pattern.compile("<!-- example: " + Pattern.quote(path) + " -->\\s*```java\\n(.*?)```", Pattern.DOTALL).matcher(text);
        assertTrue(m.find(), readme + " has no ```java block after the marker comment for " + exampleClass + ".java");
        assertEquals(Files.readString(ROOT.resolve(path)), m.group(1),
                readme + "'s example differs from " + path + ": copy the file into the README block");
    }
}
