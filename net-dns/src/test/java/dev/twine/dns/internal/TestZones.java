package dev.twine.dns.internal;

import dev.twine.dns.DnsAuthority;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/** The test zones copied out of the test resources, and a way to ask the request path. */
final class TestZones {
    static final String[] FILES = {"example.test.zone", "included.inc", "other.test.zone", "bad.zone"};
    static final InetAddress CLIENT = InetAddress.getLoopbackAddress();

    private TestZones() {}

    /** Copies the zone files into {@code dir}; returns the directory. */
    static Path copyTo(Path dir) throws IOException {
        for (String f : FILES) {
            try (InputStream in = TestZones.class.getResourceAsStream("/zones/" + f)) {
                Files.copy(in, dir.resolve(f));
            }
        }
        return dir;
    }

    /** The request path over the two test zones, transfers allowed to loopback clients. */
    static Responder responder(Path dir) throws ZoneFileException {
        return responder(zones(dir));
    }

    /** The zone-file authority over the two test zones. */
    static ZoneAuthority zones(Path dir) throws ZoneFileException {
        return new ZoneAuthority(List.of(dir.resolve("example.test.zone"), dir.resolve("other.test.zone")));
    }

    /** The request path over these authorities in order, transfers allowed to loopback clients. */
    static Responder responder(DnsAuthority... chain) {
        return new Responder(AuthorityChain.of(List.of(chain)), InetAddress::isLoopbackAddress);
    }

    /** A query's wire form: one question, RD clear, EDNS0 with {@code udpSize} unless it is 0. */
    static byte[] query(String name, int type, int udpSize) throws IOException {
        Message q = Message.newQuery(Record.newRecord(Name.fromString(name), type, DClass.IN));
        q.getHeader().unsetFlag(org.xbill.DNS.Flags.RD);
        q.getHeader().setID(4242);
        if (udpSize > 0) {
            q.addRecord(new OPTRecord(udpSize, 0, 0, 0), Section.ADDITIONAL);
        }
        return q.toWire();
    }

    /** A query's wire form with RD set (recursion desired), EDNS0 with 1232, ID 4242. */
    static byte[] recursiveQuery(String name, int type) throws IOException {
        Message q = new Message(query(name, type, 1232));
        q.getHeader().setFlag(org.xbill.DNS.Flags.RD);
        return q.toWire();
    }

    /** Asks {@code r} over UDP with RD set, as {@code peer}. */
    static Message recursive(Responder r, String name, int type, InetAddress peer) throws IOException {
        byte[] out = r.answerUdp(recursiveQuery(name, type), peer).orElseThrow(() -> new AssertionError("no answer"));
        return new Message(out);
    }

    static Message udp(Responder r, String name, int type) throws IOException {
        return udp(r, name, type, 1232);
    }

    static Message udp(Responder r, String name, int type, int udpSize) throws IOException {
        byte[] out = r.answerUdp(query(name, type, udpSize), CLIENT).orElseThrow(() -> new AssertionError("no answer"));
        return new Message(out);
    }

    static Message tcp(Responder r, String name, int type) throws IOException {
        List<byte[]> out = r.answerTcp(query(name, type, 0), CLIENT);
        if (out.size() != 1) {
            throw new AssertionError("expected one message, got " + out.size());
        }
        return new Message(out.get(0));
    }

    static List<String> rdata(Message m, int section, int type) {
        return m.getSection(section).stream().filter(r -> r.getType() == type).map(Record::rdataToString).toList();
    }

    static List<String> owners(Message m, int section) {
        return m.getSection(section).stream().map(r -> r.getName().toString()).toList();
    }

    static final int A = Type.A;
}
