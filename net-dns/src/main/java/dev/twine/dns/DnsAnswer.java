package dev.twine.dns;

import java.util.List;
import java.util.Objects;

/**
 * What a {@link DnsAuthority} answers a {@link DnsQuestion} with. The server turns each kind
 * into a response (RFC 1035 §4.1): the response code, the AA and RA flags and the three record
 * sections; the wire form (EDNS, compression, truncation, TCP framing) is the server's.
 *
 * <table>
 * <caption>What each answer becomes</caption>
 * <tr><th>answer</th><th>RCODE</th><th>flags</th><th>sections</th></tr>
 * <tr><td>{@link Data}</td><td>NOERROR</td><td>AA if authoritative, else RA</td>
 *     <td>answer, authority, additional as given</td></tr>
 * <tr><td>{@link Referral}</td><td>NOERROR</td><td>none</td>
 *     <td>NS records in authority, glue in additional (RFC 1034 §4.3.2 step 3b)</td></tr>
 * <tr><td>{@link NxDomain}</td><td>NXDOMAIN</td><td>AA if authoritative, else RA</td>
 *     <td>a CNAME chain in answer, the SOA in authority</td></tr>
 * <tr><td>{@link NoData}</td><td>NOERROR</td><td>AA if authoritative, else RA</td>
 *     <td>a CNAME chain in answer, the SOA in authority (RFC 2308 §2.2)</td></tr>
 * <tr><td>{@link Refused}</td><td>REFUSED</td><td>none</td><td>none</td></tr>
 * <tr><td>{@link ServerFailure}</td><td>SERVFAIL</td><td>none</td><td>none</td></tr>
 * <tr><td>{@link NotMine}</td><td colspan="3">the next authority of a chain is asked; after the
 *     last one, REFUSED</td></tr>
 * </table>
 *
 * <p>In a negative answer (NXDOMAIN, NODATA) the server sends each SOA record of the authority
 * section with the TTL of RFC 2308 §3, the lesser of its own TTL and its MINIMUM field, so an
 * authority may pass its zone's SOA as it is.
 */
public sealed interface DnsAnswer {
    /**
     * Records for the question: NOERROR.
     *
     * @param answer the answer section: the records asked for, owned by the question's name, and
     *     any CNAME records that lead to them (RFC 1034 §4.3.2 step 3a)
     * @param authority the authority section (empty is fine: minimal responses)
     * @param additional the additional section: addresses of names in the answer (MX, NS and SRV
     *     targets, RFC 1035 §3.3.9); dropped first when a UDP response does not fit (RFC 2181 §9)
     * @param authoritative whether this server is an authority for the name (AA); a forwarded or
     *     cached answer is not, and is sent with RA
     */
    record Data(List<DnsRecord> answer, List<DnsRecord> authority, List<DnsRecord> additional, boolean authoritative)
            implements DnsAnswer {
        /** Copies the lists. */
        public Data {
            answer = List.copyOf(answer);
            authority = List.copyOf(authority);
            additional = List.copyOf(additional);
        }
    }

    /**
     * A delegation: the name lies below a zone cut, in a zone other servers serve (RFC 1034
     * §4.3.2 step 3b). Never authoritative.
     *
     * @param nameServers the NS records of the cut, sent in the authority section
     * @param glue the addresses of those name servers that lie inside the cut, in additional
     * @param dnssec for a question with {@link DnsQuestion#dnssecOk()}: the cut's DS records and
     *     their RRSIGs, or the NSEC or NSEC3 records (with RRSIGs) proving it has none (RFC 4035
     *     §3.1.4, RFC 5155 §7.2.7); sent in the authority section after the NS records; empty
     *     for an unsigned zone
     */
    record Referral(List<DnsRecord.Ns> nameServers, List<DnsRecord> glue, List<DnsRecord> dnssec) implements DnsAnswer {
        /** Copies the lists; at least one name server. */
        public Referral {
            nameServers = List.copyOf(nameServers);
            glue = List.copyOf(glue);
            dnssec = List.copyOf(dnssec);
            if (nameServers.isEmpty()) {
                throw new IllegalArgumentException("a referral needs at least one NS record");
            }
        }

        /** A referral without DNSSEC records (an unsigned zone, or a question without DO). */
        public Referral(List<DnsRecord.Ns> nameServers, List<DnsRecord> glue) {
            this(nameServers, glue, List.of());
        }
    }

    /**
     * The name does not exist: NXDOMAIN (RFC 1035 §4.1.1, RFC 8020: nor does anything below it).
     *
     * @param chain CNAME records that led from the question's name to the missing one (RFC 6604
     *     §3: the last name of the chain decides the code); usually empty
     * @param authority the zone's SOA, which lets resolvers cache the answer (RFC 2308 §3)
     * @param authoritative AA; false only for answers relayed from elsewhere
     */
    record NxDomain(List<DnsRecord> chain, List<DnsRecord> authority, boolean authoritative) implements DnsAnswer {
        /** Copies the lists. */
        public NxDomain {
            chain = List.copyOf(chain);
            authority = List.copyOf(authority);
        }
    }

    /**
     * The name exists but has no records of the type asked: NODATA, NOERROR with an empty
     * answer (RFC 2308 §2.2).
     *
     * @param chain CNAME records that led from the question's name to the one without data
     * @param authority the zone's SOA (RFC 2308 §3)
     * @param authoritative AA; false only for answers relayed from elsewhere
     */
    record NoData(List<DnsRecord> chain, List<DnsRecord> authority, boolean authoritative) implements DnsAnswer {
        /** Copies the lists. */
        public NoData {
            chain = List.copyOf(chain);
            authority = List.copyOf(authority);
        }
    }

    /** A refusal for policy reasons: REFUSED (RFC 1035 §4.1.1), nothing sent anywhere else. */
    record Refused() implements DnsAnswer {}

    /**
     * The authority cannot answer now (an upstream did not answer): SERVFAIL, nothing logged.
     * For a bug or an unexpected failure, throw instead: the server logs it and answers SERVFAIL.
     */
    record ServerFailure() implements DnsAnswer {}

    /** Not this authority's name: a chain asks the next one; the last one's is REFUSED. */
    record NotMine() implements DnsAnswer {}

    /** An authoritative answer of these records: {@link Data} with no other section. */
    static DnsAnswer of(DnsRecord... answer) {
        return new Data(List.of(answer), List.of(), List.of(), true);
    }

    /** An authoritative answer of these records: {@link Data} with no other section. */
    static DnsAnswer of(List<? extends DnsRecord> answer) {
        return new Data(List.copyOf(answer), List.of(), List.of(), true);
    }

    /** Authoritative NXDOMAIN with the zone's SOA. */
    static DnsAnswer nxdomain(DnsRecord.Soa soa) {
        return new NxDomain(List.of(), List.of(Objects.requireNonNull(soa, "soa")), true);
    }

    /** Authoritative NODATA with the zone's SOA. */
    static DnsAnswer nodata(DnsRecord.Soa soa) {
        return new NoData(List.of(), List.of(Objects.requireNonNull(soa, "soa")), true);
    }

    /** REFUSED. */
    static DnsAnswer refused() {
        return new Refused();
    }

    /** Not this authority's: the next one in a chain is asked. */
    static DnsAnswer notMine() {
        return new NotMine();
    }
}
