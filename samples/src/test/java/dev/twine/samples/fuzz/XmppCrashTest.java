package dev.twine.samples.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.auth.UsersFile;
import dev.twine.xmpp.Element;
import dev.twine.xmpp.Jid;
import dev.twine.xmpp.RosterEntry;
import dev.twine.xmpp.XmppClient;
import dev.twine.xmpp.XmppException;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crash consistency of XMPP rosters and offline messages (issue 16): {@code twine xmpp} as its own
 * process; alice changes her roster (adds, renames, removes items, each answered by the server's
 * IQ result) and sends messages to bob, who is offline, each batch followed by a ping whose
 * result tells that the server has routed, and so stored, every message before it (one stream's
 * stanzas are handled in order). The server is killed with SIGKILL at a seeded random moment and
 * started again on the same data directory. After every restart:
 * <ul>
 *   <li>alice's roster holds exactly the items acknowledged, each with its acknowledged name,
 *       or with the one of the change in flight when the server was killed;</li>
 *   <li>bob, logging in, gets every message acknowledged to alice since he last did.</li>
 * </ul>
 * Rounds and seed come from {@code -Dtwine.crash.rounds} (default 2) and
 * {@code -Dtwine.crash.seed}; {@code ci/crash} runs many more.
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class XmppCrashTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final Element PING = Element.of("iq", "jabber:client").withAttribute("type", "get")
            .withAttribute("to", "example.test").withChild(Element.of("ping", "urn:xmpp:ping"));

    @TempDir
    Path dir;

    /** Contact to its acknowledged name ("" for none); a removed contact is absent. */
    private final Map<String, String> roster = new ConcurrentHashMap<>();
    /** The change in flight: contact to the name it sets, or null for a removal. */
    private final Map<String, Optional<String>> inFlight = new ConcurrentHashMap<>();
    private final Set<String> acknowledgedMessages = ConcurrentHashMap.newKeySet();
    private final Set<String> wrong = ConcurrentHashMap.newKeySet();
    /** Offline messages bob got that had been acknowledged to alice, in all rounds. */
    private final java.util.concurrent.atomic.AtomicInteger checked = new java.util.concurrent.atomic.AtomicInteger();

    @Test
    void acknowledgedRosterChangesAndOfflineMessagesSurviveSigkill() throws Exception {
        int rounds = Launched.rounds();
        long seed = Launched.seed();
        Random random = new Random(seed);
        Path users = dir.resolve("users");
        UsersFile.addUser(users, "alice", "secret-alice".toCharArray());
        UsersFile.addUser(users, "bob", "secret-bob".toCharArray());
        List<String> args = List.of("xmpp", "--domain", "example.test", "--users", users.toString(),
                "--data", dir.resolve("data").toString(), "--listen", "tcp:0:interface=127.0.0.1", "--allow-plaintext");
        for (int round = 0; round <= rounds; round++) {
            String context = "seed " + seed + ", round " + round;
            try (Launched server = Launched.start(args, "xmpp")) {
                int port = server.port("xmpp");
                if (round > 0) {
                    check(port, context);
                }
                if (round == rounds) {
                    break;
                }
                int before = acknowledgedMessages.size() + roster.size();
                long aliceSeed = random.nextLong();
                String prefix = "r" + round + "-";
                Thread alice = Thread.ofVirtual().start(() -> drive(port, new Random(aliceSeed), prefix));
                for (long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                        acknowledgedMessages.size() + roster.size() <= before && System.nanoTime() < until; ) {
                    Thread.sleep(10);
                }
                Thread.sleep(random.nextInt(1500)); // the seeded moment of the kill
                server.kill();
                alice.join(Duration.ofSeconds(30));
                assertEquals(Set.of(), wrong, "replies other than the server's normal ones; " + context);
            }
        }
        assertTrue(checked.get() > 0, "no acknowledged offline message was checked; seed " + seed);
    }

    private static XmppClient login(int port, String user) throws IOException {
        return XmppClient.builder(user + "@example.test/crash", ("secret-" + user).toCharArray())
                .endpoint("tcp:127.0.0.1:" + port).requireTls(false).allowPlainWithoutTls(true).timeout(WAIT).connect();
    }

    /** Alice: roster changes and batches of messages to bob until the server is gone. */
    private void drive(int port, Random random, String prefix) {
        try (XmppClient alice = login(port, "alice")) {
            for (int n = 0; ; n++) {
                if (random.nextBoolean()) {
                    String contact = "contact" + random.nextInt(30) + "@example.test";
                    Optional<String> name = roster.containsKey(contact) && random.nextInt(3) == 0
                            ? Optional.empty() : Optional.of("name-" + prefix + n);
                    inFlight.put(contact, name);
                    if (name.isPresent()) {
                        alice.rosterSet(Jid.parse(contact), name.get(), List.of("crash"), WAIT);
                        roster.put(contact, name.get());
                    } else {
                        alice.rosterRemove(Jid.parse(contact), WAIT);
                        roster.remove(contact);
                    }
                    inFlight.remove(contact);
                } else {
                    // offline storage has a limit of 1000 a user: a round sends far fewer
                    List<String> batch = List.of(prefix + n + "a", prefix + n + "b", prefix + n + "c");
                    for (String body : batch) {
                        alice.sendMessage(Jid.parse("bob@example.test"), body);
                    }
                    alice.request(PING, WAIT);
                    acknowledgedMessages.addAll(batch);
                }
            }
        } catch (XmppException e) {
            wrong.add(e.toString());
        } catch (IOException | InterruptedException killed) {
            // the server was killed
        }
    }

    private void check(int port, String context) throws IOException, InterruptedException {
        try (XmppClient alice = login(port, "alice")) {
            Map<String, String> now = new HashMap<>();
            for (RosterEntry e : alice.roster(WAIT)) {
                now.put(e.jid().toString(), e.name() == null ? "" : e.name());
            }
            Set<String> contacts = new HashSet<>(now.keySet());
            contacts.addAll(roster.keySet());
            for (String contact : contacts) {
                String acked = roster.get(contact);
                String seen = now.get(contact);
                Optional<String> pending = inFlight.remove(contact);
                boolean asInFlight = pending != null && (pending.isEmpty() ? seen == null : pending.get().equals(seen));
                assertTrue(java.util.Objects.equals(acked, seen) || asInFlight, "roster item " + contact + " is " + seen
                        + ", not the acknowledged " + acked + (pending == null ? "" : " nor the in-flight " + pending) + "; " + context);
                if (seen == null) {
                    roster.remove(contact);
                } else {
                    roster.put(contact, seen);
                }
            }
        }
        try (XmppClient bob = login(port, "bob")) {
            bob.sendPresence(0);
            bob.request(PING, WAIT); // offline messages go out at the available presence, before this result
            Set<String> got = new HashSet<>();
            for (Optional<Element> e; (e = bob.receive(Duration.ofMillis(200))).isPresent(); ) {
                e.get().childText("body").ifPresent(got::add);
            }
            for (String body : acknowledgedMessages) {
                assertTrue(got.contains(body), "acknowledged offline message " + body + " lost; " + context);
            }
            checked.addAndGet(acknowledgedMessages.size());
            acknowledgedMessages.clear();
        }
    }
}
