package dev.twine.dns.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.dns.DnsAnswer;
import dev.twine.dns.DnsAuthority;
import dev.twine.dns.DnsQuestion;
import dev.twine.dns.DnsRecord;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Type;

/** The shipped authorities asked directly with DnsQuestions: what each answers, as Twine values. */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
class AuthoritiesTest {
    @TempDir
    static Path dir;

    static ZoneAuthority zones;

    @BeforeAll
    static void load() throws Exception {
        zones = TestZones.zones(TestZones.copyTo(dir));
    }

    static DnsQuestion question(String name, int type, int dnsClass, boolean rd, InetAddress client) {
        return new DnsQuestion(name, type, dnsClass, Optional.ofNullable(client), DnsQuestion.Transport.UDP, OptionalInt.empty(),
                rd);
    }

    static DnsQuestion question(String name, int type) {
        return question(name, type, DClass.IN, false, TestZones.CLIENT);
    }

    @Test
    void zonesAnswerWithTheOwnerAsAsked() throws Exception {
        DnsAnswer.Data d = assertInstanceOf(DnsAnswer.Data.class, zones.answer(question("WWW.example.test", Type.A)));
        assertTrue(d.authoritative());
        assertEquals(List.of(new DnsRecord.A("WWW.example.test", 3600,
                (java.net.Inet4Address) InetAddress.getByName("192.0.2.20"))), d.answer());
        DnsAnswer.Data wild = assertInstanceOf(DnsAnswer.Data.class, zones.answer(question("x.wild.example.test", Type.A)));
        assertEquals("x.wild.example.test", wild.answer().get(0).name());
    }

    @Test
    void zonesGiveNegativeAnswersWithTheirSoaAsItIs() throws Exception {
        DnsAnswer.NxDomain nx = assertInstanceOf(DnsAnswer.NxDomain.class, zones.answer(question("nope.example.test", Type.A)));
        DnsRecord.Soa soa = assertInstanceOf(DnsRecord.Soa.class, nx.authority().get(0));
        assertEquals("example.test", soa.name());
        assertEquals(3600, soa.ttl(), "the server, not the authority, applies RFC 2308 §3");
        DnsAnswer.NxDomain dangling = assertInstanceOf(DnsAnswer.NxDomain.class,
                zones.answer(question("dangling.example.test", Type.A)));
        assertEquals(List.of(new DnsRecord.Cname("dangling.example.test", 3600, "nothing.example.test")), dangling.chain());
        assertInstanceOf(DnsAnswer.NoData.class, zones.answer(question("www.example.test", Type.MX)));
        assertInstanceOf(DnsAnswer.NoData.class, zones.answer(question("b.c.example.test", Type.A)));
    }

    @Test
    void zonesRefer() throws Exception {
        DnsAnswer.Referral r = assertInstanceOf(DnsAnswer.Referral.class, zones.answer(question("host.sub.example.test", Type.A)));
        assertEquals(List.of("ns.sub.example.test", "ns.elsewhere.test"), r.nameServers().stream().map(DnsRecord.Ns::target).toList());
        assertEquals(List.of("ns.sub.example.test"), r.glue().stream().map(DnsRecord::name).toList());
    }

    @Test
    void zonesSayNotMineOutsideTheirNamesAndClasses() throws Exception {
        assertInstanceOf(DnsAnswer.NotMine.class, zones.answer(question("www.example.org", Type.A)));
        assertInstanceOf(DnsAnswer.NotMine.class, zones.answer(question("www.example.test", Type.A, DClass.CH, false, null)));
        assertInstanceOf(DnsAnswer.Data.class, zones.answer(question("www.example.test", Type.A, DClass.ANY, false, null)));
    }

    @Test
    void theForwarderRefusesWithoutAskingUpstream() throws Exception {
        Forwarder f = new Forwarder(new Exchanger(List.of(new InetSocketAddress("127.0.0.1", 9)), Duration.ofMillis(100), 1),
                InetAddress::isLoopbackAddress, Clock.systemUTC(), 10);
        InetAddress remote = InetAddress.getByName("192.0.2.7");
        for (DnsQuestion q : List.of(question("www.example.org", Type.A, DClass.IN, false, TestZones.CLIENT),
                question("www.example.org", Type.A, DClass.IN, true, remote),
                question("www.example.org", Type.A, DClass.IN, true, null),
                question("www.example.org", Type.A, DClass.CH, true, TestZones.CLIENT))) {
            assertInstanceOf(DnsAnswer.Refused.class, f.answer(q), q.toString());
        }
        assertEquals(0, f.upstreamQueries());
    }

    @Test
    void chainsFlattenAndStopAtTheFirstClaim() throws Exception {
        DnsAuthority no = q -> DnsAnswer.notMine();
        DnsAuthority yes = q -> DnsAnswer.refused();
        AuthorityChain c = AuthorityChain.of(List.of(no, DnsAuthority.chain(no, zones), yes));
        assertEquals(List.of(no, no, zones, yes), c.members());
        assertEquals(2, c.ask(question("www.example.test", Type.A)).by());
        assertEquals(3, c.ask(question("www.example.org", Type.A)).by());
        assertEquals(1, AuthorityChain.of(List.of(no)).ask(question("x", Type.A)).by(), "none claimed it");
    }
}
