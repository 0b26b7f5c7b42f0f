package dev.twine.mail.pop3;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.ConnectionLimits;
import dev.twine.core.Server;
import dev.twine.core.auth.AuthPolicy;
import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.ManualClock;
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
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Password guessing and connection hogging against POP3 (issue 10, findings 1 and 5): logins
 * go through the portal's {@link AuthPolicy}, connections through the server's
 * {@link ConnectionLimits}.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class Pop3LoginPolicyTest {
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
    void pipelinedWrongPasswordsAreCutOffAfterThePolicysMaximumAndTheRightOneIsNeverRead() throws Exception {
        StringBuilder script = new StringBuilder("S: +OK Twine POP3 server ready\n");
        for (int i = 1; i <= 5; i++) {
            script.append("C: USER alice\nC: PASS guess").append(i).append('\n');
        }
        script.append("C: USER alice\nC: PASS secret\n");
        script.append("""
                S: +OK send PASS
                S: -ERR [AUTH] authentication failed
                S: +OK send PASS
                S: -ERR [AUTH] authentication failed
                S: +OK send PASS
                S: -ERR [AUTH] authentication failed, closing connection
                S: <closed>
                """);
        for (Chunking c : Chunking.standard()) {
            MailFixture f = fixture();
            AuthPolicy policy = MailFixture.noDelay().maxFailuresPerConnection(3).build();
            Transcript.parse(script.toString()).run(Pop3Server.builder().store(f.maildir).portal(f.portal(policy)).build().handler(), c);
        }
    }

    @Test
    void failedAuthExchangesCountTheSame() throws Exception {
        String wrong = Base64.getEncoder().encodeToString("\0alice\0guess".getBytes(US_ASCII));
        for (Chunking c : Chunking.standard()) {
            MailFixture f = fixture();
            AuthPolicy policy = MailFixture.noDelay().maxFailuresPerConnection(2).build();
            Transcript.parse("""
                    S: +OK Twine POP3 server ready
                    C: AUTH PLAIN %1$s
                    S: -ERR [AUTH] authentication failed
                    C: AUTH PLAIN
                    S: +\s
                    C: %1$s
                    S: -ERR [AUTH] authentication failed, closing connection
                    S: <closed>
                    """.formatted(wrong)).run(Pop3Server.builder().store(f.maildir).portal(f.portal(policy)).build().handler(), c);
        }
    }

    // ---- over sockets: penalties need an IP address, limits need a Server ----

    private Pop3Server start(Pop3Server.Builder b) throws IOException {
        Pop3Server s = b.listen("tcp:0:interface=127.0.0.1").build();
        s.start();
        open.add(s);
        return s;
    }

    private Client connect(String from, Pop3Server s) throws IOException {
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

        String command(String command) throws IOException {
            out.write((command + "\r\n").getBytes(US_ASCII));
            out.flush();
            return line();
        }

        String login(String user, String password) throws IOException {
            assertEquals("+OK send PASS", command("USER " + user));
            return command("PASS " + password);
        }
    }

    @Test
    void aPenalisedAddressIsRefusedEvenWithTheRightPasswordWhileAnotherAddressLogsIn() throws Exception {
        MailFixture f = fixture();
        ManualClock clock = ManualClock.create();
        AuthPolicy policy = MailFixture.noDelay().clock(clock).maxFailuresPerConnection(3)
                .addressPenalty(6, Duration.ofMinutes(10), Duration.ofMinutes(5)).build();
        Pop3Server s = start(Pop3Server.builder().store(f.maildir).portal(f.portal(policy)));
        for (int conn = 0; conn < 2; conn++) {
            Client guesser = connect("127.0.0.1", s);
            guesser.line();
            assertEquals("-ERR [AUTH] authentication failed", guesser.login("alice", "guess1"));
            assertEquals("-ERR [AUTH] authentication failed", guesser.login("alice", "guess2"));
            assertEquals("-ERR [AUTH] authentication failed, closing connection", guesser.login("alice", "guess3"));
            assertNull(guesser.line(), "closed after the last allowed failure");
        }
        Client again = connect("127.0.0.1", s);
        again.line();
        assertEquals("-ERR [SYS/TEMP] login temporarily refused, try again later", again.login("alice", "secret"),
                "the right password while penalised");
        Client other = connect("127.0.0.2", s);
        other.line();
        assertEquals("+OK 1 messages", other.login("alice", "secret"), "another address is not penalised");
        other.command("QUIT");
        assertNull(other.line(), "the session ended, and its mailbox lock with it");
        clock.advance(Duration.ofMinutes(5));
        Client later = connect("127.0.0.1", s);
        later.line();
        assertEquals("+OK 1 messages", later.login("alice", "secret"), "the penalty is over");
    }

    @Test
    void aBuiltServerHasDefaultLimitsWithAMinuteToLogIn() throws Exception {
        MailFixture f = fixture();
        Pop3Server s = Pop3Server.builder().store(f.maildir).portal(f.portal).listen("tcp:0:interface=127.0.0.1").build();
        assertEquals(Duration.ofSeconds(60), s.limits().preauthTimeout());
        assertEquals(10, s.limits().preauthPerAddress());
        assertEquals(50, s.limits().perAddress());
    }

    @Test
    void aConnectionThatKeepsSendingButNeverLogsInIsClosedAtThePreauthTimeout() throws Exception {
        MailFixture f = fixture();
        Pop3Server s = start(Pop3Server.builder().store(f.maildir).portal(f.portal).autologout(Duration.ofSeconds(30))
                .limits(ConnectionLimits.builder().preauthTimeout(Duration.ofMillis(700)).build()));
        Client c = connect("127.0.0.1", s);
        c.line();
        long start = System.nanoTime();
        String last = "";
        // a command every 50 ms: the 30 s autologout alone would never end this
        for (int i = 0; i < 400 && last != null; i++) {
            last = c.command("CAPA");
            while (last != null && !last.equals(".")) {
                last = c.line();
            }
            Thread.sleep(50);
        }
        assertNull(last, "closed (RFC 1939 §3: an autologout says nothing)");
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(15), "cut off by the pre-auth time");
    }

    @Test
    void afterLoginThePreauthTimeoutNoLongerAppliesButTheAutologoutDoes() throws Exception {
        MailFixture f = fixture();
        Pop3Server s = start(Pop3Server.builder().store(f.maildir).portal(f.portal).autologout(Duration.ofMillis(1500))
                .limits(ConnectionLimits.builder().preauthTimeout(Duration.ofMillis(500)).build()));
        Client c = connect("127.0.0.1", s);
        c.line();
        assertEquals("+OK 1 messages", c.login("alice", "secret"));
        Thread.sleep(800); // past the pre-auth time on purpose, within the autologout
        assertEquals("+OK", c.command("NOOP"));
        long start = System.nanoTime();
        assertNull(c.line(), "the autologout closes a quiet session");
        assertTrue(System.nanoTime() - start > TimeUnit.MILLISECONDS.toNanos(500));
    }

    @Test
    void aConnectionOverThePreauthCapIsToldWhyAndAnotherAddressIsServed() throws Exception {
        MailFixture f = fixture();
        Pop3Server s = start(Pop3Server.builder().store(f.maildir).portal(f.portal)
                .limits(ConnectionLimits.builder().preauthPerAddress(2).perAddress(10).build()));
        for (int i = 0; i < 2; i++) {
            assertEquals("+OK Twine POP3 server ready", connect("127.0.0.1", s).line());
        }
        Client third = connect("127.0.0.1", s);
        assertEquals("-ERR [SYS/TEMP] too many connections from your address", third.line());
        assertNull(third.line());
        Client other = connect("127.0.0.2", s);
        assertEquals("+OK Twine POP3 server ready", other.line());
        assertEquals("+OK 1 messages", other.login("alice", "secret"));
    }
}
