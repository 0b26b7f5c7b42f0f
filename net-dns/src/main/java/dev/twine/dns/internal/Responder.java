package dev.twine.dns.internal;

import java.io.IOException;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Header;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.Message;
import org.xbill.DNS.NSRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.SRVRecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * The request path: bytes of a query in, bytes of the response out. Answers authoritatively from
 * the current {@link ZoneSet} (RFC 1034 §4.3.2), forwards the rest when a {@link Forwarder} is
 * set, and refuses otherwise. Never throws for bad input: a packet too short for a header, or a
 * response, is dropped; one that does not parse gets FORMERR (RFC 1035 §4.1.1). Authoritative
 * answers are kept in wire format in the zone set's {@link AnswerCache}, so a repeated query is
 * answered with a copy carrying its own ID.
 */
public final class Responder {
    /** The largest UDP response this server sends whatever the client offers (RFC 6891 §6.2.5). */
    public static final int MAX_UDP = 1232;
    private static final int MAX_CHAIN = 12;

    private final Supplier<ZoneSet> zones;
    private final Forwarder forwarder;
    private final Predicate<InetAddress> mayTransfer;
    private final Predicate<InetAddress> mayForward;

    /**
     * What the request path produced, and whether it may be reused for any query of the same
     * {@link AnswerCache#shape shape} and question: true only for answers computed from the zones
     * alone (not forwarded, not a transfer, not an error about the query itself).
     */
    private record Result(List<byte[]> messages, boolean cacheable) {
        static Result once(List<byte[]> messages) {
            return new Result(messages, false);
        }
    }

    /**
     * A responder that forwards for loopback clients only.
     *
     * @param zones the zones in force, read once per query (so a reload never tears an answer)
     * @param forwarder where names outside the zones go, or null to refuse them
     * @param mayTransfer which clients may AXFR
     */
    public Responder(Supplier<ZoneSet> zones, Forwarder forwarder, Predicate<InetAddress> mayTransfer) {
        this(zones, forwarder, mayTransfer, InetAddress::isLoopbackAddress);
    }

    /**
     * @param zones the zones in force, read once per query (so a reload never tears an answer)
     * @param forwarder where names outside the zones go, or null to refuse them
     * @param mayTransfer which clients may AXFR
     * @param mayForward which clients the forwarder serves; the others get REFUSED for names
     *     outside the zones
     */
    public Responder(Supplier<ZoneSet> zones, Forwarder forwarder, Predicate<InetAddress> mayTransfer,
            Predicate<InetAddress> mayForward) {
        this.zones = zones;
        this.forwarder = forwarder;
        this.mayTransfer = mayTransfer;
        this.mayForward = mayForward;
    }

    /** The response to a UDP query, or empty to drop it. Never throws. */
    public Optional<byte[]> answerUdp(byte[] query, InetAddress peer) {
        List<byte[]> out = answer(query, peer, false);
        return out.isEmpty() ? Optional.empty() : Optional.of(out.get(0));
    }

    /**
     * The responses to a TCP query, in order (several for a zone transfer), or empty to send
     * nothing. Never throws.
     */
    public List<byte[]> answerTcp(byte[] query, InetAddress peer) {
        return answer(query, peer, true);
    }

    private List<byte[]> answer(byte[] wire, InetAddress peer, boolean tcp) {
        try {
            // the zones are read once per query, so a reload never mixes two sets in one answer
            ZoneSet set = zones.get();
            long shape = AnswerCache.shape(wire, tcp);
            if (shape < 0) {
                return answerOrThrow(wire, peer, tcp, set).messages();
            }
            AnswerCache cache = set.answers();
            byte[] hit = cache.find(wire, shape);
            if (hit != null) {
                return List.of(hit);
            }
            Result r = answerOrThrow(wire, peer, tcp, set);
            if (r.cacheable() && r.messages().size() == 1) {
                cache.put(wire, shape, r.messages().get(0));
            }
            return r.messages();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return List.of();
        } catch (Exception | StackOverflowError e) {
            // a bug must not kill the listener: answer SERVFAIL (RFC 1035 §4.1.1) and go on
            return wire.length >= 12 ? List.of(bareHeader(wire, Rcode.SERVFAIL)) : List.of();
        }
    }

    private Result answerOrThrow(byte[] wire, InetAddress peer, boolean tcp, ZoneSet set) throws InterruptedException {
        if (wire.length < 12 || (wire[2] & 0x80) != 0) {
            return Result.once(List.of()); // no header to answer, or a response: never answer one (loops)
        }
        Message q;
        try {
            q = new Message(wire);
        } catch (IOException | RuntimeException e) {
            return Result.once(List.of(bareHeader(wire, Rcode.FORMERR)));
        }
        Header h = q.getHeader();
        List<Record> questions = q.getSection(Section.QUESTION);
        OPTRecord opt = q.getOPT();
        long opts = q.getSection(Section.ADDITIONAL).stream().filter(r -> r.getType() == Type.OPT).count();
        int limit = tcp ? 65_535 : 512;
        if (opt != null && !tcp) {
            limit = Math.max(512, Math.min(opt.getPayloadSize(), MAX_UDP));
        }
        Message r = reply(q);
        if (h.getOpcode() != Opcode.QUERY) {
            r.getHeader().setRcode(Rcode.NOTIMP);
            return Result.once(List.of(finish(r, opt, limit)));
        }
        if (questions.size() != 1 || opts > 1 || opt != null && !opt.getName().equals(Name.root)) {
            r.getHeader().setRcode(Rcode.FORMERR); // RFC 6891 §6.1.1: one OPT, owned by the root
            return Result.once(List.of(finish(r, opt, limit)));
        }
        if (opt != null && opt.getVersion() > 0) {
            // RFC 6891 §6.1.3: BADVERS (16) is carried in the OPT's extended rcode
            Message bad = reply(q);
            bad.addRecord(new OPTRecord(MAX_UDP, Rcode.BADVERS >>> 4, 0, 0), Section.ADDITIONAL);
            return Result.once(List.of(bad.toWire(limit)));
        }
        Record question = questions.get(0);
        int qtype = question.getType();
        int qclass = question.getDClass();
        if (qtype == Type.AXFR || qtype == Type.IXFR) {
            if (!tcp) {
                r.getHeader().setRcode(Rcode.FORMERR); // RFC 5936 §4.2: not over UDP
                return Result.once(List.of(finish(r, opt, limit)));
            }
            return Result.once(transfer(set, q, r, peer, opt));
        }
        if (qtype == Type.OPT || qtype >= 128 && qtype < Type.ANY) {
            // OPT is no question (RFC 6891 §6.1.1); MAILA/MAILB and other meta-types: not served
            r.getHeader().setRcode(qtype == Type.OPT ? Rcode.FORMERR : Rcode.NOTIMP);
            return Result.once(List.of(finish(r, opt, limit)));
        }
        Zone zone = set.find(question.getName());
        if (zone == null || qclass != DClass.IN && qclass != DClass.ANY) {
            // Not an open resolver: forward only for the clients allowed to recurse, and only
            // when they asked for recursion (RD, RFC 1035 §4.1.1); everyone else gets REFUSED
            // for names we are not authoritative for, as NSD and Knot answer (RFC 1035 §4.1.1:
            // "refuse to perform the specified operation for policy reasons").
            if (forwarder != null && qclass == DClass.IN && h.getFlag(Flags.RD) && peer != null
                    && mayForward.test(peer)) {
                Message f = forwarder.resolve(q);
                f.getHeader().setID(h.getID());
                return Result.once(List.of(finish(f, opt, limit)));
            }
            r.getHeader().setRcode(Rcode.REFUSED);
            return Result.once(List.of(finish(r, opt, limit)));
        }
        resolve(set, question.getName(), qtype, tcp, r);
        return new Result(List.of(finish(r, opt, limit)), true);
    }

    /** A response skeleton: same ID, opcode, RD and CD, the question as asked (case kept). */
    private static Message reply(Message q) {
        Message r = new Message(q.getHeader().getID());
        Header rh = r.getHeader();
        rh.setFlag(Flags.QR);
        rh.setOpcode(q.getHeader().getOpcode());
        if (q.getHeader().getFlag(Flags.RD)) {
            rh.setFlag(Flags.RD);
        }
        if (q.getHeader().getFlag(Flags.CD)) {
            rh.setFlag(Flags.CD);
        }
        for (Record question : q.getSection(Section.QUESTION)) {
            r.addRecord(question, Section.QUESTION);
        }
        return r;
    }

    private static byte[] finish(Message r, OPTRecord queryOpt, int limit) {
        if (queryOpt != null) {
            // RFC 6891 §6.1.1: answer EDNS with EDNS, offering our own payload size
            r.addRecord(new OPTRecord(MAX_UDP, 0, 0, 0), Section.ADDITIONAL);
        }
        // dnsjava drops whole RRsets that do not fit and sets TC unless only the additional
        // section lost data (RFC 2181 §9)
        return r.toWire(limit);
    }

    /** A header-only response to a packet that did not parse: its ID and opcode, RD kept. */
    static byte[] bareHeader(byte[] wire, int rcode) {
        byte[] out = new byte[12];
        out[0] = wire[0];
        out[1] = wire[1];
        out[2] = (byte) (0x80 | wire[2] & 0x79); // QR, opcode and RD kept; AA, TC cleared
        out[3] = (byte) (rcode & 0x0f);
        return out;
    }

    /** Fills {@code r} with the authoritative answer for (qname, qtype). */
    void resolve(ZoneSet set, Name qname, int qtype, boolean tcp, Message r) {
        Header h = r.getHeader();
        h.setFlag(Flags.AA);
        Name current = qname;
        Set<Name> seen = new HashSet<>();
        for (int hop = 0; hop < MAX_CHAIN; hop++) {
            Zone zone = set.find(current);
            if (zone == null || !seen.add(current)) {
                return; // the chain leaves our zones (the client resolves on), or loops
            }
            Name cut = zone.delegation(current);
            if (cut != null && !(qtype == Type.DS && cut.equals(current))) {
                // RFC 1034 §4.3.2 step 3b: a referral, not authoritative, with glue
                if (hop == 0) {
                    h.unsetFlag(Flags.AA);
                }
                referral(zone, cut, r);
                return;
            }
            Map<Integer, List<Record>> node = zone.node(current);
            Name owner = current;
            if (node.isEmpty() && !zone.exists(current)) {
                // RFC 4592 §3.3.1: the source of synthesis is "*." + the closest encloser
                Name encloser = Zone.parent(current);
                while (!zone.exists(encloser)) {
                    encloser = Zone.parent(encloser);
                }
                node = zone.node(wildcard(encloser));
                if (node.isEmpty()) {
                    h.setRcode(Rcode.NXDOMAIN); // RFC 6604 §3: the last name in the chain decides
                    negative(zone, r);
                    return;
                }
            }
            if (qtype == Type.ANY) {
                if (node.isEmpty()) {
                    negative(zone, r); // an empty non-terminal: NODATA
                } else {
                    any(node, owner, tcp, r);
                }
                return;
            }
            List<Record> answer = node.get(qtype);
            if (answer != null) {
                add(answer, owner, r, Section.ANSWER);
                additional(set, answer, r);
                return;
            }
            List<Record> cname = node.get(Type.CNAME);
            if (cname != null) {
                // RFC 1034 §4.3.2 step 3a: answer the alias and go on with its target
                add(cname, owner, r, Section.ANSWER);
                current = ((CNAMERecord) cname.get(0)).getTarget();
                continue;
            }
            negative(zone, r); // NODATA (RFC 2308 §2.2)
            return;
        }
    }

    private static Name wildcard(Name encloser) {
        try {
            return Name.concatenate(Name.fromConstantString("*"), encloser);
        } catch (org.xbill.DNS.NameTooLongException e) {
            return encloser; // a wildcard under a maximal name cannot exist
        }
    }

    /** RFC 8482 §4.2: over UDP, one RRset (the lowest type); over TCP everything. */
    private static void any(Map<Integer, List<Record>> node, Name owner, boolean tcp, Message r) {
        if (tcp) {
            for (List<Record> set : node.values()) {
                add(set, owner, r, Section.ANSWER);
            }
        } else {
            int lowest = node.keySet().stream().min(Integer::compare).orElseThrow();
            add(node.get(lowest), owner, r, Section.ANSWER);
        }
    }

    private static void add(List<Record> set, Name owner, Message r, int section) {
        for (Record rec : set) {
            // the owner as the client spelled it (and as a wildcard expands to)
            r.addRecord(rec.getName() == owner ? rec : rec.withName(owner), section);
        }
    }

    private static void negative(Zone zone, Message r) {
        SOARecord soa = zone.soa();
        // RFC 2308 §3: the SOA's TTL is the lesser of its own TTL and its MINIMUM field
        long ttl = Math.min(soa.getTTL(), soa.getMinimum());
        r.addRecord(Records.withTtl(soa, ttl), Section.AUTHORITY);
    }

    private static void referral(Zone zone, Name cut, Message r) {
        List<Record> ns = zone.node(cut).get(Type.NS);
        for (Record rec : ns) {
            r.addRecord(rec, Section.AUTHORITY);
        }
        for (Record rec : ns) {
            Name target = ((NSRecord) rec).getTarget();
            if (target.subdomain(zone.origin())) {
                glue(zone.node(target), r);
            }
        }
    }

    private static void glue(Map<Integer, List<Record>> node, Message r) {
        for (int t : new int[] {Type.A, Type.AAAA}) {
            List<Record> set = node.get(t);
            if (set != null) {
                for (Record rec : set) {
                    if (!r.findRecord(rec, Section.ADDITIONAL)) {
                        r.addRecord(rec, Section.ADDITIONAL);
                    }
                }
            }
        }
    }

    /** RFC 1035 §3.3.9/§3.3.11, RFC 2782: addresses of MX, NS and SRV targets in our zones. */
    private static void additional(ZoneSet set, List<Record> answer, Message r) {
        for (Record rec : answer) {
            Name target = switch (rec) {
                case MXRecord m -> m.getTarget();
                case NSRecord n -> n.getTarget();
                case SRVRecord s -> s.getTarget();
                default -> null;
            };
            if (target != null) {
                Zone z = set.find(target);
                if (z != null && z.delegation(target) == null) {
                    glue(z.node(target), r);
                }
            }
        }
    }

    /** AXFR (RFC 5936): SOA, every record, SOA, in messages of up to about 16 KiB. */
    private List<byte[]> transfer(ZoneSet set, Message q, Message r, InetAddress peer, OPTRecord opt) {
        Record question = q.getQuestion();
        Zone zone = set.find(question.getName());
        if (zone == null || !zone.origin().equals(question.getName()) || !mayTransfer.test(peer)) {
            // RFC 5936 §4.2: not allowed → REFUSED (as NSD does); not our zone → NOTAUTH
            r.getHeader().setRcode(zone == null || !zone.origin().equals(question.getName()) ? Rcode.NOTAUTH : Rcode.REFUSED);
            return List.of(finish(r, opt, 65_535));
        }
        List<byte[]> out = new ArrayList<>();
        List<Record> all = new ArrayList<>(zone.records());
        all.add(zone.soa());
        Message m = transferMessage(q, true);
        int size = 0;
        for (Record rec : all) {
            if (size > 16_000) {
                out.add(m.toWire());
                m = transferMessage(q, false);
                size = 0;
            }
            m.addRecord(rec, Section.ANSWER);
            size += rec.toWire(Section.ANSWER).length;
        }
        out.add(m.toWire());
        return out;
    }

    private static Message transferMessage(Message q, boolean first) {
        Message m = new Message(q.getHeader().getID());
        m.getHeader().setFlag(Flags.QR);
        m.getHeader().setFlag(Flags.AA);
        if (first) {
            // RFC 5936 §2.2.1: the question goes in the first message only
            m.addRecord(q.getQuestion(), Section.QUESTION);
        }
        return m;
    }
}
