package dev.twine.dns.internal;

import dev.twine.dns.DnsAnswer;
import dev.twine.dns.DnsQuestion;
import dev.twine.dns.DnsRecord;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.Predicate;
import org.xbill.DNS.ExtendedFlags;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Header;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.TSIG;
import org.xbill.DNS.TSIGRecord;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * The request path: bytes of a query in, bytes of the response out. Parses and checks the query,
 * asks the chain of authorities, and writes their answer in wire form (flags, EDNS, truncation);
 * AXFR it answers from the zone-file authority itself. Never throws for bad input: a packet too
 * short for a header, or a response, is dropped; one that does not parse gets FORMERR (RFC 1035
 * §4.1.1). When the zone-file authority comes first in the chain, its answers are kept in wire
 * format in the zone set's {@link AnswerCache}, so a repeated query is answered with a copy
 * carrying its own ID; no other authority's answers are cached.
 */
public final class Responder {
    private static final System.Logger LOG = System.getLogger("dev.twine.dns");
    /** The largest UDP response this server sends whatever the client offers (RFC 6891 §6.2.5). */
    public static final int MAX_UDP = 1232;

    private final AuthorityChain chain;
    /** The zones whose answers are cached: the chain's first member, if it is the zone files. */
    private final ZoneAuthority cached;
    /** The zones AXFR serves: the chain's zone-file authority, if it has one. */
    private final ZoneAuthority transfers;
    private final Predicate<InetAddress> mayTransfer;
    private final Cookies cookies;
    /** UDP response rate limiting, or null for none. */
    private final RateLimiter rrl;
    /** The keys transfers must be signed with (RFC 8945), or null when the address alone decides. */
    private final TsigKeys transferKeys;
    /** Where answers are counted, or null. */
    private final QueryStats stats;
    /** The secondary zones by origin, whose primaries may NOTIFY us (RFC 1996). */
    private final Map<Name, Secondary> secondaries;

    /**
     * What the request path produced, and whether it may be reused for any query of the same
     * {@link AnswerCache#shape shape} and question: true only for answers the zone files gave as
     * the chain's first member (not forwarded, not a transfer, not an error about the query).
     */
    private record Result(List<byte[]> messages, boolean cacheable) {
        static Result once(List<byte[]> messages) {
            return new Result(messages, false);
        }
    }

    /**
     * @param chain the authorities, asked in order
     * @param mayTransfer which clients may AXFR
     */
    public Responder(AuthorityChain chain, Predicate<InetAddress> mayTransfer) {
        this(chain, mayTransfer, new Cookies(java.time.Clock.systemUTC()), null, null, null, Map.of());
    }

    /**
     * The server's request path: cookies stamped on {@code clock}, and a UDP rate limit of
     * {@code perSecond} responses per prefix and response (0 = none).
     */
    public static Responder of(AuthorityChain chain, Predicate<InetAddress> mayTransfer, java.time.Clock clock,
            int perSecond, int slip, int v4Prefix, int v6Prefix) {
        RateLimiter rrl = perSecond == 0 ? null : new RateLimiter(perSecond, slip, v4Prefix, v6Prefix, clock);
        return new Responder(chain, mayTransfer, new Cookies(clock), rrl, null, null, Map.of());
    }

    /** This request path with transfers (AXFR, IXFR) allowed only when signed with one of {@code keys}. */
    public Responder requiringTsig(TsigKeys keys) {
        return new Responder(chain, mayTransfer, cookies, rrl, keys, stats, secondaries);
    }

    /** This request path taking NOTIFY (RFC 1996) for these secondary zones from their primaries. */
    public Responder withSecondaries(List<Secondary> zones) {
        Map<Name, Secondary> m = new HashMap<>();
        for (Secondary z : zones) {
            m.put(z.origin(), z);
        }
        return new Responder(chain, mayTransfer, cookies, rrl, transferKeys, stats, Map.copyOf(m));
    }

    /**
     * This request path counting its responses in {@code metrics} (by rcode, type, transport and
     * the zone of {@code zones}, which may be null) and what the rate limit holds back.
     */
    public Responder counting(dev.twine.core.Metrics metrics, ZoneAuthority zones) {
        return new Responder(chain, mayTransfer, cookies, rrl, transferKeys, new QueryStats(metrics, zones, rrl), secondaries);
    }

    /**
     * @param chain the authorities, asked in order
     * @param mayTransfer which clients may AXFR
     * @param cookies how server cookies are made and checked
     * @param rrl the UDP response rate limit, or null for none
     */
    Responder(AuthorityChain chain, Predicate<InetAddress> mayTransfer, Cookies cookies, RateLimiter rrl,
            TsigKeys transferKeys, QueryStats stats, Map<Name, Secondary> secondaries) {
        this.secondaries = secondaries;
        this.stats = stats;
        this.transferKeys = transferKeys;
        this.cookies = cookies;
        this.rrl = rrl;
        this.chain = chain;
        this.cached = chain.members().get(0) instanceof ZoneAuthority z ? z : null;
        this.transfers = chain.members().stream().filter(ZoneAuthority.class::isInstance).map(ZoneAuthority.class::cast)
                .findFirst().orElse(null);
        this.mayTransfer = mayTransfer;
    }

    /**
     * The response to a UDP query, or empty to drop it. Never throws. The rate limit applies
     * here, except to clients that sent a valid server cookie (RFC 7873 §5.2.5: their address is
     * not spoofed); a limited client that sent a client cookie gets BADCOOKIE with a fresh one
     * instead of TC (RFC 7873 §5.2.3), so its retry carries a cookie the limit lets through.
     */
    public Optional<byte[]> answerUdp(byte[] query, InetAddress peer) {
        List<byte[]> out = answer(query, peer, false);
        if (out.isEmpty()) {
            return Optional.empty();
        }
        byte[] r = out.get(0);
        Cookies.Found cookie = Cookies.find(query);
        if (limited(cookie, peer)) {
            switch (rrl.check(peer, r)) {
                case DROP -> {
                    return Optional.empty();
                }
                case SLIP -> {
                    return Optional.of(counted(cookie == null ? RateLimiter.truncated(r) : badCookie(r, cookie, peer), "udp"));
                }
                case SEND -> { }
            }
        }
        return Optional.of(counted(withCookie(r, cookie, peer), "udp"));
    }

    /**
     * The response to a UDP query when it is ready without work that may block: from the answer
     * cache, and within the rate limit. Empty when it is not (no such answer cached, or the rate
     * limit would hold it back, which then counts nothing): {@link #answerUdp} then gives the
     * response, exactly as it would have without this call. Never throws, never blocks.
     */
    public Optional<byte[]> answerUdpAtOnce(byte[] query, InetAddress peer) {
        byte[] r = cachedAnswer(query, false);
        if (r == null) {
            return Optional.empty();
        }
        Cookies.Found cookie = Cookies.find(query);
        if (limited(cookie, peer) && !rrl.trySend(peer, r)) {
            return Optional.empty(); // to answerUdp, which counts it as limited once and decides
        }
        return Optional.of(counted(withCookie(r, cookie, peer), "udp"));
    }

    /** Whether the rate limit applies to this client: there is one, and no valid server cookie. */
    private boolean limited(Cookies.Found cookie, InetAddress peer) {
        return rrl != null && (cookie == null || !cookies.valid(cookie, peer));
    }

    /**
     * The responses to a TCP query, in order (several for a zone transfer), or empty to send
     * nothing. Never throws.
     */
    public List<byte[]> answerTcp(byte[] query, InetAddress peer) {
        List<byte[]> out = answer(query, peer, true);
        if (!out.isEmpty()) {
            counted(out.get(0), "tcp"); // a transfer of many messages is one response
        }
        Cookies.Found cookie = Cookies.find(query);
        if (cookie == null || out.isEmpty()) {
            return out;
        }
        List<byte[]> with = new ArrayList<>(out.size());
        for (byte[] m : out) {
            with.add(withCookie(m, cookie, peer));
        }
        return with;
    }

    private byte[] counted(byte[] response, String transport) {
        if (stats != null) {
            stats.count(response, transport);
        }
        return response;
    }

    /** RFC 7873 §5.2: a response to a query with a client cookie carries it and our server cookie. */
    private byte[] withCookie(byte[] response, Cookies.Found cookie, InetAddress peer) {
        return cookie == null ? response : Cookies.attach(response, cookies.responseOption(cookie, peer));
    }

    /** BADCOOKIE (extended rcode 23, RFC 7873 §8): the header and question, an OPT with a fresh cookie. */
    private byte[] badCookie(byte[] response, Cookies.Found cookie, InetAddress peer) {
        byte[] bare = RateLimiter.truncated(response);
        bare[2] &= ~0x02; // not truncated: the client is to retry with the cookie, not over TCP
        bare[3] = (byte) (bare[3] & 0xF0 | Rcode.BADCOOKIE & 0x0F);
        bare[11] = 1;
        byte[] opt = new OPTRecord(MAX_UDP, Rcode.BADCOOKIE >>> 4, 0, 0).toWire(Section.ADDITIONAL);
        byte[] out = java.util.Arrays.copyOf(bare, bare.length + opt.length);
        System.arraycopy(opt, 0, out, bare.length, opt.length);
        return withCookie(out, cookie, peer);
    }

    /**
     * Answers a few questions about each zone file's zone (its SOA with DO, a name it lacks, a
     * type its apex lacks) on the calling thread, uncounted, so that the classes of the request
     * path are loaded before queries run on many virtual threads at once: loading a class that
     * another thread is loading pins the waiting thread to its carrier (JDK 25). The answers stay
     * in the cache, as the first real queries would have put them there.
     */
    void warmUp() {
        ZoneSet set = cached == null ? null : cached.current();
        if (set == null) {
            return;
        }
        for (Zone z : set.zones().subList(0, Math.min(set.zones().size(), 4))) {
            try {
                for (int type : new int[] {Type.SOA, Type.NULL}) {
                    Message q = Message.newQuery(Record.newRecord(z.origin(), type, org.xbill.DNS.DClass.IN));
                    q.addRecord(new OPTRecord(MAX_UDP, 0, 0, ExtendedFlags.DO), Section.ADDITIONAL);
                    answer(q.toWire(), null, false);
                    q = Message.newQuery(Record.newRecord(Name.concatenate(Name.fromConstantString("twine-warm-up"),
                            z.origin()), type, org.xbill.DNS.DClass.IN));
                    answer(q.toWire(), null, false);
                }
            } catch (org.xbill.DNS.NameTooLongException tooLong) {
                // an origin too long for the extra label: its zone warms up on its first queries
            }
        }
    }

    /**
     * The cached answer to {@code wire} from the zones in force, with its ID, or null if there is
     * none (or nothing is cached). Never throws; allocates only the copy.
     */
    private byte[] cachedAnswer(byte[] wire, boolean tcp) {
        ZoneSet set = cached == null ? null : cached.current();
        long shape = set == null ? -1 : AnswerCache.shape(wire, tcp);
        return shape < 0 ? null : set.answers().find(wire, shape);
    }

    private List<byte[]> answer(byte[] wire, InetAddress peer, boolean tcp) {
        try {
            // the cache of the zones in force: a reload swaps it with them, so an answer from old
            // zones is not served (one computed across a reload may land in the old set's cache,
            // which only queries begun before the swap still read)
            ZoneSet set = cached == null ? null : cached.current();
            long shape = set == null ? -1 : AnswerCache.shape(wire, tcp);
            if (shape < 0) {
                return answerOrThrow(wire, peer, tcp).messages();
            }
            AnswerCache cache = set.answers();
            byte[] hit = cache.find(wire, shape);
            if (hit != null) {
                return List.of(hit);
            }
            Result r = answerOrThrow(wire, peer, tcp);
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

    private Result answerOrThrow(byte[] wire, InetAddress peer, boolean tcp) throws InterruptedException {
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
            if (!opt.getOptions(Cookies.OPTION).isEmpty()) {
                limit -= Cookies.RESPONSE_ROOM; // the answer must still fit once our cookie is added
            }
        }
        Message r = reply(q);
        if (h.getOpcode() == Opcode.NOTIFY && questions.size() == 1 && !secondaries.isEmpty()) {
            // a server with no secondary zones takes no NOTIFY: NOTIMP, as for any other opcode
            return Result.once(List.of(notified(q, wire, r, peer, opt)));
        }
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
            bad.addRecord(new OPTRecord(MAX_UDP, Rcode.BADVERS >>> 4, 0, opt.getFlags() & ExtendedFlags.DO), Section.ADDITIONAL);
            return Result.once(List.of(bad.toWire(limit)));
        }
        Record question = questions.get(0);
        int qtype = question.getType();
        int qclass = question.getDClass();
        if (qtype == Type.AXFR || qtype == Type.IXFR) {
            if (!tcp && qtype == Type.AXFR) {
                r.getHeader().setRcode(Rcode.FORMERR); // RFC 5936 §4.2: not over UDP
                return Result.once(List.of(finish(r, opt, limit)));
            }
            return Result.once(transfer(q, wire, r, peer, opt, tcp));
        }
        if (qtype == Type.OPT || qtype >= 128 && qtype < Type.ANY) {
            // OPT is no question (RFC 6891 §6.1.1); MAILA/MAILB and other meta-types: not served
            r.getHeader().setRcode(qtype == Type.OPT ? Rcode.FORMERR : Rcode.NOTIMP);
            return Result.once(List.of(finish(r, opt, limit)));
        }
        DnsQuestion asked = new DnsQuestion(Records.text(question.getName()), qtype, qclass, Optional.ofNullable(peer),
                tcp ? DnsQuestion.Transport.TCP : DnsQuestion.Transport.UDP,
                opt == null ? OptionalInt.empty() : OptionalInt.of(opt.getPayloadSize()), h.getFlag(Flags.RD),
                opt != null && (opt.getFlags() & ExtendedFlags.DO) != 0);
        if (transferKeys != null && q.getTSIG() != null && transferKeys.verified(q, wire)) {
            // RFC 8945 §5.3: a query signed with one of our keys (a secondary's SOA check) gets a signed answer
            r.setTSIG(transferKeys.keyOf(q), Rcode.NOERROR, q.getTSIG());
        }
        AuthorityChain.Answered a;
        try {
            a = chain.ask(asked);
            render(a.answer(), r);
        } catch (InterruptedException e) {
            throw e;
        } catch (Exception e) {
            // the authority's failure is this query's only: SERVFAIL (RFC 1035 §4.1.1), logged
            // once here, its text never sent
            LOG.log(Level.WARNING, "dns: answering " + asked.name() + " " + Type.string(qtype) + " for "
                    + asked.client().map(InetAddress::getHostAddress).orElse("a local client") + " failed", e);
            Message fail = reply(q);
            fail.getHeader().setRcode(Rcode.SERVFAIL);
            return Result.once(List.of(finish(fail, opt, limit)));
        }
        return new Result(List.of(finish(r, opt, limit)), cached != null && a.by() == 0);
    }

    /**
     * A NOTIFY (RFC 1996 §3.7) for a secondary zone: from its primary's address (any port) and,
     * when the zone has a key, signed with it (RFC 8945), it is answered NOERROR with AA (§3.8)
     * and the zone's SOA is checked at once (§3.11); from anyone else REFUSED, badly signed or
     * unsigned NOTAUTH, for a zone that is not one of our secondaries NOTAUTH.
     */
    private byte[] notified(Message q, byte[] wire, Message r, InetAddress peer, OPTRecord opt) {
        Secondary zone = secondaries.get(q.getQuestion().getName());
        TSIG key = zone == null ? null : zone.key();
        if (zone == null || q.getQuestion().getType() != Type.SOA) {
            r.getHeader().setRcode(Rcode.NOTAUTH);
        } else if (peer == null || !zone.fromPrimary(peer)) {
            r.getHeader().setRcode(Rcode.REFUSED);
        } else if (key != null && (q.getTSIG() == null || key.verify(q, wire, null) != Rcode.NOERROR)) {
            r.getHeader().setRcode(Rcode.NOTAUTH);
            key = null; // the answer to a bad signature goes unsigned (RFC 8945 §5.2)
        } else {
            r.getHeader().setFlag(Flags.AA);
            zone.notified();
        }
        if (key != null && r.getRcode() == Rcode.NOERROR) {
            if (opt != null) {
                r.addRecord(new OPTRecord(MAX_UDP, 0, 0, opt.getFlags() & ExtendedFlags.DO), Section.ADDITIONAL);
            }
            key.apply(r, q.getTSIG());
            return r.toWire();
        }
        return finish(r, opt, 65_535);
    }

    /** Writes {@code a} into the response skeleton {@code r}: RCODE, AA or RA, the sections. */
    private static void render(DnsAnswer a, Message r) throws TextParseException {
        Header h = r.getHeader();
        switch (a) {
            case DnsAnswer.Data d -> {
                authoritative(h, d.authoritative());
                add(d.answer(), r, Section.ANSWER);
                add(d.authority(), r, Section.AUTHORITY);
                add(d.additional(), r, Section.ADDITIONAL);
            }
            case DnsAnswer.Referral ref -> {
                // RFC 1034 §4.3.2 step 3b: not authoritative, the cut's NS set and its glue
                add(ref.nameServers(), r, Section.AUTHORITY);
                add(ref.dnssec(), r, Section.AUTHORITY);
                add(ref.glue(), r, Section.ADDITIONAL);
            }
            case DnsAnswer.NxDomain n -> {
                h.setRcode(Rcode.NXDOMAIN);
                authoritative(h, n.authoritative());
                add(n.chain(), r, Section.ANSWER);
                negative(n.authority(), r);
            }
            case DnsAnswer.NoData n -> {
                authoritative(h, n.authoritative());
                add(n.chain(), r, Section.ANSWER);
                negative(n.authority(), r);
            }
            case DnsAnswer.ServerFailure f -> h.setRcode(Rcode.SERVFAIL);
            // nobody's name: REFUSED, as NSD and Knot answer names they do not serve
            case DnsAnswer.Refused x -> h.setRcode(Rcode.REFUSED);
            case DnsAnswer.NotMine x -> h.setRcode(Rcode.REFUSED);
        }
    }

    /** AA for an authority's own data; otherwise the answer came by recursion: RA (RFC 1035 §4.1.1). */
    private static void authoritative(Header h, boolean aa) {
        h.setFlag(aa ? Flags.AA : Flags.RA);
    }

    private static void add(List<? extends DnsRecord> records, Message r, int section) throws TextParseException {
        for (DnsRecord rec : records) {
            r.addRecord(Records.wire(rec), section);
        }
    }

    private static void negative(List<DnsRecord> authority, Message r) throws TextParseException {
        long soaTtl = authority.stream().filter(DnsRecord.Soa.class::isInstance).map(DnsRecord.Soa.class::cast)
                .mapToLong(s -> Math.min(s.ttl(), s.minimum())).findFirst().orElse(-1);
        for (DnsRecord rec : authority) {
            if (rec instanceof DnsRecord.Soa s && s.minimum() < s.ttl()) {
                // RFC 2308 §3: the SOA's TTL is the lesser of its own TTL and its MINIMUM field
                rec = new DnsRecord.Soa(s.name(), s.minimum(), s.primary(), s.admin(), s.serial(), s.refresh(),
                        s.retry(), s.expire(), s.minimum());
            } else if (rec instanceof DnsRecord.Other o && o.typeCode() == Type.RRSIG && soaTtl >= 0 && o.ttl() > soaTtl
                    && o.data().length > 2 && o.data()[0] == 0 && o.data()[1] == Type.SOA) {
                // and its RRSIG goes with it (RFC 4035 §3.1.3: the RRset and its signature age together)
                rec = new DnsRecord.Other(o.name(), soaTtl, o.typeCode(), o.data());
            }
            r.addRecord(Records.wire(rec), Section.AUTHORITY);
        }
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
            // RFC 6891 §6.1.1: answer EDNS with EDNS, offering our own payload size; RFC 3225 §3:
            // the DO bit of the query is copied into the response
            r.addRecord(new OPTRecord(MAX_UDP, 0, 0, queryOpt.getFlags() & ExtendedFlags.DO), Section.ADDITIONAL);
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

    /**
     * AXFR (RFC 5936): SOA, every record, SOA, in messages of up to about 16 KiB. IXFR (RFC 1995
     * §4): the differences since the client's serial from the {@link Journal}, or the current SOA
     * alone if it is up to date (also over UDP, §2), or the whole zone as AXFR does when the
     * journal cannot bridge the gap.
     */
    private List<byte[]> transfer(Message q, byte[] wire, Message r, InetAddress peer, OPTRecord opt, boolean tcp) {
        Record question = q.getQuestion();
        Zone zone = transfers == null ? null : transfers.current().find(question.getName());
        if (zone == null || !zone.origin().equals(question.getName()) || !mayTransfer.test(peer)) {
            // RFC 5936 §4.2: not allowed → REFUSED (as NSD does); not our zone → NOTAUTH
            r.getHeader().setRcode(zone == null || !zone.origin().equals(question.getName()) ? Rcode.NOTAUTH : Rcode.REFUSED);
            return List.of(finish(r, opt, 65_535));
        }
        if (transferKeys != null && !transferKeys.verified(q, wire)) {
            // RFC 8945 §5.2: an unknown key, a bad MAC or a time out of the window: NOTAUTH, unsigned
            r.getHeader().setRcode(Rcode.NOTAUTH);
            return List.of(finish(r, opt, 65_535));
        }
        TSIG key = transferKeys == null ? null : transferKeys.keyOf(q);
        List<Record> all = new ArrayList<>();
        if (question.getType() == Type.IXFR) {
            SOARecord theirs = q.getSection(Section.AUTHORITY).stream().filter(SOARecord.class::isInstance)
                    .map(SOARecord.class::cast).findFirst().orElse(null);
            if (theirs == null) {
                r.getHeader().setRcode(Rcode.FORMERR); // RFC 1995 §3: the query carries the client's SOA
                return signed(List.of(r), q, key);
            }
            long serial = theirs.getSerial();
            List<Journal.Diff> steps = Journal.newer(zone.soa().getSerial(), serial)
                    ? transfers.journal().since(zone.origin(), serial, zone.soa()) : List.of();
            if (!tcp || steps != null && steps.isEmpty()) {
                // RFC 1995 §4: up to date (or over UDP, §2: ask again over TCP): the SOA alone
                Message m = transferMessage(q, true);
                m.addRecord(zone.soa(), Section.ANSWER);
                return signed(List.of(m), q, key);
            }
            if (steps != null) {
                all.add(zone.soa());
                for (Journal.Diff d : steps) {
                    all.add(d.from());
                    all.addAll(d.deleted());
                    all.add(d.to());
                    all.addAll(d.added());
                }
                all.add(zone.soa());
            }
        }
        if (all.isEmpty()) {
            all.addAll(zone.records());
            all.add(zone.soa());
        }
        List<Message> out = new ArrayList<>();
        Message m = transferMessage(q, true);
        int size = 0;
        for (Record rec : all) {
            if (size > 16_000) {
                out.add(m);
                m = transferMessage(q, false);
                size = 0;
            }
            m.addRecord(rec, Section.ANSWER);
            size += rec.toWire(Section.ANSWER).length;
        }
        out.add(m);
        return signed(out, q, key);
    }

    /**
     * The messages of a transfer in wire form, each signed with {@code key} if not null: the first
     * over the query's MAC, each next one over the one before (RFC 8945 §5.3.1).
     */
    private static List<byte[]> signed(List<Message> messages, Message q, TSIG key) {
        List<byte[]> out = new ArrayList<>(messages.size());
        TSIGRecord previous = q.getTSIG();
        for (int i = 0; i < messages.size(); i++) {
            Message m = messages.get(i);
            if (key != null) {
                key.apply(m, previous, i == 0);
                previous = m.getTSIG();
            }
            out.add(m.toWire());
        }
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
