package dev.twine.ssh.internal;

import dev.twine.ssh.SshClient.HostKeyChecking;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The command line of {@code twine conch} and {@code twine conch-sftp}, read as OpenSSH's
 * {@code ssh} and {@code sftp} read theirs (getopt style): options may be clustered
 * ({@code -tt}, {@code -NT}), a value may follow its letter or be the next word ({@code -p22},
 * {@code -p 22}), options may come after the host too, and the first word after the host that is
 * not an option starts the remote command, which runs to the end of the line. {@code --} ends the
 * options.
 */
final class ConchArguments {

    /** A bad command line: the message, for {@code twine conch: MESSAGE}. */
    static final class BadArguments extends Exception {
        private static final long serialVersionUID = 1L;

        BadArguments(String message) {
            super(message);
        }
    }

    /** A forwarding asked for: where to listen and, except for {@code -D}, where to connect. */
    record Forward(InetSocketAddress listen, InetSocketAddress target) {
    }

    Integer port;
    String user;
    String host;
    final List<Path> identities = new ArrayList<>();
    HostKeyChecking checking;
    Path knownHosts;
    final List<Forward> local = new ArrayList<>();
    final List<Forward> remote = new ArrayList<>();
    final List<Forward> dynamic = new ArrayList<>();
    boolean noCommand;
    int ttyRequests;
    boolean noTty;
    boolean quiet;
    boolean batchMode;
    Path batchFile;
    final List<String> command = new ArrayList<>();

    /** {@code ssh}'s letters: those taking a value, and the flags. */
    private static final String SSH_VALUES = "pliLRDo";
    private static final String SSH_FLAGS = "NtTq";
    /** {@code sftp}'s: {@code -P} is the port, {@code -b} a batch file. */
    private static final String SFTP_VALUES = "Pibo";
    private static final String SFTP_FLAGS = "q";

    /** Reads {@code ssh}-style arguments. */
    static ConchArguments ssh(List<String> args) throws BadArguments {
        return parse(args, SSH_VALUES, SSH_FLAGS, true);
    }

    /** Reads {@code sftp}-style arguments. */
    static ConchArguments sftp(List<String> args) throws BadArguments {
        return parse(args, SFTP_VALUES, SFTP_FLAGS, false);
    }

    private static ConchArguments parse(List<String> args, String values, String flags, boolean takesCommand)
            throws BadArguments {
        ConchArguments a = new ConchArguments();
        int i = 0;
        boolean optionsEnded = false;
        while (i < args.size()) {
            String word = args.get(i++);
            if (!optionsEnded && word.equals("--")) {
                optionsEnded = true;
                continue;
            }
            if (optionsEnded || !word.startsWith("-") || word.length() == 1) {
                if (a.host == null) {
                    a.destination(word);
                    continue;
                }
                if (!takesCommand) {
                    throw new BadArguments("unexpected argument: " + word);
                }
                a.command.addAll(args.subList(i - 1, args.size())); // the rest is the command
                break;
            }
            for (int j = 1; j < word.length(); j++) {
                char c = word.charAt(j);
                if (flags.indexOf(c) >= 0) {
                    a.flag(c);
                } else if (values.indexOf(c) >= 0) {
                    String value;
                    if (j + 1 < word.length()) {
                        value = word.substring(j + 1);
                    } else if (i < args.size()) {
                        value = args.get(i++);
                    } else {
                        throw new BadArguments("option requires an argument -- " + c);
                    }
                    a.value(c, value);
                    break;
                } else {
                    throw new BadArguments("unknown option -- " + c);
                }
            }
        }
        if (a.host == null) {
            throw new BadArguments("a destination ([user@]host) is required");
        }
        return a;
    }

    private void destination(String word) throws BadArguments {
        int at = word.lastIndexOf('@');
        String h = at < 0 ? word : word.substring(at + 1);
        if (at > 0 && user == null) {
            user = word.substring(0, at);
        }
        if (h.isEmpty()) {
            throw new BadArguments("no host in '" + word + "'");
        }
        host = h;
    }

    private void flag(char c) {
        switch (c) {
            case 'N' -> noCommand = true;
            case 't' -> ttyRequests++;
            case 'T' -> noTty = true;
            case 'q' -> quiet = true;
            default -> throw new IllegalStateException("flag " + c);
        }
    }

    private void value(char c, String v) throws BadArguments {
        switch (c) {
            case 'p', 'P' -> port = port(v, "-" + c);
            case 'l' -> user = v;
            case 'i' -> identities.add(Path.of(v));
            case 'b' -> batchFile = Path.of(v);
            case 'o' -> option(v);
            case 'L' -> local.add(forward(v, true, "-L"));
            case 'R' -> remote.add(forward(v, true, "-R"));
            case 'D' -> dynamic.add(forward(v, false, "-D"));
            default -> throw new IllegalStateException("option " + c);
        }
    }

    /** {@code -o Name=value} or {@code -o "Name value"}: the OpenSSH options conch knows. */
    private void option(String v) throws BadArguments {
        String[] kv = v.strip().split("\\s*=\\s*|\\s+", 2);
        if (kv.length != 2 || kv[1].isEmpty()) {
            throw new BadArguments("-o " + v + ": expected Name=value");
        }
        String value = kv[1].strip();
        switch (kv[0].toLowerCase(Locale.ROOT)) {
            case "stricthostkeychecking" -> checking = switch (value.toLowerCase(Locale.ROOT)) {
                case "yes" -> HostKeyChecking.STRICT;
                case "accept-new" -> HostKeyChecking.ACCEPT_NEW;
                case "no", "off" -> HostKeyChecking.ACCEPT_ANY;
                default -> throw new BadArguments("-o StrictHostKeyChecking: '" + value + "' is not yes, no or accept-new");
            };
            case "userknownhostsfile" -> knownHosts = Path.of(value);
            case "port" -> port = port(value, "-o Port");
            case "user" -> user = value;
            case "identityfile" -> identities.add(Path.of(value));
            case "batchmode" -> batchMode = yesNo(value, "-o BatchMode");
            default -> throw new BadArguments("-o " + kv[0] + ": not an option conch knows (it knows StrictHostKeyChecking,"
                    + " UserKnownHostsFile, Port, User, IdentityFile, BatchMode)");
        }
    }

    private static boolean yesNo(String value, String what) throws BadArguments {
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "yes" -> true;
            case "no" -> false;
            default -> throw new BadArguments(what + ": '" + value + "' is not yes or no");
        };
    }

    private static int port(String v, String what) throws BadArguments {
        try {
            int p = Integer.parseInt(v.strip());
            if (p >= 0 && p <= 65535) {
                return p;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new BadArguments(what + ": bad port '" + v + "'");
    }

    /**
     * {@code [bind:]port:host:hostport} (with a target) or {@code [bind:]port} ({@code -D}); an
     * IPv6 address in brackets; the bind address defaults to loopback (OpenSSH's
     * {@code GatewayPorts no}), {@code *} or an empty one meaning every interface.
     */
    static Forward forward(String spec, boolean withTarget, String what) throws BadArguments {
        List<String> parts = splitColons(spec);
        int need = withTarget ? 3 : 1;
        if (parts.size() != need && parts.size() != need + 1) {
            throw new BadArguments(what + " " + spec + ": expected " + (withTarget ? "[bind_address:]port:host:hostport"
                    : "[bind_address:]port"));
        }
        int k = 0;
        String bind = parts.size() == need + 1 ? parts.get(k++) : "localhost";
        if (bind.isEmpty() || bind.equals("*")) {
            bind = "0.0.0.0";
        }
        int listenPort = port(parts.get(k++), what + " " + spec);
        InetSocketAddress listen = InetSocketAddress.createUnresolved(bind, listenPort);
        if (!withTarget) {
            return new Forward(listen, null);
        }
        String host = parts.get(k++);
        int targetPort = port(parts.get(k), what + " " + spec);
        if (host.isEmpty() || targetPort == 0) {
            throw new BadArguments(what + " " + spec + ": bad target");
        }
        return new Forward(listen, InetSocketAddress.createUnresolved(host, targetPort));
    }

    /** Splits on colons outside brackets, dropping the brackets ({@code [::1]:80} is two parts). */
    private static List<String> splitColons(String spec) {
        List<String> parts = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean bracket = false;
        for (char c : spec.toCharArray()) {
            if (c == '[') {
                bracket = true;
            } else if (c == ']') {
                bracket = false;
            } else if (c == ':' && !bracket) {
                parts.add(cur.toString());
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        parts.add(cur.toString());
        return parts;
    }

    /** The remote command as one line, or empty for a shell. */
    Optional<String> commandLine() {
        return command.isEmpty() ? Optional.empty() : Optional.of(String.join(" ", command));
    }
}
