package dev.twine.samples;

import dev.twine.core.auth.UsersFile;
import java.io.BufferedReader;
import java.io.Console;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;
import picocli.CommandLine.ParseResult;

/**
 * {@code twine user add|passwd|remove --users FILE NAME [--password-stdin]}: edits a Dovecot-style
 * users file atomically. New passwords are stored as {@code {SCRAM-SHA-256}} keys plus SCRAM-SHA-1
 * keys in the extra fields (see {@code UsersFile}), which together serve PLAIN, LOGIN and both
 * SCRAM logins.
 */
final class UserCommand {
    private UserCommand() {}

    static CommandLine commandLine() {
        CommandSpec user = CommandSpec.create().name("user").mixinStandardHelpOptions(true);
        user.usageMessage().description("Add, change or remove a user in a users file (Dovecot passwd-file format).");
        CommandLine cl = new CommandLine(user);
        cl.addSubcommand("add", new CommandLine(action("add", "Add a user; asks for the password unless --password-stdin.", true)));
        cl.addSubcommand("passwd", new CommandLine(action("passwd", "Change a user's password.", true)));
        cl.addSubcommand("remove", new CommandLine(action("remove", "Remove a user.", false)));
        return cl;
    }

    private static CommandSpec action(String name, String description, boolean takesPassword) {
        CommandSpec spec = CommandSpec.create().name(name).mixinStandardHelpOptions(true);
        spec.usageMessage().description(description);
        spec.addOption(OptionSpec.builder("--users").paramLabel("FILE").required(true).type(String.class)
                .description("The users file (created by 'add' if missing).").build());
        if (takesPassword) {
            spec.addOption(OptionSpec.builder("--password-stdin").arity("0").type(boolean.class)
                    .description("Read the password from the first line of standard input instead of asking.").build());
        }
        spec.addPositional(PositionalParamSpec.builder().paramLabel("NAME").type(String.class).index("0")
                .description("The user name.").build());
        return spec;
    }

    static int run(ParseResult user, PrintStream out, PrintStream err) throws IOException {
        if (!user.hasSubcommand()) {
            err.println("twine user: say add, passwd or remove. Try 'twine user --help'.");
            return 2;
        }
        ParseResult action = user.subcommand();
        String verb = action.commandSpec().name();
        Path file = Path.of((String) action.matchedOptionValue("--users", ""));
        String name = action.matchedPositionalValue(0, null);
        if (name == null) {
            err.println("twine user " + verb + ": missing NAME. Try 'twine user " + verb + " --help'.");
            return 2;
        }
        try {
            switch (verb) {
                case "remove" -> {
                    UsersFile.removeUser(file, name);
                    out.println("removed " + name + " from " + file);
                }
                case "add", "passwd" -> {
                    char[] password = password(action.hasMatchedOption("--password-stdin"));
                    try {
                        if (verb.equals("add")) {
                            UsersFile.addUser(file, name, password);
                            out.println("added " + name + " to " + file);
                        } else {
                            UsersFile.changePassword(file, name, password);
                            out.println("changed the password of " + name + " in " + file);
                        }
                    } finally {
                        Arrays.fill(password, '\0');
                    }
                }
                default -> throw new IllegalStateException(verb);
            }
            return 0;
        } catch (IllegalArgumentException e) {
            err.println("twine user " + verb + ": " + e.getMessage());
            return 2;
        }
    }

    private static char[] password(boolean fromStdin) throws IOException {
        if (fromStdin) {
            BufferedReader r = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            String line = r.readLine();
            if (line == null || line.isEmpty()) {
                throw new IllegalArgumentException("no password on standard input");
            }
            return line.toCharArray();
        }
        Console console = System.console();
        if (console == null) {
            throw new IllegalArgumentException("no terminal to ask for the password on; use --password-stdin");
        }
        char[] first = console.readPassword("Password: ");
        char[] again = console.readPassword("Again: ");
        if (first == null || first.length == 0) {
            throw new IllegalArgumentException("empty password");
        }
        if (!Arrays.equals(first, again)) {
            throw new IllegalArgumentException("the passwords differ");
        }
        Arrays.fill(again, '\0');
        return first;
    }
}
