package dev.twine.ssh.internal;

import dev.twine.core.spi.CommandPlugin;
import dev.twine.ssh.SftpEntry;
import dev.twine.ssh.SftpSession;
import dev.twine.ssh.SshClient;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code twine conch-sftp}: file transfer over SFTP with OpenSSH {@code sftp}'s options and
 * output: commands from standard input or a batch file ({@code -b}), each echoed after
 * {@code sftp> } when not typed on a terminal. In batch mode the first failing command ends the
 * session with status 1 (unless it starts with {@code -}), as in {@code sftp -b}.
 */
public final class ConchSftpCommand implements CommandPlugin {

    private static final String SYNOPSIS = "Usage: twine conch-sftp [-P PORT] [-i KEY] [-o OPT=V] [-b FILE] [-q]"
            + " [user@]host\n";

    private final Map<String, String> env;
    private final Path home;

    /** The command as the launcher runs it: the process's environment and home directory. */
    public ConchSftpCommand() {
        this(System.getenv(), Path.of(System.getProperty("user.home")));
    }

    /** With the environment and home given: for tests (this package is not exported). */
    public ConchSftpCommand(Map<String, String> env, Path home) {
        this.env = Map.copyOf(env);
        this.home = home;
    }

    @Override
    public String name() {
        return "conch-sftp";
    }

    @Override
    public String summary() {
        return "SFTP client with OpenSSH sftp's options and commands (ls, cd, pwd, get, put, mkdir, rm, rename)";
    }

    @Override
    public String usage() {
        return SYNOPSIS + """

                Open an SFTP session to host and run commands read from standard input, or from FILE.
                Logs in as twine conch does (keys, ssh-agent, known_hosts; see twine conch --help).

                  -P PORT   port to connect to (default 22)
                  -i KEY    private key file; repeatable
                  -o OPT=V  as for twine conch: StrictHostKeyChecking, UserKnownHostsFile, Port, User, ...
                  -b FILE   read commands from FILE (- for standard input); the first failing command ends
                            the session with status 1, unless it starts with -
                  -q        no progress lines
                Commands: ls [-l] [PATH], cd PATH, pwd, get REMOTE [LOCAL], put LOCAL [REMOTE],
                          mkdir PATH, rm PATH, rename OLD NEW, quit (also exit, bye).
                """;
    }

    @Override
    public int run(List<String> args, InputStream in, PrintStream out, PrintStream err) throws Exception {
        ConchArguments a;
        try {
            a = ConchArguments.sftp(args);
        } catch (ConchArguments.BadArguments e) {
            err.println("twine conch-sftp: " + e.getMessage());
            err.print(SYNOPSIS);
            return ConchCommand.FAILED;
        }
        boolean batch = a.batchFile != null;
        boolean terminal = !batch && in == System.in && Terminal.interactive();
        InputStream commands = !batch || a.batchFile.toString().equals("-") ? in : null;
        if (commands == null) {
            if (!Files.isReadable(a.batchFile)) {
                err.println("twine conch-sftp: -b " + a.batchFile + ": cannot read it");
                return ConchCommand.FAILED;
            }
            commands = Files.newInputStream(a.batchFile);
        }
        Optional<SshClient> connected = ConchCommand.connect(a, 22, terminal, "conch-sftp", env, home, err);
        if (connected.isEmpty()) {
            return ConchCommand.FAILED;
        }
        try (SshClient ssh = connected.get(); SftpSession sftp = ssh.sftp(); InputStream closing = commands) {
            if (!batch && !a.quiet) {
                err.println("Connected to " + a.host + ".");
            }
            Session s = new Session(sftp, sftp.canonical("."), out, err, !batch && !a.quiet);
            BufferedReader lines = new BufferedReader(new InputStreamReader(closing, StandardCharsets.UTF_8));
            while (true) {
                out.print(terminal ? "sftp> " : "");
                out.flush();
                String line = lines.readLine();
                if (line == null) {
                    return 0;
                }
                String t = line.strip();
                if (!terminal) {
                    out.println("sftp> " + t);
                }
                boolean ignoreFailure = t.startsWith("-");
                if (ignoreFailure) {
                    t = t.substring(1).strip();
                }
                if (t.isEmpty() || t.startsWith("#")) {
                    continue;
                }
                List<String> words = List.of(t.split("\\s+"));
                if (List.of("quit", "exit", "bye").contains(words.getFirst())) {
                    return 0;
                }
                if (!s.run(words) && batch && !ignoreFailure) {
                    return 1;
                }
            }
        }
    }

    /** One session's state: the remote working directory. */
    private static final class Session {
        private final SftpSession sftp;
        private final PrintStream out;
        private final PrintStream err;
        private final boolean progress;
        private String cwd;

        Session(SftpSession sftp, String cwd, PrintStream out, PrintStream err, boolean progress) {
            this.sftp = sftp;
            this.cwd = cwd;
            this.out = out;
            this.err = err;
            this.progress = progress;
        }

        /** Runs one command; a failure is reported on err and gives false. */
        boolean run(List<String> w) {
            String verb = w.getFirst();
            List<String> rest = w.subList(1, w.size());
            try {
                switch (verb) {
                    case "pwd" -> out.println("Remote working directory: " + cwd);
                    case "cd" -> cd(rest.isEmpty() ? "." : rest.getFirst());
                    case "ls" -> ls(rest);
                    case "get" -> get(one(rest, 1, 2, "get REMOTE [LOCAL]"), rest);
                    case "put" -> put(one(rest, 1, 2, "put LOCAL [REMOTE]"), rest);
                    case "mkdir" -> sftp.mkdir(remote(one(rest, 1, 1, "mkdir PATH")));
                    case "rm" -> {
                        String path = remote(one(rest, 1, 1, "rm PATH"));
                        if (progress) {
                            out.println("Removing " + path);
                        }
                        sftp.remove(path);
                    }
                    case "rename" -> sftp.rename(remote(one(rest, 2, 2, "rename OLD NEW")), remote(rest.get(1)));
                    default -> throw new IllegalArgumentException("Invalid command: " + verb);
                }
                return true;
            } catch (IOException e) {
                err.println("remote " + String.join(" ", rest) + ": " + e.getMessage());
                return false;
            } catch (IllegalArgumentException e) {
                err.println(e.getMessage());
                return false;
            }
        }

        private static String one(List<String> rest, int min, int max, String usage) {
            if (rest.size() < min || rest.size() > max) {
                throw new IllegalArgumentException("Usage: " + usage);
            }
            return rest.getFirst();
        }

        private String remote(String path) {
            return path.startsWith("/") ? path : (cwd.endsWith("/") ? cwd : cwd + "/") + path;
        }

        private void cd(String path) throws IOException {
            String target = sftp.canonical(remote(path));
            if (!sftp.stat(target).directory()) {
                throw new IllegalArgumentException("Can't change directory: " + target + " is not a directory");
            }
            cwd = target;
        }

        private void ls(List<String> rest) throws IOException {
            boolean longForm = !rest.isEmpty() && rest.getFirst().equals("-l");
            List<String> paths = longForm ? rest.subList(1, rest.size()) : rest;
            List<SftpEntry> entries = sftp.list(remote(paths.isEmpty() ? "." : paths.getFirst()));
            if (longForm) {
                entries.forEach(e -> out.println(e.longName().isEmpty() ? e.name() : e.longName()));
                return;
            }
            // names in columns across an 80-column line, each padded to the longest and two spaces
            int width = entries.stream().mapToInt(e -> e.name().length()).max().orElse(0) + 2;
            int perLine = Math.max(1, 80 / width);
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < entries.size(); i++) {
                line.append(String.format("%-" + width + "s", entries.get(i).name()));
                if ((i + 1) % perLine == 0 || i == entries.size() - 1) {
                    out.println(line);
                    line.setLength(0);
                }
            }
        }

        private void get(String from, List<String> rest) throws IOException {
            String path = remote(from);
            Path to = Path.of(rest.size() > 1 ? rest.get(1) : Path.of(path).getFileName().toString());
            if (Files.isDirectory(to)) {
                to = to.resolve(Path.of(path).getFileName().toString());
            }
            if (progress) {
                out.println("Fetching " + path + " to " + to);
            }
            sftp.download(path, to);
        }

        private void put(String from, List<String> rest) throws IOException {
            Path local = Path.of(from);
            if (!Files.isReadable(local)) {
                throw new IllegalArgumentException("stat local \"" + from + "\": No such file or directory");
            }
            String to = remote(rest.size() > 1 ? rest.get(1) : local.getFileName().toString());
            try {
                if (sftp.stat(to).directory()) {
                    to = (to.endsWith("/") ? to : to + "/") + local.getFileName();
                }
            } catch (IOException absent) {
                // a new file: the usual case
            }
            if (progress) {
                out.println("Uploading " + from + " to " + to);
            }
            sftp.upload(local, to);
        }
    }
}
