package dev.twine.samples.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.auth.UsersFile;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ProtocolException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crash consistency of SMTP delivery into Maildir (issue 16): {@code twine mail} as its own
 * process takes mail from three clients at once and is killed with SIGKILL at seeded random
 * moments, then started again on the same Maildir. After every restart: every message answered
 * 250 is in {@code new/} exactly once and whole, no file in {@code new/} is half-written (the
 * delivery writes to {@code tmp/}, syncs, then renames), and a stale {@code tmp/} leftover of a
 * crashed delivery is removed by the first delivery after the start. Rounds and seed come from
 * {@code -Dtwine.crash.rounds} (default 2, a few seconds) and {@code -Dtwine.crash.seed};
 * {@code ci/crash} runs many more.
 */
@Timeout(value = 10, unit = java.util.concurrent.TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class SmtpCrashTest {
    private static final int CLIENTS = 3;
    private static final int BODY_LINES = 400; // about 30 KB: a kill often lands inside DATA

    @TempDir
    Path dir;

    @Test
    void everyAcknowledgedMessageSurvivesSigkillWholeAndOnce() throws Exception {
        int rounds = Launched.rounds();
        long seed = Launched.seed();
        Random random = new Random(seed);
        Path users = dir.resolve("users");
        UsersFile.addUser(users, "alice", "secret".toCharArray());
        Path maildir = dir.resolve("mail");
        Path inbox = maildir.resolve("alice");
        List<String> args = List.of("mail", "--domain", "example.test", "--users", users.toString(),
                "--maildir", maildir.toString(), "--smtp", "tcp:0:interface=127.0.0.1",
                "--queue", dir.resolve("queue").toString(), "--dns", "127.0.0.1:9");
        Set<String> acknowledged = ConcurrentHashMap.newKeySet();
        Set<String> wrong = ConcurrentHashMap.newKeySet();
        for (int round = 0; round < rounds; round++) {
            String context = "seed " + seed + ", round " + round;
            int round0 = round;
            try (Launched server = Launched.start(args, "smtp")) {
                if (round > 0) {
                    // the first delivery after a start cleans tmp/ of crashed deliveries' leftovers
                    assertTrue(send(server.port("smtp"), "after-restart-" + round), "no 250 after the restart; " + context);
                    assertFalse(Files.exists(inbox.resolve("tmp").resolve("stale")), "stale tmp/ file kept; " + context);
                }
                List<Thread> clients = new ArrayList<>();
                for (int c = 0; c < CLIENTS; c++) {
                    String prefix = "r" + round + "c" + c + "-";
                    int port = server.port("smtp");
                    clients.add(Thread.ofVirtual().start(() -> {
                        for (int n = 0; ; n++) {
                            try {
                                if (send(port, prefix + n)) {
                                    acknowledged.add(prefix + n);
                                }
                            } catch (ProtocolException e) {
                                wrong.add(e.getMessage());
                                return;
                            } catch (IOException killed) {
                                return;
                            }
                        }
                    }));
                }
                // kill at a random moment once this round has delivered something
                for (long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                        acknowledged.stream().noneMatch(id -> id.startsWith("r" + round0 + "c")) && System.nanoTime() < until; ) {
                    Thread.sleep(20);
                }
                assertTrue(acknowledged.stream().anyMatch(id -> id.startsWith("r" + round0 + "c")),
                        "nothing delivered within 60 s: " + wrong + "; " + context);
                Thread.sleep(random.nextInt(1500));
                server.kill();
                for (Thread t : clients) {
                    t.join(Duration.ofSeconds(30));
                }
            }
            assertEquals(Set.of(), wrong, "replies other than the server's normal ones; " + context);
            check(inbox, acknowledged, context);
            Path stale = inbox.resolve("tmp").resolve("stale");
            Files.writeString(stale, "half a message from a crashed delivery");
            FileTime old = FileTime.from(Instant.now().minus(Duration.ofHours(40))); // past Maildir's 36 hours
            Files.getFileAttributeView(stale, BasicFileAttributeView.class).setTimes(old, old, null);
        }
        assertTrue(acknowledged.size() > 0, "no message was acknowledged at all; seed " + seed);
    }

    /**
     * SMTP at volume (issue 18's proof): {@code twine.crash.messages} messages (200 here, 2,000 in
     * {@code ci/crash}) from {@code twine.crash.sessions} concurrent sessions (10 here, 20 there),
     * each session sending transaction after transaction to three mailboxes, the server killed
     * with SIGKILL {@code twine.crash.rounds} times, each time once a seeded number of messages has
     * been acknowledged, and started again on the same Maildir; the clients resend what had no
     * 250, as an MTA would. The invariants, checked after every kill and at the end:
     * <ul>
     *   <li>every message answered 250 is in its mailbox's {@code new/} or {@code cur/};</li>
     *   <li>every file there is whole: its body's SHA-256 is the digest its header carries, and
     *       its {@code ,S=} size is its length (nothing half-written is visible);</li>
     *   <li>a message has at most one copy per attempt that the kill cut short after DATA, plus
     *       the acknowledged one (RFC 5321 §6.1 allows that duplicate, never a loss);</li>
     *   <li>a stale {@code tmp/} file (older than 36 hours) planted before a start is gone once
     *       the restarted server has delivered to that mailbox;</li>
     *   <li>in the end every message has been acknowledged.</li>
     * </ul>
     */
    @Test
    void acknowledgedMessagesSurviveSigkillAtVolume() throws Exception {
        int rounds = Launched.rounds();
        int total = Integer.getInteger("twine.crash.messages", 200);
        int sessions = Integer.getInteger("twine.crash.sessions", 10);
        long seed = Launched.seed();
        Random random = new Random(seed);
        Path users = dir.resolve("users");
        List<String> mailboxes = List.of("alice", "bob", "carol");
        for (String u : mailboxes) {
            UsersFile.addUser(users, u, "secret".toCharArray());
        }
        Path maildir = dir.resolve("mail");
        List<String> args = List.of("mail", "--domain", "example.test", "--users", users.toString(),
                "--maildir", maildir.toString(), "--smtp", "tcp:0:interface=127.0.0.1",
                "--queue", dir.resolve("queue").toString(), "--dns", "127.0.0.1:9");
        byte[][] bodies = new byte[total][];
        for (int i = 0; i < total; i++) {
            bodies[i] = randomBody(random, i);
        }
        java.util.concurrent.ConcurrentLinkedQueue<Integer> pending = new java.util.concurrent.ConcurrentLinkedQueue<>();
        for (int i = 0; i < total; i++) {
            pending.add(i);
        }
        Set<Integer> acknowledged = ConcurrentHashMap.newKeySet();
        Map<Integer, Integer> cutShort = new ConcurrentHashMap<>(); // attempts a kill ended after DATA's end
        Set<String> wrong = ConcurrentHashMap.newKeySet();
        for (int round = 0; round <= rounds; round++) {
            boolean last = round == rounds;
            String context = "seed " + seed + ", round " + round;
            // the kill comes once a seeded number more have been acknowledged
            int killAt = acknowledged.size() + 1 + random.nextInt(Math.max(1, (total - acknowledged.size()) / (rounds - round + 1)));
            for (String u : mailboxes) {
                plantStaleTmp(maildir.resolve(u));
            }
            Set<Integer> before = Set.copyOf(acknowledged);
            try (Launched server = Launched.start(args, "smtp")) {
                int port = server.port("smtp");
                List<Thread> clients = new ArrayList<>();
                for (int c = 0; c < sessions; c++) {
                    clients.add(Thread.ofVirtual().start(() -> session(port, pending, bodies, mailboxes, acknowledged, cutShort, wrong)));
                }
                if (!last) {
                    for (long until = System.nanoTime() + Duration.ofSeconds(120).toNanos();
                            acknowledged.size() < killAt && acknowledged.size() < total && System.nanoTime() < until; ) {
                        Thread.sleep(1);
                    }
                    server.kill();
                }
                for (Thread t : clients) {
                    t.join(Duration.ofMinutes(5));
                }
                assertEquals(Set.of(), wrong, "replies other than the server's normal ones; " + context);
                Map<Integer, Integer> copies = new HashMap<>();
                for (String u : mailboxes) {
                    copies.putAll(checkWhole(maildir.resolve(u), context));
                }
                for (int id : acknowledged) {
                    String u = mailboxes.get(id % mailboxes.size());
                    assertFalse(!before.contains(id) && Files.exists(maildir.resolve(u).resolve("tmp/stale")),
                            "stale tmp/ file kept in " + u + " after a delivery there; " + context);
                }
                for (int id : acknowledged) {
                    assertTrue(copies.getOrDefault(id, 0) >= 1, "acknowledged message " + id + " lost; " + context);
                }
                for (Map.Entry<Integer, Integer> e : copies.entrySet()) {
                    assertTrue(e.getValue() <= 1 + cutShort.getOrDefault(e.getKey(), 0),
                            "message " + e.getKey() + " stored " + e.getValue() + " times; " + context);
                }
            }
        }
        assertEquals(total, acknowledged.size(), "every message acknowledged in the end; seed " + seed);
    }

    /** One client session: transactions until nothing is pending or the server is gone. */
    private static void session(int port, java.util.Queue<Integer> pending, byte[][] bodies, List<String> mailboxes,
            Set<Integer> acknowledged, Map<Integer, Integer> cutShort, Set<String> wrong) {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.ISO_8859_1));
            OutputStream out = s.getOutputStream();
            expect(in, "220", "the greeting");
            out.write("EHLO volume.test\r\n".getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            expect(in, "250", "EHLO");
            for (Integer id; (id = pending.poll()) != null; ) {
                boolean dataSent = false;
                try {
                    String to = mailboxes.get(id % mailboxes.size());
                    out.write(("MAIL FROM:<load@volume.test>\r\nRCPT TO:<" + to + "@example.test>\r\nDATA\r\n").getBytes(StandardCharsets.ISO_8859_1));
                    out.flush(); // PIPELINING (RFC 2920)
                    expect(in, "250", "MAIL");
                    expect(in, "250", "RCPT");
                    expect(in, "354", "DATA");
                    out.write(bodies[id]);
                    out.write(".\r\n".getBytes(StandardCharsets.ISO_8859_1));
                    out.flush();
                    dataSent = true;
                    expect(in, "250", "the message");
                    acknowledged.add(id);
                } catch (IOException | RuntimeException e) {
                    if (dataSent) {
                        cutShort.merge(id, 1, Integer::sum);
                    }
                    pending.add(id); // resent later, as an MTA would
                    throw e;
                }
            }
        } catch (ProtocolException e) {
            wrong.add(e.getMessage());
        } catch (IOException killed) {
            // the server was killed: this session ends, another resends after the restart
        }
    }

    private static void expect(BufferedReader in, String code, String what) throws IOException {
        String r = reply(in);
        if (!r.startsWith(code)) {
            throw new ProtocolException("unexpected reply to " + what + ": " + r);
        }
    }

    /** A message of 1 to 40 KB of seeded random lines, its id and body digest in its header, dot-stuffed. */
    private static byte[] randomBody(Random random, int id) throws Exception {
        StringBuilder body = new StringBuilder();
        for (int lines = 10 + random.nextInt(500), i = 0; i < lines; i++) {
            body.append(i % 7 == 0 ? "." : "").append(Long.toString(random.nextLong(), 36).repeat(1 + random.nextInt(5))).append("\r\n");
        }
        String text = body.toString();
        String digest = Launched.sha256(text);
        String message = "Subject: volume\r\nX-Crash-Id: " + id + "\r\nX-Digest: " + digest + "\r\n\r\n" + text;
        return message.replace("\r\n.", "\r\n..").getBytes(StandardCharsets.ISO_8859_1);
    }

    /** Every file of one mailbox whole (digest and {@code ,S=} size); how many copies of each id. */
    private static Map<Integer, Integer> checkWhole(Path mailbox, String context) throws Exception {
        Map<Integer, Integer> copies = new HashMap<>();
        for (String sub : List.of("new", "cur")) {
            Path d = mailbox.resolve(sub);
            if (!Files.isDirectory(d)) {
                continue;
            }
            try (Stream<Path> files = Files.list(d)) {
                for (Path f : files.toList()) {
                    byte[] bytes = Files.readAllBytes(f);
                    String text = new String(bytes, StandardCharsets.ISO_8859_1);
                    String name = f.getFileName().toString();
                    java.util.regex.Matcher size = java.util.regex.Pattern.compile(",S=(\\d+)").matcher(name);
                    assertTrue(size.find() && Long.parseLong(size.group(1)) == bytes.length,
                            "size in the name is not the file's (" + bytes.length + "): " + f + "; " + context);
                    int header = text.indexOf("\r\n\r\n");
                    int at = text.indexOf("X-Crash-Id: ");
                    int dig = text.indexOf("X-Digest: ");
                    assertTrue(header > 0 && at >= 0 && dig >= 0 && at < header, "a file without its header: " + f + "; " + context);
                    int id = Integer.parseInt(text.substring(at + 12, text.indexOf('\r', at)));
                    String digest = text.substring(dig + 10, text.indexOf('\r', dig));
                    assertEquals(digest, Launched.bodyDigest(text), "half-written or damaged: " + f + "; " + context);
                    copies.merge(id, 1, Integer::sum);
                }
            }
        }
        return copies;
    }

    private static void plantStaleTmp(Path mailbox) throws IOException {
        Path stale = Files.createDirectories(mailbox.resolve("tmp")).resolve("stale");
        Files.writeString(stale, "half a message from a crashed delivery");
        FileTime old = FileTime.from(Instant.now().minus(Duration.ofHours(40))); // past Maildir's 36 hours
        Files.getFileAttributeView(stale, BasicFileAttributeView.class).setTimes(old, old, null);
    }

    /** Every file in new/ whole; every acknowledged message there exactly once. */
    private static void check(Path inbox, Set<String> acknowledged, String context) throws IOException {
        Map<String, Integer> seen = new HashMap<>();
        try (Stream<Path> files = Stream.concat(Files.list(inbox.resolve("new")), Files.list(inbox.resolve("cur")))) {
            for (Path f : files.toList()) {
                String text = Files.readString(f, StandardCharsets.ISO_8859_1);
                int at = text.indexOf("X-Crash-Id: ");
                assertTrue(at >= 0, "a file without its id: " + f + "; " + context);
                String id = text.substring(at + 12, text.indexOf('\r', at));
                assertTrue(text.endsWith(body(id)), "half-written in new/: " + f + " (" + text.length() + " bytes); " + context);
                seen.merge(id, 1, Integer::sum);
            }
        }
        for (String id : acknowledged) {
            assertEquals(1, seen.getOrDefault(id, 0), "acknowledged message " + id + " in new/ this many times; " + context);
        }
    }

    private static String body(String id) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < BODY_LINES; i++) {
            b.append("line ").append(i).append(" of message ").append(id).append(" padding padding padding\r\n");
        }
        return b.append("END ").append(id).append("\r\n").toString();
    }

    /** One SMTP transaction; true if the message was answered 250 after DATA. */
    private static boolean send(int port, String id) throws IOException {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.ISO_8859_1));
            OutputStream out = s.getOutputStream();
            reply(in);
            String[] commands = {"HELO crash.test", "MAIL FROM:<load@crash.test>", "RCPT TO:<alice@example.test>", "DATA"};
            for (String c : commands) {
                out.write((c + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
                String r = reply(in);
                if (!r.startsWith(c.equals("DATA") ? "354" : "250")) {
                    throw new ProtocolException("unexpected reply to " + c + ": " + r);
                }
            }
            out.write(("Subject: crash test\r\nX-Crash-Id: " + id + "\r\n\r\n" + body(id) + ".\r\n").getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            return reply(in).startsWith("250");
        }
    }

    private static String reply(BufferedReader in) throws IOException {
        String line;
        do {
            line = in.readLine();
            if (line == null) {
                throw new IOException("connection closed");
            }
        } while (line.length() > 3 && line.charAt(3) == '-');
        return line;
    }
}
