package dev.twine.dns.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.dns.DnsServer;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/** DNS over TLS (RFC 7858) on a tls: endpoint, with EDNS padding (RFC 7830, RFC 8467) of its answers. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DnsOverTlsTest {
    @TempDir
    Path dir;

    @Test
    void paddingFillsTheBlockAndIsOnlyForPaddedQueries() throws Exception {
        Message q = Message.newQuery(Record.newRecord(Name.fromString("www.example.test."), Type.A, DClass.IN));
        q.addRecord(new OPTRecord(1232, 0, 0, 0, List.of(new org.xbill.DNS.GenericEDNSOption(Padding.OPTION, new byte[0]))),
                Section.ADDITIONAL);
        byte[] query = q.toWire();
        TestZones.copyTo(dir);
        byte[] answer = TestZones.responder(dir).answerTcp(query, TestZones.CLIENT).get(0);
        byte[] padded = Padding.pad(query, answer);
        assertEquals(0, padded.length % Padding.BLOCK, "length " + padded.length);
        Message m = new Message(padded);
        assertEquals(1, m.getOPT().getOptions(Padding.OPTION).size());
        assertEquals(new Message(answer).getSection(Section.ANSWER), m.getSection(Section.ANSWER));
        byte[] plain = TestZones.query("www.example.test.", Type.A, 1232);
        assertEquals(answer.length, Padding.pad(plain, answer).length, "an unpadded query gets no padding");
    }

    @Test
    void kdigOverTlsIsAnsweredAndPadded() throws Exception {
        Path kdig = Peers.require("kdig", "knot-dnsutils");
        Path openssl = Peers.require("openssl", "openssl");
        Path cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        Peers.Run made = Peers.run(60, List.of(openssl.toString(), "req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=localhost", "-addext",
                "subjectAltName=IP:127.0.0.1", "-keyout", key.toString(), "-out", cert.toString()));
        assertEquals(0, made.exit(), made.output());
        TestZones.copyTo(dir);
        DnsServer s = DnsServer.builder().zone(dir.resolve("example.test.zone"))
                .listen("tls:0:cert=" + cert + ":key=" + key + ":interface=127.0.0.1").build();
        s.start();
        try {
            Peers.Run r = Peers.run(30, List.of(kdig.toString(), "@127.0.0.1", "-p", String.valueOf(s.port()), "+tls",
                    "+padding", "+norec", "www.example.test", "A"));
            assertTrue(r.output().contains("status: NOERROR") && r.output().contains("192.0.2.20"), r.output());
            assertTrue(r.output().contains("TLS session"), r.output());
            assertTrue(r.output().contains("PADDING"), r.output());
            Matcher size = Pattern.compile(";; Received (\\d+) B").matcher(r.output());
            assertTrue(size.find(), r.output());
            assertEquals(0, Integer.parseInt(size.group(1)) % Padding.BLOCK, r.output());
            // and the ALPN name of RFC 7858 is agreed when the client offers it
            Peers.Run alpn = Peers.run(30, List.of(openssl.toString(), "s_client", "-connect", "127.0.0.1:" + s.port(),
                    "-alpn", "dot"));
            assertTrue(alpn.output().contains("ALPN protocol: dot"), alpn.output());
        } finally {
            s.close();
        }
    }
}
