package dev.twine.xmpp.internal;

import dev.twine.xmpp.Element;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Client State Indication (XEP-0352, {@code urn:xmpp:csi:0}) for one session: while the client
 * says it is inactive, stanzas it need not see at once are held back. Presence is held, only
 * the latest per sender's full JID kept (XEP-0352 §5 leaves what to hold to the server), as are
 * chat states without a body (XEP-0085); everything else goes at once, messages with a body,
 * receipts (XEP-0184) and chat markers (XEP-0333) among them, and takes what is held out with it
 * first, so that the client sees stanzas in the order they were sent. At most {@link #MAX_HELD}
 * senders are held for; one more lets everything out. {@code <active/>} lets it all out too.
 *
 * <p>Thread-safe: other sessions' threads offer stanzas, the session's own thread changes the
 * state; the lock is never held while writing.
 */
final class ClientState {
    static final String NS = "urn:xmpp:csi:0";
    /** Senders whose latest presence or chat state is held at once; past it the buffer is let out. */
    static final int MAX_HELD = 500;
    private static final String CHAT_STATES = "http://jabber.org/protocol/chatstates";

    private final ReentrantLock lock = new ReentrantLock();
    private volatile boolean inactive;
    /** The held stanzas by kind and sender, in the order of their latest arrival. */
    private final LinkedHashMap<String, Element> held = new LinkedHashMap<>();

    /** Whether the client said it is inactive (a quick check before {@link #hold}). */
    boolean inactive() {
        return inactive;
    }

    /** {@code <inactive/>}: from now on, hold back what can wait. */
    void becomeInactive() {
        inactive = true;
    }

    /** {@code <active/>} (or a new stream): nothing is held any more; returns what was, in order. */
    List<Element> becomeActive() {
        lock.lock();
        try {
            inactive = false;
            return takeAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Holds a stanza back if the client is inactive and it can wait.
     *
     * @return null if held; otherwise what was held before it (possibly empty), to be written
     *     before it, in order
     */
    List<Element> hold(Element stanza) {
        String key = key(stanza);
        lock.lock();
        try {
            if (!inactive) {
                return takeAll();
            }
            if (key == null) {
                return takeAll(); // it goes now, and what waited goes first
            }
            if (held.remove(key) == null && held.size() >= MAX_HELD) {
                return takeAll(); // bounded: one sender too many lets everything out, this one last
            }
            held.put(key, stanza); // a newer one replaces the held one, at the end
            return null;
        } finally {
            lock.unlock();
        }
    }

    private List<Element> takeAll() {
        if (held.isEmpty()) {
            return List.of();
        }
        List<Element> out = new ArrayList<>(held.values());
        held.clear();
        return out;
    }

    /** What a stanza is held under (its kind and sender), or null if it goes at once. */
    private static String key(Element s) {
        String from = s.attributeOrEmpty("from");
        if (s.name().equals("presence")) {
            String type = s.attributeOrEmpty("type");
            // subscription requests and errors need the user; availability can wait
            return type.isEmpty() || type.equals("unavailable") ? "p " + from : null;
        }
        if (s.name().equals("message") && s.child("body", Hub.CLIENT_NS).isEmpty() && s.childIn(CHAT_STATES).isPresent()
                && s.children().stream().allMatch(c -> c.namespace().equals(CHAT_STATES) || c.name().equals("thread")
                        || c.namespace().equals("urn:xmpp:hints") || c.namespace().equals("urn:xmpp:sid:0"))) {
            return "c " + from;
        }
        return null;
    }
}
