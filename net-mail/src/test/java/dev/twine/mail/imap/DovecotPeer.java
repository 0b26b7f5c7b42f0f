package dev.twine.mail.imap;

import dev.twine.mail.maildir.MailFixture;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** Dovecot as the reference IMAP server of the interop tests: run on a copy of a Twine Maildir. */
final class DovecotPeer {
    private DovecotPeer() {}

    interface Client {
        String run(int port) throws Exception;
    }

    /** What Twine and Dovecot said to the same client. */
    record Answers(String twine, String dovecot) {}

    /**
     * Runs {@code client} against Twine serving {@code f}'s Maildir, then against Dovecot (with
     * {@code extra} configuration) on a copy of alice's Maildir made before Twine starts.
     */
    static Answers ask(Path tmp, MailFixture f, String extra, Client client) throws Exception {
        Path dovecot = MailFixture.peer("/usr/sbin/dovecot", "dovecot-imapd");
        Path copy = tmp.resolve("dovecot-mail/alice");
        Files.createDirectories(copy.getParent());
        copyTree(f.maildir.inbox("alice"), copy);
        ImapServer imap = ImapServer.builder().store(f.maildir).portal(f.portal).listen("tcp:0:interface=127.0.0.1").build();
        imap.start();
        String twine;
        try {
            twine = client.run(imap.bindings().get(0).port());
        } finally {
            imap.close();
        }
        return new Answers(twine, run(tmp, dovecot, copy.getParent(), extra, client));
    }

    /** Runs a Python {@code script} with the port and then each of {@code commands} as arguments. */
    static String python(String script, String[] commands, int port) throws Exception {
        String[] args = new String[commands.length + 1];
        args[0] = Integer.toString(port);
        System.arraycopy(commands, 0, args, 1, commands.length);
        return MailFixture.python(60, script, args);
    }

    /**
     * A raw IMAP client in Python, for answers compared between Twine and Dovecot: it logs in as
     * alice, selects INBOX, then sends each of {@code commands} in turn and prints, for each, the
     * untagged answers whose name (the word after {@code *}, or after the number in
     * {@code * 3 FETCH}) is in {@code shown}, then the command with its tagged result
     * ({@code FETCH $ (UID) -> OK}, with the first response code's name if there is one:
     * {@code -> NO [BADCHARSET}). Where RFC 4731 leaves ESEARCH's return data in any order it is
     * printed sorted, and trailing spaces are dropped.
     */
    static Client imap(Set<String> shown, String... commands) {
        String[] args = new String[commands.length + 1];
        args[0] = String.join(" ", shown);
        System.arraycopy(commands, 0, args, 1, commands.length);
        return port -> python(IMAP, args, port);
    }

    private static final String IMAP = """
            import re, socket, sys
            shown = sys.argv[2].split()
            s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
            f = s.makefile('rb')
            f.readline()
            for n, cmd in enumerate(['LOGIN alice secret', 'SELECT INBOX'] + sys.argv[3:]):
                tag = 't%d' % n
                s.sendall(('%s %s\\r\\n' % (tag, cmd)).encode())
                while True:
                    r = f.readline().decode('utf-8', 'replace').rstrip('\\r\\n')
                    if r.startswith(tag + ' '):
                        if n >= 2:
                            print(cmd, '->', ' '.join(r.split()[1:2] + re.findall(r'\\[[A-Z-]+', r)[:1]))
                        break
                    words = r.split()
                    name = words[2] if words[1].isdigit() else words[1]
                    if n < 2 or name not in shown:
                        continue
                    if name == 'ESEARCH':
                        head = 5 if words[4:5] == ['UID'] else 4
                        pairs = sorted(zip(words[head::2], words[head + 1::2]))
                        r = ' '.join(words[:head] + [a + ' ' + b for a, b in pairs])
                    print('  ' + r.rstrip())
            """;

    /**
     * Runs Dovecot unprivileged on a free loopback port over the Maildirs in {@code mail}
     * (user alice, password secret), with {@code extra} added to its configuration, runs
     * {@code client} against it and stops it by its PID.
     */
    static String run(Path tmp, Path dovecot, Path mail, String extra, Client client) throws Exception {
        Path work = tmp.resolve("dovecot");
        Files.createDirectories(work.resolve("run"));
        Files.createDirectories(work.resolve("state"));
        boolean root = "root".equals(System.getProperty("user.name"));
        String uid = root ? id("-u", "nobody") : id("-u");
        String gid = root ? id("-g", "nobody") : id("-g");
        try (Stream<Path> all = Files.walk(tmp)) {
            for (Path p : all.toList()) {
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(Files.isDirectory(p) ? "rwxr-xr-x" : "rw-r--r--"));
                if (root && p.startsWith(mail)) {
                    MailFixture.run(10, List.of("chown", "nobody:", p.toString()), Map.of(), null);
                }
            }
        }
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path users = work.resolve("users");
        Files.writeString(users, "alice:{PLAIN}secret\n");
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        String user = System.getProperty("user.name");
        Path conf = work.resolve("dovecot.conf");
        Files.writeString(conf, """
                base_dir = %1$s/run
                state_dir = %1$s/state
                log_path = %1$s/dovecot.log
                protocols = imap
                listen = 127.0.0.1
                ssl = no
                disable_plaintext_auth = no
                auth_mechanisms = plain
                first_valid_uid = 1
                default_internal_user = %2$s
                default_login_user = %3$s
                passdb {
                  driver = passwd-file
                  args = %4$s
                }
                userdb {
                  driver = static
                  args = uid=%5$s gid=%6$s home=%7$s/%%u
                }
                mail_location = maildir:%7$s/%%u
                service imap-login {
                  inet_listener imap {
                    address = 127.0.0.1
                    port = %8$d
                  }
                  inet_listener imaps {
                    port = 0
                  }
                  chroot =
                }
                service anvil {
                  chroot =
                }
                """.formatted(work, root ? "dovecot" : user, root ? "dovenull" : user, users, uid, gid, mail, port) + extra);
        Process p = new ProcessBuilder(dovecot.toString(), "-F", "-c", conf.toString())
                .redirectErrorStream(true).redirectOutput(work.resolve("stdout.log").toFile()).start();
        try {
            awaitPort(port, p, work);
            return client.run(port);
        } finally {
            p.destroy();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
    }

    private static void awaitPort(int port, Process p, Path work) throws Exception {
        for (int i = 0; i < 200; i++) {
            if (!p.isAlive()) {
                throw new IOException("dovecot exited: " + Files.readString(work.resolve("stdout.log")));
            }
            try {
                new Socket(java.net.InetAddress.getLoopbackAddress(), port).close();
                return;
            } catch (IOException notYet) {
                TimeUnit.MILLISECONDS.sleep(50); // a third-party process: nothing to wait on but its port
            }
        }
        throw new IOException("dovecot does not listen on " + port);
    }

    private static String id(String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("id"));
        cmd.addAll(List.of(args));
        return MailFixture.run(10, cmd, Map.of(), null).stdout().strip();
    }

    /** Copies a Maildir without Twine's own files, so Dovecot numbers the messages afresh. */
    static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> all = Files.walk(from)) {
            for (Path p : all.toList()) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else if (!p.getFileName().toString().startsWith("twine-")) {
                    Files.copy(p, t, java.nio.file.StandardCopyOption.COPY_ATTRIBUTES); // internal dates (mtimes) too
                }
            }
        }
    }
}
