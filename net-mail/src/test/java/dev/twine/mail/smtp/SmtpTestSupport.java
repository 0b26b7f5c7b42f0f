package dev.twine.mail.smtp;

import dev.twine.core.Connection;
import dev.twine.core.auth.Portal;
import dev.twine.core.auth.UsersFile;
import dev.twine.core.testing.ManualClock;
import dev.twine.mail.maildir.Maildir;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

/** Shared fixtures for the SMTP tests: a users file, a Maildir, TLS material. */
final class SmtpTestSupport {
    static final String DOMAIN = "example.test";

    private SmtpTestSupport() {}

    /**
     * Hands {@code q} a message from alice@example.test to {@code to} as the SMTP server would
     * ({@code RET=FULL}, with REQUIRETLS or not).
     */
    static void relay(RelayQueue q, String to, boolean requireTls, byte[] message) throws Exception {
        MailDelivery.Session session = new MailDelivery.Session(new java.net.InetSocketAddress("127.0.0.1", 1),
                "client.example", java.util.Optional.empty(), java.util.Optional.empty());
        q.deliver(new MailDelivery.Envelope<>(session, "R1", "alice@example.test", List.of(new MailDelivery.Recipient<>(to, to)),
                new MailParameters(java.util.Optional.of(MailParameters.Ret.FULL), java.util.Optional.empty(), requireTls)),
                new java.io.ByteArrayInputStream(message));
    }

    static UsersFile users(Path dir) throws IOException {
        Path f = dir.resolve("users");
        if (!Files.exists(f)) {
            UsersFile.addUser(f, "alice", "secret".toCharArray());
            UsersFile.addUser(f, "bob", "hunter2".toCharArray());
            UsersFile.addUser(f, "postmaster", "pm-pass".toCharArray());
        }
        return UsersFile.load(f);
    }

    /** A server for {@link #DOMAIN} delivering into {@code dir/maildir}, with AUTH against {@code dir/users}. */
    static SmtpServer.Builder server(Path dir) throws IOException {
        return server(dir, local(dir).build());
    }

    /** A server for {@link #DOMAIN} with {@code delivery}, with AUTH against {@code dir/users}. */
    static SmtpServer.Builder server(Path dir, MailDelivery<?> delivery) throws IOException {
        UsersFile users = users(dir);
        return SmtpServer.builder().domain(DOMAIN).delivery(delivery).portal(Portal.builder().users(users).build());
    }

    /** Local delivery for {@link #DOMAIN}'s users in {@code dir/users} into {@code dir/maildir}. */
    static MaildirDelivery.Builder local(Path dir) throws IOException {
        return local(dir, DOMAIN);
    }

    /** Local delivery for {@code domain}'s users in {@code dir/users} into {@code dir/maildir}. */
    static MaildirDelivery.Builder local(Path dir, String domain) throws IOException {
        return MaildirDelivery.builder().domain(domain).maildir(Maildir.open(dir.resolve("maildir"))).users(users(dir));
    }

    /** A server for {@code domain} delivering into {@code dir/maildir}, with AUTH against {@code dir/users}. */
    static SmtpServer.Builder server(Path dir, String domain) throws IOException {
        UsersFile users = users(dir);
        return SmtpServer.builder().domain(domain).delivery(local(dir, domain).build()).portal(Portal.builder().users(users).build());
    }

    /** The files in {@code user}'s new/, sorted by name. */
    static List<Path> delivered(Path dir, String user) throws IOException {
        Path nu = dir.resolve("maildir").resolve(user).resolve("new");
        if (!Files.isDirectory(nu)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(nu)) {
            return new ArrayList<>(s.sorted().toList());
        }
    }

    /** A delivery that accepts every recipient and fails the message for {@code address} only. */
    static MailDelivery<String> failingFor(String address, Reply reply) {
        return new MailDelivery<>() {
            @Override
            public String recipient(Session session, String sender, String rcpt) {
                return rcpt;
            }

            @Override
            public void deliver(Envelope<String> envelope, java.io.InputStream message) throws IOException {
                throw new PartialDeliveryException(java.util.Map.of(address, reply));
            }
        };
    }

    /** What the test sends before each step of {@link #advanceUntilClosed}. */
    interface Step {
        void send(int step) throws IOException;
    }

    /**
     * Drives a server's timed waits without a thread of the test's own: runs {@code before}, then,
     * once a thread waits on {@code clock}, moves it by {@code step}; again, until the session has
     * closed its end, {@code server} (or {@code before} fails because it has). A wait that does
     * not come within a second is looked at again, not taken for the end.
     */
    static void advanceUntilClosed(ManualClock clock, Duration step, Connection server, Step before) throws Exception {
        for (int i = 0; !server.isClosed(); i++) {
            try {
                before.send(i);
            } catch (IOException closed) {
                return;
            }
            try {
                clock.awaitWaiters(1, Duration.ofSeconds(1));
                clock.advance(step);
            } catch (TimeoutException e) {
                // nobody waits on the clock: the session is busy, or has ended; look again
            }
        }
    }

    /**
     * The start of a transcript on a server for {@link #DOMAIN} with AUTH offered (plain auth
     * allowed, no TLS): greeting, EHLO and its reply, a successful AUTH PLAIN as {@code user}.
     */
    static String loginAs(String user, String password) {
        return "S: 220 example.test ESMTP Twine\nC: EHLO c\n"
                + "S: 250-example.test greets c\nS: 250-PIPELINING\nS: 250-SIZE 26214400\nS: 250-8BITMIME\nS: 250-CHUNKING\n"
                + "S: 250-ENHANCEDSTATUSCODES\nS: 250-SMTPUTF8\nS: 250-DSN\nS: 250 AUTH SCRAM-SHA-256 PLAIN LOGIN\n"
                + "C: AUTH PLAIN " + plain(user, password) + "\n"
                + "S: 235 2.7.0 Authentication successful\n";
    }

    static String plain(String user, String password) {
        return Base64.getEncoder().encodeToString(("\0" + user + "\0" + password).getBytes(StandardCharsets.UTF_8));
    }

    static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    /** A self-signed certificate and PKCS#8 key made with the openssl command line. */
    static Path[] certificate(Path dir) throws IOException, InterruptedException {
        Path cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        Process p = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                "-keyout", key.toString(), "-out", cert.toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IOException("openssl could not make a test certificate");
        }
        return new Path[] {cert, key};
    }

    /** The message part of a delivered file: what follows the Return-Path and Received lines Twine adds. */
    static String body(Path file) throws IOException {
        String s = Files.readString(file, StandardCharsets.UTF_8);
        return s;
    }
}
