package dev.twine.dns.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Datagram;
import dev.twine.core.DatagramHandler;
import dev.twine.core.testing.ManualClock;
import dev.twine.dns.DnsAnswer;
import dev.twine.dns.DnsAuthority;
import dev.twine.dns.DnsRecord;
import dev.twine.dns.DnsServer;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.CookieOption;
import org.xbill.DNS.ExtendedFlags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Type;

/**
 * The UDP answers given at once on the receiving thread ({@link Responder#answerUdpAtOnce},
 * the DNS server's {@link DatagramHandler#tryHandle}): only what the answer cache holds, and
 * then byte for byte what the full path renders for the same query (ID, case, flags, EDNS, DO,
 * truncation, cookies), over every shape of answer the test zones have.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AtOnceAnswersTest {
    private static final InetAddress CLIENT = TestZones.CLIENT;

    @TempDir
    Path dir;

    ManualClock clock = ManualClock.at(Instant.parse("2026-12-02T12:00:00Z"));
    /** One cookie secret for every responder here, so their server cookies agree. */
    byte[] secret = HexFormat.of().parseHex("000102030405060708090a0b0c0d0e0f");

    @BeforeEach
    void zones() throws Exception {
        TestZones.copyTo(dir);
        for (String z : List.of("nsec.test.zone", "nsec3.test.zone")) {
            try (InputStream in = getClass().getResourceAsStream("/zones/dnssec/" + z)) {
                Files.copy(in, dir.resolve(z));
            }
        }
    }

    /** A request path over fresh zones (an empty cache) with the shared cookie secret, RRL off. */
    private Responder fresh() throws ZoneFileException {
        ZoneAuthority zones = new ZoneAuthority(List.of(dir.resolve("example.test.zone"), dir.resolve("other.test.zone"),
                dir.resolve("nsec.test.zone"), dir.resolve("nsec3.test.zone")));
        return new Responder(AuthorityChain.of(List.of(zones)), a -> true, new Cookies(secret, clock), null, null, null,
                Map.of());
    }

    /** A query with this ID, name as spelled, RD and CD, EDNS size (0: none), DO, an optional client cookie. */
    private static byte[] query(int id, String name, int type, boolean rd, boolean cd, int udpSize, boolean dnssecOk,
            byte[] clientCookie) throws Exception {
        if (clientCookie != null) {
            return AnswerCacheTest.query(id, name, type, rd, cd, udpSize, dnssecOk ? ExtendedFlags.DO : 0,
                    new CookieOption(clientCookie));
        }
        return AnswerCacheTest.query(id, name, type, rd, cd, udpSize, dnssecOk ? ExtendedFlags.DO : 0);
    }

    @Test
    void nothingIsAnsweredAtOnceBeforeTheCacheHoldsIt() throws Exception {
        Responder dns = fresh();
        byte[] q = query(1, "www.example.test.", Type.A, false, false, 1232, false, null);
        assertEquals(Optional.empty(), dns.answerUdpAtOnce(q, CLIENT), "a miss is left to the full path");
        byte[] full = dns.answerUdp(q, CLIENT).orElseThrow();
        byte[] again = query(0x7A7A, "www.example.test.", Type.A, false, false, 1232, false, null);
        byte[] now = dns.answerUdpAtOnce(again, CLIENT).orElseThrow();
        assertEquals(0x7A7A, new Message(now).getHeader().getID());
        assertArrayEquals(AnswerCacheTest.withoutId(full), AnswerCacheTest.withoutId(now));
    }

    @Test
    void atOnceAnswersAreTheFullPathsBytesForEveryShapeOfAnswer() throws Exception {
        List<String> names = List.of(
                "www.example.test. A", "WwW.ExAmPlE.TeSt. A", "mixedcase.example.test. A", // case kept as asked
                "www.example.test. AAAA", "example.test. MX", "example.test. NS", "example.test. TXT",
                "example.test. SOA", "alias.example.test. A", "chain.example.test. A", // CNAME chains
                "dangling.example.test. A", "outside.example.test. A", "loop1.example.test. A",
                "x.wild.example.test. A", "x.wild.example.test. TXT", "x.wild.example.test. MX", // wildcards
                "exists.wild.example.test. A", "y.cw.example.test. A", "b.c.example.test. A", // empty non-terminal
                "nothere.example.test. A", "www.example.test. SRV", // NXDOMAIN, NODATA with the SOA
                "host.sub.example.test. A", "sub.example.test. NS", // a referral with glue
                "_sip._tcp.example.test. SRV", "4.2.0.192.in-addr.example.test. PTR",
                "big.example.test. TXT", "medium.example.test. TXT", // TC at 512 and 1232
                "example.test. ANY", "host.other.test. A", "nothere.other.test. A", "elsewhere.test. A",
                "www.nsec.test. A", "nothere.nsec.test. A", "www.nsec3.test. A", "nothere.nsec3.test. A");
        int[] sizes = {0, 512, 1232, 4096};
        byte[] cookie = {1, 2, 3, 4, 5, 6, 7, 8};
        List<String> failures = new ArrayList<>();
        int atOnce = 0;
        for (String asked : names) {
            String name = asked.split(" ")[0];
            int type = Type.value(asked.split(" ")[1]);
            // one request path warmed by a query with another ID and asked at once, and one
            // that renders each query in full (each is a different cache key: its first time)
            Responder warmed = fresh();
            Responder reference = fresh();
            for (int size : sizes) {
                for (int variant = 0; variant < (size == 0 ? 3 : 4); variant++) {
                    boolean rd = variant == 1;
                    boolean cd = variant == 2;
                    boolean dnssecOk = size > 0 && variant >= 2;
                    byte[] client = variant == 3 ? cookie : null;
                    warmed.answerUdp(query(11, name, type, rd, cd, size, dnssecOk, client), CLIENT);
                    byte[] q = query(0xC0DE, name, type, rd, cd, size, dnssecOk, client);
                    Optional<byte[]> now = warmed.answerUdpAtOnce(q, CLIENT);
                    byte[] full = reference.answerUdp(q, CLIENT).orElseThrow();
                    String what = asked + " size " + size + " rd " + rd + " cd " + cd + " do " + dnssecOk + " cookie " + (client != null);
                    if (now.isEmpty()) {
                        continue; // not cached (REFUSED outside the zones): the full path answers, as checked elsewhere
                    }
                    atOnce++;
                    if (!java.util.Arrays.equals(full, now.get())) {
                        failures.add(what);
                    }
                }
            }
        }
        assertEquals(List.of(), failures, "answers given at once that differ from the full path's");
        assertTrue(atOnce >= (names.size() - 1) * (sizes.length * 4 - 1), "nearly every query was answered at once: " + atOnce);
    }

    @Test
    void anAuthorityOfOnesOwnIsNeverAnsweredAtOnce() throws Exception {
        DnsRecord.Soa soa = new DnsRecord.Soa("svc.local.", 60, "ns.svc.local.", "admin.svc.local.", 1, 60, 60, 60, 60);
        DnsAuthority mine = q -> q.inZone("svc.local") ? DnsAnswer.nxdomain(soa) : DnsAnswer.notMine();
        Responder dns = new Responder(AuthorityChain.of(List.of(mine, TestZones.zones(dir))), a -> true);
        for (int i = 0; i < 3; i++) {
            byte[] q = query(i, "x.svc.local.", Type.A, false, false, 1232, false, null);
            assertEquals(Optional.empty(), dns.answerUdpAtOnce(q, CLIENT), "its answers may change from one query to the next");
            byte[] z = query(i, "www.example.test.", Type.A, false, false, 1232, false, null);
            assertEquals(Optional.empty(), dns.answerUdpAtOnce(z, CLIENT), "and nothing is cached when it comes first");
            dns.answerUdp(q, CLIENT).orElseThrow();
            dns.answerUdp(z, CLIENT).orElseThrow();
        }
    }

    @Test
    void theServersDatagramHandlerAnswersRepeatsAtOnceAndReloadsClearThem() throws Exception {
        Path zone = dir.resolve("example.test.zone");
        DnsServer s = DnsServer.builder().zone(zone).listen("udp:0:interface=127.0.0.1").rateLimit(0).build();
        DatagramHandler h = s.datagramHandler();
        Datagram d = new Datagram(query(5, "www.example.test.", Type.A, false, false, 1232, false, null),
                new InetSocketAddress(CLIENT, 40000), null);
        assertEquals(Optional.empty(), h.tryHandle(d));
        byte[] full = h.handle(d).orElseThrow();
        assertArrayEquals(full, h.tryHandle(d).orElseThrow());
        Files.writeString(zone, Files.readString(zone).replace("www     IN A   192.0.2.20", "www     IN A   192.0.2.99")
                .replace("2026112701 ; serial", "2026112702 ; serial"));
        assertTrue(s.reload(), s.lastReloadError().orElse(""));
        assertEquals(Optional.empty(), h.tryHandle(d), "the new zones start with an empty cache");
        assertEquals(List.of("192.0.2.99"), TestZones.rdata(new Message(h.handle(d).orElseThrow()),
                org.xbill.DNS.Section.ANSWER, Type.A));
    }
}
