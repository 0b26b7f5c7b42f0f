package dev.twine.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The resolver client against Twine's own server over loopback UDP and TCP. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ResolverTest {
    @TempDir
    static Path dir;

    static DnsServer server;
    static Resolver dns;

    @BeforeAll
    static void start() throws Exception {
        for (String f : new String[] {"example.test.zone", "included.inc"}) {
            try (InputStream in = ResolverTest.class.getResourceAsStream("/zones/" + f)) {
                Files.copy(in, dir.resolve(f));
            }
        }
        server = DnsServer.builder().zone(dir.resolve("example.test.zone"))
                .listen("udp:0:interface=127.0.0.1").listen("tcp:0:interface=127.0.0.1").build();
        server.start();
        dns = Resolver.builder().server("127.0.0.1", server.port()).timeout(Duration.ofSeconds(2)).build();
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void lookupReturnsTypedAddresses() throws Exception {
        List<DnsRecord> a = dns.lookup("www.example.test", RecordType.A);
        assertEquals(List.of(new DnsRecord.A("www.example.test", 3600, (java.net.Inet4Address) InetAddress.getByName("192.0.2.20"))), a);
        List<DnsRecord.Aaaa> aaaa = dns.lookup("www.example.test.", RecordType.AAAA, DnsRecord.Aaaa.class);
        assertEquals(InetAddress.getByName("2001:db8::20"), aaaa.get(0).address());
        assertEquals(List.of(InetAddress.getByName("192.0.2.20"), InetAddress.getByName("2001:db8::20")),
                dns.lookupAddresses("www.example.test"));
    }

    @Test
    void lookupMxIsSortedByPreference() throws Exception {
        List<DnsRecord.Mx> mx = dns.lookupMx("example.test");
        assertEquals(List.of("mx1.example.test", "mx2.example.test"), mx.stream().map(DnsRecord.Mx::exchange).toList());
        assertEquals(List.of(10, 20), mx.stream().map(DnsRecord.Mx::preference).toList());
    }

    @Test
    void lookupFollowsCnamesInTheAnswer() throws Exception {
        List<DnsRecord.A> a = dns.lookup("chain.example.test", RecordType.A, DnsRecord.A.class);
        assertEquals(1, a.size());
        assertEquals("www.example.test", a.get(0).name());
        List<DnsRecord.Cname> c = dns.lookup("alias.example.test", RecordType.CNAME, DnsRecord.Cname.class);
        assertEquals("www.example.test", c.get(0).target());
    }

    @Test
    void otherTypesAreTyped() throws Exception {
        DnsRecord.Txt txt = dns.lookup("example.test", RecordType.TXT, DnsRecord.Txt.class).get(0);
        assertEquals(List.of("v=spf1", " -all"), txt.strings());
        assertEquals("v=spf1 -all", txt.text());
        DnsRecord.Srv srv = dns.lookup("_sip._tcp.example.test", RecordType.SRV, DnsRecord.Srv.class).get(0);
        assertEquals(new DnsRecord.Srv("_sip._tcp.example.test", 3600, 0, 5, 5060, "www.example.test"), srv);
        DnsRecord.Soa soa = dns.lookup("example.test", RecordType.SOA, DnsRecord.Soa.class).get(0);
        assertEquals(2026112701L, soa.serial());
        assertEquals(300, soa.minimum());
        assertEquals(List.of("ns1.example.test", "ns2.elsewhere.test"),
                dns.lookup("example.test", RecordType.NS, DnsRecord.Ns.class).stream().map(DnsRecord.Ns::target).toList());
        assertEquals("www.example.test",
                dns.lookup("4.2.0.192.in-addr.example.test", RecordType.PTR, DnsRecord.Ptr.class).get(0).target());
    }

    @Test
    void nodataIsAnEmptyList() throws Exception {
        assertEquals(List.of(), dns.lookup("www.example.test", RecordType.MX));
    }

    @Test
    void nxdomainIsANameError() {
        DnsException e = assertThrows(DnsException.class, () -> dns.lookupMx("nope.example.test"));
        assertTrue(e.isNameError());
        assertEquals(DnsException.NXDOMAIN, e.rcode());
    }

    @Test
    void refusalIsADnsExceptionButNotANameError() {
        DnsException e = assertThrows(DnsException.class, () -> dns.lookup("example.org", RecordType.A));
        assertEquals(5, e.rcode());
        assertTrue(!e.isNameError());
    }

    @Test
    void truncatedUdpAnswerIsRetriedOverTcp() throws Exception {
        List<DnsRecord.Txt> big = dns.lookup("big.example.test", RecordType.TXT, DnsRecord.Txt.class);
        assertEquals(40, big.size());
    }

    @Test
    void silentServerTimesOutAfterTheAttempts() throws Exception {
        try (DatagramSocket silent = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
            Resolver r = Resolver.builder().server("127.0.0.1", silent.getLocalPort())
                    .timeout(Duration.ofMillis(200)).attempts(2).build();
            assertThrows(SocketTimeoutException.class, () -> r.lookup("www.example.test", RecordType.A));
        }
    }

    @Test
    void secondServerIsTriedWhenTheFirstIsSilent() throws Exception {
        try (DatagramSocket silent = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
            Resolver r = Resolver.builder().server("127.0.0.1", silent.getLocalPort()).server("127.0.0.1", server.port())
                    .timeout(Duration.ofMillis(300)).attempts(1).build();
            assertEquals(1, r.lookup("www.example.test", RecordType.A).size());
        }
    }

    @Test
    void configurationIsValidated() {
        assertThrows(IllegalArgumentException.class, () -> Resolver.builder().server("dns.example", 53));
        assertThrows(IllegalStateException.class, () -> Resolver.builder().build());
        assertThrows(IllegalArgumentException.class, () -> Resolver.builder().timeout(Duration.ZERO));
    }

    @Test
    void resolvConfNameserversAreRead() throws Exception {
        Path conf = dir.resolve("resolv.conf");
        Files.writeString(conf, "# comment\nsearch example\nnameserver 127.0.0.53\nnameserver ::1\noptions ndots:1\n");
        Resolver r = Resolver.builder().serversFrom(conf).build();
        assertEquals(List.of(new InetSocketAddress("127.0.0.53", 53), new InetSocketAddress("::1", 53)), r.servers());
    }
}
