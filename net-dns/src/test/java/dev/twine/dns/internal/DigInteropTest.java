package dev.twine.dns.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Service;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The real {@code dig} (dnsutils) against the server started by the plugin, over loopback UDP and TCP. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DigInteropTest {
    @TempDir
    static Path dir;

    static Path dig;
    static Service server;
    static int port;

    @BeforeAll
    static void start() throws Exception {
        dig = Peers.require("dig", "dnsutils");
        TestZones.copyTo(dir);
        server = new DnsPlugin().create(Peers.args(Map.of(
                "--zone", List.of(dir.resolve("example.test.zone").toString(), dir.resolve("other.test.zone").toString()),
                "--listen", List.of("udp:0:interface=127.0.0.1", "tcp:0:interface=127.0.0.1"),
                "--allow-transfer", List.of("127.0.0.1"))));
        server.start();
        port = server.bindings().get(0).port();
        assertEquals(port, server.bindings().get(1).port(), "UDP and TCP share the port");
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void exactAnswerHasAaOverUdpAndTcp() throws Exception {
        for (String transport : new String[] {"+notcp", "+tcp"}) {
            Peers.Dig d = Peers.dig(dig, port, "+norec", transport, "www.example.test", "A");
            assertEquals("NOERROR", d.status(), d.raw());
            assertTrue(d.flags().containsAll(List.of("qr", "aa")), d.raw());
            assertEquals(List.of("192.0.2.20"), d.data("ANSWER", "A"), d.raw());
        }
    }

    @Test
    void caseOfTheQueryIsPreserved() throws Exception {
        Peers.Dig d = Peers.dig(dig, port, "WWW.Example.TEST", "A");
        assertEquals(List.of("WWW.Example.TEST."), d.owners("ANSWER"), d.raw());
        assertEquals(List.of("192.0.2.20"), d.data("ANSWER", "A"), d.raw());
    }

    @Test
    void cnameChainIsFollowed() throws Exception {
        Peers.Dig d = Peers.dig(dig, port, "chain.example.test", "A");
        assertEquals(List.of("alias.example.test.", "www.example.test."), d.data("ANSWER", "CNAME"), d.raw());
        assertEquals(List.of("192.0.2.20"), d.data("ANSWER", "A"), d.raw());
    }

    @Test
    void wildcardAnswersForAnyName() throws Exception {
        Peers.Dig d = Peers.dig(dig, port, "some-host.wild.example.test", "A");
        assertEquals("NOERROR", d.status());
        assertTrue(d.flags().contains("aa"));
        assertEquals(List.of("some-host.wild.example.test."), d.owners("ANSWER"), d.raw());
    }

    @Test
    void referralHasNoAaAndCarriesGlue() throws Exception {
        Peers.Dig d = Peers.dig(dig, port, "+norec", "www.sub.example.test", "A");
        assertEquals("NOERROR", d.status());
        assertFalse(d.flags().contains("aa"), d.raw());
        assertTrue(d.section("ANSWER").isEmpty(), d.raw());
        assertEquals(List.of("ns.sub.example.test.", "ns.elsewhere.test."), d.data("AUTHORITY", "NS"), d.raw());
        assertEquals(List.of("192.0.2.50"), d.data("ADDITIONAL", "A"), d.raw());
    }

    @Test
    void nxdomainAndNodataCarryTheSoa() throws Exception {
        Peers.Dig nx = Peers.dig(dig, port, "missing.example.test", "A");
        assertEquals("NXDOMAIN", nx.status(), nx.raw());
        assertTrue(nx.flags().contains("aa"));
        assertEquals(1, nx.data("AUTHORITY", "SOA").size(), nx.raw());
        Peers.Dig nodata = Peers.dig(dig, port, "www.example.test", "MX");
        assertEquals("NOERROR", nodata.status());
        assertTrue(nodata.section("ANSWER").isEmpty());
        assertEquals(1, nodata.data("AUTHORITY", "SOA").size(), nodata.raw());
        assertTrue(nodata.section("AUTHORITY").get(0).split("\\s+")[1].equals("300"), nodata.raw());
    }

    @Test
    void outsideTheZonesIsRefused() throws Exception {
        Peers.Dig d = Peers.dig(dig, port, "example.org", "A");
        assertEquals("REFUSED", d.status(), d.raw());
    }

    @Test
    void bigAnswerIsTruncatedOverUdpAndWholeOverTcp() throws Exception {
        Peers.Dig udp = Peers.dig(dig, port, "+ignore", "+bufsize=1232", "big.example.test", "TXT");
        assertTrue(udp.flags().contains("tc"), udp.raw());
        Peers.Dig noEdns = Peers.dig(dig, port, "+ignore", "+noedns", "medium.example.test", "TXT");
        assertTrue(noEdns.flags().contains("tc"), noEdns.raw());
        Peers.Dig edns = Peers.dig(dig, port, "+ignore", "+bufsize=1232", "medium.example.test", "TXT");
        assertFalse(edns.flags().contains("tc"), edns.raw());
        assertEquals(10, edns.data("ANSWER", "TXT").size(), edns.raw());
        // dig's default retries over TCP on TC: the full answer
        Peers.Dig retried = Peers.dig(dig, port, "big.example.test", "TXT");
        assertEquals(40, retried.data("ANSWER", "TXT").size(), retried.raw());
        assertFalse(retried.flags().contains("tc"));
    }

    @Test
    void ednsIsEchoed() throws Exception {
        Peers.Dig d = Peers.dig(dig, port, "+bufsize=4096", "www.example.test", "A");
        assertTrue(d.raw().contains("; EDNS: version: 0"), d.raw());
        assertTrue(d.raw().contains("udp: 1232"), d.raw());
    }

    @Test
    void anyOverUdpIsOneRrset() throws Exception {
        Peers.Dig d = Peers.dig(dig, port, "+notcp", "example.test", "ANY");
        assertEquals("NOERROR", d.status());
        long types = d.section("ANSWER").stream().map(l -> l.split("\\s+")[3]).distinct().count();
        assertEquals(1, types, d.raw());
        Peers.Dig tcp = Peers.dig(dig, port, "+tcp", "example.test", "ANY");
        assertEquals(4, tcp.section("ANSWER").stream().map(l -> l.split("\\s+")[3]).distinct().count(), tcp.raw());
    }

    @Test
    void axfrToAnAllowedClientListsTheZone() throws Exception {
        Peers.Run r = Peers.run(30, List.of(dig.toString(), "@127.0.0.1", "-p", String.valueOf(port), "+time=3",
                "+tries=1", "example.test", "AXFR"));
        long soas = r.output().lines().filter(l -> l.matches("example\\.test\\.\\s+\\d+\\s+IN\\s+SOA.*")).count();
        assertEquals(2, soas, r.output());
        assertTrue(r.output().contains("included.example.test."), r.output());
        assertTrue(r.output().contains("XFR size:"), r.output());
    }

    @Test
    void mxWithAdditionalAddresses() throws Exception {
        Peers.Dig d = Peers.dig(dig, port, "example.test", "MX");
        assertEquals(List.of("20 mx2.example.test.", "10 mx1.example.test."), d.data("ANSWER", "MX"), d.raw());
        assertTrue(d.data("ADDITIONAL", "A").containsAll(List.of("192.0.2.10", "192.0.2.11")), d.raw());
    }

    @Test
    void axfrFromAClientNotAllowedIsRefused() throws Exception {
        // 127.0.0.2 is loopback too, but not in --allow-transfer
        Peers.Run r = Peers.run(30, List.of(dig.toString(), "@127.0.0.1", "-p", String.valueOf(port), "-b", "127.0.0.2",
                "+time=3", "+tries=1", "example.test", "AXFR"));
        assertTrue(r.output().contains("Transfer failed"), r.output());
        assertFalse(r.output().contains("included.example.test."), r.output());
    }
}
