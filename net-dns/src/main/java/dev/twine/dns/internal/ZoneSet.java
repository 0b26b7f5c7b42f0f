package dev.twine.dns.internal;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.xbill.DNS.Name;

/**
 * The zones served, found by longest match of a name. Immutable: a reload swaps the whole set,
 * and with it the cache of answers computed from it ({@link #answers()}).
 */
public final class ZoneSet {
    private final Map<Name, Zone> byOrigin;
    private final List<Zone> zones;
    private final AnswerCache answers = new AnswerCache();

    /**
     * @throws ZoneFileException if two files give the same zone
     */
    public ZoneSet(List<Zone> zones) throws ZoneFileException {
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
