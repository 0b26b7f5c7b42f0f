package dev.twine.dns.internal;

import dev.twine.dns.DnsRecord;
import java.io.ByteArrayOutputStream;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.NSRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.PTRRecord;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.SRVRecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * Between dnsjava's records and Twine's {@link DnsRecord}s, both ways, names' case kept; and
 * record helpers dnsjava keeps package-private.
 */
public final class Records {
    private Records() {}

    /** {@code r} with another TTL, everything else (case in names included) kept. */
    static Record withTtl(Record r, long ttl) {
        // uncompressed wire form: owner, type (2), class (2), TTL (4), rdlength (2), rdata
        byte[] wire = r.toWire(Section.ANSWER);
        int at = r.getName().length() + 4;
        wire[at] = (byte) (ttl >>> 24);
        wire[at + 1] = (byte) (ttl >>> 16);
        wire[at + 2] = (byte) (ttl >>> 8);
        wire[at + 3] = (byte) ttl;
        try {
            return Record.fromWire(wire, Section.ANSWER);
        } catch (java.io.IOException e) {
            throw new IllegalStateException("re-reading a record dnsjava wrote: " + r, e);
        }
    }

    /** A name in Twine's presentation form: no trailing dot, the root as {@code .}. */
    public static String text(Name n) {
        String s = n.toString();
        return s.length() > 1 && s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
    }

    /**
     * The absolute name {@code text} spells, with or without its trailing dot.
     *
     * @throws TextParseException if it is not a domain name
     */
    public static Name name(String text) throws TextParseException {
        return Name.fromString(text, Name.root);
    }

    /**
     * The absolute name {@code text} spells, as {@link #name}, for configuration.
     *
     * @throws IllegalArgumentException if it is not a domain name
     */
    public static Name nameOrThrow(String text) {
        try {
            return name(text);
        } catch (TextParseException e) {
            throw new IllegalArgumentException("not a domain name: '" + text + "'", e);
        }
    }

    /**
     * {@code r} as a Twine record, TXT strings decoded as UTF-8 (lossy, as a resolver client
     * reads them); a type without a record class is {@link DnsRecord.Other}.
     */
    public static DnsRecord typed(Record r) throws UnknownHostException {
        return convert(r, false);
    }

    /** {@code r} as a Twine record that {@link #wire} turns back into the same bytes. */
    static DnsRecord exact(Record r) throws UnknownHostException {
        return convert(r, true);
    }

    static List<DnsRecord> exact(List<Record> records) throws UnknownHostException {
        List<DnsRecord> out = new ArrayList<>(records.size());
        for (Record r : records) {
            out.add(exact(r));
        }
        return out;
    }

    private static DnsRecord convert(Record r, boolean exact) throws UnknownHostException {
        String owner = text(r.getName());
        long ttl = r.getTTL();
        return switch (r) {
            case ARecord a -> new DnsRecord.A(owner, ttl, (java.net.Inet4Address) a.getAddress());
            case AAAARecord a -> new DnsRecord.Aaaa(owner, ttl, v6(a.getAddress()));
            case MXRecord m -> new DnsRecord.Mx(owner, ttl, m.getPriority(), text(m.getTarget()));
            case TXTRecord t -> {
                List<String> strings = new ArrayList<>();
                for (byte[] b : t.getStringsAsByteArrays()) {
                    if (exact) {
                        try {
                            strings.add(StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(b)).toString());
                        } catch (CharacterCodingException notUtf8) {
                            yield other(r);
                        }
                    } else {
                        strings.add(new String(b, StandardCharsets.UTF_8));
                    }
                }
                yield new DnsRecord.Txt(owner, ttl, strings);
            }
            case SRVRecord s -> new DnsRecord.Srv(owner, ttl, s.getPriority(), s.getWeight(), s.getPort(), text(s.getTarget()));
            case CNAMERecord c -> new DnsRecord.Cname(owner, ttl, text(c.getTarget()));
            case NSRecord n -> new DnsRecord.Ns(owner, ttl, text(n.getTarget()));
            case PTRRecord p -> new DnsRecord.Ptr(owner, ttl, text(p.getTarget()));
            case SOARecord s -> new DnsRecord.Soa(owner, ttl, text(s.getHost()), text(s.getAdmin()), s.getSerial(),
                    s.getRefresh(), s.getRetry(), s.getExpire(), s.getMinimum());
            default -> other(r);
        };
    }

    private static DnsRecord other(Record r) {
        // the record's uncompressed wire form: owner, type, class, TTL, rdlength (10), rdata
        byte[] wire = r.toWire(Section.ANSWER);
        int from = r.getName().length() + 10;
        return new DnsRecord.Other(text(r.getName()), r.getTTL(), r.getType(),
                java.util.Arrays.copyOfRange(wire, from, wire.length));
    }

    private static Inet6Address v6(InetAddress a) throws UnknownHostException {
        if (a instanceof Inet6Address six) {
            return six;
        }
        // an IPv4-mapped AAAA comes back from the JDK as an Inet4Address
        byte[] mapped = new byte[16];
        mapped[10] = (byte) 0xff;
        mapped[11] = (byte) 0xff;
        System.arraycopy(a.getAddress(), 0, mapped, 12, 4);
        return Inet6Address.getByAddress(null, mapped, -1);
    }

    /**
     * {@code r} as a dnsjava record of class IN.
     *
     * @throws IllegalArgumentException if a name is not a domain name, a TTL is out of range
     *     (RFC 2181 §8) or a TXT string is longer than 255 bytes (RFC 1035 §3.3)
     */
    static Record wire(DnsRecord r) throws TextParseException {
        Name owner = name(r.name());
        long ttl = r.ttl();
        return switch (r) {
            case DnsRecord.A a -> new ARecord(owner, DClass.IN, ttl, a.address());
            case DnsRecord.Aaaa a -> new AAAARecord(owner, DClass.IN, ttl, a.address());
            case DnsRecord.Mx m -> new MXRecord(owner, DClass.IN, ttl, m.preference(), name(m.exchange()));
            case DnsRecord.Txt t -> {
                // from the bytes, not dnsjava's text constructor, which would read escapes in them
                ByteArrayOutputStream data = new ByteArrayOutputStream();
                for (String s : t.strings()) {
                    byte[] b = s.getBytes(StandardCharsets.UTF_8);
                    if (b.length > 255) {
                        throw new IllegalArgumentException("a TXT string is longer than 255 bytes: " + r.name());
                    }
                    data.write(b.length);
                    data.writeBytes(b);
                }
                yield Record.newRecord(owner, Type.TXT, DClass.IN, ttl, data.toByteArray());
            }
            case DnsRecord.Srv s -> new SRVRecord(owner, DClass.IN, ttl, s.priority(), s.weight(), s.port(), name(s.target()));
            case DnsRecord.Cname c -> new CNAMERecord(owner, DClass.IN, ttl, name(c.target()));
            case DnsRecord.Ns n -> new NSRecord(owner, DClass.IN, ttl, name(n.target()));
            case DnsRecord.Ptr p -> new PTRRecord(owner, DClass.IN, ttl, name(p.target()));
            case DnsRecord.Soa s -> new SOARecord(owner, DClass.IN, ttl, name(s.primary()), name(s.admin()), s.serial(),
                    s.refresh(), s.retry(), s.expire(), s.minimum());
            case DnsRecord.Other o -> Record.newRecord(owner, o.typeCode(), DClass.IN, ttl, o.data());
        };
    }
}
