package dev.twine.samples.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.auth.UsersFile;
import dev.twine.mail.smtp.MailDelivery;
import dev.twine.mail.smtp.SmtpServer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ProtocolException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crash consistency of the relay queue (issue 16): {@code twine mail --submission} as its own
 * process takes mail for a remote domain from three authenticated clients and relays it through
 * {@code --smarthost} to a next hop in this test (an SMTP sink recording each Message-ID it
 * accepts, and in which server incarnation). The server is killed with SIGKILL at seeded moments:
 * either at a random moment, or while the sink holds a message after its end of data and before
 * its 250 (mid-send to the next hop). After the last restart the queue is left to drain.
 * <ul>
 *   <li>No loss: every submission answered 250 reaches the sink, whole (the body's SHA-256 is
 *       the digest its header carries), and the queue directory ends empty: retries resume
 *       after a restart.</li>
 *   <li>What duplicates the design allows, exactly: a message whose next hop had taken it
 *       (its 250 sent or on its way) when the server was killed, before the queue recorded that,
 *       is sent again after the restart (RFC 5321 §6.1 accepts duplicates, never loss). So a
 *       message may reach the sink more than once only from different incarnations, every copy
 *       but the last from an incarnation that was killed, and a kill duplicates at most as many
 *       messages as the queue sends at once (8). A message is never sent twice by one running
 *       server.</li>
 * </ul>
 * Rounds and seed come from {@code -Dtwine.crash.rounds} (default 2) and
 * {@code -Dtwine.crash.seed}; {@code ci/crash} runs many more.
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class RelayCrashTest {
    private static final int CLIENTS = 3;
    /** RelayQueue's default concurrency: the most messages one kill can catch at the next hop. */
    private static final int QUEUE_CONCURRENCY = 8;

    @TempDir
    Path dir;

    /** Message-ID to the incarnations that delivered a copy to the sink, in order. */
    private final Map<String, List<Integer>> copies = new ConcurrentHashMap<>();
    private final AtomicInteger incarnation = new AtomicInteger();
    private final AtomicReference<CountDownLatch> hold = new AtomicReference<>();
    /** Counted down when the sink holds a message. */
    private final AtomicReference<CountDownLatch> holdingNow = new AtomicReference<>();
    private final Set<String> wrong = ConcurrentHashMap.newKeySet();

    @Test
    void noAcknowledgedMessageLostNoneSentTwiceByOneServer() throws Exception {
        int rounds = Launched.rounds();
        long seed = Launched.seed();
        Random random = new Random(seed);
        Path users = dir.resolve("users");
        UsersFile.addUser(users, "alice", "secret".toCharArray());
        Path queue = dir.resolve("queue");
        Set<String> acknowledged = ConcurrentHashMap.newKeySet();
        Set<Integer> killed = ConcurrentHashMap.newKeySet();
        try (SmtpServer sink = sink()) {
            List<String> args = List.of("mail", "--domain", "example.test", "--users", users.toString(),
                    "--maildir", dir.resolve("mail").toString(), "--submission", "tcp:0:interface=127.0.0.1", "--smtp", "tcp:0:interface=127.0.0.1",
                    "--allow-plain-auth", "--queue", queue.toString(), "--smarthost", "127.0.0.1:" + sink.port(),
                    "--dns", "127.0.0.1:9");
            for (int round = 0; round <= rounds; round++) {
                String context = "seed " + seed + ", round " + round;
                boolean last = round == rounds;
                boolean midSend = !last && random.nextBoolean();
                CountDownLatch gate = new CountDownLatch(1);
                CountDownLatch held = new CountDownLatch(1);
                hold.set(midSend ? gate : null);
                holdingNow.set(held);
                incarnation.set(round);
                try (Launched server = Launched.start(args, "submission")) {
                    int port = server.port("submission");
                    List<Thread> clients = new ArrayList<>();
                    for (int c = 0; c < CLIENTS && !last; c++) {
                        String prefix = "r" + round + "c" + c + "-";
                        long clientSeed = random.nextLong();
                        clients.add(Thread.ofVirtual().start(() -> submit(port, prefix, new Random(clientSeed), acknowledged)));
                    }
                    if (last) {
                        // the queue drains: every acknowledged message reaches the sink
                        for (long until = System.nanoTime() + Duration.ofSeconds(120).toNanos();
                                !copies.keySet().containsAll(acknowledged) && System.nanoTime() < until; ) {
                            Thread.sleep(20);
                        }
                        for (long until = System.nanoTime() + Duration.ofSeconds(30).toNanos(); queued(queue) > 0 && System.nanoTime() < until; ) {
                            Thread.sleep(20);
                        }
                    } else if (midSend) {
                        assertTrue(held.await(60, TimeUnit.SECONDS), "the next hop got nothing within 60 s: " + wrong + "; " + context);
                    } else {
                        String mine = "r" + round + "c";
                        for (long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                                acknowledged.stream().noneMatch(id -> id.startsWith(mine)) && System.nanoTime() < until; ) {
                            Thread.sleep(10);
                        }
                        Thread.sleep(random.nextInt(1500)); // the seeded moment of the kill
                    }
                    server.kill();
                    if (!last) {
                        killed.add(round);
                    }
                    gate.countDown(); // the held copy is now the next hop's, its 250 lost with the server
                    for (Thread t : clients) {
                        t.join(Duration.ofSeconds(30));
                    }
                }
                assertEquals(Set.of(), wrong, "replies other than the server's normal ones; " + context);
            }
            String context = "seed " + seed;
            for (String id : acknowledged) {
                assertTrue(copies.containsKey(id), "acknowledged message " + id + " never reached the next hop; " + context);
            }
            assertEquals(0, queued(queue), "the queue did not drain; " + context);
            Map<Integer, Integer> duplicatedBy = new ConcurrentHashMap<>();
            copies.forEach((id, by) -> {
                assertEquals(by.size(), Set.copyOf(by).size(), id + " sent twice by one server: incarnations " + by + "; " + context);
                for (int i = 0; i < by.size() - 1; i++) {
                    assertTrue(killed.contains(by.get(i)), id + " sent again although incarnation " + by.get(i) + " was not killed; " + context);
                    duplicatedBy.merge(by.get(i), 1, Integer::sum);
                }
            });
            duplicatedBy.forEach((round, n) -> assertTrue(n <= QUEUE_CONCURRENCY,
                    "the kill of incarnation " + round + " duplicated " + n + " messages; " + context));
            assertTrue(acknowledged.size() > 0, "nothing was acknowledged at all; " + context);
        }
    }

    /** The next hop: records each message it takes (after its end of data, before its 250). */
    private SmtpServer sink() throws IOException {
        MailDelivery<String> recorder = new MailDelivery<>() {
            @Override
            public String recipient(MailDelivery.Session s, String from, String to) {
                return to;
            }

            @Override
            public void deliver(MailDelivery.Envelope<String> e, InputStream message) throws IOException, InterruptedException {
                int from = incarnation.get();
                String text = new String(message.readAllBytes(), StandardCharsets.ISO_8859_1);
                String id = header(text, "Message-ID").replaceAll("[<>]", "").replace("@crash.test", "");
                if (!header(text, "X-Digest").equals(Launched.bodyDigest(text))) {
                    wrong.add("the next hop got " + id + " damaged");
                }
                CountDownLatch gate = hold.getAndSet(null);
                if (gate != null) {
                    holdingNow.get().countDown();
                    gate.await(); // mid-send: the test kills the server now
                }
                copies.computeIfAbsent(id, k -> new CopyOnWriteArrayList<>()).add(from);
            }
        };
        SmtpServer sink = SmtpServer.builder().domain("remote.test").delivery(recorder).listen("tcp:0:interface=127.0.0.1").build();
        sink.start();
        return sink;
    }

    /** One client: authenticated submissions until the server is gone. */
    private void submit(int port, String prefix, Random random, Set<String> acknowledged) {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.ISO_8859_1));
            OutputStream out = s.getOutputStream();
            expect(in, "220");
            String auth = Base64.getEncoder().encodeToString("\0alice\0secret".getBytes(StandardCharsets.UTF_8));
            for (String c : List.of("EHLO crash.test", "AUTH PLAIN " + auth)) {
                out.write((c + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
                expect(in, c.startsWith("AUTH") ? "235" : "250");
            }
            for (int n = 0; ; n++) {
                String id = prefix + n;
                out.write(("MAIL FROM:<alice@example.test>\r\nRCPT TO:<dest@remote.test>\r\nDATA\r\n").getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
                expect(in, "250");
                expect(in, "250");
                expect(in, "354");
                out.write(message(id, random));
                out.flush();
                expect(in, "250");
                acknowledged.add(id);
            }
        } catch (ProtocolException e) {
            wrong.add(e.getMessage());
        } catch (IOException killed) {
            // the server was killed
        }
    }

    private static byte[] message(String id, Random random) {
        StringBuilder body = new StringBuilder();
        for (int lines = 5 + random.nextInt(200), i = 0; i < lines; i++) {
            body.append(Long.toString(random.nextLong(), 36).repeat(1 + random.nextInt(4))).append("\r\n");
        }
        String text = body.toString();
        String header = "From: <alice@example.test>\r\nTo: <dest@remote.test>\r\nSubject: relay\r\nDate: Wed, 2 Dec 2026 07:00:00 +0000\r\n"
                + "Message-ID: <" + id + "@crash.test>\r\nX-Digest: " + Launched.sha256(text) + "\r\n\r\n";
        return (header + text + ".\r\n").getBytes(StandardCharsets.ISO_8859_1);
    }

    private static String header(String message, String name) {
        for (String line : message.substring(0, Math.max(0, message.indexOf("\r\n\r\n"))).split("\r\n")) {
            if (line.regionMatches(true, 0, name + ":", 0, name.length() + 1)) {
                return line.substring(name.length() + 1).strip();
            }
        }
        return "";
    }

    /** Envelopes still in the queue directory. */
    private static long queued(Path queue) throws IOException {
        try (Stream<Path> files = Files.list(queue)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".env")).count();
        }
    }

    private static void expect(BufferedReader in, String code) throws IOException {
        String line;
        do {
            line = in.readLine();
            if (line == null) {
                throw new IOException("connection closed");
            }
        } while (line.length() > 3 && line.charAt(3) == '-');
        if (!line.startsWith(code)) {
            throw new ProtocolException("expected " + code + ": " + line);
        }
    }
}
