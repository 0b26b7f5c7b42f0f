package dev.twine.dns.internal;

import dev.twine.core.Metrics;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.xbill.DNS.DNSInput;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Type;

/**
 * Answers counted in the core {@link Metrics} as {@code twine_dns_responses_total} by rcode,
 * question type, transport and zone, and the rate limit's held-back responses as
 * {@code twine_dns_rate_limited_total} by action. The label values are bounded so a client cannot
 * grow the series: types outside the common ones count as {@code other}, names outside the
 * zones as zone {@code none}. Safe for concurrent use.
 */
final class QueryStats {
    private static final Set<Integer> TYPES = Set.of(Type.A, Type.AAAA, Type.NS, Type.CNAME, Type.SOA, Type.PTR,
            Type.MX, Type.TXT, Type.SRV, Type.DS, Type.DNSKEY, Type.RRSIG, Type.NSEC, Type.NSEC3, Type.NSEC3PARAM,
            Type.CAA, Type.HTTPS, Type.SVCB, Type.TLSA, Type.NAPTR, Type.ANY, Type.AXFR, Type.IXFR);

    private final Metrics metrics;
    private final ZoneAuthority zones;
    private final ConcurrentHashMap<String, Metrics.Counter> counters = new ConcurrentHashMap<>();

    /**
     * @param zones the zone files whose origins name the zone label, or null
     */
    QueryStats(Metrics metrics, ZoneAuthority zones, RateLimiter rrl) {
        this.metrics = metrics;
        this.zones = zones;
        if (rrl != null) {
            metrics.counter("twine_dns_rate_limited_total", "UDP responses the rate limit dropped or sent truncated",
                    rrl::dropped, "action", "drop");
            metrics.counter("twine_dns_rate_limited_total", "UDP responses the rate limit dropped or sent truncated",
                    rrl::slipped, "action", "slip");
        }
    }

    /** Counts one response (its wire form) sent over {@code transport} ("udp" or "tcp"). */
    void count(byte[] response, String transport) {
        if (response.length < 12) {
            return;
        }
        String rcode = Rcode.string(response[3] & 0x0F);
        String type = "none";
        String zone = "none";
        if (((response[4] & 0xFF) << 8 | response[5] & 0xFF) >= 1) {
            try {
                DNSInput in = new DNSInput(response);
                in.jump(12);
                Name name = new Name(in);
                int t = in.readU16();
                type = TYPES.contains(t) ? Type.string(t) : "other";
                Zone z = zones == null ? null : zones.current().find(name);
                if (z != null) {
                    zone = z.origin().toString(true);
                }
            } catch (java.io.IOException e) {
                type = "other"; // a question we could not read back: still one response
            }
        }
        String key = rcode + '/' + type + '/' + transport + '/' + zone;
        String r = rcode;
        String ty = type;
        String zo = zone;
        counters.computeIfAbsent(key, k -> metrics.counter("twine_dns_responses_total",
                "DNS responses sent, by rcode, question type, transport and zone",
                "rcode", r, "qtype", ty, "transport", transport, "zone", zo)).increment();
    }
}
