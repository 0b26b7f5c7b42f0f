package dev.twine.mail.imap;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.ConnectionLimits;
import dev.twine.core.Server;
import dev.twine.core.auth.AuthPolicy;
import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.ManualClock;
import dev.twine.core.testing.MemoryConnections;
import dev.twine.core.testing.Transcript;
import dev.twine.mail.maildir.MailFixture;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Password guessing and connection hogging against IMAP (issue 10, findings 1 and 5): logins
 * go through the portal's {@link AuthPolicy}, connections through the server's
 * {@link ConnectionLimits}.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ImapLoginPolicyTest {
    static final String GREETING = ImapTranscriptTest.GREETING;
    static final String FAILED = "[AUTHENTICATIONFAILED] authentication failed";

    @TempDir
    Path tmp;

    private final List<AutoCloseable> open = new ArrayList<>();
    private int runs;

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : open.reversed()) {
            c.close();
        }
    }

    private MailFixture fixture() throws IOException {
        MailFixture f = MailFixture.create(tmp.resolve("run" + runs++));
        f.inbox("alice", 1000, MailFixture.HELLO);
        return f;
    }

    @Test
    void pipelinedWrongLoginsAreCutOffAfterThePolicysMaximumAndTheRightOneIsNeverRead() throws Exception {
        // the attack of finding 1: thousands of pipelined guesses, then the right password
        StringBuilder script = new StringBuilder(GREETING);
        for (int i = 1; i <= 6; i++) {
            script.append("C: g").append(i).append(" LOGIN alice guess").append(i).append('\n');
        }
        script.append("C: ok LOGIN alice secret\n");
        script.append("""
                S: g1 NO %1$s
                S: g2 NO %1$s
                S: g3 NO %1$s
                S: * BYE too many failed logins
                S: <closed>
                """.formatted(FAILED));
        for (Chunking c : Chunking.standard()) {
            MailFixture f = fixture();
            AuthPolicy policy = MailFixture.noDelay().maxFailuresPerConnection(3).build();
            Transcript.parse(script.toString()).run(ImapServer.builder().store(f.maildir).portal(f.portal(policy)).build().handler(), c);
        }
    }

    @Test
    void failedAuthenticateExchangesCountTheSame() throws Exception {
        String wrong = Base64.getEncoder().encodeToString("\0alice\0guess".getBytes(US_ASCII));
        for (Chunking c : Chunking.standard()) {
            MailFixture f = fixture();
            AuthPolicy policy = MailFixture.noDelay().maxFailuresPerConnection(2).build();
            Transcript.parse(GREETING + """
                    C: a1 AUTHENTICATE PLAIN %1$s
                    S: a1 NO %2$s
                    C: a2 AUTHENTICATE PLAIN
                    S: +\s
                    C: %1$s
                    S: a2 NO %2$s
                    S: * BYE too many failed logins
                    S: <closed>
                    """.formatted(wrong, FAILED)).run(ImapServer.builder().store(f.maildir).portal(f.portal(policy)).build().handler(), c);
        }
    }

    @Test
    void aWrongPasswordIsAnsweredOnlyAfterThePolicysDelay() throws Exception {
        MailFixture f = fixture();
        ManualClock clock = ManualClock.create();
        AuthPolicy policy = AuthPolicy.builder().failureDelay(Duration.ofSeconds(1)).clock(clock).build();
        try (MemoryConnections.Served s = MemoryConnections.serve(
                ImapServer.builder().store(f.maildir).portal(f.portal(policy)).build().handler(), Chunking.whole())) {
            ImapTestClient c = new ImapTestClient(s.client());
            c.readResponse();
            c.send("a LOGIN alice wrong\r\n");
            CompletableFuture<String> reply = CompletableFuture.supplyAsync(() -> {
                try {
                    return c.readResponse();
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            assertFalse(awaitDone(reply, 300), "the NO came before the delay");
            clock.advance(Duration.ofMillis(999));
            assertFalse(awaitDone(reply, 100), "the NO came before the delay");
            clock.advance(Duration.ofMillis(1));
            assertEquals("a NO " + FAILED, reply.get(10, TimeUnit.SECONDS));
        }
    }

    private static boolean awaitDone(CompletableFuture<?> f, long millis) {
        try {
            f.get(millis, TimeUnit.MILLISECONDS);
            return true;
        } catch (java.util.concurrent.TimeoutException e) {
            return false;
        } catch (Exception e) {
            return true;
        }
    }

    // ---- over sockets: penalties need an IP address, limits need a Server ----

    private ImapServer start(ImapServer.Builder b) throws IOException {
        ImapServer s = b.listen("tcp:0:interface=127.0.0.1").build();
        s.start();
        open.add(s);
        return s;
    }

    private Client connect(String from, ImapServer s) throws IOException {
        Socket sock = new Socket();
        open.add(sock);
        sock.bind(new InetSocketAddress(InetAddress.getByName(from), 0));
        sock.connect(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), s.bindings().get(0).port()), 5_000);
        sock.setSoTimeout(20_000);
        return new Client(sock);
    }

    private record Client(Socket socket, BufferedReader in, OutputStream out) {
        Client(Socket socket) throws IOException {
            this(socket, new BufferedReader(new InputStreamReader(socket.getInputStream(), US_ASCII)),
                    socket.getOutputStream());
        }

        String line() throws IOException {
            return in.readLine();
        }

        void send(String s) throws IOException {
            out.write((s + "\r\n").getBytes(US_ASCII));
            out.flush();
        }

        /** Sends a command and returns its tagged reply, skipping untagged ones. */
        String command(String tag, String command) throws IOException {
            send(tag + " " + command);
            for (String l; (l = line()) != null; ) {
                if (l.startsWith(tag + " ")) {
                    return l;
                }
            }
            return null;
        }
    }

    @Test
    void aPenalisedAddressIsRefusedEvenWithTheRightPasswordWhileAnotherAddressLogsIn() throws Exception {
        MailFixture f = fixture();
        ManualClock clock = ManualClock.create();
        AuthPolicy policy = MailFixture.noDelay().clock(clock).maxFailuresPerConnection(3)
                .addressPenalty(6, Duration.ofMinutes(10), Duration.ofMinutes(5)).build();
        ImapServer s = start(ImapServer.builder().store(f.maildir).portal(f.portal(policy)));
        for (int conn = 0; conn < 2; conn++) {
            Client guesser = connect("127.0.0.1", s);
            guesser.line();
            for (int i = 0; i < 3; i++) {
                assertEquals("g" + i + " NO " + FAILED, guesser.command("g" + i, "LOGIN alice guess" + i));
            }
            assertEquals("* BYE too many failed logins", guesser.line());
            assertNull(guesser.line(), "closed after the last allowed failure");
        }
        Client again = connect("127.0.0.1", s);
        again.line();
        assertEquals("r NO [UNAVAILABLE] login temporarily refused, try again later",
                again.command("r", "LOGIN alice secret"), "the right password while penalised");
        Client other = connect("127.0.0.2", s);
        other.line();
        assertTrue(other.command("o", "LOGIN alice secret").startsWith("o OK "), "another address is not penalised");
        clock.advance(Duration.ofMinutes(5));
        Client later = connect("127.0.0.1", s);
        later.line();
        assertTrue(later.command("l", "LOGIN alice secret").startsWith("l OK "), "the penalty is over");
    }

    @Test
    void aBuiltServerHasDefaultLimitsWithAMinuteToLogIn() throws Exception {
        MailFixture f = fixture();
        ImapServer s = ImapServer.builder().store(f.maildir).portal(f.portal).listen("tcp:0:interface=127.0.0.1").build();
        assertEquals(Duration.ofSeconds(60), s.limits().preauthTimeout());
        assertEquals(10, s.limits().preauthPerAddress());
        assertEquals(50, s.limits().perAddress());
        assertTrue(s.limits().preauth() > 0);
    }

    @Test
    void aConnectionThatKeepsSendingButNeverLogsInIsClosedAtThePreauthTimeout() throws Exception {
        MailFixture f = fixture();
        ImapServer s = start(ImapServer.builder().store(f.maildir).portal(f.portal).autologout(Duration.ofSeconds(30))
                .limits(ConnectionLimits.builder().preauthTimeout(Duration.ofMillis(700)).build()));
        Client c = connect("127.0.0.1", s);
        c.line();
        long start = System.nanoTime();
        String last = null;
        // a command every 50 ms: the 30 s autologout alone would never end this
        for (int i = 0; i < 400; i++) {
            c.send("n" + i + " NOOP");
            String l = c.line();
            if (l == null || l.startsWith("* BYE")) {
                last = l;
                break;
            }
            Thread.sleep(50);
        }
        assertEquals("* BYE timed out waiting for login", last);
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(15), "cut off by the pre-auth time");
    }

    @Test
    void afterLoginThePreauthTimeoutNoLongerAppliesButTheAutologoutDoes() throws Exception {
        MailFixture f = fixture();
        ImapServer s = start(ImapServer.builder().store(f.maildir).portal(f.portal).autologout(Duration.ofMillis(1500))
                .limits(ConnectionLimits.builder().preauthTimeout(Duration.ofMillis(500)).build()));
        Client c = connect("127.0.0.1", s);
        c.line();
        assertTrue(c.command("l", "LOGIN alice secret").startsWith("l OK "));
        Thread.sleep(800); // past the pre-auth time on purpose, within the autologout
        assertEquals("n OK NOOP completed", c.command("n", "NOOP"));
        // then quiet for longer than the autologout
        assertEquals("* BYE autologout; idle for too long", c.line());
    }

    @Test
    void aConnectionOverThePreauthCapIsToldWhyAndAnotherAddressIsServed() throws Exception {
        MailFixture f = fixture();
        ImapServer s = start(ImapServer.builder().store(f.maildir).portal(f.portal)
                .limits(ConnectionLimits.builder().preauthPerAddress(2).perAddress(10).build()));
        for (int i = 0; i < 2; i++) {
            assertTrue(connect("127.0.0.1", s).line().startsWith("* OK "));
        }
        Client third = connect("127.0.0.1", s);
        assertEquals("* BYE [UNAVAILABLE] too many connections from your address", third.line());
        assertNull(third.line());
        Client other = connect("127.0.0.2", s);
        assertTrue(other.line().startsWith("* OK "));
        assertTrue(other.command("l", "LOGIN alice secret").startsWith("l OK "));
    }
}
