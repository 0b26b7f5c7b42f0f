package dev.twine.xmpp.internal;

import dev.twine.core.DurableFiles;
import dev.twine.xmpp.DiscoInfo;
import dev.twine.xmpp.Element;
import dev.twine.xmpp.InboundStanza;
import dev.twine.xmpp.IqHandler;
import dev.twine.xmpp.IqRequest;
import dev.twine.xmpp.Jid;
import dev.twine.xmpp.StanzaError;
import dev.twine.xmpp.StanzaException;
import dev.twine.xmpp.StanzaInterceptor;
import dev.twine.xmpp.Verdict;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Message archive management for one-to-one chats (XEP-0313, {@code urn:xmpp:mam:2}), built from
 * the server's own extension points: a message interceptor, last in the chain, that archives
 * every chat and normal message with a body in the sender's and the recipient's archive (local
 * users, as their preferences allow) and gives the recipient's copy an XEP-0359
 * {@code <stanza-id/>}; and an account IQ handler that answers queries (filters {@code with},
 * {@code start}, {@code end}; XEP-0059 paging with {@code max}, {@code after}, {@code before})
 * and preferences (§5). A message is archived once, before it is routed, so one that waits in
 * offline storage is in the archive already, with the same id.
 */
final class Mam implements StanzaInterceptor, IqHandler {
    static final String NS = "urn:xmpp:mam:2";
    static final String SID = "urn:xmpp:sid:0";
    static final String RSM = "http://jabber.org/protocol/rsm";
    static final String FORWARD = "urn:xmpp:forward:0";
    private static final String DATA = "jabber:x:data";
    private static final int MAX_PAGE = 250;
    private static final int DEFAULT_PAGE = 50;

    /** Archiving preferences (XEP-0313 §5): a default (always, never, roster) and JIDs always or never archived. */
    private record Prefs(String byDefault, Set<String> always, Set<String> never) {
        static final Prefs DEFAULT = new Prefs("always", Set.of(), Set.of());
    }

    private final Hub hub;
    private final Archive archive;
    private final Path dir;
    private final Clock clock;
    private final Map<String, Prefs> prefs = new ConcurrentHashMap<>();

    Mam(Hub hub, Path dir, int max, Clock clock) throws IOException {
        this.hub = hub;
        this.dir = dir;
        this.archive = new Archive(dir, max);
        this.clock = clock;
    }

    // ---------------------------------------------------------------- archiving

    @Override
    public Verdict intercept(InboundStanza in) throws IOException {
        Element m = in.stanza();
        String type = m.attribute("type").orElse("normal");
        if (!type.equals("chat") && !type.equals("normal") || !meaningful(m)) {
            return Verdict.pass(); // XEP-0313 §7.1.1: messages with content; groupchat is the room's to archive
        }
        Jid to;
        try {
            to = Jid.parse(m.attributeOrEmpty("to"));
        } catch (IllegalArgumentException e) {
            return Verdict.pass(); // routing answers jid-malformed
        }
        Jid from = in.from();
        String sender = local(from);
        String recipient = local(to);
        if (recipient != null && hub.sessionsOf(recipient).isEmpty() && !hub.userExists(recipient)) {
            // a bound session saves a look-up (and a stat of the users file) per message
            recipient = null;
        }
        if (sender == null && recipient == null) {
            return Verdict.pass();
        }
        // XEP-0359 §5: a stanza-id claimed by the recipient's archive is the server's to give, never the sender's
        String by = to.bare().toString();
        Element clean = m.children().stream().noneMatch(c -> c.is("stanza-id", SID)) ? m : m.withChildren(m.children().stream()
                .filter(c -> !(c.is("stanza-id", SID) && c.attributeOrEmpty("by").equals(by))).toList());
        long now = clock.millis();
        if (sender != null && !sender.equals(recipient) && archives(sender, to.bare().toString())) {
            archive.append(sender, to.bare().toString(), now, clean);
        }
        String id = null;
        if (recipient != null && archives(recipient, from.bare().toString())) {
            id = archive.append(recipient, from.bare().toString(), now, clean);
        }
        if (id == null) {
            return clean.children().size() == m.children().size() ? Verdict.pass() : Verdict.replace(clean);
        }
        return Verdict.replace(clean.withChild(Element.of("stanza-id", SID).withAttribute("by", by).withAttribute("id", id)));
    }

    /**
     * XEP-0313 §3: what holds content rather than a state change: a body, a chat marker
     * (XEP-0333) or a delivery receipt (XEP-0184), so that every device of the user learns what
     * was delivered and read; chat states (XEP-0085) are not archived.
     */
    static boolean meaningful(Element m) {
        return m.child("body", Hub.CLIENT_NS).isPresent() || m.childIn("urn:xmpp:chat-markers:0").isPresent()
                || m.child("received", "urn:xmpp:receipts").isPresent();
    }

    private String local(Jid j) {
        return j.domain().equals(hub.domain) && !j.local().isEmpty() ? j.local() : null;
    }

    private boolean archives(String user, String with) throws IOException {
        Prefs p = prefs(user);
        if (p.never().contains(with)) {
            return false;
        }
        if (p.always().contains(with)) {
            return true;
        }
        return switch (p.byDefault()) {
            case "never" -> false;
            case "roster" -> hub.store.rosterItem(user, with) != null;
            default -> true;
        };
    }

    // ---------------------------------------------------------------- queries and preferences

    @Override
    public Optional<Element> handle(IqRequest request) throws StanzaException, IOException {
        return answer(request).payload();
    }

    @Override
    public Answer answer(IqRequest request) throws StanzaException, IOException {
        if (!request.fromOwner()) {
            throw new StanzaException(StanzaError.FORBIDDEN, "an archive is its owner's to read"); // XEP-0313 §4
        }
        String user = request.to().local();
        Element q = request.payload();
        boolean get = request.type() == dev.twine.xmpp.IqType.GET;
        if (q.name().equals("prefs")) {
            return new Answer(List.of(), Optional.of(get ? prefsElement(prefs(user)) : setPrefs(user, q)));
        }
        if (!q.name().equals("query")) {
            throw new StanzaException(StanzaError.BAD_REQUEST, "expected <query/> or <prefs/>");
        }
        if (get) {
            // §6.1: the fields a query form may have
            return new Answer(List.of(), Optional.of(Element.of("query", NS).withChild(Element.of("x", DATA).withAttribute("type", "form")
                    .withChild(field("FORM_TYPE", "hidden", NS)).withChild(field("with", "jid-single", ""))
                    .withChild(field("start", "text-single", "")).withChild(field("end", "text-single", "")))));
        }
        return query(archive, user, request.from(), q);
    }

    /**
     * Answers an XEP-0313 query on the archive {@code key} of {@code archive} (a user's, or a
     * room's): the results as messages to {@code requester}, then the {@code <fin/>}.
     */
    static Answer query(Archive archive, String key, Jid requester, Element q) throws StanzaException, IOException {
        Map<String, String> form = new LinkedHashMap<>();
        q.child("x", DATA).ifPresent(x -> x.children().stream().filter(f -> f.is("field", DATA))
                .forEach(f -> form.put(f.attributeOrEmpty("var"), f.child("value", DATA).map(Element::text).orElse(""))));
        if (form.containsKey("FORM_TYPE") && !form.get("FORM_TYPE").equals(NS)) {
            throw new StanzaException(StanzaError.BAD_REQUEST, "FORM_TYPE is " + NS);
        }
        String with = "";
        if (!form.getOrDefault("with", "").isEmpty()) {
            try {
                with = Jid.parse(form.get("with")).bare().toString();
            } catch (IllegalArgumentException e) {
                throw new StanzaException(StanzaError.BAD_REQUEST, "bad 'with'");
            }
        }
        long start = time(form.get("start"), Long.MIN_VALUE);
        long end = time(form.get("end"), Long.MAX_VALUE);
        Optional<Element> set = q.child("set", RSM);
        int max = DEFAULT_PAGE;
        if (set.flatMap(s -> s.childText("max")).isPresent()) {
            try {
                max = Math.min(MAX_PAGE, Integer.parseInt(set.get().childText("max").orElseThrow().strip()));
            } catch (NumberFormatException e) {
                throw new StanzaException(StanzaError.BAD_REQUEST, "bad <max/>");
            }
            if (max < 0) {
                throw new StanzaException(StanzaError.BAD_REQUEST, "bad <max/>");
            }
        }
        Optional<String> after = set.flatMap(s -> s.child("after", RSM)).map(Element::text);
        Optional<String> before = set.flatMap(s -> s.child("before", RSM)).map(Element::text);
        String queryId = q.attributeOrEmpty("queryid");
        ReentrantLock l = archive.lock(key);
        l.lock();
        try {
            List<Archive.Entry> index = archive.index(key);
            List<Archive.Entry> matching = index; // no filter: paging runs on the index itself
            if (!with.isEmpty() || start != Long.MIN_VALUE || end != Long.MAX_VALUE) {
                matching = new ArrayList<>();
                for (Archive.Entry e : index) {
                    if ((with.isEmpty() || e.with().equals(with)) && e.millis() >= start && e.millis() <= end) {
                        matching.add(e);
                    }
                }
            }
            int from;
            int to;
            boolean backwards = before.isPresent();
            if (after.isPresent() && !after.get().isEmpty()) {
                long a = known(index, after.get());
                from = firstAbove(matching, a);
                to = Math.min(matching.size(), from + max);
            } else if (backwards && !before.get().isEmpty()) {
                long b = known(index, before.get());
                to = firstAbove(matching, b - 1);
                from = Math.max(0, to - max);
            } else if (backwards) {
                to = matching.size(); // XEP-0059 §2.5: an empty <before/> is the last page
                from = Math.max(0, to - max);
            } else {
                from = 0;
                to = Math.min(matching.size(), max);
            }
            List<Archive.Entry> page = matching.subList(from, to);
            List<Element> messages = archive.read(key, page);
            List<Element> results = new ArrayList<>();
            for (int i = 0; i < page.size(); i++) {
                Archive.Entry e = page.get(i);
                Element result = Element.of("result", NS).withAttribute("id", e.idText());
                if (!queryId.isEmpty()) {
                    result = result.withAttribute("queryid", queryId);
                }
                results.add(Element.of("message", Hub.CLIENT_NS).withAttribute("to", requester.toString())
                        .withChild(result.withChild(Element.of("forwarded", FORWARD)
                                .withChild(Element.of("delay", Offline.DELAY).withAttribute("stamp", Instant.ofEpochMilli(e.millis()).toString()))
                                .withChild(messages.get(i)))));
            }
            Element rsm = Element.of("set", RSM);
            if (!page.isEmpty()) {
                // XEP-0059 §2.6 makes the index optional; paging backwards it is left out, as clients
                // (slixmpp 1.8) take "index + page size = count" for the end whichever way they page
                Element first = Element.of("first", RSM).withText(page.get(0).idText());
                rsm = rsm.withChild(backwards ? first : first.withAttribute("index", Integer.toString(from)))
                        .withChild(Element.of("last", RSM).withText(page.get(page.size() - 1).idText()));
            }
            rsm = rsm.withChild(Element.of("count", RSM).withText(Integer.toString(matching.size())));
            boolean complete = backwards ? from == 0 : to == matching.size();
            Element fin = Element.of("fin", NS).withChild(rsm);
            if (complete) {
                fin = fin.withAttribute("complete", "true"); // §4.1.1: the last page in the direction of paging
            }
            return new Answer(results, Optional.of(fin));
        } finally {
            l.unlock();
        }
    }

    /** An id that must be in the archive (XEP-0313 §4.3.3: otherwise item-not-found). */
    private static long known(List<Archive.Entry> index, String id) throws StanzaException {
        long n;
        try {
            n = Long.parseLong(id.strip(), 36);
        } catch (NumberFormatException e) {
            throw new StanzaException(StanzaError.ITEM_NOT_FOUND, "no message " + id + " in the archive");
        }
        int lo = 0;
        int hi = index.size() - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            long v = index.get(mid).id();
            if (v == n) {
                return n;
            }
            if (v < n) {
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        throw new StanzaException(StanzaError.ITEM_NOT_FOUND, "no message " + id + " in the archive");
    }

    /** The position of the first entry whose id is above {@code id}. */
    private static int firstAbove(List<Archive.Entry> entries, long id) {
        int lo = 0;
        int hi = entries.size();
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (entries.get(mid).id() <= id) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    private static long time(String s, long otherwise) throws StanzaException {
        if (s == null || s.isEmpty()) {
            return otherwise;
        }
        try {
            return Instant.parse(s.strip()).toEpochMilli();
        } catch (DateTimeParseException e) {
            throw new StanzaException(StanzaError.BAD_REQUEST, "not an XEP-0082 date: " + s);
        }
    }

    private static Element field(String var, String type, String value) {
        Element f = Element.of("field", DATA).withAttribute("var", var).withAttribute("type", type);
        return value.isEmpty() ? f : f.withChild(Element.of("value", DATA).withText(value));
    }

    private Prefs prefs(String user) throws IOException {
        Prefs p = prefs.get(user);
        if (p != null) {
            return p;
        }
        p = Prefs.DEFAULT;
        for (Element e : DataStore.read(prefsFile(user))) {
            if (e.is("prefs", NS)) {
                p = fromElement(e);
            }
        }
        prefs.put(user, p);
        return p;
    }

    private Path prefsFile(String user) {
        return dir.resolve(DataStore.fileName(user).replaceAll("\\.xml$", ".prefs.xml"));
    }

    private Element setPrefs(String user, Element q) throws StanzaException, IOException {
        Prefs p = fromElement(q);
        if (!Set.of("always", "never", "roster").contains(p.byDefault())) {
            throw new StanzaException(StanzaError.BAD_REQUEST, "default is always, never or roster"); // §5.1
        }
        Element stored = prefsElement(p);
        DurableFiles.replace(prefsFile(user), DataStore.document(List.of(stored)));
        prefs.put(user, p);
        return stored;
    }

    private static Prefs fromElement(Element e) {
        return new Prefs(e.attribute("default").orElse("always"), jids(e, "always"), jids(e, "never"));
    }

    private static Set<String> jids(Element prefs, String list) {
        Set<String> out = new LinkedHashSet<>();
        prefs.child(list, NS).ifPresent(l -> l.children().stream().filter(j -> j.is("jid", NS)).forEach(j -> {
            try {
                out.add(Jid.parse(j.text().strip()).bare().toString());
            } catch (IllegalArgumentException ignored) {
                // a malformed JID matches nothing
            }
        }));
        return Set.copyOf(out);
    }

    private static Element prefsElement(Prefs p) {
        Element always = Element.of("always", NS);
        for (String j : p.always()) {
            always = always.withChild(Element.of("jid", NS).withText(j));
        }
        Element never = Element.of("never", NS);
        for (String j : p.never()) {
            never = never.withChild(Element.of("jid", NS).withText(j));
        }
        return Element.of("prefs", NS).withAttribute("default", p.byDefault()).withChild(always).withChild(never);
    }

    /**
     * Nothing for the domain, which keeps no archive of its own: the features are the accounts'
     * (XEP-0313 §7: clients ask their own bare JID), see {@link #ACCOUNT_DISCO}.
     */
    @Override
    public DiscoInfo disco() {
        return DiscoInfo.none();
    }

    /** What an account's disco#info says of its archive. */
    static final DiscoInfo ACCOUNT_DISCO = DiscoInfo.features(NS, SID);
}
