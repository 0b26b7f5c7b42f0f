package dev.twine.xmpp.internal;

import dev.twine.core.Tls;
import dev.twine.core.auth.Portal;
import dev.twine.core.auth.UserStore;
import dev.twine.xmpp.Element;
import dev.twine.xmpp.Jid;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The server's shared state and its routing rules: who is online, which components are
 * connected, and where each stanza goes (RFC 6120 §10, RFC 6121 §8), with the roster and
 * presence subscription logic of RFC 6121 §3 and §4. Sessions call in from their own threads;
 * every method is thread-safe. A stanza is delivered by putting it in the recipient's
 * {@link Outbound} queue from the sender's thread, which never blocks on the recipient's socket.
 */
public final class Hub {
    private static final System.Logger LOG = System.getLogger(Hub.class.getName());
    static final String CLIENT_NS = "jabber:client";
    static final String DISCO_INFO = "http://jabber.org/protocol/disco#info";
    static final String DISCO_ITEMS = "http://jabber.org/protocol/disco#items";
    static final String PING = "urn:xmpp:ping";
    static final String VERSION = "jabber:iq:version";
    static final String DELAY = "urn:xmpp:delay";
    static final String CARBONS = "urn:xmpp:carbons:2";
    static final String FORWARD = "urn:xmpp:forward:0";
    /** Offline messages kept per user before new ones are refused (RFC 6121 §8.5.2.1.1 allows a limit). */
    static final int MAX_OFFLINE = 1000;

    final String domain;
    final Portal portal;
    final UserStore users;
    final DataStore store;
    final Tls tls;
    final boolean requireTls;
    final XmlLimits limits;
    final String componentSecret;
    final Duration writeTimeout;
    final String version;

    private final ReentrantLock bindLock = new ReentrantLock();
    private final Map<String, List<C2sSession>> sessions = new ConcurrentHashMap<>();
    private final Map<String, ComponentSession> components = new ConcurrentHashMap<>();

    /** Everything the sessions share. */
    public Hub(String domain, Portal portal, UserStore users, DataStore store, Tls tls, boolean requireTls,
            XmlLimits limits, String componentSecret, Duration writeTimeout, String version) {
        this.domain = domain;
        this.portal = portal;
        this.users = users;
        this.store = store;
        this.tls = tls;
        this.requireTls = requireTls;
        this.limits = limits;
        this.componentSecret = componentSecret;
        this.writeTimeout = writeTimeout;
        this.version = version;
    }

    /** The served domain. */
    public String domain() {
        return domain;
    }

    /** Whether SCRAM-SHA-1 is offered: RFC 6120 §13.8 makes it mandatory, so on by default. */
    volatile boolean scramSha1 = true;

    /** The SASL mechanisms offered, strongest first. */
    java.util.List<String> mechanisms() {
        java.util.List<String> m = new ArrayList<>(portal.saslMechanisms());
        if (scramSha1 && !m.isEmpty()) {
            m.add(1, "SCRAM-SHA-1");
        }
        return m;
    }

    /** Stanzas that may wait in one session's outbound queue (see {@link Outbound}). */
    volatile int outboundStanzas = 1000;
    /** Bytes of XML that may wait in one session's outbound queue. */
    volatile long outboundBytes = 2L << 20;

    /** Sets the bounds of each session's outbound queue; past either, a slow session is closed. */
    public void outboundQueue(int stanzas, long bytes) {
        if (stanzas < 1 || bytes < 1) {
            throw new IllegalArgumentException("outbound queue limits must be positive");
        }
        outboundStanzas = stanzas;
        outboundBytes = bytes;
    }

    /** How long an authenticated stream may send nothing, not even a whitespace keepalive; zero: forever. */
    volatile Duration idleTimeout = Duration.ZERO;

    /** Sets the idle timeout of client streams (zero: none). */
    public void idleTimeout(Duration d) {
        if (d.isNegative()) {
            throw new IllegalArgumentException("negative idle timeout");
        }
        idleTimeout = d;
    }

    /** The most items one user's roster may hold, hidden ones (pending requests) included. */
    volatile int rosterLimit = 1000;

    /** Sets the most items a roster may hold (RFC 6121 leaves the limit to the server). */
    public void rosterLimit(int max) {
        if (max < 1) {
            throw new IllegalArgumentException("roster limit must be positive");
        }
        rosterLimit = max;
    }

    /** Whether adding {@code jid} to a roster map (inside updateRoster) would pass the limit. */
    private boolean rosterFull(java.util.Map<String, RosterItem> m, String jid) {
        return !m.containsKey(jid) && m.size() >= rosterLimit;
    }

    /** Turns SCRAM-SHA-1 on or off. */
    public void scramSha1(boolean on) {
        scramSha1 = on;
    }

    boolean userExists(String local) {
        return !local.isEmpty() && users.find(local).isPresent();
    }

    // ---------------------------------------------------------------- sessions

    /**
     * Registers a bound session. If another session holds the same full JID, that one is told
     * {@code <conflict/>} and closed (RFC 6120 §7.7.2.2: the new session overrides the old).
     */
    void bind(C2sSession s) {
        C2sSession old = null;
        bindLock.lock();
        try {
            List<C2sSession> list = sessions.computeIfAbsent(s.jid().local(), k -> new CopyOnWriteArrayList<>());
            for (C2sSession o : list) {
                if (o.jid().equals(s.jid())) {
                    old = o;
                }
            }
            if (old != null) {
                list.remove(old);
            }
            list.add(s);
        } finally {
            bindLock.unlock();
        }
        if (old != null) {
            old.kick("conflict", "replaced by a new session with the same resource");
            presenceGone(old);
        }
    }

    /** Unregisters a session at its end; if it was available, its contacts see it go (RFC 6121 §4.5.2). */
    void unbind(C2sSession s) {
        boolean removed;
        bindLock.lock();
        try {
            List<C2sSession> list = sessions.get(s.jid().local());
            removed = list != null && list.remove(s);
            if (list != null && list.isEmpty()) {
                sessions.remove(s.jid().local());
            }
        } finally {
            bindLock.unlock();
        }
        if (removed) {
            presenceGone(s);
        }
    }

    private void presenceGone(C2sSession s) {
        if (s.available || !s.directed.isEmpty()) {
            Element unavailable = Element.of("presence", CLIENT_NS).withAttribute("type", "unavailable")
                    .withAttribute("from", s.jid().toString());
            broadcastPresence(s, unavailable);
        }
    }

    /** Whether a full JID is bound right now. */
    boolean isBound(Jid full) {
        return sessionFor(full) != null;
    }

    private C2sSession sessionFor(Jid full) {
        for (C2sSession s : sessions.getOrDefault(full.local(), List.of())) {
            if (s.jid().equals(full)) {
                return s;
            }
        }
        return null;
    }

    private List<C2sSession> sessionsOf(String local) {
        return sessions.getOrDefault(local, List.of());
    }

    private List<C2sSession> availableSessionsOf(String local) {
        List<C2sSession> out = new ArrayList<>();
        for (C2sSession s : sessionsOf(local)) {
            if (s.available) {
                out.add(s);
            }
        }
        return out;
    }

    /** Registers a component for its domain; false if one is already connected. */
    boolean attach(ComponentSession c) {
        return components.putIfAbsent(c.domain(), c) == null;
    }

    void detach(ComponentSession c) {
        components.remove(c.domain(), c);
    }

    // ---------------------------------------------------------------- XEP-0198 resumption

    /** How long a resumable session waits for its client after its connection drops; zero: no resumption. */
    volatile Duration resumeTimeout = Duration.ofSeconds(300);
    /** The most sessions waiting detached at once; past it the oldest ends. */
    volatile int maxDetached = 1000;
    /** The clock detached sessions wait on (a test's manual clock, or the system's). */
    volatile java.time.Clock clock = java.time.Clock.systemUTC();
    private final Map<String, C2sSession> resumable = new ConcurrentHashMap<>();
    private final ReentrantLock detachLock = new ReentrantLock();
    private final java.util.LinkedHashSet<C2sSession> detached = new java.util.LinkedHashSet<>();

    /** Sets XEP-0198 resumption: the longest wait for a client, the most detached sessions, the clock. */
    public void streamManagement(Duration timeout, int maxDetachedSessions, java.time.Clock waitClock) {
        if (timeout.isNegative() || maxDetachedSessions < 0) {
            throw new IllegalArgumentException("negative resumption limits");
        }
        resumeTimeout = timeout.truncatedTo(ChronoUnit.SECONDS);
        maxDetached = maxDetachedSessions;
        clock = java.util.Objects.requireNonNull(waitClock, "clock");
    }

    void registerResumable(String id, C2sSession s) {
        resumable.put(id, s);
    }

    void forgetResumable(String id, C2sSession s) {
        resumable.remove(id, s);
    }

    /** The resumable session with this id, attached or detached, or null. */
    C2sSession resumable(String id) {
        return resumable.get(id);
    }

    /**
     * Counts a session that starts waiting detached. If that makes more than {@link #maxDetached},
     * the oldest waiting one is told to end now; with a limit of zero none waits (false).
     */
    boolean detach(C2sSession s) {
        C2sSession oldest = null;
        detachLock.lock();
        try {
            if (maxDetached == 0 || stopped) {
                return false;
            }
            detached.add(s);
            if (detached.size() > maxDetached) {
                oldest = detached.iterator().next();
                detached.remove(oldest);
            }
        } finally {
            detachLock.unlock();
        }
        if (oldest != null) {
            oldest.evict();
        }
        return true;
    }

    private boolean stopped;

    /** The server is stopping: detached sessions end now, and no more wait. */
    public void stopResumption() {
        List<C2sSession> waiting;
        detachLock.lock();
        try {
            stopped = true;
            waiting = new ArrayList<>(detached);
        } finally {
            detachLock.unlock();
        }
        waiting.forEach(C2sSession::evict);
    }

    void undetach(C2sSession s) {
        detachLock.lock();
        try {
            detached.remove(s);
        } finally {
            detachLock.unlock();
        }
    }

    /** The number of sessions waiting detached for their clients. */
    public int detachedCount() {
        detachLock.lock();
        try {
            return detached.size();
        } finally {
            detachLock.unlock();
        }
    }

    /** A resumed session takes the place of the one it resumed, with no presence change. */
    void replace(C2sSession old, C2sSession now) {
        bindLock.lock();
        try {
            List<C2sSession> list = sessions.computeIfAbsent(now.jid().local(), k -> new CopyOnWriteArrayList<>());
            int i = list.indexOf(old);
            if (i >= 0) {
                list.set(i, now);
            } else {
                list.add(now);
            }
        } finally {
            bindLock.unlock();
        }
        registerResumable(now.smIdForHub(), now);
    }

    /**
     * A stanza a session never got to its client, handled as one for an unavailable resource
     * (RFC 6121 §8.5.3.2.1, RFC 6120 §10.5.3.2): chat and normal messages to the user's other
     * resources or offline storage, a groupchat message or an IQ request answered with an error,
     * anything else dropped.
     */
    void undelivered(Element stanza, String local) {
        String type = stanza.attributeOrEmpty("type");
        switch (stanza.name()) {
            case "message" -> {
                if (type.equals("groupchat")) {
                    bounce(stanza, "service-unavailable", null);
                } else {
                    redeliver(stanza, local);
                }
            }
            case "iq" -> {
                if (type.equals("get") || type.equals("set")) {
                    bounce(stanza, "service-unavailable", null);
                }
            }
            default -> { } // presence: the contact learns from the unavailable presence instead
        }
    }

    /** The number of bound client sessions. */
    public int sessionCount() {
        int n = 0;
        for (List<C2sSession> l : sessions.values()) {
            n += l.size();
        }
        return n;
    }

    // ---------------------------------------------------------------- routing

    /**
     * Routes a stanza whose {@code from} is already stamped. {@code sender} is the client session
     * it came from, or null if it came from a component.
     */
    void route(Element stanza, C2sSession sender) {
        Jid to;
        try {
            to = Stanzas.jidOrNull(stanza, "to");
        } catch (IllegalArgumentException e) {
            bounce(stanza, "jid-malformed", sender);
            return;
        }
        switch (stanza.name()) {
            case "message" -> routeMessage(stanza, to, sender);
            case "presence" -> routePresence(stanza, to, sender);
            case "iq" -> routeIq(stanza, to, sender);
            default -> { }
        }
    }

    /** Sends an error back to a stanza's sender, unless it is an error itself (RFC 6120 §8.3.1). */
    void bounce(Element stanza, String condition, C2sSession sender) {
        if (stanza.attributeOrEmpty("type").equals("error")) {
            return;
        }
        Element err = Stanzas.error(stanza, condition, stanza.namespace());
        if (sender != null) {
            sender.send(err.withAttribute("to", sender.jid().toString()));
        } else {
            deliverTo(err, Stanzas.jidOrNull(err, "to"));
        }
    }

    /** Delivers a server-originated or bounced stanza to wherever its {@code to} points. */
    private void deliverTo(Element stanza, Jid to) {
        if (to == null) {
            return;
        }
        if (!to.domain().equals(domain)) {
            ComponentSession c = components.get(to.domain());
            if (c != null) {
                c.send(stanza);
            }
            return;
        }
        if (to.isBare()) {
            for (C2sSession s : sessionsOf(to.local())) {
                s.send(stanza);
            }
        } else {
            C2sSession s = sessionFor(to);
            if (s != null) {
                s.send(stanza);
            }
        }
    }

    private boolean toRemote(Element stanza, Jid to, C2sSession sender) {
        if (to == null || to.domain().equals(domain)) {
            return false;
        }
        ComponentSession c = components.get(to.domain());
        if (c != null) {
            c.send(stanza);
        } else if (!stanza.name().equals("presence")) {
            // no server-to-server links: RFC 6120 §10.4.3
            bounce(stanza, "remote-server-not-found", sender);
        }
        return true;
    }

    private void routeMessage(Element m, Jid to, C2sSession sender) {
        if (to == null) {
            // RFC 6120 §10.3.1: a message with no 'to' is treated as addressed to the sender's bare JID
            if (sender == null) {
                return;
            }
            to = sender.jid().bare();
            m = m.withAttribute("to", to.toString());
        }
        String type = m.attribute("type").orElse("normal");
        if (sender != null && carbonEligible(m, type)) {
            sendCarbons(sender, m, "sent");
        }
        if (toRemote(m, to, sender)) {
            return;
        }
        if (to.local().isEmpty()) {
            if (!type.equals("error") && !type.equals("headline")) {
                bounce(m, "service-unavailable", sender);
            }
            return;
        }
        if (!sessions.containsKey(to.local()) && !userExists(to.local())) {
            // RFC 6121 §8.5.2.2.1 / §8.5.3.2.1: no such account (one with a bound session exists:
            // that saves a look-up, and a stat of the users file, per message)
            if (!type.equals("error") && !type.equals("headline") && !type.equals("groupchat")) {
                bounce(m, "service-unavailable", sender);
            }
            return;
        }
        if (!to.isBare()) {
            C2sSession s = sessionFor(to);
            if (s != null) {
                s.deliver(m, sender);
                if (carbonEligible(m, type)) {
                    receivedCarbons(to.local(), m, List.of(s));
                }
                return;
            }
            // RFC 6121 §8.5.3.2.1: no such resource
            switch (type) {
                case "groupchat" -> {
                    bounce(m, "service-unavailable", sender);
                    return;
                }
                case "headline", "error" -> {
                    return;
                }
                default -> { } // chat and normal: as if to the bare JID
            }
        }
        deliverToBare(m, to.local(), type, sender);
    }

    /** A message a vanished session never acknowledged (XEP-0198 §4): to the user's other resources, or offline. */
    void redeliver(Element m, String local) {
        String type = m.attribute("type").orElse("normal");
        if (m.child("received", CARBONS).isPresent() || m.child("sent", CARBONS).isPresent()) {
            return; // a copy: the original went elsewhere
        }
        if ((type.equals("chat") || type.equals("normal")) && m.child("delay", DELAY).isEmpty()) {
            deliverToBare(m, local, type, null);
        } else if (type.equals("chat") || type.equals("normal")) {
            // already stamped once (it came from the offline store): store it back as it is
            try {
                store.storeOffline(local, m, MAX_OFFLINE);
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "cannot store an offline message for " + local, e);
            }
        }
    }

    /** RFC 6121 §8.5.2: to the most available resources, or offline storage. */
    private void deliverToBare(Element m, String local, String type, C2sSession sender) {
        List<C2sSession> best = new ArrayList<>();
        int top = Integer.MIN_VALUE;
        List<C2sSession> nonNegative = new ArrayList<>();
        for (C2sSession s : availableSessionsOf(local)) {
            if (s.priority < 0) {
                continue; // RFC 6121 §4.7.2.3: negative priority never gets bare-JID messages
            }
            nonNegative.add(s);
            if (s.priority > top) {
                top = s.priority;
                best.clear();
            }
            if (s.priority == top) {
                best.add(s);
            }
        }
        switch (type) {
            case "groupchat" -> {
                bounce(m, "service-unavailable", sender);
                return;
            }
            case "headline" -> {
                nonNegative.forEach(s -> s.send(m));
                return;
            }
            case "error" -> {
                best.forEach(s -> s.send(m));
                return;
            }
            default -> { }
        }
        if (!best.isEmpty()) {
            best.forEach(s -> s.deliver(m, sender));
            if (carbonEligible(m, type)) {
                receivedCarbons(local, m, best);
            }
            return;
        }
        // RFC 6121 §8.5.2.2.2 / XEP-0160: store for later, stamped with XEP-0203 delay
        Element stored = m.withChild(Element.of("delay", DELAY).withAttribute("from", domain)
                .withAttribute("stamp", Instant.now().truncatedTo(ChronoUnit.MILLIS).toString()));
        try {
            if (!store.storeOffline(local, stored, MAX_OFFLINE)) {
                bounce(m, "service-unavailable", sender);
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot store an offline message for " + local, e);
            bounce(m, "internal-server-error", sender);
        }
    }

    /** XEP-0280 §6: chat messages are copied, unless marked private or no-copy. */
    private static boolean carbonEligible(Element m, String type) {
        return type.equals("chat") && m.child("private", CARBONS).isEmpty() && m.child("no-copy", "urn:xmpp:hints").isEmpty()
                && m.child("received", CARBONS).isEmpty() && m.child("sent", CARBONS).isEmpty();
    }

    /** XEP-0280 §7: a copy of a sent message to the sender's other carbons-enabled sessions. */
    private void sendCarbons(C2sSession sender, Element m, String kind) {
        for (C2sSession t : sessionsOf(sender.jid().local())) {
            if (t != sender && t.carbons) {
                t.send(carbon(m, kind, sender.jid().bare(), t.jid()));
            }
        }
    }

    /** XEP-0280 §6: a copy of a received message to the recipient's carbons-enabled sessions that did not get it. */
    private void receivedCarbons(String local, Element m, List<C2sSession> got) {
        for (C2sSession t : sessionsOf(local)) {
            if (t.carbons && !got.contains(t)) {
                t.send(carbon(m, "received", t.jid().bare(), t.jid()));
            }
        }
    }

    private static Element carbon(Element m, String kind, Jid from, Jid to) {
        return Element.of("message", CLIENT_NS).withAttribute("from", from.toString()).withAttribute("to", to.toString())
                .withAttribute("type", "chat")
                .withChild(Element.of(kind, CARBONS).withChild(Element.of("forwarded", FORWARD).withChild(m)));
    }

    private void routeIq(Element iq, Jid to, C2sSession sender) {
        String type = iq.attributeOrEmpty("type");
        boolean request = type.equals("get") || type.equals("set");
        if (!request && !type.equals("result") && !type.equals("error")) {
            bounce(iq, "bad-request", sender);
            return;
        }
        if (request && iq.children().size() != 1) {
            // RFC 6120 §8.2.3: a get or set has exactly one payload
            bounce(iq, "bad-request", sender);
            return;
        }
        if (to == null) {
            if (sender != null && request) {
                serverIq(iq, sender.jid().bare(), sender);
            }
            return;
        }
        if (toRemote(iq, to, sender)) {
            return;
        }
        if (to.local().isEmpty()) {
            if (request) {
                serverIq(iq, to, sender);
            }
            return;
        }
        if (to.isBare()) {
            if (request) {
                serverIq(iq, to, sender);
            }
            return;
        }
        C2sSession s = sessionFor(to);
        if (s != null) {
            s.send(iq);
        } else if (request) {
            bounce(iq, "service-unavailable", sender);
        }
    }

    /** IQs the server answers itself, for its domain or on behalf of an account (RFC 6120 §10.5.3). */
    private void serverIq(Element iq, Jid to, C2sSession sender) {
        Element payload = iq.children().get(0);
        String ns = payload.namespace();
        boolean get = iq.attributeOrEmpty("type").equals("get");
        boolean forDomain = to.local().isEmpty();
        boolean ownAccount = sender != null && to.equals(sender.jid().bare());
        Jid answerFrom = ownAccount ? null : to; // RFC 6120 §10.3.3: an answer for the account itself has no 'from'
        if (ns.equals(RosterItem.NS) && payload.name().equals("query")) {
            if (sender == null || !(ownAccount || forDomain && iq.attribute("to").isEmpty())) {
                bounce(iq, "forbidden", sender); // RFC 6121 §2.1.5: only the user's own roster
                return;
            }
            if (get) {
                rosterGet(iq, sender);
            } else {
                rosterSet(iq, sender);
            }
            return;
        }
        if (!forDomain && !ownAccount && !userExists(to.local())) {
            bounce(iq, "service-unavailable", sender);
            return;
        }
        if (ns.equals(PING) && payload.name().equals("ping") && get) {
            reply(iq, Stanzas.result(iq, answerFrom, null), sender);
        } else if (ns.equals(DISCO_INFO) && payload.name().equals("query") && get) {
            Element q = Element.of("query", DISCO_INFO);
            if (payload.attribute("node").isPresent()) {
                bounce(iq, "item-not-found", sender);
                return;
            }
            if (forDomain) {
                q = q.withChild(Element.of("identity", DISCO_INFO).withAttribute("category", "server")
                        .withAttribute("type", "im").withAttribute("name", "Twine"));
                for (String f : List.of(DISCO_INFO, DISCO_ITEMS, PING, VERSION, RosterItem.NS, CARBONS, "msgoffline")) {
                    q = q.withChild(Element.of("feature", DISCO_INFO).withAttribute("var", f));
                }
            } else {
                // XEP-0030 §3.1 + RFC 6121: an account's bare JID
                q = q.withChild(Element.of("identity", DISCO_INFO).withAttribute("category", "account")
                        .withAttribute("type", "registered"));
                q = q.withChild(Element.of("feature", DISCO_INFO).withAttribute("var", DISCO_INFO));
            }
            reply(iq, Stanzas.result(iq, answerFrom, q), sender);
        } else if (ns.equals(DISCO_ITEMS) && payload.name().equals("query") && get) {
            Element q = Element.of("query", DISCO_ITEMS);
            if (forDomain && payload.attribute("node").isEmpty()) {
                for (String c : components.keySet().stream().sorted().toList()) {
                    q = q.withChild(Element.of("item", DISCO_ITEMS).withAttribute("jid", c));
                }
            }
            reply(iq, Stanzas.result(iq, answerFrom, q), sender);
        } else if (ns.equals(VERSION) && payload.name().equals("query") && get && forDomain) {
            Element q = Element.of("query", VERSION)
                    .withChild(Element.of("name", VERSION).withText("Twine"))
                    .withChild(Element.of("version", VERSION).withText(version));
            reply(iq, Stanzas.result(iq, answerFrom, q), sender);
        } else if (ns.equals(CARBONS) && !get && sender != null && (ownAccount || forDomain && iq.attribute("to").isEmpty())
                && (payload.name().equals("enable") || payload.name().equals("disable"))) {
            // XEP-0280 §4: carbons are switched per session
            sender.carbons = payload.name().equals("enable");
            reply(iq, Stanzas.result(iq, null, null), sender);
        } else if (ns.equals(Stanzas.SESSION_NS) && !get) {
            // RFC 3921 §3 session establishment, kept as a no-op for old clients (RFC 6121 §1.4)
            reply(iq, Stanzas.result(iq, answerFrom, null), sender);
        } else {
            bounce(iq, "service-unavailable", sender);
        }
    }

    private void reply(Element iq, Element result, C2sSession sender) {
        if (sender != null) {
            sender.send(result.withAttribute("to", sender.jid().toString()));
        } else {
            deliverTo(result, Stanzas.jidOrNull(result, "to"));
        }
    }

    // ---------------------------------------------------------------- roster (RFC 6121 §2)

    private void rosterGet(Element iq, C2sSession s) {
        s.rosterRequested = true;
        Element q = Element.of("query", RosterItem.NS);
        try {
            for (RosterItem i : store.roster(s.jid().local())) {
                if (i.visible()) {
                    q = q.withChild(i.toElement());
                }
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot read the roster of " + s.jid().local(), e);
            bounce(iq, "internal-server-error", s);
            return;
        }
        s.send(Stanzas.result(iq, null, q).withAttribute("to", s.jid().toString()));
    }

    private void rosterSet(Element iq, C2sSession s) {
        Element q = iq.children().get(0);
        List<Element> items = new ArrayList<>();
        for (Element c : q.children()) {
            if (c.is("item", RosterItem.NS)) {
                items.add(c);
            }
        }
        if (items.size() != 1) {
            bounce(iq, "bad-request", s); // RFC 6121 §2.3.3: exactly one item
            return;
        }
        Element item = items.get(0);
        Jid contact;
        try {
            contact = Jid.parse(item.attributeOrEmpty("jid")).bare();
        } catch (IllegalArgumentException e) {
            bounce(iq, "bad-request", s);
            return;
        }
        String user = s.jid().local();
        String cj = contact.toString();
        try {
            if (item.attributeOrEmpty("subscription").equals("remove")) {
                RosterItem old = store.rosterItem(user, cj);
                if (old == null || !old.visible()) {
                    bounce(iq, "item-not-found", s); // RFC 6121 §2.5.3
                    return;
                }
                store.updateRoster(user, m -> m.remove(cj));
                pushRoster(user, RosterItem.of(cj).toElement().withAttribute("subscription", "remove"));
                s.send(Stanzas.result(iq, null, null).withAttribute("to", s.jid().toString()));
                // RFC 6121 §2.5.2: cancel the subscriptions in both directions
                Jid userBare = s.jid().bare();
                if (old.hasTo() || old.askSubscribe()) {
                    inboundSubscription(contact, "unsubscribe", userBare, subscriptionStanza("unsubscribe", userBare, contact));
                }
                if (old.hasFrom() || old.pendingIn()) {
                    inboundSubscription(contact, "unsubscribed", userBare, subscriptionStanza("unsubscribed", userBare, contact));
                    sendUnavailableFrom(user, contact);
                }
                return;
            }
            List<String> groups = new ArrayList<>();
            for (Element g : item.children()) {
                if (g.is("group", RosterItem.NS)) {
                    if (g.text().isEmpty() || groups.contains(g.text())) {
                        bounce(iq, "bad-request", s); // RFC 6121 §2.3.3: empty or duplicate group
                        return;
                    }
                    groups.add(g.text());
                }
            }
            String name = item.attributeOrEmpty("name");
            RosterItem[] updated = new RosterItem[1];
            store.updateRoster(user, m -> {
                if (rosterFull(m, cj)) {
                    return;
                }
                RosterItem old = m.getOrDefault(cj, RosterItem.of(cj));
                updated[0] = old.withDetails(name, groups);
                m.put(cj, updated[0]);
            });
            if (updated[0] == null) {
                // RFC 6121 §2.3.3 leaves limits to the server: the roster is full
                bounce(iq, "resource-constraint", s);
                return;
            }
            pushRoster(user, updated[0].toElement());
            s.send(Stanzas.result(iq, null, null).withAttribute("to", s.jid().toString()));
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot write the roster of " + user, e);
            bounce(iq, "internal-server-error", s);
        }
    }

    /** A roster push to every session of the user that asked for the roster (RFC 6121 §2.1.6). */
    private void pushRoster(String user, Element item) {
        for (C2sSession t : sessionsOf(user)) {
            if (t.rosterRequested) {
                t.send(Element.of("iq", CLIENT_NS).withAttribute("type", "set")
                        .withAttribute("id", "push-" + Long.toHexString(System.nanoTime()))
                        .withAttribute("to", t.jid().toString())
                        .withChild(Element.of("query", RosterItem.NS).withChild(item)));
            }
        }
    }

    private static Element subscriptionStanza(String type, Jid from, Jid to) {
        return Element.of("presence", CLIENT_NS).withAttribute("type", type)
                .withAttribute("from", from.toString()).withAttribute("to", to.toString());
    }

    // ---------------------------------------------------------------- presence (RFC 6121 §3, §4)

    private void routePresence(Element p, Jid to, C2sSession sender) {
        String type = p.attribute("type").orElse("");
        switch (type) {
            case "subscribe", "subscribed", "unsubscribe", "unsubscribed" -> {
                if (to == null) {
                    return;
                }
                Jid contact = to.bare();
                Element stanza = p.withAttribute("to", contact.toString());
                if (sender != null) {
                    stanza = stanza.withAttribute("from", sender.jid().bare().toString());
                    outboundSubscription(sender, type, contact, stanza);
                } else {
                    Jid from = Stanzas.jidOrNull(p, "from");
                    if (from != null) {
                        inboundSubscription(contact, type, from.bare(), stanza.withAttribute("from", from.bare().toString()));
                    }
                }
            }
            case "probe" -> {
                if (sender == null && to != null && to.domain().equals(domain)) {
                    Jid from = Stanzas.jidOrNull(p, "from");
                    if (from != null) {
                        answerProbe(to.local(), from);
                    }
                }
            }
            case "", "unavailable" -> {
                if (to == null) {
                    if (sender != null) {
                        broadcastPresence(sender, p);
                    }
                    return;
                }
                // directed presence, RFC 6121 §4.6
                if (sender != null) {
                    if (type.isEmpty()) {
                        sender.directed.add(to.toString());
                    } else {
                        sender.directed.remove(to.toString());
                    }
                }
                deliverPresence(p, to);
            }
            case "error" -> {
                if (to != null) {
                    deliverPresence(p, to);
                }
            }
            default -> bounce(p, "bad-request", sender);
        }
    }

    /** Presence to an address: that resource, or all available resources of the bare JID. */
    private void deliverPresence(Element p, Jid to) {
        if (!to.domain().equals(domain)) {
            ComponentSession c = components.get(to.domain());
            if (c != null) {
                c.send(p.withAttribute("to", to.toString()));
            }
            return;
        }
        if (to.isBare()) {
            for (C2sSession s : availableSessionsOf(to.local())) {
                s.send(p.withAttribute("to", s.jid().toString()));
            }
        } else {
            C2sSession s = sessionFor(to);
            if (s != null) {
                s.send(p);
            }
        }
    }

    /** RFC 6121 §4.2 and §4.5: presence with no 'to' from a session. */
    void broadcastPresence(C2sSession s, Element p) {
        boolean available = !p.attributeOrEmpty("type").equals("unavailable");
        boolean initial = available && !s.available;
        if (available) {
            int prio = 0;
            try {
                prio = Integer.parseInt(p.childText("priority").orElse("0").trim());
            } catch (NumberFormatException e) {
                prio = 0;
            }
            s.priority = Math.max(-128, Math.min(127, prio)); // RFC 6121 §4.7.2.3
            s.presence = p;
        }
        s.available = available;
        String user = s.jid().local();
        List<RosterItem> roster;
        try {
            roster = store.roster(user);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot read the roster of " + user, e);
            roster = List.of();
        }
        Element out = p.withAttribute("from", s.jid().toString());
        for (RosterItem i : roster) {
            if (i.hasFrom()) {
                deliverPresence(out.withAttribute("to", i.jid()), Jid.parse(i.jid()));
            }
        }
        // the user's own available resources, this one included (RFC 6121 §4.2.2)
        for (C2sSession t : sessionsOf(user)) {
            if (t.available || t == s) {
                t.send(out.withAttribute("to", t.jid().toString()));
            }
        }
        if (!available) {
            for (String d : s.directed) {
                try {
                    deliverPresence(out.withAttribute("to", d), Jid.parse(d));
                } catch (IllegalArgumentException ignored) {
                    // stored from a parsed JID: cannot happen
                }
            }
            s.directed.clear();
            return;
        }
        if (initial) {
            // RFC 6121 §4.2.2: probe contacts the user is subscribed to
            for (RosterItem i : roster) {
                if (i.hasTo()) {
                    Jid c = Jid.parse(i.jid());
                    if (c.domain().equals(domain)) {
                        for (C2sSession cs : availableSessionsOf(c.local())) {
                            s.send(cs.presence.withAttribute("from", cs.jid().toString()).withAttribute("to", s.jid().toString()));
                        }
                    } else {
                        ComponentSession comp = components.get(c.domain());
                        if (comp != null) {
                            comp.send(Element.of("presence", CLIENT_NS).withAttribute("type", "probe")
                                    .withAttribute("from", s.jid().bare().toString()).withAttribute("to", i.jid()));
                        }
                    }
                }
                if (i.pendingIn()) {
                    // RFC 6121 §3.1.3: pending subscription requests, redelivered at login
                    s.send(subscriptionStanza("subscribe", Jid.parse(i.jid()), s.jid().bare()));
                }
            }
            if (s.priority >= 0) {
                deliverOffline(s);
            }
        }
    }

    /** RFC 6121 §8.5.2.1.1 / XEP-0160: stored messages go to the first available non-negative resource. */
    private void deliverOffline(C2sSession s) {
        String user = s.jid().local();
        try {
            List<Element> waiting = store.offline(user);
            if (waiting.isEmpty()) {
                return;
            }
            int sent = 0;
            for (Element m : waiting) {
                if (!s.send(m.withAttribute("to", s.jid().toString()))) {
                    break;
                }
                sent++;
            }
            store.dropOffline(user, sent);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot deliver offline messages of " + user, e);
        }
    }

    private void answerProbe(String local, Jid from) {
        try {
            RosterItem i = store.rosterItem(local, from.bare().toString());
            if (i == null || !i.hasFrom()) {
                return;
            }
        } catch (IOException e) {
            return;
        }
        for (C2sSession cs : availableSessionsOf(local)) {
            deliverTo(cs.presence.withAttribute("from", cs.jid().toString()).withAttribute("to", from.toString()), from);
        }
    }

    private void sendUnavailableFrom(String local, Jid to) {
        for (C2sSession cs : availableSessionsOf(local)) {
            deliverPresence(Element.of("presence", CLIENT_NS).withAttribute("type", "unavailable")
                    .withAttribute("from", cs.jid().toString()).withAttribute("to", to.toString()), to);
        }
    }

    private void sendPresenceFrom(String local, Jid to) {
        for (C2sSession cs : availableSessionsOf(local)) {
            deliverPresence(cs.presence.withAttribute("from", cs.jid().toString()).withAttribute("to", to.toString()), to);
        }
    }

    /** The user's half of a subscription state change (RFC 6121 §3.1.2, §3.1.5, §3.2, §3.3). */
    private void outboundSubscription(C2sSession s, String type, Jid contact, Element stanza) {
        String user = s.jid().local();
        String cj = contact.toString();
        Jid userBare = s.jid().bare();
        try {
            RosterItem[] changed = new RosterItem[1];
            boolean[] full = new boolean[1];
            boolean forward = true;
            switch (type) {
                case "subscribe" -> store.updateRoster(user, m -> {
                    if (rosterFull(m, cj)) {
                        full[0] = true; // the user's own roster cannot take the contact
                        return;
                    }
                    RosterItem i = m.getOrDefault(cj, RosterItem.of(cj)).withVisible(true);
                    if (!i.hasTo()) {
                        i = i.withAsk(true);
                    }
                    m.put(cj, i);
                    changed[0] = i;
                });
                case "subscribed" -> {
                    RosterItem i = store.rosterItem(user, cj);
                    if (i == null || !i.pendingIn() && !i.hasFrom()) {
                        forward = false; // RFC 6121 §3.1.5: no pending request, nothing to approve
                    } else if (!i.hasFrom()) {
                        store.updateRoster(user, m -> {
                            RosterItem n = m.get(cj).withSubscription(m.get(cj).hasTo(), true).withPendingIn(false).withVisible(true);
                            m.put(cj, n);
                            changed[0] = n;
                        });
                    }
                }
                case "unsubscribe" -> store.updateRoster(user, m -> {
                    RosterItem i = m.get(cj);
                    if (i != null && (i.hasTo() || i.askSubscribe())) {
                        RosterItem n = i.withSubscription(false, i.hasFrom()).withAsk(false);
                        m.put(cj, n);
                        changed[0] = n;
                    }
                });
                case "unsubscribed" -> store.updateRoster(user, m -> {
                    RosterItem i = m.get(cj);
                    if (i != null && (i.hasFrom() || i.pendingIn())) {
                        RosterItem n = i.withSubscription(i.hasTo(), false).withPendingIn(false);
                        if (!n.visible()) {
                            m.remove(cj);
                        } else {
                            m.put(cj, n);
                            changed[0] = n;
                        }
                    }
                });
                default -> { }
            }
            if (full[0]) {
                bounce(stanza.withAttribute("from", s.jid().toString()), "resource-constraint", s);
                return;
            }
            if (changed[0] != null && changed[0].visible()) {
                pushRoster(user, changed[0].toElement());
            }
            if (!forward) {
                return;
            }
            if (contact.domain().equals(domain)) {
                inboundSubscription(contact, type, userBare, stanza);
            } else {
                ComponentSession c = components.get(contact.domain());
                if (c != null) {
                    c.send(stanza);
                }
            }
            if (type.equals("subscribed")) {
                sendPresenceFrom(user, contact); // RFC 6121 §3.1.5
            } else if (type.equals("unsubscribed")) {
                sendUnavailableFrom(user, contact); // RFC 6121 §3.2.2
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot write the roster of " + user, e);
        }
    }

    /** The contact's half: a subscription stanza from {@code from} arriving for a local account. */
    private void inboundSubscription(Jid contact, String type, Jid from, Element stanza) {
        if (!contact.domain().equals(domain) || !userExists(contact.local())) {
            return; // RFC 6121 §3.1.3: no such user, silently ignored
        }
        String local = contact.local();
        String fj = from.toString();
        try {
            RosterItem[] changed = new RosterItem[1];
            boolean deliver = true;
            switch (type) {
                case "subscribe" -> {
                    RosterItem i = store.rosterItem(local, fj);
                    if (i != null && i.hasFrom()) {
                        // RFC 6121 §3.1.3: already approved, answer for the contact
                        deliverTo(subscriptionStanza("subscribed", contact, from), from);
                        answerProbe(local, from);
                        return;
                    }
                    boolean[] full = new boolean[1];
                    store.updateRoster(local, m -> {
                        if (rosterFull(m, fj)) {
                            full[0] = true; // a pending request is a (hidden) roster item too
                            return;
                        }
                        RosterItem old = m.get(fj);
                        m.put(fj, (old == null ? RosterItem.of(fj).withVisible(false) : old).withPendingIn(true));
                    });
                    if (full[0]) {
                        // not stored, so not delivered either: the sender learns it was not taken
                        deliverTo(Stanzas.error(stanza, "resource-constraint", CLIENT_NS), from);
                        return;
                    }
                }
                case "subscribed" -> store.updateRoster(local, m -> {
                    RosterItem i = m.get(fj);
                    if (i != null && !i.hasTo()) {
                        RosterItem n = i.withSubscription(true, i.hasFrom()).withAsk(false);
                        m.put(fj, n);
                        changed[0] = n;
                    }
                });
                case "unsubscribe" -> store.updateRoster(local, m -> {
                    RosterItem i = m.get(fj);
                    if (i != null && (i.hasFrom() || i.pendingIn())) {
                        RosterItem n = i.withSubscription(i.hasTo(), false).withPendingIn(false);
                        if (n.visible()) {
                            m.put(fj, n);
                            changed[0] = n;
                        } else {
                            m.remove(fj);
                        }
                    }
                });
                case "unsubscribed" -> store.updateRoster(local, m -> {
                    RosterItem i = m.get(fj);
                    if (i != null && (i.hasTo() || i.askSubscribe())) {
                        RosterItem n = i.withSubscription(false, i.hasFrom()).withAsk(false);
                        m.put(fj, n);
                        changed[0] = n;
                    }
                });
                default -> deliver = false;
            }
            if (type.equals("subscribed") || type.equals("unsubscribed")) {
                deliver = changed[0] != null; // RFC 6121 §3.1.6: only if it changed something
            }
            if (changed[0] != null && changed[0].visible()) {
                pushRoster(local, changed[0].toElement());
            }
            if (deliver) {
                for (C2sSession s : availableSessionsOf(local)) {
                    s.send(stanza.withAttribute("to", s.jid().bare().toString()));
                }
            }
            if (type.equals("unsubscribe")) {
                sendUnavailableFrom(local, from); // RFC 6121 §3.3.3
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot write the roster of " + local, e);
        }
    }
}
