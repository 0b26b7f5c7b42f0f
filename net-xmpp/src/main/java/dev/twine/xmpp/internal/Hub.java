package dev.twine.xmpp.internal;

import dev.twine.core.Tls;
import dev.twine.core.auth.Portal;
import dev.twine.core.auth.UserStore;
import dev.twine.core.auth.Principal;
import dev.twine.xmpp.Element;
import dev.twine.xmpp.InboundStanza;
import dev.twine.xmpp.IqHandler;
import dev.twine.xmpp.IqRequest;
import dev.twine.xmpp.IqType;
import dev.twine.xmpp.Jid;
import dev.twine.xmpp.StanzaException;
import dev.twine.xmpp.StanzaInterceptor;
import dev.twine.xmpp.Verdict;
import dev.twine.xmpp.XmppServer;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The server's shared state and its routing rules: who is online, which components are
 * connected, and where each stanza goes (RFC 6120 §10, RFC 6121 §8): messages and presence
 * through their interceptors, IQs the server answers to the registered {@link IqHandler}s. The
 * parts each RFC or XEP defines live beside it: {@link Roster} (RFC 6121 §2, §3),
 * {@link Presence} (§4), {@link Offline} (XEP-0160), {@link Carbons} (XEP-0280),
 * {@link Resumption} (XEP-0198 §5), {@link ServerIqs}. Sessions call in from their own threads;
 * every method is thread-safe. A stanza is delivered by putting it in the recipient's
 * {@link Outbound} queue from the sender's thread, which never blocks on the recipient's socket.
 */
public final class Hub {
    private static final System.Logger LOG = System.getLogger(Hub.class.getName());
    static final String CLIENT_NS = "jabber:client";

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
    private final Map<String, Route> components = new ConcurrentHashMap<>();
    final Roster roster = new Roster(this);
    private final Carbons carbons = new Carbons(this);
    final Presence presence = new Presence(this);
    final Offline offline = new Offline(this);
    private final Extensions extensions = new Extensions();
    /** XEP-0198 sessions that can be resumed, and those waiting detached. */
    final Resumption resumption = new Resumption();
    private XmppServer server;
    /** XEP-0163, for the answers to its entity capabilities queries. */
    private Pep pep;

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

    /** XEP-0198 resumption: its settings, the detached sessions, stopping it. */
    public Resumption resumption() {
        return resumption;
    }

    /**
     * Registers the built-in handlers (ping, version, disco, roster, carbons, the XEP-0313
     * archive under {@code archiveDir}), then the user's over them, and hosts the domain
     * handlers; called once, before any connection.
     */
    public void extensions(XmppServer owner, Extensions user, Path archiveDir, int archiveLimit, java.time.Clock clock,
            Path pepDir, Pep.Limits pepLimits, Path vcardDir, int vcardBytes) throws IOException {
        server = owner;
        ServerIqs.register(extensions, this);
        roster.register(extensions);
        extensions.accountIq(IqType.SET, Carbons.CARBONS, carbons);
        extensions.contribute(Offline.DISCO);
        Mam mam = new Mam(this, archiveDir, archiveLimit, clock);
        extensions.accountIq(IqType.GET, Mam.NS, mam);
        extensions.accountIq(IqType.SET, Mam.NS, mam);
        extensions.contributeToAccounts(Mam.ACCOUNT_DISCO);
        Pep p = new Pep(this, pepDir, pepLimits);
        p.register(extensions);
        new VCards(vcardDir, vcardBytes).register(extensions);
        if (blocking != null) {
            extensions.accountIq(IqType.GET, Blocking.NS, blocking);
            extensions.accountIq(IqType.SET, Blocking.NS, blocking);
        }
        extensions.addAll(user);
        // last in the presence chain: PEP learns the capabilities of what is really broadcast
        extensions.presenceInterceptor(p);
        pep = p;
        // last in the chain: what another interceptor drops or changes is archived as delivered
        extensions.messageInterceptor(mam);
        extensions.domains().forEach((d, h) -> components.put(d, new LocalDomain(this, d, h)));
    }

    /** The blocking command (XEP-0191), or null before {@link #blocking(Path, int)}. */
    volatile Blocking blocking;

    /**
     * Turns the blocking command (XEP-0191) on, with the lists kept under {@code dir} and at
     * most {@code limit} items each; called once, before {@link #extensions}.
     *
     * @throws IOException if the stored lists cannot be read
     */
    public void blocking(Path dir, int limit) throws IOException {
        blocking = new Blocking(this, dir, limit);
    }

    /** The server these sessions belong to. */
    XmppServer server() {
        return server;
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
            presence.gone(old);
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
            presence.gone(s);
        }
    }

    /** Whether a full JID is bound right now. */
    boolean isBound(Jid full) {
        return sessionFor(full) != null;
    }

    C2sSession sessionFor(Jid full) {
        for (C2sSession s : sessions.getOrDefault(full.local(), List.of())) {
            if (s.jid().equals(full)) {
                return s;
            }
        }
        return null;
    }

    List<C2sSession> sessionsOf(String local) {
        return sessions.getOrDefault(local, List.of());
    }

    List<C2sSession> availableSessionsOf(String local) {
        List<C2sSession> out = new ArrayList<>();
        for (C2sSession s : sessionsOf(local)) {
            if (s.available) {
                out.add(s);
            }
        }
        return out;
    }

    /**
     * Where stanzas for another domain go: the component connected for it (or the handler hosted
     * in-process), else, with federation on, the remote domain's server; null if neither.
     */
    Route component(String componentDomain) {
        Route c = components.get(componentDomain);
        S2s f = s2s;
        return c != null || f == null || componentDomain.equals(domain) ? c : f.route(componentDomain);
    }

    /** Whether this server answers for a domain: its own, a component's or an in-process handler's. */
    boolean isHosted(String d) {
        return d.equals(domain) || components.containsKey(d);
    }

    /** Federation (RFC 6120 server streams), or null for none. */
    private volatile S2s s2s;

    /** Turns federation on; called once, before any connection. */
    public void federation(S2s federation) {
        s2s = federation;
    }

    /** The domains of the connected components, sorted. */
    List<String> componentDomains() {
        return components.keySet().stream().sorted().toList();
    }

    /** Registers a component for its domain; false if one is already connected or the domain is hosted in-process. */
    boolean attach(ComponentSession c) {
        return components.putIfAbsent(c.domain(), c) == null;
    }

    void detach(ComponentSession c) {
        components.remove(c.domain(), c);
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
        resumption.register(now.smIdForHub(), now);
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
     *
     * @throws InterruptedException if a handler or interceptor was interrupted (the server is stopping)
     */
    void route(Element stanza, C2sSession sender) throws InterruptedException {
        Jid to;
        try {
            to = Stanzas.jidOrNull(stanza, "to");
        } catch (IllegalArgumentException e) {
            bounce(stanza, "jid-malformed", sender);
            return;
        }
        if (blocking != null && blocking.stops(stanza, to, sender)) {
            return; // XEP-0191 §3.5, §3.6
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
        bounce(stanza, condition, "", sender);
    }

    /** As {@link #bounce(Element, String, C2sSession)}, with a {@code <text/>} unless {@code text} is empty. */
    void bounce(Element stanza, String condition, String text, C2sSession sender) {
        bounce(stanza, condition, text, null, sender);
    }

    /** A handler's or interceptor's refusal, with its application-specific condition if any. */
    void bounce(Element stanza, StanzaException e, C2sSession sender) {
        bounce(stanza, e.error().condition(), e.text(), e.application().orElse(null), sender);
    }

    private void bounce(Element stanza, String condition, String text, Element application, C2sSession sender) {
        if (stanza.attributeOrEmpty("type").equals("error")) {
            return;
        }
        sendError(Stanzas.error(stanza, condition, text, application, stanza.namespace()), sender);
    }

    /** Sends an error stanza to whoever sent the stanza it answers: {@code sender}, or its {@code to}. */
    void sendError(Element err, C2sSession sender) {
        if (sender != null) {
            sender.send(err.withAttribute("to", sender.jid().toString()));
        } else {
            deliverTo(err, Stanzas.jidOrNull(err, "to"));
        }
    }

    /** Delivers a server-originated or bounced stanza to wherever its {@code to} points. */
    void deliverTo(Element stanza, Jid to) {
        if (to == null) {
            return;
        }
        if (!to.domain().equals(domain)) {
            Route c = component(to.domain());
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
        Route c = component(to.domain());
        if (c != null) {
            c.send(stanza);
        } else if (!stanza.name().equals("presence")) {
            // no server-to-server federation: RFC 6120 §10.4.3
            bounce(stanza, "remote-server-not-found", sender);
        }
        return true;
    }

    private void routeMessage(Element original, Jid given, C2sSession sender) throws InterruptedException {
        Element m = original;
        Jid to = given;
        if (to == null) {
            // RFC 6120 §10.3.1: a message with no 'to' is treated as addressed to the sender's bare JID
            if (sender == null) {
                return;
            }
            to = sender.jid().bare();
            m = m.withAttribute("to", to.toString());
        }
        // interceptors before carbons and offline storage: they see (and may stop) each first
        Element passed = intercept(extensions.messageInterceptors(), m, sender);
        if (passed == null) {
            return;
        }
        if (passed != m) {
            m = passed;
            try {
                to = Stanzas.jidOrNull(m, "to");
            } catch (IllegalArgumentException e) {
                to = null;
            }
            if (to == null) {
                bounce(original, "jid-malformed", sender); // re-addressed to nowhere
                return;
            }
        }
        String type = m.attribute("type").orElse("normal");
        if (sender != null && Carbons.eligible(m, type)) {
            carbons.sent(sender, m);
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
                if (Carbons.eligible(m, type)) {
                    carbons.received(to.local(), m, List.of(s));
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
        if (m.child("received", Carbons.CARBONS).isPresent() || m.child("sent", Carbons.CARBONS).isPresent()) {
            return; // a copy: the original went elsewhere
        }
        if ((type.equals("chat") || type.equals("normal")) && m.child("delay", Offline.DELAY).isEmpty()) {
            deliverToBare(m, local, type, null);
        } else if (type.equals("chat") || type.equals("normal")) {
            offline.storeBack(m, local); // already stamped once: it came from the offline store
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
            if (Carbons.eligible(m, type)) {
                carbons.received(local, m, best);
            }
            return;
        }
        offline.store(m, local, sender); // RFC 6121 §8.5.2.2.2
    }

    /** Presence past its interceptors (a replacement is addressed anew), then {@link Presence}. */
    private void routePresence(Element original, Jid given, C2sSession sender) throws InterruptedException {
        Element p = intercept(extensions.presenceInterceptors(), original, sender);
        if (p == null) {
            return;
        }
        Jid to = given;
        if (p != original) {
            try {
                to = Stanzas.jidOrNull(p, "to");
            } catch (IllegalArgumentException e) {
                bounce(original, "jid-malformed", sender);
                return;
            }
        }
        presence.route(p, to, sender);
    }

    private void routeIq(Element iq, Jid to, C2sSession sender) throws InterruptedException {
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
            } else if (to.domain().equals(domain) && pep != null) {
                pep.response(iq, sender); // the server's own queries: XEP-0115 caps for PEP
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

    /**
     * IQs the server answers itself, for its domain or on behalf of an account (RFC 6120
     * §10.5.3, RFC 6121 §8.5.1): the registered handler for the type and payload namespace, or
     * {@code service-unavailable} (RFC 6120 §8.4).
     */
    private void serverIq(Element iq, Jid to, C2sSession sender) throws InterruptedException {
        boolean forDomain = to.local().isEmpty();
        boolean ownAccount = sender != null && to.equals(sender.jid().bare());
        IqType type = iq.attributeOrEmpty("type").equals("get") ? IqType.GET : IqType.SET;
        IqHandler handler = extensions.iqHandler(forDomain, type, iq.children().get(0).namespace());
        if (handler == null || !forDomain && !ownAccount && !userExists(to.local())) {
            bounce(iq, "service-unavailable", sender);
            return;
        }
        Jid from = sender != null ? sender.jid() : Stanzas.jidOrNull(iq, "from"); // a component's is checked
        IqHandler.Answer answer;
        try {
            answer = handler.answer(new IqRequest(iq, from, to, principalOf(sender), server));
        } catch (StanzaException e) {
            bounce(iq, e, sender);
            return;
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "the handler of " + iq.children().get(0).namespace() + " failed for " + from, e);
            bounce(iq, "internal-server-error", sender);
            return;
        }
        for (Element first : answer.stanzas()) {
            Element s = first.attribute("to").isPresent() ? first : first.withAttribute("to", from.toString());
            if (sender != null && s.attributeOrEmpty("to").equals(sender.jid().toString())) {
                sender.send(s);
            } else {
                deliverTo(s, Stanzas.jidOrNull(s, "to"));
            }
        }
        Jid answerFrom = ownAccount ? null : to; // RFC 6120 §10.3.3: an answer for the account itself has no 'from'
        reply(iq, Stanzas.result(iq, answerFrom, answer.payload().orElse(null)), sender);
    }

    private static Optional<Principal> principalOf(C2sSession sender) {
        return sender == null ? Optional.empty() : Optional.of(sender.principal());
    }

    /**
     * Runs a message or presence through its interceptors, in registration order (see
     * {@link StanzaInterceptor}): what to route, or null if one dropped or answered it.
     */
    private Element intercept(List<StanzaInterceptor> chain, Element stanza, C2sSession sender) throws InterruptedException {
        if (chain.isEmpty()) {
            return stanza;
        }
        String fromAttribute = stanza.attributeOrEmpty("from"); // stamped by the session
        Jid from = Jid.parse(fromAttribute);
        Element current = stanza;
        for (StanzaInterceptor i : chain) {
            Verdict v;
            try {
                v = i.intercept(new InboundStanza(current, from, principalOf(sender), server));
                if (v instanceof Verdict.Replace r && !r.stanza().name().equals(stanza.name())) {
                    throw new IllegalStateException("an interceptor replaced <" + stanza.name() + "/> with <" + r.stanza().name() + "/>");
                }
            } catch (StanzaException e) {
                bounce(current, e, sender);
                return null;
            } catch (IOException | RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "a " + stanza.name() + " interceptor failed for " + from, e);
                bounce(current, "internal-server-error", sender);
                return null;
            }
            switch (v) {
                case Verdict.Pass p -> { }
                case Verdict.Replace r -> current = r.stanza().withAttribute("from", fromAttribute);
                case Verdict.Drop d -> {
                    return null;
                }
                case Verdict.Answer a -> {
                    for (Element reply : a.replies()) {
                        answer(current, reply, from, sender);
                    }
                    return null;
                }
            }
        }
        return current;
    }

    /** An interceptor's answer to a stanza: to its sender unless it says otherwise. */
    private void answer(Element stanza, Element reply, Jid from, C2sSession sender) {
        Element r = reply;
        if (r.attribute("from").isEmpty()) {
            r = r.withAttribute("from", stanza.attribute("to").orElse(domain));
        }
        if (r.attribute("to").isEmpty()) {
            r = r.withAttribute("to", from.toString());
        }
        Jid to;
        try {
            to = Jid.parse(r.attributeOrEmpty("to"));
        } catch (IllegalArgumentException e) {
            LOG.log(System.Logger.Level.WARNING, "an interceptor answered with a bad 'to': " + r.attributeOrEmpty("to"));
            return;
        }
        if (sender != null && to.equals(sender.jid())) {
            sender.send(r);
        } else {
            deliverTo(r, to);
        }
    }

    private void reply(Element iq, Element result, C2sSession sender) {
        if (sender != null) {
            sender.send(result.withAttribute("to", sender.jid().toString()));
        } else {
            deliverTo(result, Stanzas.jidOrNull(result, "to"));
        }
    }
}
