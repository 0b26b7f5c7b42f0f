package dev.twine.dns.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Datagram;
import dev.twine.core.testing.ManualClock;
import dev.twine.dns.DnsServer;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.CookieOption;
import org.xbill.DNS.EDNSOption;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * Response rate limiting over in-memory datagrams, on a manual clock: a flood from one address is
 * held to the rate (one in {@code slip} truncated, the rest dropped) while other clients, other
 * answers, TCP and clients with a valid cookie are still answered.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class RateLimitTest {
    @TempDir
    Path dir;

    ManualClock clock = ManualClock.at(Instant.parse("2026-12-02T04:00:00Z"));

    @BeforeEach
    void zones() throws Exception {
        TestZones.copyTo(dir);
    }

    private DnsServer.Builder server() {
        return DnsServer.builder().zone(dir.resolve("example.test.zone")).listen("udp:0:interface=127.0.0.1").clock(clock);
    }

    /**
     * Whether {@link #ask} goes the way the core server does (the handler's tryHandle first, then
     * handle when that gives nothing) rather than straight to handle; and how many it answered at once.
     */
    private boolean atOnceFirst;
    private int answeredAtOnce;

    private Optional<Message> ask(DnsServer s, String from, String name, int type, EDNSOption... options)
            throws Exception {
        Message q = new Message(TestZones.query(name, type, 0));
        q.addRecord(new OPTRecord(1232, 0, 0, 0, options), Section.ADDITIONAL);
        Datagram d = new Datagram(q.toWire(), new InetSocketAddress(from, 40000), new InetSocketAddress("127.0.0.1", 5300));
        Optional<byte[]> out = atOnceFirst ? s.datagramHandler().tryHandle(d) : Optional.empty();
        if (out.isPresent()) {
            answeredAtOnce++;
        } else {
            out = s.datagramHandler().handle(d);
        }
        return out.isPresent() ? Optional.of(new Message(out.get())) : Optional.empty();
    }

    /** How a flood of {@code n} queries fared: answered in full, sent truncated, dropped. */
    private record Tally(int answered, int truncated, int dropped) {}

    private Tally flood(DnsServer s, String from, String name, int n) throws Exception {
        int answered = 0;
        int truncated = 0;
        int dropped = 0;
        for (int i = 0; i < n; i++) {
            Optional<Message> m = ask(s, from, name, Type.A);
            if (m.isEmpty()) {
                dropped++;
            } else if (m.get().getHeader().getFlag(Flags.TC)) {
                assertEquals(0, m.get().getSection(Section.ANSWER).size(), "a slipped answer carries no records");
                assertEquals(name, m.get().getQuestion().getName().toString());
                truncated++;
            } else {
                answered++;
            }
        }
        return new Tally(answered, truncated, dropped);
    }

    @Test
    void floodFromOneAddressIsLimitedWhileOthersAreAnswered() throws Exception {
        DnsServer s = server().rateLimit(10).build();
        assertEquals(new Tally(10, 45, 45), flood(s, "127.0.0.2", "www.example.test.", 100));
        // the same prefix (/24) asking for another answer has its own budget
        assertEquals(new Tally(10, 0, 0), flood(s, "127.0.0.1", "mx1.example.test.", 10));
        // another prefix asking for the flooded answer too
        assertEquals(new Tally(10, 0, 0), flood(s, "192.0.2.99", "www.example.test.", 10));
        // and a second later the flooder is answered again
        clock.advance(Duration.ofSeconds(1));
        assertEquals(new Tally(10, 1, 1), flood(s, "127.0.0.2", "www.example.test.", 12));
    }

    @Test
    void answersGivenAtOnceAreLimitedAndCountedAsTheFullPathsAre() throws Exception {
        // the same floods, each datagram offered to tryHandle first as the core server does: a
        // cached answer within the rate goes at once, a limited one is left to handle, which
        // counts it once, so the same share is answered, truncated and dropped
        atOnceFirst = true;
        floodFromOneAddressIsLimitedWhileOthersAreAnswered();
        assertTrue(answeredAtOnce >= 30, "repeats within the rate were answered at once: " + answeredAtOnce);
        slipOneTruncatesEveryLimitedAnswer();
    }

    @Test
    void prefixLengthDecidesWhoSharesABudget() throws Exception {
        DnsServer s = server().rateLimit(5).rateLimitPrefixes(32, 128).build();
        assertEquals(5, flood(s, "127.0.0.2", "www.example.test.", 50).answered());
        assertEquals(new Tally(5, 0, 0), flood(s, "127.0.0.1", "www.example.test.", 5));
        DnsServer shared = server().rateLimit(5).build();
        assertEquals(5, flood(shared, "127.0.0.2", "www.example.test.", 50).answered());
        assertEquals(0, flood(shared, "127.0.0.1", "www.example.test.", 5).answered(), "127.0.0.0/24 is one prefix");
    }

    @Test
    void nxdomainForRandomNamesSharesOneBudget() throws Exception {
        DnsServer s = server().rateLimit(5).rateLimitSlip(0).build();
        int answered = 0;
        for (int i = 0; i < 50; i++) {
            Optional<Message> m = ask(s, "127.0.0.2", "random" + i + ".example.test.", Type.A);
            if (m.isPresent()) {
                assertEquals(Rcode.NXDOMAIN, m.get().getRcode());
                answered++;
            }
        }
        assertEquals(5, answered, "slip 0 drops everything past the rate");
    }

    @Test
    void slipOneTruncatesEveryLimitedAnswer() throws Exception {
        DnsServer s = server().rateLimit(3).rateLimitSlip(1).build();
        assertEquals(new Tally(3, 17, 0), flood(s, "127.0.0.2", "www.example.test.", 20));
    }

    @Test
    void zeroTurnsItOff() throws Exception {
        DnsServer s = server().rateLimit(0).build();
        assertEquals(new Tally(1000, 0, 0), flood(s, "127.0.0.2", "www.example.test.", 1000));
    }

    @Test
    void onByDefaultAtTwoHundred() throws Exception {
        DnsServer s = server().build();
        assertEquals(new Tally(200, 50, 50), flood(s, "127.0.0.2", "www.example.test.", 300));
    }

    @Test
    void validCookieIsExemptAndClientCookieAloneGetsBadcookie() throws Exception {
        DnsServer s = server().rateLimit(2).rateLimitSlip(1).build();
        byte[] client = {1, 2, 3, 4, 5, 6, 7, 8};
        Message first = ask(s, "127.0.0.2", "www.example.test.", Type.A, new CookieOption(client)).orElseThrow();
        CookieOption given = (CookieOption) first.getOPT().getOptions(Cookies.OPTION).get(0);
        byte[] server = given.getServerCookie().orElseThrow();
        assertEquals(16, server.length);
        ask(s, "127.0.0.2", "www.example.test.", Type.A).orElseThrow();
        // over the rate: with a client cookie only, BADCOOKIE and a server cookie to retry with
        Message limited = ask(s, "127.0.0.2", "www.example.test.", Type.A, new CookieOption(client)).orElseThrow();
        assertEquals(Rcode.BADCOOKIE, limited.getRcode());
        assertFalse(limited.getHeader().getFlag(Flags.TC));
        assertEquals(1, limited.getOPT().getOptions(Cookies.OPTION).size());
        // with the server cookie it is answered in full, however many times
        for (int i = 0; i < 20; i++) {
            Message ok = ask(s, "127.0.0.2", "www.example.test.", Type.A, new CookieOption(client, server)).orElseThrow();
            assertEquals(Rcode.NOERROR, ok.getRcode());
            assertEquals(List.of("192.0.2.20"), TestZones.rdata(ok, Section.ANSWER, Type.A));
        }
        // a made-up server cookie is no pass
        byte[] forged = server.clone();
        forged[15] ^= 1;
        Message bad = ask(s, "127.0.0.2", "www.example.test.", Type.A, new CookieOption(client, forged)).orElseThrow();
        assertEquals(Rcode.BADCOOKIE, bad.getRcode());
    }

    @Test
    void pluginPassesTheRateAndSlip() throws Exception {
        DnsServer s = (DnsServer) new DnsPlugin().create(Peers.args(Map.of("--zone",
                List.of(dir.resolve("example.test.zone").toString()), "--rrl-rate", List.of("4"), "--rrl-slip", List.of("0"))));
        // on the system clock: the ten may straddle a second, so only "some dropped, none truncated"
        Tally t = flood(s, "127.0.0.2", "www.example.test.", 10);
        assertTrue(t.dropped() > 0 && t.truncated() == 0 && t.answered() >= 4, t.toString());
    }

    /**
     * Over real sockets: a flood of one question from 127.0.0.2 is cut to the rate while dig from
     * 127.0.0.1 is answered, for another name in the same /24 and, with /32 prefixes, for the
     * flooded name too.
     */
    @Test
    void digFromAnotherAddressIsAnsweredDuringAFlood() throws Exception {
        Path dig = Peers.require("dig", "dnsutils");
        DnsServer s = DnsServer.builder().zone(dir.resolve("example.test.zone")).listen("udp:0:interface=127.0.0.1")
                .listen("tcp:0:interface=127.0.0.1").rateLimit(20).rateLimitPrefixes(32, 128).build();
        s.start();
        try (java.net.DatagramSocket flooder = new java.net.DatagramSocket(new InetSocketAddress("127.0.0.2", 0))) {
            flooder.setSoTimeout(300);
            byte[] q = TestZones.query("www.example.test.", Type.A, 1232);
            java.net.InetSocketAddress to = new InetSocketAddress("127.0.0.1", s.port());
            for (int i = 0; i < 400; i++) {
                flooder.send(new java.net.DatagramPacket(q, q.length, to));
            }
            Peers.Dig other = Peers.dig(dig, s.port(), "-b", "127.0.0.1", "+notcp", "www.example.test", "A");
            assertEquals("NOERROR", other.status(), other.raw());
            assertEquals(List.of("192.0.2.20"), other.data("ANSWER", "A"), other.raw());
            int full = 0;
            int truncated = 0;
            byte[] buf = new byte[1500];
            try {
                while (true) {
                    java.net.DatagramPacket p = new java.net.DatagramPacket(buf, buf.length);
                    flooder.receive(p);
                    if ((buf[2] & 0x02) != 0) {
                        truncated++;
                    } else {
                        full++;
                    }
                }
            } catch (java.net.SocketTimeoutException drained) {
                // every answer the server sent is in
            }
            // 400 queries take well under the 20 seconds it would take the rate to pass them all
            assertTrue(full < 400 && truncated > 0 && full + truncated < 400, full + " full, " + truncated + " truncated");
        } finally {
            s.close();
        }
    }
}
