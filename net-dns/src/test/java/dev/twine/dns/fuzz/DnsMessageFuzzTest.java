package dev.twine.dns.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.twine.dns.internal.AuthorityChain;
import dev.twine.dns.internal.Responder;
import dev.twine.dns.internal.ZoneAuthority;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Rcode;

/**
 * The server's answer path ({@link Responder}, what the UDP and TCP listeners call) on arbitrary
 * packets (issue 16). If a packet has a header and is not a response, then it gets exactly one
 * UDP reply that dnsjava parses again, with the query's ID, QR set, within the UDP size limit,
 * and never SERVFAIL (the zones here are authoritative: SERVFAIL would mean an exception inside
 * the answer path). Over TCP every message parses and fits a 16-bit length.
 */
class DnsMessageFuzzTest {
    private static final InetAddress CLIENT = InetAddress.getLoopbackAddress();
    private static final Responder DNS = responder();

    @FuzzTest(maxDuration = "10m")
    void answersEveryQueryWithAParsableReply(byte[] packet) throws IOException {
        boolean answerable = packet.length >= 12 && (packet[2] & 0x80) == 0;
        Optional<byte[]> udp = DNS.answerUdp(packet, CLIENT);
        assertEquals(answerable, udp.isPresent(), "a query is answered, a response or a runt is dropped");
        if (udp.isPresent()) {
            byte[] out = udp.get();
            assertTrue(out.length <= Responder.MAX_UDP, "UDP reply of " + out.length + " bytes");
            Message m = reparse(out);
            assertEquals(((packet[0] & 0xff) << 8) | (packet[1] & 0xff), m.getHeader().getID());
            assertTrue(m.getHeader().getFlag(Flags.QR));
            assertNotEquals(Rcode.SERVFAIL, m.getRcode(), "SERVFAIL: the answer path threw");
        }
        List<byte[]> tcp = DNS.answerTcp(packet, CLIENT);
        for (byte[] out : tcp) {
            assertTrue(out.length <= 65_535);
            assertNotEquals(Rcode.SERVFAIL, reparse(out).getRcode(), "SERVFAIL: the answer path threw");
        }
    }

    private static Message reparse(byte[] reply) {
        try {
            return new Message(reply);
        } catch (IOException e) {
            return fail("the reply does not parse: " + e);
        }
    }

    private static Responder responder() {
        try {
            Path dir = Files.createTempDirectory("twine-dns-fuzz");
            Path zone = dir.resolve("fuzz.test.zone");
            Files.writeString(zone, """
                    $ORIGIN fuzz.test.
                    $TTL 3600
                    @       IN SOA ns1 hostmaster 1 3600 600 604800 300
                            IN NS  ns1
                            IN MX  10 mx
                            IN TXT "v=spf1 -all"
                    ns1     IN A   192.0.2.1
                    mx      IN A   192.0.2.10
                    www     IN A   192.0.2.20
                            IN AAAA 2001:db8::20
                    alias   IN CNAME www
                    loop1   IN CNAME loop2
                    loop2   IN CNAME loop1
                    *.wild  IN A   192.0.2.30
                    sub     IN NS  ns.sub
                    ns.sub  IN A   192.0.2.50
                    _sip._tcp IN SRV 0 5 5060 www
                    """, StandardCharsets.US_ASCII);
            ZoneAuthority zones = new ZoneAuthority(List.of(zone));
            return new Responder(AuthorityChain.of(List.of(zones)), InetAddress::isLoopbackAddress);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
