package dev.twine.dns;

import dev.twine.dns.internal.AuthorityChain;
import java.util.List;

/**
 * Answers DNS questions for a {@link DnsServer}: a question in, a {@link DnsAnswer} out (records,
 * a referral, NXDOMAIN or NODATA with the zone's SOA, a refusal, or "not mine" so the next
 * authority of a chain is asked). The server's zone files and its forwarder are two
 * implementations; {@link #chain} asks several in order.
 *
 * <pre>{@code
 * Map<String, Inet4Address> hosts = new ConcurrentHashMap<>();   // changed at run time
 * DnsRecord.Soa soa = new DnsRecord.Soa("svc.local", 60, "ns.svc.local", "admin.svc.local", 1, 3600, 600, 86400, 30);
 * DnsAuthority registry = q -> {
 *     if (!q.inZone("svc.local")) {
 *         return DnsAnswer.notMine();                            // the next authority, or REFUSED
 *     }
 *     Inet4Address a = hosts.get(q.name().toLowerCase(Locale.ROOT));
 *     if (a == null) {
 *         return DnsAnswer.nxdomain(soa);
 *     }
 *     return q.is(RecordType.A) ? DnsAnswer.of(new DnsRecord.A(q.name(), 30, a)) : DnsAnswer.nodata(soa);
 * };
 * DnsServer dns = DnsServer.builder().authority(registry)
 *         .listen("udp:5300:interface=127.0.0.1").listen("tcp:5300:interface=127.0.0.1").build();
 * dns.start();
 * }</pre>
 *
 * <h2>What the server does, and what an authority does itself</h2>
 * The server parses the query and answers malformed ones itself (FORMERR, NOTIMP, BADVERS), so
 * an authority sees only well-formed queries of one question; it adds the EDNS OPT record, sets
 * the flags, compresses names, and truncates a UDP response that does not fit the client's size
 * with TC set, whole RRsets only (RFC 2181 §9), so the client asks again over TCP and gets it
 * all. Zone transfers (AXFR) are answered from the server's zone files only, never through this
 * interface. The server caches answers from its zone files in wire form; answers from any other
 * authority are never cached by the server, so a change an authority makes is seen by the next
 * query.
 *
 * <p>The zone-file authority follows CNAMEs within its zones (RFC 1034 §4.3.2), synthesises
 * wildcards (RFC 4592), tells empty non-terminals (NODATA) from missing names (NXDOMAIN), serves
 * ANY as one RRset over UDP and all over TCP (RFC 8482 §4.2) and adds MX/NS/SRV target addresses.
 * An authority of your own does none of that for you: it decides which names exist (answer
 * NODATA, not NXDOMAIN, for a name that exists with other types, RFC 8020), gives its records
 * the question's name as owner (the case the client sent), answers a CNAME with the target's
 * records too if it knows them, and says what an ANY question gets.
 *
 * <h2>Threads and blocking</h2>
 * {@link #answer} is called on the query's own virtual thread, one call per query, many at once:
 * an implementation must be safe for concurrent use. It may block (a database, another server);
 * meanwhile the client waits, and a UDP client may ask again. It is never called for an AXFR.
 *
 * <h2>Error handling</h2>
 * An exception thrown by {@link #answer} becomes SERVFAIL for that query, logged once by the
 * server with the question (the exception's text is never sent); the server keeps serving
 * everyone else, and a chain does not ask the next authority. {@link InterruptedException} means
 * the server is shutting down: no response is sent. For an expected failure that should not be
 * logged (an upstream not answering), return {@link DnsAnswer.ServerFailure}.
 */
@FunctionalInterface
public interface DnsAuthority {
    /**
     * Answers one question.
     *
     * @param question the question and what is known of its client
     * @return the answer; {@link DnsAnswer.NotMine} to pass the question on
     * @throws InterruptedException if interrupted while blocked (no response is sent)
     * @throws Exception anything else: the client gets SERVFAIL and the server logs it
     */
    DnsAnswer answer(DnsQuestion question) throws Exception;

    /**
     * Asks {@code authorities} in order; the first whose answer is not {@link DnsAnswer.NotMine}
     * answers, and if all say "not mine" so does the chain (which a server answers REFUSED). An
     * exception from one ends the chain with it. Chains given here are flattened.
     *
     * @throws IllegalArgumentException if {@code authorities} is empty
     */
    static DnsAuthority chain(List<DnsAuthority> authorities) {
        return AuthorityChain.of(authorities);
    }

    /** {@link #chain(List)} of these. */
    static DnsAuthority chain(DnsAuthority... authorities) {
        return chain(List.of(authorities));
    }
}
