package dev.twine.dns.internal;

import dev.twine.core.Scope;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.TSIG;
import org.xbill.DNS.Type;

/**
 * NOTIFY (RFC 1996) to the secondaries after a reload: for every zone whose serial changed, one
 * NOTIFY per target over UDP, retried until the secondary answers (RFC 1996 §3.6) or the
 * attempts run out, which is logged; the secondary then asks for the zone (IXFR or AXFR).
 */
final class Notifier {
    private static final System.Logger LOG = System.getLogger("dev.twine.dns");

    private final List<InetSocketAddress> targets;
    private final Duration timeout;
    private final int attempts;
    /** What NOTIFY messages are signed with (RFC 8945), or null. */
    private final TSIG key;
    private final ReentrantLock lock = new ReentrantLock();
    /** The serial each zone was last announced (or loaded) with. */
    private final Map<Name, Long> announced = new HashMap<>();

    /**
     * @param targets the secondaries
     * @param loaded the zones as first loaded: their serials are known to the secondaries already
     */
    Notifier(List<InetSocketAddress> targets, ZoneSet loaded, Duration timeout, int attempts, TSIG key) {
        this.key = key;
        this.targets = List.copyOf(targets);
        this.timeout = timeout;
        this.attempts = attempts;
        for (Zone z : loaded.zones()) {
            announced.put(z.origin(), z.soa().getSerial());
        }
    }

    /**
     * Notifies every target of each zone in {@code set} whose serial changed: in {@code scope},
     * one task per target and zone, or here and now (blocking) when {@code scope} is null.
     */
    void changed(ZoneSet set, Scope scope) throws InterruptedException {
        for (Zone z : set.zones()) {
            lock.lock();
            try {
                Long before = announced.put(z.origin(), z.soa().getSerial());
                if (before != null && before == z.soa().getSerial()) {
                    continue;
                }
            } finally {
                lock.unlock();
            }
            for (InetSocketAddress target : targets) {
                if (scope == null) {
                    send(z, target);
                } else {
                    scope.fork("dns-notify", () -> send(z, target));
                }
            }
        }
    }

    /** One NOTIFY until answered; failures are logged, never thrown (a secondary's trouble is its own). */
    private void send(Zone z, InetSocketAddress target) throws InterruptedException {
        // RFC 1996 §3.7: opcode NOTIFY, AA, the zone's SOA as the question and its record as a hint
        Message m = new Message();
        m.getHeader().setOpcode(Opcode.NOTIFY);
        m.getHeader().setFlag(Flags.AA);
        m.getHeader().setID(java.util.concurrent.ThreadLocalRandom.current().nextInt(0x10000));
        m.addRecord(Record.newRecord(z.origin(), Type.SOA, DClass.IN), Section.QUESTION);
        m.addRecord(z.soa(), Section.ANSWER);
        if (key != null) {
            key.apply(m, null); // RFC 8945 §5.1: the NOTIFY itself is signed
        }
        try {
            Message r = new Exchanger(List.of(target), timeout, attempts).exchange(m);
            if (r.getRcode() != Rcode.NOERROR) {
                LOG.log(Level.WARNING, "dns: NOTIFY for {0} to {1} answered {2}", z.origin(), target, Rcode.string(r.getRcode()));
            }
        } catch (IOException e) {
            LOG.log(Level.WARNING, "dns: NOTIFY for {0} to {1} failed: {2}", z.origin(), target, e.getMessage());
        }
    }
}
