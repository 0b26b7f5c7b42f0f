package dev.twine.samples.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.auth.UsersFile;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ProtocolException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crash consistency of IMAP APPEND and flag changes over Maildir (issue 16): {@code twine mail
 * --imap} as its own process, three clients on one INBOX each appending messages and changing
 * the flags of their own messages ({@code +FLAGS}, {@code -FLAGS}, system flags and keywords),
 * killed with SIGKILL at seeded random moments and started again on the same Maildir. After
 * every restart, read back over IMAP ({@code SELECT INBOX (CONDSTORE)}, {@code UID FETCH 1:*
 * (FLAGS MODSEQ BODY.PEEK[])}):
 * <ul>
 *   <li>every APPEND answered OK is there under the UID its {@code APPENDUID} gave, whole (the
 *       body's SHA-256 is the digest in its header), and every message there is whole;</li>
 *   <li>every STORE answered OK is reflected: a message's flags are those of its last
 *       acknowledged STORE, or of the one in flight when the server was killed;</li>
 *   <li>nothing goes backwards: UIDVALIDITY stays, UIDNEXT and HIGHESTMODSEQ never decrease, a
 *       message's MODSEQ never decreases, and a UID never names another message.</li>
 * </ul>
 * Rounds and seed come from {@code -Dtwine.crash.rounds} (default 2) and
 * {@code -Dtwine.crash.seed}; {@code ci/crash} runs many more.
 */
@Timeout(value = 10, unit = java.util.concurrent.TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ImapCrashTest {
    private static final int CLIENTS = 3;
    private static final List<String> FLAGS = List.of("\\Seen", "\\Flagged", "\\Answered", "$Work", "$Later", "Todo");
    private static final Pattern APPENDUID = Pattern.compile("\\[APPENDUID (\\d+) (\\d+)\\]");

    @TempDir
    Path dir;

    /** What the clients were told, per UID. */
    private final Map<Long, String> digests = new ConcurrentHashMap<>();
    private final Map<Long, Set<String>> acknowledged = new ConcurrentHashMap<>();
    private final Map<Long, Set<String>> inFlight = new ConcurrentHashMap<>();
    private final Set<String> wrong = ConcurrentHashMap.newKeySet();

    @Test
    void acknowledgedAppendsAndStoresSurviveSigkill() throws Exception {
        int rounds = Launched.rounds();
        long seed = Launched.seed();
        Random random = new Random(seed);
        Path users = dir.resolve("users");
        UsersFile.addUser(users, "alice", "secret".toCharArray());
        List<String> args = List.of("mail", "--domain", "example.test", "--users", users.toString(),
                "--maildir", dir.resolve("mail").toString(), "--imap", "tcp:0:interface=127.0.0.1", "--smtp", "tcp:0:interface=127.0.0.1",
                "--allow-plain-auth", "--queue", dir.resolve("queue").toString(), "--dns", "127.0.0.1:9");
        State seen = new State();
        for (int round = 0; round <= rounds; round++) {
            String context = "seed " + seed + ", round " + round;
            try (Launched server = Launched.start(args, "imap")) {
                int port = server.port("imap");
                if (round > 0) {
                    check(port, seen, context);
                }
                if (round == rounds) {
                    break;
                }
                List<Thread> clients = new ArrayList<>();
                int acknowledgedBefore = acknowledged.size();
                for (int c = 0; c < CLIENTS; c++) {
                    long clientSeed = random.nextLong();
                    String prefix = round + "." + c + ".";
                    clients.add(Thread.ofVirtual().start(() -> drive(port, new Random(clientSeed), prefix)));
                }
                for (long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                        acknowledged.size() < acknowledgedBefore + 3 && System.nanoTime() < until; ) {
                    Thread.sleep(10);
                }
                assertTrue(acknowledged.size() >= acknowledgedBefore + 3, "no APPEND acknowledged within 60 s: " + wrong + "; " + context);
                Thread.sleep(random.nextInt(1500)); // the seeded moment of the kill
                server.kill();
                for (Thread t : clients) {
                    t.join(Duration.ofSeconds(30));
                }
                assertEquals(Set.of(), wrong, "replies other than the server's normal ones; " + context);
            }
        }
        assertTrue(acknowledged.size() > 0, "nothing was acknowledged at all; seed " + seed);
    }

    /** One client: APPENDs and STOREs on its own messages until the server is gone. */
    private void drive(int port, Random random, String prefix) {
        List<Long> mine = new ArrayList<>();
        try (Imap imap = Imap.login(port)) {
            imap.command("SELECT INBOX");
            for (int n = 0; ; n++) {
                if (mine.isEmpty() || random.nextInt(3) == 0) {
                    String id = prefix + n;
                    byte[] message = message(id, random);
                    Set<String> flags = random.nextBoolean() ? Set.of("\\Seen") : Set.of();
                    Imap.Response r = imap.command("APPEND INBOX (" + String.join(" ", flags) + ") {" + message.length + "+}", message);
                    Matcher m = APPENDUID.matcher(r.status());
                    if (!m.find()) {
                        throw new ProtocolException("APPEND without APPENDUID: " + r.status());
                    }
                    long uid = Long.parseLong(m.group(2));
                    digests.put(uid, digestOf(message));
                    acknowledged.put(uid, flags);
                    mine.add(uid);
                } else {
                    long uid = mine.get(random.nextInt(mine.size()));
                    String flag = FLAGS.get(random.nextInt(FLAGS.size()));
                    boolean add = random.nextBoolean();
                    Set<String> after = new TreeSet<>(acknowledged.get(uid));
                    if (add) {
                        after.add(flag);
                    } else {
                        after.remove(flag);
                    }
                    inFlight.put(uid, after);
                    imap.command("UID STORE " + uid + (add ? " +FLAGS.SILENT (" : " -FLAGS.SILENT (") + flag + ")");
                    acknowledged.put(uid, after);
                    inFlight.remove(uid);
                }
            }
        } catch (ProtocolException e) {
            wrong.add(e.getMessage());
        } catch (IOException killed) {
            // the server was killed
        }
    }

    /** What a check saw, to tell that nothing went backwards. */
    private static final class State {
        long uidValidity = -1;
        long uidNext;
        long highestModSeq;
        final Map<Long, Long> modSeqs = new HashMap<>();
        final Map<Long, String> digests = new HashMap<>();
    }

    private void check(int port, State seen, String context) throws IOException {
        try (Imap imap = Imap.login(port)) {
            Imap.Response selected = imap.command("SELECT INBOX (CONDSTORE)");
            long validity = selected.code("UIDVALIDITY");
            long uidNext = selected.code("UIDNEXT");
            long highest = selected.code("HIGHESTMODSEQ");
            if (seen.uidValidity >= 0) {
                assertEquals(seen.uidValidity, validity, "UIDVALIDITY changed; " + context);
            }
            assertTrue(uidNext >= seen.uidNext, "UIDNEXT went back from " + seen.uidNext + " to " + uidNext + "; " + context);
            assertTrue(highest >= seen.highestModSeq, "HIGHESTMODSEQ went back from " + seen.highestModSeq + " to " + highest + "; " + context);
            seen.uidValidity = validity;
            seen.uidNext = uidNext;
            seen.highestModSeq = highest;
            Imap.Response fetched = imap.command("UID FETCH 1:* (UID FLAGS MODSEQ BODY.PEEK[])");
            Map<Long, Set<String>> flagsNow = new HashMap<>();
            Pattern item = Pattern.compile("UID (\\d+)|FLAGS \\(([^)]*)\\)|MODSEQ \\((\\d+)\\)");
            for (int i = 0; i < fetched.lines().size(); i++) {
                String line = fetched.lines().get(i);
                if (!line.contains(" FETCH (")) {
                    continue;
                }
                long uid = -1;
                long modSeq = -1;
                Set<String> flags = null;
                for (Matcher m = item.matcher(line); m.find(); ) {
                    if (m.group(1) != null) {
                        uid = Long.parseLong(m.group(1));
                    } else if (m.group(2) != null) {
                        flags = new TreeSet<>(List.of(m.group(2).isBlank() ? new String[0] : m.group(2).split(" ")));
                        flags.remove("\\Recent");
                    } else {
                        modSeq = Long.parseLong(m.group(3));
                    }
                }
                byte[] message = fetched.literals().get(i);
                assertTrue(uid > 0 && flags != null && modSeq > 0 && message != null, "a FETCH without its items: " + line + "; " + context);
                String digest = new String(message, StandardCharsets.ISO_8859_1).replaceAll("(?s).*X-Digest: (\\w+).*", "$1");
                assertEquals(digest, digestOf(message), "UID " + uid + " is not whole; " + context);
                String before = seen.digests.putIfAbsent(uid, digest);
                assertTrue(before == null || before.equals(digest), "UID " + uid + " names another message now; " + context);
                Long modSeqBefore = seen.modSeqs.put(uid, modSeq);
                assertTrue(modSeqBefore == null || modSeq >= modSeqBefore, "UID " + uid + "'s MODSEQ went back; " + context);
                assertTrue(uid < uidNext && modSeq <= highest, "UID " + uid + " beyond UIDNEXT or HIGHESTMODSEQ; " + context);
                flagsNow.put(uid, flags);
            }
            for (Map.Entry<Long, Set<String>> e : acknowledged.entrySet()) {
                long uid = e.getKey();
                Set<String> now = flagsNow.get(uid);
                assertTrue(now != null, "acknowledged APPEND, UID " + uid + ", lost; " + context);
                Set<String> pending = inFlight.remove(uid);
                assertTrue(now.equals(new TreeSet<>(e.getValue())) || now.equals(pending),
                        "UID " + uid + " has flags " + now + ", not the acknowledged " + e.getValue()
                                + (pending == null ? "" : " nor the in-flight " + pending) + "; " + context);
                e.setValue(now);
                assertEquals(digests.get(uid), seen.digests.get(uid), "UID " + uid + " is another message than APPEND stored; " + context);
            }
        }
    }

    /** A message of seeded random lines whose header carries its body's digest. */
    private static byte[] message(String id, Random random) {
        StringBuilder body = new StringBuilder();
        for (int lines = 5 + random.nextInt(300), i = 0; i < lines; i++) {
            body.append(Long.toString(random.nextLong(), 36).repeat(1 + random.nextInt(4))).append("\r\n");
        }
        String text = body.toString();
        return ("Subject: " + id + "\r\nX-Digest: " + Launched.sha256(text) + "\r\n\r\n" + text)
                .getBytes(StandardCharsets.ISO_8859_1);
    }

    /** The digest of a message's body (what follows its header). */
    private static String digestOf(byte[] message) {
        return Launched.bodyDigest(new String(message, StandardCharsets.ISO_8859_1));
    }

    /** A minimal IMAP client: tagged commands, literals in responses kept per line. */
    private static final class Imap implements AutoCloseable {
        record Response(List<String> lines, List<byte[]> literals, String status) {
            long code(String name) throws ProtocolException {
                for (String l : lines) {
                    Matcher m = Pattern.compile("\\[" + name + " (\\d+)\\]").matcher(l);
                    if (m.find()) {
                        return Long.parseLong(m.group(1));
                    }
                }
                throw new ProtocolException("no " + name + " in " + lines);
            }
        }

        private final Socket socket;
        private final InputStream in;
        private final OutputStream out;
        private int tags;

        private Imap(Socket socket) throws IOException {
            this.socket = socket;
            this.in = new BufferedInputStream(socket.getInputStream());
            this.out = socket.getOutputStream();
        }

        static Imap login(int port) throws IOException {
            Imap imap = new Imap(new Socket(InetAddress.getLoopbackAddress(), port));
            if (!imap.line().startsWith("* OK")) {
                throw new ProtocolException("no greeting");
            }
            imap.command("LOGIN alice secret");
            return imap;
        }

        /** Sends one command (and a LITERAL+ literal); an answer other than OK is a ProtocolException. */
        Response command(String command, byte[]... literal) throws IOException {
            String tag = "t" + ++tags;
            out.write((tag + " " + command + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
            for (byte[] l : literal) {
                out.write(l);
                out.write("\r\n".getBytes(StandardCharsets.ISO_8859_1));
            }
            out.flush();
            List<String> lines = new ArrayList<>();
            List<byte[]> literals = new ArrayList<>();
            while (true) {
                StringBuilder text = new StringBuilder();
                byte[] lit = null;
                String part = line();
                text.append(part);
                for (Matcher m; (m = Pattern.compile("\\{(\\d+)\\}$").matcher(part)).find(); ) {
                    lit = in.readNBytes(Integer.parseInt(m.group(1)));
                    part = line();
                    text.append(part);
                }
                String l = text.toString();
                if (l.startsWith(tag + " ")) {
                    if (!l.startsWith(tag + " OK")) {
                        throw new ProtocolException(command.split(" ")[0] + ": " + l);
                    }
                    return new Response(lines, literals, l);
                }
                lines.add(l);
                literals.add(lit);
            }
        }

        private String line() throws IOException {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            for (int c; (c = in.read()) != '\n'; ) {
                if (c < 0) {
                    throw new IOException("connection closed");
                }
                b.write(c);
            }
            String s = b.toString(StandardCharsets.ISO_8859_1);
            return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
