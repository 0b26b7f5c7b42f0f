package dev.twine.xmpp.internal;

import dev.twine.core.DurableFiles;
import dev.twine.xmpp.DiscoInfo;
import dev.twine.xmpp.Element;
import dev.twine.xmpp.IqHandler;
import dev.twine.xmpp.IqRequest;
import dev.twine.xmpp.IqType;
import dev.twine.xmpp.Jid;
import dev.twine.xmpp.StanzaError;
import dev.twine.xmpp.StanzaException;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The blocking command (XEP-0191, {@code urn:xmpp:blocking}), as an account IQ handler: a user
 * reads, extends and shrinks a list of blocked addresses; the server pushes each change to all
 * the user's resources and keeps the list under {@code DATA/blocking/}, replaced atomically and
 * forced to disk before the change is acknowledged. Routing asks {@link #stops} about every
 * stanza and {@link #separates} about every presence it delivers itself.
 *
 * <p>All lists are read at start (a file exists only for a user who blocked someone), so the
 * check on each stanza is a map look-up. Thread-safe: changes are made under the user's lock, and
 * readers see an immutable snapshot.
 */
final class Blocking implements IqHandler {
    private static final System.Logger LOG = System.getLogger(Blocking.class.getName());
    static final String NS = "urn:xmpp:blocking";
    /** The application condition of a refused outbound stanza (XEP-0191 §3.6). */
    static final String ERRORS = "urn:xmpp:blocking:errors";

    private final Hub hub;
    private final Path dir;
    private final int limit;
    /** Users with a non-empty list, and their list in the order blocked. */
    private final Map<String, Set<Jid>> lists = new ConcurrentHashMap<>();
    private final Map<String, ReentrantLock> locks = new ConcurrentHashMap<>();

    /**
     * Reads every list under {@code dir}.
     *
     * @throws IOException if the directory cannot be made or a list cannot be read
     */
    Blocking(Hub hub, Path dir, int limit) throws IOException {
        if (limit < 1) {
            throw new IllegalArgumentException("blocklist limit must be positive");
        }
        this.hub = hub;
        this.dir = Files.createDirectories(dir);
        this.limit = limit;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(this.dir, "*.xml")) {
            for (Path f : files) {
                for (Element e : DataStore.read(f)) {
                    String user = e.attributeOrEmpty("user");
                    Set<Jid> items = items(e);
                    if (e.is("blocklist", NS) && !user.isEmpty() && !items.isEmpty()) {
                        lists.put(user, java.util.Collections.unmodifiableSet(items));
                    }
                }
            }
        }
    }

    @Override
    public DiscoInfo disco() {
        return DiscoInfo.features(NS); // XEP-0191 §2: the server advertises it
    }

    // ---------------------------------------------------------------- enforcement

    /**
     * Whether {@code user}'s list blocks {@code other}: an item equal to its full JID, its bare
     * JID, its domain with its resource, or its domain (XEP-0191 §3.3, matching as XEP-0016 §2.1).
     */
    boolean blocks(String user, Jid other) {
        Set<Jid> l = lists.get(user);
        if (l == null) {
            return false;
        }
        return l.contains(other) || l.contains(other.bare()) || l.contains(new Jid("", other.domain(), other.resource()))
                || l.contains(new Jid("", other.domain(), ""));
    }

    /**
     * Stops a stanza on its way from or to a user who blocked the other side, answering it as
     * XEP-0191 says: to a blocked address (§3.6), {@code not-acceptable} with {@code <blocked/>};
     * from one (§3.5), presence silently, a message or an IQ request {@code service-unavailable}.
     * Errors and IQ results are dropped without a word (RFC 6120 §8.3.1).
     *
     * @return true if the stanza must not be routed
     */
    boolean stops(Element stanza, Jid to, C2sSession sender) {
        if (lists.isEmpty() || to == null) {
            return false;
        }
        Jid from;
        try {
            from = Stanzas.jidOrNull(stanza, "from");
        } catch (IllegalArgumentException e) {
            return false;
        }
        if (from == null || from.bare().equals(to.bare())) {
            return false;
        }
        String type = stanza.attributeOrEmpty("type");
        boolean silent = type.equals("error") || stanza.name().equals("iq") && type.equals("result");
        if (blockedBy(from, to)) {
            if (!silent) {
                Element err = Stanzas.error(stanza, "not-acceptable", stanza.namespace());
                err = err.withChildren(err.children().stream()
                        .map(c -> c.name().equals("error") ? c.withChild(Element.of("blocked", ERRORS)) : c).toList());
                hub.sendError(err, sender);
            }
            return true;
        }
        if (blockedBy(to, from)) {
            if (!silent && !stanza.name().equals("presence")) {
                hub.bounce(stanza, "service-unavailable", sender);
            }
            return true;
        }
        return false;
    }

    /** Whether presence from {@code from} to {@code to} crosses a block, either way (XEP-0191 §3.5, §3.6). */
    boolean separates(Jid from, Jid to) {
        return !lists.isEmpty() && from != null && to != null && !from.bare().equals(to.bare())
                && (blockedBy(from, to) || blockedBy(to, from));
    }

    /** As {@link #separates(Jid, Jid)}, for a presence stanza's own {@code from}. */
    boolean separates(Element presence, Jid to) {
        if (lists.isEmpty()) {
            return false;
        }
        try {
            return separates(Stanzas.jidOrNull(presence, "from"), to);
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** Whether {@code owner} is a local user whose list blocks {@code other} (never their own server). */
    private boolean blockedBy(Jid owner, Jid other) {
        return owner.domain().equals(hub.domain) && !owner.local().isEmpty()
                && !(other.local().isEmpty() && other.domain().equals(hub.domain)) && blocks(owner.local(), other);
    }

    // ---------------------------------------------------------------- the protocol

    @Override
    public Optional<Element> handle(IqRequest request) throws StanzaException, IOException {
        if (!request.fromOwner()) {
            throw new StanzaException(StanzaError.FORBIDDEN, "a blocklist is its owner's");
        }
        String user = request.to().local();
        Element q = request.payload();
        if (request.type() == IqType.GET) {
            ServerIqs.expect(request, "blocklist"); // §3.2
            return Optional.of(listElement("blocklist", lists.getOrDefault(user, Set.of())));
        }
        boolean block = q.name().equals("block");
        if (!block && !q.name().equals("unblock")) {
            throw new StanzaException(StanzaError.SERVICE_UNAVAILABLE);
        }
        Set<Jid> given = parseItems(q);
        if (block && given.isEmpty()) {
            throw new StanzaException(StanzaError.BAD_REQUEST, "<block/> needs at least one item"); // §3.3
        }
        List<Jid> changed = new ArrayList<>();
        ReentrantLock lock = locks.computeIfAbsent(user, u -> new ReentrantLock());
        lock.lock();
        try {
            Set<Jid> now = new LinkedHashSet<>(lists.getOrDefault(user, Set.of()));
            if (block) {
                for (Jid j : given) {
                    if (now.add(j)) {
                        changed.add(j);
                    }
                }
                if (now.size() > limit) {
                    // RFC 6120 §8.3.3.18: the list may not grow without bound
                    throw new StanzaException(StanzaError.RESOURCE_CONSTRAINT, "at most " + limit + " blocked addresses");
                }
            } else if (given.isEmpty()) {
                changed.addAll(now); // §3.4: an empty <unblock/> unblocks everyone
                now.clear();
            } else {
                for (Jid j : given) {
                    if (now.remove(j)) {
                        changed.add(j);
                    }
                }
            }
            if (changed.isEmpty()) {
                return Optional.empty(); // nothing to store or push
            }
            Element stored = listElement("blocklist", now).withAttribute("user", user);
            DurableFiles.replace(dir.resolve(DataStore.fileName(user)), DataStore.document(List.of(stored)));
            if (now.isEmpty()) {
                lists.remove(user);
            } else {
                lists.put(user, java.util.Collections.unmodifiableSet(now));
            }
        } finally {
            lock.unlock();
        }
        // §3.3, §3.4: every resource of the user learns of the change
        Element pushed = block || !given.isEmpty() ? listElement(q.name(), changed) : Element.of("unblock", NS);
        for (C2sSession s : hub.sessionsOf(user)) {
            s.send(Element.of("iq", Hub.CLIENT_NS).withAttribute("type", "set").withAttribute("to", s.jid().toString())
                    .withAttribute("id", "block-" + Long.toHexString(System.nanoTime())).withChild(pushed));
        }
        if (block) {
            goneFor(user, changed);
        } else {
            backFor(user, changed);
        }
        return Optional.empty();
    }

    /** The contacts in the user's roster an item covers, with the subscription states. */
    private List<RosterItem> covered(String user, Jid item) {
        List<RosterItem> out = new ArrayList<>();
        try {
            for (RosterItem i : hub.store.roster(user)) {
                Jid c = Jid.parse(i.jid());
                boolean match = item.local().isEmpty() ? c.domain().equals(item.domain()) : c.equals(item.bare());
                if (match) {
                    out.add(i);
                }
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot read the roster of " + user, e);
        }
        return out;
    }

    /**
     * §3.3: a newly blocked contact that could see the user's presence gets unavailable presence
     * from each of the user's available resources, as do addresses it had sent directed presence to.
     */
    private void goneFor(String user, List<Jid> blocked) {
        List<C2sSession> sessions = hub.availableSessionsOf(user);
        for (Jid item : blocked) {
            List<Jid> targets = new ArrayList<>();
            for (RosterItem i : covered(user, item)) {
                if (i.hasFrom()) {
                    targets.add(item.isBare() ? Jid.parse(i.jid()) : item);
                }
            }
            for (C2sSession s : hub.sessionsOf(user)) {
                for (String d : List.copyOf(s.directed)) {
                    Jid dj = Jid.parse(d);
                    if (blocks(user, dj)) {
                        s.directed.remove(d);
                        if (!targets.contains(dj)) {
                            targets.add(dj);
                        }
                    }
                }
            }
            for (Jid t : targets) {
                for (C2sSession s : sessions) {
                    hub.deliverTo(Element.of("presence", Hub.CLIENT_NS).withAttribute("type", "unavailable")
                            .withAttribute("from", s.jid().toString()).withAttribute("to", t.toString()), t);
                }
            }
        }
    }

    /**
     * §3.4: an unblocked contact sees the user's presence again if subscribed to it, and the user
     * the contact's if subscribed to theirs (a probe for a remote contact, RFC 6121 §4.3).
     */
    private void backFor(String user, List<Jid> unblocked) {
        for (Jid item : unblocked) {
            for (RosterItem i : covered(user, item)) {
                Jid contact = Jid.parse(i.jid());
                if (blocks(user, contact)) {
                    continue; // still blocked by another item
                }
                if (i.hasFrom()) {
                    for (C2sSession s : hub.availableSessionsOf(user)) {
                        hub.presence.deliver(s.presence.withAttribute("from", s.jid().toString())
                                .withAttribute("to", contact.toString()), contact);
                    }
                }
                if (i.hasTo()) {
                    reprobe(user, contact);
                }
            }
        }
    }

    private void reprobe(String user, Jid contact) {
        if (contact.domain().equals(hub.domain)) {
            for (C2sSession cs : hub.availableSessionsOf(contact.local())) {
                for (C2sSession s : hub.availableSessionsOf(user)) {
                    hub.presence.deliver(cs.presence.withAttribute("from", cs.jid().toString())
                            .withAttribute("to", s.jid().toString()), s.jid());
                }
            }
            return;
        }
        Route r = hub.component(contact.domain());
        if (r != null) {
            r.send(Element.of("presence", Hub.CLIENT_NS).withAttribute("type", "probe")
                    .withAttribute("from", new Jid(user, hub.domain, "").toString()).withAttribute("to", contact.toString()));
        }
    }

    private static Element listElement(String name, java.util.Collection<Jid> items) {
        Element e = Element.of(name, NS);
        for (Jid j : items) {
            e = e.withChild(Element.of("item", NS).withAttribute("jid", j.toString()));
        }
        return e;
    }

    /** The items of a request; §3.3: a bad JID is {@code jid-malformed}. */
    private static Set<Jid> parseItems(Element q) throws StanzaException {
        Set<Jid> out = new LinkedHashSet<>();
        for (Element c : q.children()) {
            if (!c.is("item", NS)) {
                continue;
            }
            try {
                out.add(Jid.parse(c.attribute("jid").orElseThrow(() -> new IllegalArgumentException("no jid"))));
            } catch (IllegalArgumentException e) {
                throw new StanzaException(StanzaError.JID_MALFORMED, "bad item jid");
            }
        }
        return out;
    }

    /** The items of a stored list; a bad one is skipped with a log line. */
    private static Set<Jid> items(Element list) {
        Set<Jid> out = new LinkedHashSet<>();
        for (Element c : list.children()) {
            try {
                out.add(Jid.parse(c.attributeOrEmpty("jid")));
            } catch (IllegalArgumentException e) {
                LOG.log(System.Logger.Level.WARNING, "skipping a bad blocklist item: " + c.attributeOrEmpty("jid"));
            }
        }
        return out;
    }
}
