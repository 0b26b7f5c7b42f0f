package dev.twine.dns.internal;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.xbill.DNS.Name;

/**
 * The zones served, found by longest match of a name. Immutable: a reload swaps the whole set,
 * and with it the cache of answers computed from it ({@link #answers()}).
 */
public final class ZoneSet {
    private final Map<Name, Zone> byOrigin;
    private final List<Zone> zones;
    /** Secondary zones configured but not servable now: never transferred, or expired. */
    private final Set<Name> unavailable;
    private final AnswerCache answers = new AnswerCache();

    /**
     * @throws ZoneFileException if two files give the same zone
     */
    public ZoneSet(List<Zone> zones) throws ZoneFileException {
        this(zones, Set.of());
    }

    /**
     * @param unavailable the origins of zones this server is authoritative for but cannot answer
     *     from now (a secondary zone not yet transferred, or expired): SERVFAIL below them
     * @throws ZoneFileException if two files give the same zone
     */
    ZoneSet(List<Zone> zones, Set<Name> unavailable) throws ZoneFileException {
        this.unavailable = Set.copyOf(unavailable);
        Map<Name, Zone> m = new HashMap<>();
        for (Zone z : zones) {
            Zone old = m.put(z.origin(), z);
            if (old != null) {
                throw new ZoneFileException(z.source() + ": zone " + z.origin() + " is already loaded from " + old.source());
            }
        }
        this.byOrigin = Map.copyOf(m);
        this.zones = List.copyOf(zones);
    }

    /** The zones, in the order given. */
    public List<Zone> zones() {
        return zones;
    }

    /** Answers computed from these zones only, in wire format (never shared with another set). */
    AnswerCache answers() {
        return answers;
    }

    /**
     * Whether {@code name} falls in a zone that cannot be answered from now (RFC 1035 §4.1.1
     * SERVFAIL, as a secondary answers once its zone expired, RFC 1034 §4.3.5): an unavailable
     * origin encloses it more closely than any loaded zone.
     */
    boolean unavailable(Name name) {
        if (unavailable.isEmpty()) {
            return false;
        }
        for (int i = 0; i < name.labels(); i++) {
            Name n = i == 0 ? name : new Name(name, i);
            if (byOrigin.containsKey(n)) {
                return false;
            }
            if (unavailable.contains(n)) {
                return true;
            }
        }
        return false;
    }

    /** The origins of {@link #unavailable} zones. */
    Set<Name> unavailableOrigins() {
        return unavailable;
    }

    /** The most specific zone containing {@code name}, or null. */
    public Zone find(Name name) {
        for (int i = 0; i < name.labels(); i++) {
            Zone z = byOrigin.get(i == 0 ? name : new Name(name, i));
            if (z != null) {
                return z;
            }
        }
        return null;
    }
}
