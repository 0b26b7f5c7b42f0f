package dev.twine.dns.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.ManualClock;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.CookieOption;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/** DNS cookies (RFC 7873, server cookies as RFC 9018): made, echoed, checked, also from the answer cache. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class CookiesTest {
    private static final HexFormat HEX = HexFormat.of();
    private static final byte[] CLIENT = {1, 2, 3, 4, 5, 6, 7, 8};

    @TempDir
    Path dir;

    ManualClock clock = ManualClock.at(Instant.parse("2026-12-02T04:00:00Z"));
    Responder dns;

    @BeforeEach
    void load() throws Exception {
        TestZones.copyTo(dir);
        dns = new Responder(AuthorityChain.of(List.of(TestZones.zones(dir))), a -> true, new Cookies(clock), null, null, null, java.util.Map.of());
    }

    @Test
    void sipHashMatchesTheReferenceVector() {
        // the SipHash paper's Appendix A: key 00..0f, message 00..0e
        byte[] msg = new byte[15];
        for (int i = 0; i < msg.length; i++) {
            msg[i] = (byte) i;
        }
        assertEquals(0xa129ca6149be45e5L, Cookies.sipHash24(0x0706050403020100L, 0x0f0e0d0c0b0a0908L, msg));
    }

    @Test
    void serverCookieMatchesRfc9018TestVector() throws Exception {
        // RFC 9018 Appendix A.1: the first query from a client to a server
        Cookies c = new Cookies(HEX.parseHex("e5e973e5a6b2a43f48e7dc849e37bfcf"),
                ManualClock.at(Instant.ofEpochSecond(1559731985)));
        byte[] option = c.responseOption(new Cookies.Found(HEX.parseHex("2464c4abcf10c957"), new byte[0]),
                InetAddress.getByName("198.51.100.100"));
        assertEquals("2464c4abcf10c957010000005cf79f111f8130c3eee29480", HEX.formatHex(option, 4, option.length));
    }

    private static byte[] query(String name, int udpSize, CookieOption cookie) throws Exception {
        Message q = Message.newQuery(Record.newRecord(Name.fromString(name), Type.TXT, DClass.IN));
        q.getHeader().unsetFlag(Flags.RD);
        q.addRecord(new OPTRecord(udpSize, 0, 0, 0, cookie == null ? List.of() : List.of(cookie)), Section.ADDITIONAL);
        return q.toWire();
    }

    private CookieOption answerCookie(byte[] query) throws Exception {
        Message m = new Message(dns.answerUdp(query, TestZones.CLIENT).orElseThrow());
        List<?> found = m.getOPT().getOptions(Cookies.OPTION);
        return found.isEmpty() ? null : (CookieOption) found.get(0);
    }

    @Test
    void clientCookieIsAnsweredWithItAndAServerCookieThatIsThenEchoed() throws Exception {
        CookieOption first = answerCookie(query("www.example.test.", 1232, new CookieOption(CLIENT)));
        assertArrayEquals(CLIENT, first.getClientCookie());
        byte[] server = first.getServerCookie().orElseThrow();
        assertEquals(16, server.length);
        assertEquals(1, server[0], "RFC 9018 version 1");
        // sent back within half an hour: the same server cookie (the answer cache path included)
        clock.advance(Duration.ofMinutes(10));
        for (int i = 0; i < 3; i++) {
            CookieOption again = answerCookie(query("www.example.test.", 1232, new CookieOption(CLIENT, server)));
            assertArrayEquals(server, again.getServerCookie().orElseThrow());
        }
        // after half an hour a fresh one; a forged one is replaced too
        clock.advance(Duration.ofMinutes(25));
        byte[] fresh = answerCookie(query("www.example.test.", 1232, new CookieOption(CLIENT, server)))
                .getServerCookie().orElseThrow();
        assertNotEquals(HEX.formatHex(server), HEX.formatHex(fresh));
        byte[] forged = fresh.clone();
        forged[10] ^= 0x40;
        assertArrayEquals(fresh, answerCookie(query("www.example.test.", 1232, new CookieOption(CLIENT, forged)))
                .getServerCookie().orElseThrow());
    }

    @Test
    void validityFollowsTimeClientAndAddress() throws Exception {
        Cookies c = new Cookies(new byte[16], clock);
        InetAddress me = InetAddress.getByName("192.0.2.1");
        byte[] option = c.responseOption(new Cookies.Found(CLIENT, new byte[0]), me);
        Cookies.Found back = new Cookies.Found(CLIENT, java.util.Arrays.copyOfRange(option, 12, 28));
        assertTrue(c.valid(back, me));
        assertFalse(c.valid(back, InetAddress.getByName("192.0.2.2")), "bound to the client's address");
        assertFalse(c.valid(new Cookies.Found(new byte[8], back.server()), me), "bound to the client cookie");
        assertFalse(new Cookies(new byte[] {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, clock).valid(back, me),
                "bound to the secret");
        clock.advance(Duration.ofMinutes(61));
        assertFalse(c.valid(back, me), "an hour old at most");
    }

    @Test
    void queriesWithoutACookieGetNone() throws Exception {
        assertNull(answerCookie(query("www.example.test.", 1232, null)));
        assertNull(answerCookie(query("www.example.test.", 1232, null)), "nor from the cache");
    }

    @Test
    void aCookieAnswerStillFitsTheClientsSize() throws Exception {
        // big.example.test's TXT set is over 512 bytes: cut, with TC, so that the cookie still fits
        byte[] withCookie = dns.answerUdp(query("big.example.test.", 512, new CookieOption(CLIENT)), TestZones.CLIENT)
                .orElseThrow();
        assertTrue(withCookie.length <= 512, "length " + withCookie.length);
        Message m = new Message(withCookie);
        assertTrue(m.getHeader().getFlag(Flags.TC));
        assertEquals(1, m.getOPT().getOptions(Cookies.OPTION).size());
        byte[] again = dns.answerUdp(query("big.example.test.", 512, new CookieOption(CLIENT)), TestZones.CLIENT)
                .orElseThrow();
        assertTrue(again.length <= 512, "from the cache: length " + again.length);
    }

    @Test
    void tcpAnswersCarryTheCookieToo() throws Exception {
        Message m = new Message(dns.answerTcp(query("www.example.test.", 1232, new CookieOption(CLIENT)), TestZones.CLIENT)
                .get(0));
        assertEquals(Rcode.NOERROR, m.getRcode());
        assertEquals(1, m.getOPT().getOptions(Cookies.OPTION).size());
    }

    @Test
    void malformedCookieIsFormerr() throws Exception {
        byte[] q = query("www.example.test.", 1232, null);
        Message broken = new Message(q);
        broken.removeAllRecords(Section.ADDITIONAL);
        broken.addRecord(new OPTRecord(1232, 0, 0, 0,
                List.of(new org.xbill.DNS.GenericEDNSOption(Cookies.OPTION, new byte[12]))), Section.ADDITIONAL);
        assertEquals(Rcode.FORMERR, new Message(dns.answerUdp(broken.toWire(), TestZones.CLIENT).orElseThrow()).getRcode());
    }

    @Test
    void digSeesItsCookieAnsweredGood() throws Exception {
        java.nio.file.Path dig = Peers.require("dig", "dnsutils");
        dev.twine.dns.DnsServer s = dev.twine.dns.DnsServer.builder().zone(dir.resolve("example.test.zone"))
                .listen("udp:0:interface=127.0.0.1").listen("tcp:0:interface=127.0.0.1").build();
        s.start();
        try {
            Peers.Dig d = Peers.dig(dig, s.port(), "+cookie", "www.example.test", "A");
            assertEquals("NOERROR", d.status(), d.raw());
            assertTrue(d.raw().contains("(good)"), d.raw());
        } finally {
            s.close();
        }
    }
}
