package dev.twine.dns.internal;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.xbill.DNS.NSEC3Record;
import org.xbill.DNS.Name;
import org.xbill.DNS.RRSIGRecord;
import org.xbill.DNS.Record;
import org.xbill.DNS.Type;

/**
 * The authority-section records a signed zone sends with the DO bit (RFC 4035 §3.1.3): the NSEC
 * or NSEC3 records that prove a name or type does not exist, or that an answer was synthesised
 * from a wildcard, and a delegation's DS set or its absence. Every record comes with the RRSIGs
 * covering it. The zone must be {@link Zone#signed() signed}.
 */
final class Denial {
    private Denial() {}

    /** NXDOMAIN: the name and the wildcard at its closest encloser {@code ce} do not exist. */
    static List<Record> nxdomain(Zone z, Name qname, Name ce) {
        Proof p = new Proof(z);
        if (z.usesNsec3()) {
            // RFC 5155 §7.2.2: the closest encloser proof and the NSEC3 covering *.ce
            p.closestEncloser(qname, ce);
            p.add(z.nsec3Covering(ZoneAuthority.wildcard(ce)));
        } else {
            // RFC 4035 §3.1.3.2: an NSEC covering the name and one covering the wildcard
            p.add(z.nsecFor(qname));
            p.add(z.nsecFor(ZoneAuthority.wildcard(ce)));
        }
        return p.records();
    }

    /** NODATA for a name that exists (or an empty non-terminal, or a DS at an opt-out cut). */
    static List<Record> nodata(Zone z, Name qname) {
        Proof p = new Proof(z);
        if (z.usesNsec3()) {
            NSEC3Record match = z.nsec3Matching(qname);
            if (match != null) {
                p.add(match); // RFC 5155 §7.2.3: its type bitmap lacks the type
            } else {
                p.closestProvable(qname); // §7.2.4: no NSEC3 of its own, only under opt-out
            }
        } else {
            p.add(z.nsecFor(qname)); // RFC 4035 §3.1.3.1 (an empty non-terminal: the NSEC covering it)
        }
        return p.records();
    }

    /** A positive answer synthesised from {@code *.ce}: the name itself does not exist. */
    static List<Record> wildcardAnswer(Zone z, Name qname, Name ce) {
        Proof p = new Proof(z);
        if (z.usesNsec3()) {
            p.add(z.nsec3Covering(nextCloser(qname, ce))); // RFC 5155 §7.2.6
        } else {
            p.add(z.nsecFor(qname)); // RFC 4035 §3.1.3.3
        }
        return p.records();
    }

    /** NODATA from a wildcard: no such name, and the wildcard lacks the type. */
    static List<Record> wildcardNodata(Zone z, Name qname, Name ce) {
        Proof p = new Proof(z);
        Name wild = ZoneAuthority.wildcard(ce);
        if (z.usesNsec3()) {
            p.closestEncloser(qname, ce); // RFC 5155 §7.2.5
            p.add(z.nsec3Matching(wild));
        } else {
            p.add(z.nsecFor(qname)); // RFC 4035 §3.1.3.4
            p.add(z.nsecFor(wild));
        }
        return p.records();
    }

    /** What a referral to {@code cut} carries: its DS set, or the proof that it has none. */
    static List<Record> delegation(Zone z, Name cut) {
        Proof p = new Proof(z);
        List<Record> ds = z.node(cut).get(Type.DS);
        if (ds != null) {
            ds.forEach(p::add); // RFC 4035 §3.1.4
        } else if (z.usesNsec3()) {
            NSEC3Record match = z.nsec3Matching(cut);
            if (match != null) {
                p.add(match); // RFC 5155 §7.2.7
            } else {
                p.closestProvable(cut); // an unsigned delegation under opt-out
            }
        } else {
            p.add(z.nsecFor(cut)); // RFC 4035 §3.1.4.1: its bitmap has NS but no DS
        }
        return p.records();
    }

    /** The name one label longer than {@code ce} on the way to {@code qname} (RFC 5155 §1.3). */
    private static Name nextCloser(Name qname, Name ce) {
        return new Name(qname, qname.labels() - ce.labels() - 1);
    }

    /** Records gathered once each, each followed by its RRSIGs. */
    private static final class Proof {
        private final Zone zone;
        private final Set<Record> records = new LinkedHashSet<>();

        Proof(Zone zone) {
            this.zone = zone;
        }

        void add(Record r) {
            if (r == null || !records.add(r)) {
                return;
            }
            List<Record> sigs = zone.node(r.getName()).get(Type.RRSIG);
            if (sigs != null) {
                for (Record s : sigs) {
                    if (((RRSIGRecord) s).getTypeCovered() == r.getType()) {
                        records.add(s);
                    }
                }
            }
        }

        /** RFC 5155 §7.2.1: the NSEC3 matching the closest encloser and the one covering the next closer name. */
        void closestEncloser(Name qname, Name ce) {
            add(zone.nsec3Matching(ce));
            if (qname.labels() > ce.labels()) {
                add(zone.nsec3Covering(nextCloser(qname, ce)));
            }
        }

        /** The closest encloser proof from the nearest ancestor of {@code name} that has an NSEC3. */
        void closestProvable(Name name) {
            for (Name n = Zone.parent(name); n.subdomain(zone.origin()); n = Zone.parent(n)) {
                if (zone.nsec3Matching(n) != null) {
                    closestEncloser(name, n);
                    return;
                }
                if (n.equals(zone.origin())) {
                    return;
                }
            }
        }

        List<Record> records() {
            return new ArrayList<>(records);
        }
    }
}
