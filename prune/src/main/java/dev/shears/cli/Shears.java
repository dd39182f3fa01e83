package dev.shears.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.HelpCommand;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.util.List;

/**
 * The {@code shears} command: {@code shears <subcommand> [options]}.
 *
 * <p>A subcommand is one class extending {@link ShearsCommand} (annotated {@code @Command(name = ...)}),
 * plus one entry in {@link #SUBCOMMANDS}. Options shared by several subcommands come as
 * picocli mixins, each subcommand declaring those it honours: {@link Options} (output, device, data, model,
 * out, batch size, seed), {@link TrainingOptions} (epochs, lr, momentum, weight decay) where training happens.
 *
 * <p>Exit codes: 0 success, 1 a failure while running (message on stderr), 2 bad arguments (with usage).
 */
@Command(name = "shears", mixinStandardHelpOptions = true, versionProvider = Shears.Version.class,
        description = "Train, evaluate and prune CNNs on the JVM.")
public final class Shears implements Runnable {
    @Spec CommandSpec spec;

    /** The subcommands, in the order {@code shears --help} lists them. */
    static final List<Class<?>> SUBCOMMANDS = List.of(
            TrainCommand.class,
            EvalCommand.class,
            InfoCommand.class,
            BenchCommand.class,
            PruneCommand.class, FinetuneCommand.class, DemoCommand.class,
            DevicesCommand.class, TuneCommand.class,
            HelpCommand.class);

    public static void main(String[] args) {
        System.exit(commandLine(args).execute(args));
    }

    /** The configured command line, for tests and embedding: {@code Shears.commandLine().execute("info")}. */
    public static CommandLine commandLine() {
        return configure(SUBCOMMANDS);
    }

    /**
     * The command line that runs {@code args}: when {@code args[0]} names a subcommand other than {@code help},
     * with that subcommand alone, else {@link #commandLine()}. The subcommand behaves the same either way
     * ({@code ShearsTest} compares each one's usage and results); what differs is start-up: picocli builds the
     * model of every subcommand it is given (their options, mixins and annotations), about 0.2 s of CPU for the
     * nine others, paid before any work starts.
     */
    static CommandLine commandLine(String... args) {
        if (args.length > 0 && !"help".equals(args[0]))
            for (Class<?> c : SUBCOMMANDS)
                if (c.getAnnotation(Command.class).name().equals(args[0])) return configure(List.of(c));
        return configure(SUBCOMMANDS);
    }

    private static CommandLine configure(List<Class<?>> subcommands) {
        CommandLine cli = new CommandLine(new Shears());
        for (Class<?> c : subcommands) cli.addSubcommand(c);
        // picocli would read an argument @FILE as a file of arguments: `shears train @/dev/zero` never returned
        // (CommandLineFuzzTest's corpus keeps the case). Shears has no use for it: @FILE stays an argument.
        cli.setExpandAtFiles(false);
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            // a failure of the work itself (bad file, unknown device): one line, not a stack trace
            commandLine.getErr().println("shears " + commandLine.getCommandName() + ": " + message(e));
            if (Boolean.getBoolean("shears.debug")) e.printStackTrace(commandLine.getErr());
            commandLine.getErr().flush();
            return 1;
        });
        return cli;
    }

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "a subcommand is required");
    }

    private static String message(Throwable e) {
        // file-system exceptions carry only the path as their message
        if (e instanceof java.nio.file.NoSuchFileException f)
            return f.getReason() == null ? "no such file: " + f.getFile() : f.getFile() + ": " + f.getReason();
        if (e instanceof java.nio.file.AccessDeniedException f) return "permission denied: " + f.getFile();
        if (e instanceof java.nio.file.FileSystemException f)
            return f.getFile() + ": " + (f.getReason() != null ? f.getReason() : e.getClass().getSimpleName());
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.toString() : m;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Shears.class.getPackage().getImplementationVersion();
            return new String[]{"shears " + (v == null ? "(development build)" : v) + ", Java " + Runtime.version()};
        }
    }
}
