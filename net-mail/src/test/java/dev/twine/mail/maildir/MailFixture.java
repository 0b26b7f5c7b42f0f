package dev.twine.mail.maildir;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.twine.core.auth.Portal;
import dev.twine.core.auth.UsersFile;
import dev.twine.mail.store.MailStore;
import dev.twine.mail.store.Mailbox;
import dev.twine.mail.store.MemoryMailStore;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/** A users file (alice/secret, bob/hunter2), a portal and a Maildir in a temp dir, plus peer helpers. */
public final class MailFixture {
    /** A small message with CRLF line ends. */
    public static final String HELLO = """
            From: Alice Example <alice@example.org>\r
            To: bob@example.org, carol@example.net\r
            Subject: Hello there\r
            Date: Mon, 7 Feb 1994 21:52:25 -0800\r
            Message-ID: <1@example.org>\r
            \r
            Hi Bob.\r
            .dotted line\r
            """;

    /** A multipart message: text and a base64 attachment. */
    public static final String MULTIPART = """
            From: bob@example.org\r
            To: alice@example.org\r
            Subject: =?UTF-8?Q?Caf=C3=A9?= report\r
            Date: Tue, 8 Feb 1994 10:00:00 +0000\r
            MIME-Version: 1.0\r
            Content-Type: multipart/mixed; boundary="XYZ"\r
            \r
            preamble\r
            --XYZ\r
            Content-Type: text/plain; charset=utf-8\r
            \r
            The report.\r
            --XYZ\r
            Content-Type: application/octet-stream; name="r.bin"\r
            Content-Transfer-Encoding: base64\r
            Content-Disposition: attachment; filename="r.bin"\r
            \r
            AAECAw==\r
            --XYZ--\r
            """;

    public final Path dir;
    public final Path usersFile;
    public final Portal portal;
    /** The Maildir under {@code dir}; the servers' store unless this is a {@link #memory} fixture. */
    public final Maildir maildir;
    /** The store the servers use: {@link #maildir}, or a {@link MemoryMailStore}. */
    public final MailStore store;

    private MailFixture(Path dir, boolean inMemory) throws IOException {
        this.dir = dir;
        Files.createDirectories(dir);
        this.usersFile = dir.resolve("users");
        UsersFile.addUser(usersFile, "alice", "secret".toCharArray());
        UsersFile.addUser(usersFile, "bob", "hunter2".toCharArray());
        this.portal = Portal.builder().users(UsersFile.load(usersFile)).build();
        this.maildir = Maildir.open(dir.resolve("mail"));
        // the first mailbox made is alice's INBOX: its UIDVALIDITY is the one transcripts name
        this.store = inMemory ? MemoryMailStore.create(1000) : maildir;
    }

    /** A fresh fixture under {@code dir}, over a Maildir. */
    public static MailFixture create(Path dir) throws IOException {
        return new MailFixture(dir, false);
    }

    /** A fresh fixture under {@code dir} whose store is in memory (alice's INBOX has UIDVALIDITY 1000). */
    public static MailFixture memory(Path dir) throws IOException {
        return new MailFixture(dir, true);
    }

    /** Both kinds of fixture, for tests that must hold over every store. */
    public static List<MailFixture> both(Path dir) throws IOException {
        return List.of(create(dir.resolve("maildir")), memory(dir.resolve("memory")));
    }

    /** Whether the store is the Maildir (tests of files and restarts only hold there). */
    public boolean onDisk() {
        return store == maildir;
    }

    @Override
    public String toString() {
        return onDisk() ? "maildir" : "memory";
    }

    /**
     * Prepares {@code user}'s inbox with a fixed UIDVALIDITY (so transcripts can name it) and
     * delivers {@code messages} with internal dates one day apart from 1994-02-08.
     */
    public void inbox(String user, long uidValidity, String... messages) throws IOException {
        if (!onDisk()) {
            if (uidValidity != mailbox(user, "INBOX").uidValidity()) {
                throw new IllegalArgumentException("the memory store's first UIDVALIDITY is 1000");
            }
            Instant date = Instant.parse("1994-02-08T12:00:00Z");
            for (String m : messages) {
                mailbox(user, "INBOX").append(new ByteArrayInputStream(m.getBytes(StandardCharsets.UTF_8)), Set.of(), date);
                date = date.plusSeconds(86400);
            }
            return;
        }
        Path inbox = maildir.inbox(user);
        for (String sub : List.of("cur", "new", "tmp")) {
            Files.createDirectories(inbox.resolve(sub));
        }
        Files.writeString(inbox.resolve("twine-uidlist"), "twine-uidlist 1 " + uidValidity + " 1\n");
        Instant date = Instant.parse("1994-02-08T12:00:00Z");
        for (String m : messages) {
            Path p = maildir.deliver(user, new ByteArrayInputStream(m.getBytes(StandardCharsets.UTF_8)));
            Files.setLastModifiedTime(p, FileTime.from(date));
            date = date.plusSeconds(86400);
        }
    }

    /** A portal over this fixture's users under {@code policy}, for tests of failed logins. */
    public Portal portal(dev.twine.core.auth.AuthPolicy policy) throws IOException {
        return Portal.builder().users(UsersFile.load(usersFile)).policy(policy).build();
    }

    /** A policy builder whose failures are answered at once (no delay), for tests of the counts. */
    public static dev.twine.core.auth.AuthPolicy.Builder noDelay() {
        return dev.twine.core.auth.AuthPolicy.builder().failureDelay(java.time.Duration.ZERO).maxFailureDelay(java.time.Duration.ZERO);
    }

    /** Delivers a message as SMTP would (in memory: appends it to the INBOX, recent). */
    public void deliver(String user, String message) throws IOException {
        ByteArrayInputStream in = new ByteArrayInputStream(message.getBytes(StandardCharsets.UTF_8));
        if (onDisk()) {
            maildir.deliver(user, in);
        } else {
            mailbox(user, "INBOX").append(in, Set.of(), null);
        }
    }

    /** Forgets the store's view of a folder, as a server restart would. */
    public void restart(Path folderDir) {
        maildir.forget(folderDir);
    }

    /** {@code user}'s mailbox {@code name} through the store interface, as the servers see it. */
    public Mailbox mailbox(String user, String name) throws IOException {
        try {
            return store.account(user).mailbox(name.isEmpty() ? "INBOX" : name).orElseThrow();
        } catch (dev.twine.core.auth.AuthenticationException e) {
            throw new IOException(e);
        }
    }

    // ---- real peers ----

    /** The path of a third-party program, failing under CI=true and skipping elsewhere if missing. */
    public static Path peer(String path, String debianPackage) {
        Path p = Path.of(path);
        if (Files.isExecutable(p)) {
            return p;
        }
        String msg = p + " not found: install the Debian package " + debianPackage + " (ci/peers/mail-imap.txt)";
        if ("true".equals(System.getenv("CI"))) {
            fail(msg);
        }
        assumeTrue(false, msg);
        return p;
    }

    /** The output of a finished program. */
    public record Run(int exit, String stdout, String stderr) {}

    /** Runs a program to its end within {@code seconds}, killing it (by its PID) after that. */
    public static Run run(int seconds, List<String> command, Map<String, String> env, String stdin)
            throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(command));
        pb.environment().putAll(env);
        Path errFile = Files.createTempFile("peer", ".err");
        pb.redirectError(errFile.toFile());
        Process p = pb.start();
        try {
            try (var in = p.getOutputStream()) {
                if (stdin != null) {
                    in.write(stdin.getBytes(StandardCharsets.UTF_8));
                }
            }
            byte[][] outHolder = new byte[1][];
            Thread reader = Thread.ofVirtual().start(() -> {
                try {
                    outHolder[0] = p.getInputStream().readAllBytes();
                } catch (IOException e) {
                    outHolder[0] = new byte[0];
                }
            });
            if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                reader.join(5000);
                fail("still running after " + seconds + " s: " + command + "\nstdout: "
                        + (outHolder[0] == null ? "" : new String(outHolder[0], StandardCharsets.UTF_8))
                        + "\nstderr: " + Files.readString(errFile));
            }
            reader.join(10_000);
            return new Run(p.exitValue(), new String(outHolder[0] == null ? new byte[0] : outHolder[0],
                    StandardCharsets.UTF_8), Files.readString(errFile));
        } finally {
            p.destroyForcibly();
            Files.deleteIfExists(errFile);
        }
    }

    /** Runs a Python 3 script with Debian's interpreter; fails the test unless it exits 0. */
    public static String python(int seconds, String script, String... args) throws IOException, InterruptedException {
        Path py = peer("/usr/bin/python3", "python3");
        List<String> cmd = new ArrayList<>(List.of(py.toString(), "-c", script));
        cmd.addAll(List.of(args));
        Run r = run(seconds, cmd, Map.of(), null);
        if (r.exit() != 0) {
            fail("python failed (" + r.exit() + "):\n" + r.stdout() + "\n" + r.stderr());
        }
        return r.stdout();
    }
}
