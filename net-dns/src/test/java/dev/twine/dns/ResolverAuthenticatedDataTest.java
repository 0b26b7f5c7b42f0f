package dev.twine.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Section;

/**
 * The AD bit (RFC 4035 §3.2.3, RFC 6840 §5.7) through {@link Resolver#authenticatedLookup}: asked
 * for in the query, reported only when the server set it and the resolver trusts it. The server
 * here is a scripted one that sets the bit or not; {@code UnboundInteropTest} has a real
 * validating resolver decide.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ResolverAuthenticatedDataTest {
    @TempDir
    Path dir;

    private DatagramSocket socket;
    private volatile boolean setAd;
    /** The header flags of each query received: whether it asked for AD. */
    private final List<Boolean> askedAd = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() throws Exception {
        socket = new DatagramSocket(0, InetAddress.getLoopbackAddress());
        Thread.ofPlatform().daemon().start(this::serve);
    }

    @AfterEach
    void stop() {
        socket.close();
    }

    /** Answers every MX query for example.test with one MX record, AD set when {@link #setAd}. */
    private void serve() {
        byte[] buf = new byte[4096];
        while (true) {
            DatagramPacket p = new DatagramPacket(buf, buf.length);
            try {
                socket.receive(p);
                Message q = new Message(java.util.Arrays.copyOf(p.getData(), p.getLength()));
                askedAd.add(q.getHeader().getFlag(Flags.AD));
                Message r = new Message(q.getHeader().getID());
                r.getHeader().setFlag(Flags.QR);
                r.getHeader().setFlag(Flags.RD);
                r.getHeader().setFlag(Flags.RA);
                if (setAd) {
                    r.getHeader().setFlag(Flags.AD);
                }
                r.addRecord(q.getQuestion(), Section.QUESTION);
                r.addRecord(new MXRecord(Name.fromString("example.test."), DClass.IN, 300, 10,
                        Name.fromString("mx.example.test.")), Section.ANSWER);
                byte[] wire = r.toWire();
                socket.send(new DatagramPacket(wire, wire.length, p.getSocketAddress()));
            } catch (SocketException closed) {
                return;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }

    private Resolver.Builder resolver() {
        return Resolver.builder().server("127.0.0.1", socket.getLocalPort()).timeout(Duration.ofSeconds(2));
    }

    @Test
    void theAdBitIsAskedForAndReportedFromATrustedServer() throws Exception {
        Resolver dns = resolver().trustAuthenticatedData(true).build();
        setAd = true;
        Resolver.Lookup<DnsRecord.Mx> secure = dns.authenticatedLookupMx("example.test");
        assertEquals(List.of("mx.example.test"), secure.records().stream().map(DnsRecord.Mx::exchange).toList());
        assertTrue(secure.authenticated());
        setAd = false;
        assertFalse(dns.authenticatedLookupMx("example.test").authenticated(), "no AD in the answer");
        assertEquals(List.of(true, true), askedAd, "both queries asked for the AD bit");
        dns.lookupMx("example.test");
        assertEquals(false, askedAd.get(2), "a plain lookup does not");
    }

    @Test
    void theAdBitIsBelievedOnlyWhenTheOperatorSaysSo() throws Exception {
        setAd = true;
        Resolver unsaid = resolver().build();
        assertFalse(unsaid.trustsAuthenticatedData(), "not trusted unless said, even on loopback (a forwarder may be there)");
        assertFalse(unsaid.authenticatedLookupMx("example.test").authenticated());
        assertFalse(resolver().trustAuthenticatedData(false).build().authenticatedLookupMx("example.test").authenticated());
        assertTrue(Resolver.builder().server("192.0.2.53", 53).trustAuthenticatedData(true).build().trustsAuthenticatedData());
    }

    @Test
    void resolvConfTrustAdMakesARemoteServerTrusted() throws Exception {
        Path conf = dir.resolve("resolv.conf");
        Files.writeString(conf, "nameserver 192.0.2.53\noptions edns0 trust-ad\n");
        assertTrue(Resolver.builder().serversFrom(conf).build().trustsAuthenticatedData());
        Files.writeString(conf, "nameserver 192.0.2.53\noptions edns0\n");
        assertFalse(Resolver.builder().serversFrom(conf).build().trustsAuthenticatedData());
        Files.writeString(conf, "nameserver 192.0.2.53\noptions trust-ad\n");
        assertFalse(Resolver.builder().trustAuthenticatedData(false).serversFrom(conf).build().trustsAuthenticatedData(),
                "an explicit choice stands");
    }
}
