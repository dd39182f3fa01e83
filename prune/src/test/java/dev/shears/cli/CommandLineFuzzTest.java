package dev.shears.cli;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.shears.core.testing.FuzzCheck;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import picocli.CommandLine;
import picocli.CommandLine.ParameterException;

/**
 * Fuzz target of the {@code shears} argument parser: any argument array parses, or fails with picocli's
 * {@link ParameterException} (a usage error: exit 2). Nothing runs: the arguments are parsed, which applies
 * the checks of the {@link Options} mixins (values, {@code --out}'s directory), the subcommands' own options
 * included; no data is loaded and no model is trained.
 * Corpus: {@code src/test/resources/dev/shears/cli/CommandLineFuzzTestInputs/parse/}.
 */
class CommandLineFuzzTest {

    /** One command line for every input: building it (reflection over every subcommand) costs more than a parse. */
    private static final CommandLine SHEARS = Shears.commandLine();

    /**
     * @param input the arguments in UTF-8, separated by NUL bytes (as in {@code /proc/PID/cmdline}), so that a
     *              corpus file is a command line: {@code printf 'train\0--epochs\0-1' > FILE}
     */
    @FuzzTest
    @Timeout(value = 10, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)   // a blocked read cannot be interrupted
    void parse(byte[] input) {
        String[] args = input.length == 0 ? new String[0] : new String(input, StandardCharsets.UTF_8).split("\0", -1);
        // picocli resets every option first; the Options mixins' setters check their values while parsing
        FuzzCheck.expectOnly(64L << 20, () -> SHEARS.parseArgs(args), ParameterException.class);
    }
}
