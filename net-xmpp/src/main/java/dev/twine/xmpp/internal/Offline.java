package dev.twine.xmpp.internal;

import dev.twine.xmpp.DiscoInfo;
import dev.twine.xmpp.Element;
import java.io.IOException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;

/**
 * Offline storage (XEP-0160, RFC 6121 §8.5.2.2.2): chat and normal messages for a user with no
 * available resource of non-negative priority are stamped with an XEP-0203 delay and written
 * durably to the {@link DataStore}, and delivered at the user's next available presence.
 * Storing happens at the end of routing, after the message interceptors and carbons.
 */
final class Offline {
    private static final System.Logger LOG = System.getLogger(Offline.class.getName());
    static final String DELAY = "urn:xmpp:delay";
    /** Offline messages kept per user before new ones are refused (RFC 6121 §8.5.2.1.1 allows a limit). */
    static final int MAX_OFFLINE = 1000;
    /** What offline storage adds to the server's disco#info (XEP-0160 §3). */
    static final DiscoInfo DISCO = DiscoInfo.features("msgoffline");

    private final Hub hub;

    Offline(Hub hub) {
        this.hub = hub;
    }

    /**
     * Stores a message for later; its sender gets {@code service-unavailable} when the user's
     * store is full and {@code internal-server-error} when it cannot be written.
     */
    void store(Element m, String local, C2sSession sender) {
        Element stored = m.withChild(Element.of("delay", DELAY).withAttribute("from", hub.domain)
                .withAttribute("stamp", Instant.now().truncatedTo(ChronoUnit.MILLIS).toString()));
        try {
            if (!hub.store.storeOffline(local, stored, MAX_OFFLINE)) {
                hub.bounce(m, "service-unavailable", sender);
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot store an offline message for " + local, e);
            hub.bounce(m, "internal-server-error", sender);
        }
    }

    /** Stores again, as it is, a message that came from this store and was never acknowledged. */
    void storeBack(Element m, String local) {
        try {
            hub.store.storeOffline(local, m, MAX_OFFLINE);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot store an offline message for " + local, e);
        }
    }

    /** RFC 6121 §8.5.2.1.1 / XEP-0160: stored messages go to the first available non-negative resource. */
    void deliver(C2sSession s) {
        String user = s.jid().local();
        try {
            List<Element> waiting = hub.store.offline(user);
            if (waiting.isEmpty()) {
                return;
            }
            int sent = 0;
            for (Element m : waiting) {
                if (hub.blocking != null && hub.blocking.separates(m, s.jid())) {
                    sent++; // XEP-0191 §3.5: stored before the block, never delivered after it
                    continue;
                }
                if (!s.send(m.withAttribute("to", s.jid().toString()))) {
                    break;
                }
                sent++;
            }
            hub.store.dropOffline(user, sent);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot deliver offline messages of " + user, e);
        }
    }
}
