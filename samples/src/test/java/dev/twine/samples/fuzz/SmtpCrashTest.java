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
        int rounds = Integer.getInteger("twine.crash.rounds", 2);
        long seed = Long.getLong("twine.crash.seed", System.nanoTime());
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
