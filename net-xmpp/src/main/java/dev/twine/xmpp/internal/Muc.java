package dev.twine.xmpp.internal;

import dev.twine.core.DurableFiles;
import dev.twine.xmpp.DomainHandler;
import dev.twine.xmpp.Element;
import dev.twine.xmpp.InboundStanza;
import dev.twine.xmpp.Jid;
import dev.twine.xmpp.StanzaError;
import dev.twine.xmpp.StanzaException;
import dev.twine.xmpp.internal.MucRoom.Affiliation;
import dev.twine.xmpp.internal.MucRoom.Config;
import dev.twine.xmpp.internal.MucRoom.Occupant;
import dev.twine.xmpp.internal.MucRoom.Past;
import dev.twine.xmpp.internal.MucRoom.Role;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Stream;

/**
 * Group chat, XEP-0045 (Multi-User Chat), as a {@link DomainHandler} for its own domain
 * ({@code conference.example.org}): rooms are created by joining them (the creator becomes owner,
 * status 201; rooms are open at once, an "instant room", §10.1.2), occupants join and leave with
 * presence to {@code room@domain/nick}, and the room fans messages out to every occupant.
 * Roles (moderator, participant, visitor) live as long as an occupant is in the room;
 * affiliations (owner, admin, member, outcast) are kept with the room, and a persistent room is
 * written under {@code DATA/muc/} (one file per room, replaced atomically and forced to disk
 * before the change is acknowledged), so it and its affiliations survive a restart. Discussion
 * history is kept in memory only, bounded.
 *
 * <p>Thread-safety: one lock guards every room; it is held only while a stanza is worked out,
 * never while anything is routed (the caller routes what {@link #handle} returns).
 */
public final class Muc implements DomainHandler {
    static final String MUC = "http://jabber.org/protocol/muc";
    static final String USER = MUC + "#user";
    static final String ADMIN = MUC + "#admin";
    static final String OWNER = MUC + "#owner";
    static final String DATA = "jabber:x:data";
    static final String CONFIG = MUC + "#roomconfig";
    static final String STORE_NS = "urn:twine:muc";
    private static final String NS = Hub.CLIENT_NS;

    /**
     * What one group chat service may hold.
     *
     * @param rooms rooms in all
     * @param occupants occupants in one room (a room's own {@code maxusers} may be lower)
     * @param history messages of discussion history one room keeps for newcomers
     * @param affiliations owners, admins, members and outcasts one room lists
     */
    public record Limits(int rooms, int occupants, int history, int affiliations) {
        /** Checks that each is positive (history: not negative). */
        public Limits {
            if (rooms < 1 || occupants < 1 || history < 0 || affiliations < 1) {
                throw new IllegalArgumentException("group chat limits must be positive");
            }
        }

        /** With the default bound on affiliations, 10,000 per room. */
        public Limits(int rooms, int occupants, int history) {
            this(rooms, occupants, history, 10_000);
        }
    }

    /** A room's affiliation list may not grow past the limit (nothing else bounds it): a change that would is undone. */
    private void checkAffiliations(MucRoom room, Map<String, Affiliation> before) throws StanzaException {
        if (room.affiliations.size() > limits.affiliations() && room.affiliations.size() > before.size()) {
            room.affiliations = before;
            throw new StanzaException(StanzaError.RESOURCE_CONSTRAINT, "a room lists at most " + limits.affiliations() + " affiliations");
        }
    }

    private final String domain;
    private final Path dir;
    private final Clock clock;
    private final Limits limits;
    private final ReentrantLock lock = new ReentrantLock();
    private final Map<String, MucRoom> rooms = new TreeMap<>();
    private final Archive archive;

    /**
     * The service for {@code domain}, its persistent rooms read back from {@code dir}, the rooms'
     * XEP-0313 archives (at most {@code archiveLimit} messages each) under {@code archiveDir}.
     *
     * @throws IOException if the directory cannot be made or a room file is unreadable (naming it)
     */
    public Muc(String domain, Path dir, Clock clock, Limits limits, Path archiveDir, int archiveLimit) throws IOException {
        this.domain = domain;
        this.dir = Files.createDirectories(dir);
        this.archive = new Archive(archiveDir, archiveLimit);
        this.clock = clock;
        this.limits = limits;
        try (Stream<Path> files = Files.list(this.dir)) {
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".xml")).sorted().toList()) {
                for (Element e : DataStore.read(f)) {
                    if (e.is("room", STORE_NS)) {
                        MucRoom r = fromStored(e);
                        rooms.put(r.name, r);
                    }
                }
            }
        }
    }

    @Override
    public List<Element> handle(InboundStanza in) throws StanzaException, IOException {
        Element s = in.stanza();
        Jid to = Jid.parse(s.attributeOrEmpty("to"));
        List<Element> out = new ArrayList<>();
        lock.lock();
        try {
            switch (s.name()) {
                case "presence" -> presence(s, in.from(), to, out);
                case "message" -> message(s, in.from(), to, out);
                case "iq" -> iq(s, in.from(), to, out);
                default -> { }
            }
        } finally {
            lock.unlock();
        }
        return out;
    }

    // ---------------------------------------------------------------- presence: join, change, leave

    private void presence(Element p, Jid from, Jid to, List<Element> out) throws StanzaException, IOException {
        String type = p.attributeOrEmpty("type");
        MucRoom room = to.local().isEmpty() ? null : rooms.get(to.local());
        if (type.equals("unavailable") || type.equals("error")) {
            Occupant o = room == null ? null : room.byJid(from);
            if (o != null) {
                leave(room, o, from, out);
            }
            return;
        }
        if (!type.isEmpty() || to.local().isEmpty()) {
            return; // subscriptions and probes to a room, and presence to the service, mean nothing here
        }
        if (to.isBare()) {
            throw new StanzaException(StanzaError.JID_MALFORMED, "join with a nickname: room@service/nick"); // §7.2.1
        }
        Occupant me = room == null ? null : room.byJid(from);
        if (me == null) {
            join(room, to, from, p, out);
        } else if (me.nick.equals(to.resource())) {
            me.presence = p; // a change of status: everyone sees it (§7.7)
            announce(room, me, "", List.of(), List.of(), out);
        } else {
            changeNick(room, me, to.resource(), p, out);
        }
    }

    private void join(MucRoom existing, Jid to, Jid from, Element p, List<Element> out) throws StanzaException, IOException {
        MucRoom room = existing;
        boolean created = room == null;
        String bare = from.bare().toString();
        if (created) {
            if (rooms.size() >= limits.rooms()) {
                throw new StanzaException(StanzaError.RESOURCE_CONSTRAINT, "this service has as many rooms as it may hold");
            }
            room = new MucRoom(to.local(), Config.defaults(limits.history()));
            room.affiliations.put(bare, Affiliation.OWNER); // §10.1.1: the creator owns the room
        }
        Affiliation a = room.affiliation(bare);
        Optional<Element> x = p.child("x", MUC);
        if (a == Affiliation.OUTCAST) {
            throw new StanzaException(StanzaError.FORBIDDEN, "banned from this room"); // §7.2.7
        }
        if (room.config.membersOnly() && a == Affiliation.NONE) {
            throw new StanzaException(StanzaError.REGISTRATION_REQUIRED, "members only"); // §7.2.6
        }
        if (!room.config.password().isEmpty() && !a.atLeastAdmin()
                && !x.flatMap(e -> e.childText("password")).orElse("").equals(room.config.password())) {
            throw new StanzaException(StanzaError.NOT_AUTHORIZED, "a password is required"); // §7.2.5
        }
        String nick = to.resource();
        Occupant holder = room.occupants.get(nick);
        if (holder != null && !holder.bare.equals(bare)) {
            throw new StanzaException(StanzaError.CONFLICT, "that nickname is taken"); // §7.2.9
        }
        int max = room.config.maxUsers() > 0 ? Math.min(room.config.maxUsers(), limits.occupants()) : limits.occupants();
        if (holder == null && room.occupants.size() >= max && !a.atLeastAdmin()) {
            throw new StanzaException(StanzaError.SERVICE_UNAVAILABLE, "the room is full"); // §7.2.10
        }
        if (created) {
            rooms.put(room.name, room);
        }
        Occupant me = holder;
        if (me == null) {
            me = new Occupant(nick, bare, a.atLeastAdmin() ? Role.MODERATOR
                    : room.config.moderated() && a == Affiliation.NONE ? Role.VISITOR : Role.PARTICIPANT);
        }
        me.jids.add(from);
        me.presence = p;
        // §7.2.3: the others' presence first, then the newcomer's own to everyone, self last
        for (Occupant o : room.occupants.values()) {
            if (o != me) {
                out.add(presenceOf(room, o, from, "", List.of(), List.of(), canSeeJids(room, me)));
            }
        }
        room.occupants.put(nick, me);
        List<Integer> codes = new ArrayList<>();
        if (room.config.whoisAnyone()) {
            codes.add(100); // §7.2.3: the room is non-anonymous
        }
        if (created) {
            codes.add(201); // §10.1.1: a new room
        }
        announce(room, me, "", List.of(), codes, out);
        history(room, x.flatMap(e -> e.child("history", MUC)), from, out);
        // §7.2.15: the subject, even an empty one, is what tells the client the join is complete
        Element subject = Element.of("message", NS).withAttribute("type", "groupchat")
                .withAttribute("from", room.subjectBy.isEmpty() ? roomJid(room) : roomJid(room) + "/" + room.subjectBy)
                .withAttribute("to", from.toString()).withChild(Element.of("subject", NS).withText(room.subject));
        out.add(subject);
    }

    private void changeNick(MucRoom room, Occupant me, String nick, Element p, List<Element> out) throws StanzaException {
        Occupant holder = room.occupants.get(nick);
        if (holder != null) {
            throw new StanzaException(StanzaError.CONFLICT, "that nickname is taken"); // §7.6
        }
        // §7.6: unavailable from the old nickname with status 303 and the new one, then available from the new
        announce(room, me, "unavailable", List.of(), List.of(303), out, nick);
        room.occupants.remove(me.nick);
        me.nick = nick;
        me.presence = p;
        room.occupants.put(nick, me);
        announce(room, me, "", List.of(), List.of(), out);
    }

    private void leave(MucRoom room, Occupant o, Jid jid, List<Element> out) throws IOException {
        if (o.jids.size() > 1) {
            o.jids.remove(jid); // another session of the same user stays under the nickname
            out.add(presenceOf(room, o, jid, "unavailable", List.of(), List.of(110), true).withAttribute("to", jid.toString()));
            return;
        }
        room.occupants.remove(o.nick);
        o.role = Role.NONE;
        announce(room, o, "unavailable", List.of(), List.of(), out);
        dropIfDone(room);
    }

    /** A temporary room ends with its last occupant (XEP-0045 §10.1.3). */
    private void dropIfDone(MucRoom room) throws IOException {
        if (room.occupants.isEmpty() && !room.config.persistent()) {
            rooms.remove(room.name);
            archive.delete(room.name); // a later room of the same name starts afresh
        }
    }

    /**
     * Sends occupant {@code o}'s presence to every occupant, and to {@code o}'s own sessions if it
     * has left, those with status 110 (§7.2.3) besides {@code codes}.
     */
    private void announce(MucRoom room, Occupant o, String type, List<Element> itemChildren, List<Integer> codes, List<Element> out) {
        announce(room, o, type, itemChildren, codes, out, null);
    }

    private void announce(MucRoom room, Occupant o, String type, List<Element> itemChildren, List<Integer> codes,
            List<Element> out, String newNick) {
        List<Element> children = new ArrayList<>(itemChildren);
        for (Occupant v : room.occupants.values()) {
            if (v == o) {
                continue;
            }
            Element pres = presenceOf(room, o, null, type, children, codes, canSeeJids(room, v), newNick);
            for (Jid j : v.jids) {
                out.add(pres.withAttribute("to", j.toString()));
            }
        }
        List<Integer> self = new ArrayList<>(codes);
        self.add(110);
        Element mine = presenceOf(room, o, null, type, children, self, true, newNick);
        for (Jid j : o.jids) {
            out.add(mine.withAttribute("to", j.toString()));
        }
    }

    private static boolean canSeeJids(MucRoom room, Occupant viewer) {
        return room.config.whoisAnyone() || viewer.role == Role.MODERATOR;
    }

    private Element presenceOf(MucRoom room, Occupant o, Jid to, String type, List<Element> itemChildren, List<Integer> codes, boolean showJid) {
        Element p = presenceOf(room, o, null, type, itemChildren, codes, showJid, null);
        return to == null ? p : p.withAttribute("to", to.toString());
    }

    private Element presenceOf(MucRoom room, Occupant o, Jid to, String type, List<Element> itemChildren, List<Integer> codes,
            boolean showJid, String newNick) {
        Element p = Element.of("presence", NS).withAttribute("from", roomJid(room) + "/" + o.nick);
        if (to != null) {
            p = p.withAttribute("to", to.toString());
        }
        if (!type.isEmpty()) {
            p = p.withAttribute("type", type);
        } else if (o.presence != null) {
            for (Element c : o.presence.children()) {
                if (!c.namespace().startsWith(MUC)) {
                    p = p.withChild(c); // show, status, priority, caps: what the occupant said
                }
            }
        }
        Element item = Element.of("item", USER).withAttribute("affiliation", room.affiliation(o.bare).xml())
                .withAttribute("role", o.role.xml());
        if (showJid && !o.jids.isEmpty()) {
            item = item.withAttribute("jid", o.jids.get(0).toString());
        }
        if (newNick != null) {
            item = item.withAttribute("nick", newNick);
        }
        for (Element c : itemChildren) {
            item = item.withChild(c);
        }
        Element x = Element.of("x", USER).withChild(item);
        for (int code : codes) {
            x = x.withChild(Element.of("status", USER).withAttribute("code", Integer.toString(code)));
        }
        return p.withChild(x);
    }

    /** XEP-0045 §7.2.14: the discussion history a newcomer asked for (maxstanzas, seconds, since; maxchars='0'). */
    private void history(MucRoom room, Optional<Element> request, Jid to, List<Element> out) {
        int max = room.history.size();
        Instant since = Instant.MIN;
        if (request.isPresent()) {
            Element h = request.get();
            if (h.attributeOrEmpty("maxchars").equals("0")) {
                return;
            }
            max = Math.min(max, nonNegative(h.attributeOrEmpty("maxstanzas"), max));
            int seconds = nonNegative(h.attributeOrEmpty("seconds"), -1);
            if (seconds >= 0) {
                since = clock.instant().minusSeconds(seconds);
            }
            String s = h.attributeOrEmpty("since");
            if (!s.isEmpty()) {
                try {
                    Instant t = Instant.parse(s);
                    since = t.isAfter(since) ? t : since;
                } catch (DateTimeParseException e) {
                    // a bad date limits nothing (XEP-0082 dates only)
                }
            }
        }
        List<Past> chosen = new ArrayList<>();
        var it = room.history.descendingIterator();
        while (it.hasNext() && chosen.size() < max) {
            Past past = it.next();
            if (past.at().isBefore(since)) {
                break;
            }
            chosen.add(0, past);
        }
        for (Past past : chosen) {
            out.add(past.message().withAttribute("to", to.toString()).withChild(Element.of("delay", Offline.DELAY)
                    .withAttribute("from", roomJid(room)).withAttribute("stamp", past.at().truncatedTo(ChronoUnit.SECONDS).toString())));
        }
    }

    private static int nonNegative(String s, int otherwise) {
        if (s.isEmpty()) {
            return otherwise;
        }
        try {
            return Math.max(0, Integer.parseInt(s.strip()));
        } catch (NumberFormatException e) {
            return otherwise;
        }
    }

    // ---------------------------------------------------------------- messages

    private void message(Element m, Jid from, Jid to, List<Element> out) throws StanzaException, IOException {
        String type = m.attribute("type").orElse("normal");
        MucRoom room = to.local().isEmpty() ? null : rooms.get(to.local());
        Occupant me = room == null ? null : room.byJid(from);
        if (type.equals("error")) {
            if (me != null) {
                leave(room, me, from, out); // §18.1: a session that bounces room traffic is gone
            }
            return;
        }
        if (room == null) {
            throw new StanzaException(to.local().isEmpty() ? StanzaError.SERVICE_UNAVAILABLE : StanzaError.ITEM_NOT_FOUND);
        }
        Optional<Element> user = m.child("x", USER);
        if (to.isBare() && user.isPresent() && (user.get().child("invite", USER).isPresent() || user.get().child("decline", USER).isPresent())) {
            invite(room, me, from, user.get(), out);
            return;
        }
        if (me == null) {
            throw new StanzaException(StanzaError.NOT_ACCEPTABLE, "join the room first"); // §7.4
        }
        if (!to.isBare()) {
            privateMessage(room, me, to.resource(), m, type, out);
            return;
        }
        if (!type.equals("groupchat")) {
            throw new StanzaException(StanzaError.BAD_REQUEST, "messages to the room are of type groupchat");
        }
        if (me.role == Role.VISITOR) {
            throw new StanzaException(StanzaError.FORBIDDEN, "visitors have no voice in this room"); // §7.4
        }
        Optional<String> subject = m.childText("subject");
        if (subject.isPresent() && m.child("body", NS).isEmpty()) {
            if (me.role != Role.MODERATOR && !room.config.changeSubject()) {
                throw new StanzaException(StanzaError.FORBIDDEN, "only moderators change the subject"); // §8.1
            }
            String before = room.subject;
            String beforeBy = room.subjectBy;
            room.subject = subject.get();
            room.subjectBy = me.nick;
            if (room.config.persistent()) {
                try {
                    save(room);
                } catch (IOException e) {
                    room.subject = before;
                    room.subjectBy = beforeBy;
                    throw e;
                }
            }
        }
        Element sent = Element.of("message", NS, Map.of(), m.children().stream()
                .filter(c -> !(c.is("stanza-id", Mam.SID) && c.attributeOrEmpty("by").equals(roomJid(room)))).toList(), "")
                .withAttribute("type", "groupchat").withAttribute("from", roomJid(room) + "/" + me.nick);
        if (m.attribute("id").isPresent()) {
            sent = sent.withAttribute("id", m.attributeOrEmpty("id")); // XEP-0045 §7.4: the sender sees its id again
        }
        if (m.child("body", NS).isPresent()) {
            // XEP-0313 §5.1.2 / XEP-0359: the room's archive, and its id on every copy
            String id = archive.append(room.name, roomJid(room) + "/" + me.nick, clock.millis(), sent);
            sent = sent.withChild(Element.of("stanza-id", Mam.SID).withAttribute("by", roomJid(room)).withAttribute("id", id));
        }
        for (Occupant o : room.occupants.values()) {
            for (Jid j : o.jids) {
                out.add(sent.withAttribute("to", j.toString()));
            }
        }
        if (m.child("body", NS).isPresent() && room.config.history() > 0) {
            room.history.addLast(new Past(sent, clock.instant()));
            while (room.history.size() > Math.min(room.config.history(), limits.history())) {
                room.history.removeFirst();
            }
        }
    }

    /** §7.5: a private message to one occupant, through the room, from the sender's occupant address. */
    private void privateMessage(MucRoom room, Occupant me, String nick, Element m, String type, List<Element> out) throws StanzaException {
        if (type.equals("groupchat")) {
            throw new StanzaException(StanzaError.BAD_REQUEST, "a private message is not groupchat"); // §7.5
        }
        Occupant target = room.occupants.get(nick);
        if (target == null) {
            throw new StanzaException(StanzaError.ITEM_NOT_FOUND, "no occupant " + nick);
        }
        Element pm = Element.of("message", NS, Map.of(), m.children(), "").withAttribute("type", type)
                .withAttribute("from", roomJid(room) + "/" + me.nick).withChild(Element.of("x", USER));
        if (m.attribute("id").isPresent()) {
            pm = pm.withAttribute("id", m.attributeOrEmpty("id"));
        }
        for (Jid j : target.jids) {
            out.add(pm.withAttribute("to", j.toString()));
        }
    }

    /** §7.8.2: mediated invitations (and their declines), sent on from the room. */
    private void invite(MucRoom room, Occupant me, Jid from, Element x, List<Element> out) throws StanzaException, IOException {
        Optional<Element> decline = x.child("decline", USER);
        if (decline.isPresent()) {
            Jid to = parse(decline.get().attributeOrEmpty("to"));
            Element d = Element.of("decline", USER).withAttribute("from", from.bare().toString());
            for (Element c : decline.get().children()) {
                d = d.withChild(c);
            }
            out.add(Element.of("message", NS).withAttribute("from", roomJid(room)).withAttribute("to", to.toString())
                    .withChild(Element.of("x", USER).withChild(d)));
            return;
        }
        if (me == null) {
            throw new StanzaException(StanzaError.NOT_ACCEPTABLE, "join the room first");
        }
        Affiliation mine = room.affiliation(me.bare);
        List<Jid> invitees = new ArrayList<>();
        for (Element i : x.children()) {
            if (i.is("invite", USER)) {
                invitees.add(parse(i.attributeOrEmpty("to")).bare());
            }
        }
        if (room.config.membersOnly()) {
            if (!mine.atLeastAdmin()) {
                throw new StanzaException(StanzaError.FORBIDDEN, "only admins invite to a members-only room"); // §7.8.2
            }
            Map<String, Affiliation> before = new LinkedHashMap<>(room.affiliations);
            for (Jid j : invitees) {
                room.affiliations.putIfAbsent(j.toString(), Affiliation.MEMBER); // §9.? an invitation makes a member
            }
            checkAffiliations(room, before);
            saveOrRevert(room, before, room.config);
        }
        for (Element i : x.children()) {
            if (!i.is("invite", USER)) {
                continue;
            }
            Element inv = Element.of("invite", USER).withAttribute("from", from.bare().toString());
            for (Element c : i.children()) {
                inv = inv.withChild(c);
            }
            Element ux = Element.of("x", USER).withChild(inv);
            if (!room.config.password().isEmpty()) {
                ux = ux.withChild(Element.of("password", USER).withText(room.config.password()));
            }
            out.add(Element.of("message", NS).withAttribute("from", roomJid(room))
                    .withAttribute("to", parse(i.attributeOrEmpty("to")).bare().toString()).withChild(ux));
        }
    }

    private static Jid parse(String s) throws StanzaException {
        try {
            return Jid.parse(s);
        } catch (IllegalArgumentException e) {
            throw new StanzaException(StanzaError.JID_MALFORMED, s);
        }
    }

    private String roomJid(MucRoom room) {
        return room.name + "@" + domain;
    }

    // ---------------------------------------------------------------- IQs

    private void iq(Element iq, Jid from, Jid to, List<Element> out) throws StanzaException, IOException {
        String type = iq.attributeOrEmpty("type");
        if (!type.equals("get") && !type.equals("set")) {
            return;
        }
        Element q = iq.children().get(0);
        boolean get = type.equals("get");
        if (to.local().isEmpty()) {
            if (get && q.is("query", ServerIqs.DISCO_INFO) && q.attribute("node").isEmpty()) {
                out.add(result(q.withChildren(List.of(
                        Element.of("identity", ServerIqs.DISCO_INFO).withAttribute("category", "conference").withAttribute("type", "text")
                                .withAttribute("name", "Chatrooms"),
                        feature(ServerIqs.DISCO_INFO), feature(ServerIqs.DISCO_ITEMS), feature(MUC), feature(ServerIqs.PING)))));
            } else if (get && q.is("query", ServerIqs.DISCO_ITEMS) && q.attribute("node").isEmpty()) {
                Element items = Element.of("query", ServerIqs.DISCO_ITEMS);
                for (MucRoom r : rooms.values()) {
                    if (r.config.isPublic()) {
                        items = items.withChild(Element.of("item", ServerIqs.DISCO_ITEMS).withAttribute("jid", roomJid(r))
                                .withAttribute("name", r.config.title().isEmpty() ? r.name : r.config.title()));
                    }
                }
                out.add(result(items));
            } else if (get && q.is("ping", ServerIqs.PING)) {
                out.add(result(null));
            }
            return; // anything else: service-unavailable
        }
        MucRoom room = rooms.get(to.local());
        if (room == null) {
            throw new StanzaException(StanzaError.ITEM_NOT_FOUND, "no such room");
        }
        Occupant me = room.byJid(from);
        if (!to.isBare()) {
            // XEP-0410: a ping to one's own occupant address says whether one is still joined
            if (get && q.is("ping", ServerIqs.PING)) {
                if (me == null || !me.nick.equals(to.resource())) {
                    throw new StanzaException(StanzaError.NOT_ACCEPTABLE, "not joined as " + to.resource());
                }
                out.add(result(null));
            }
            return;
        }
        if (get && q.is("query", ServerIqs.DISCO_INFO)) {
            out.add(result(roomInfo(room)));
        } else if (get && q.is("query", ServerIqs.DISCO_ITEMS)) {
            out.add(result(Element.of("query", ServerIqs.DISCO_ITEMS))); // §6.5: occupants are not listed
        } else if (get && q.is("ping", ServerIqs.PING)) {
            out.add(result(null));
        } else if (!get && q.is("query", Mam.NS)) {
            Affiliation a = room.affiliation(from.bare().toString());
            if (a == Affiliation.OUTCAST || room.config.membersOnly() && a == Affiliation.NONE) {
                throw new StanzaException(StanzaError.FORBIDDEN, "the archive is for those who may join"); // XEP-0313 §5.1.1
            }
            var answer = Mam.query(archive, room.name, from, q);
            out.addAll(answer.stanzas());
            out.add(result(answer.payload().orElse(null)));
        } else if (q.is("query", ADMIN)) {
            out.addAll(admin(room, me, from, q, get));
        } else if (q.is("query", OWNER)) {
            out.addAll(owner(room, from, q, get));
        }
    }

    private static Element result(Element payload) {
        Element r = Element.of("iq", NS).withAttribute("type", "result");
        return payload == null ? r : r.withChild(payload);
    }

    private static Element feature(String var) {
        return Element.of("feature", ServerIqs.DISCO_INFO).withAttribute("var", var);
    }

    /** §6.4: the room's identity, features and muc#roominfo. */
    private Element roomInfo(MucRoom room) {
        Config c = room.config;
        List<Element> children = new ArrayList<>();
        children.add(Element.of("identity", ServerIqs.DISCO_INFO).withAttribute("category", "conference").withAttribute("type", "text")
                .withAttribute("name", c.title().isEmpty() ? room.name : c.title()));
        for (String f : List.of(ServerIqs.DISCO_INFO, MUC, ServerIqs.PING, MUC + "#self-ping-optimization", Mam.NS, Mam.SID,
                c.persistent() ? "muc_persistent" : "muc_temporary", c.isPublic() ? "muc_public" : "muc_hidden",
                c.membersOnly() ? "muc_membersonly" : "muc_open", c.moderated() ? "muc_moderated" : "muc_unmoderated",
                c.password().isEmpty() ? "muc_unsecured" : "muc_passwordprotected",
                c.whoisAnyone() ? "muc_nonanonymous" : "muc_semianonymous")) {
            children.add(feature(f));
        }
        children.add(MucForms.form("result", MUC + "#roominfo", List.of(
                MucForms.field("muc#roominfo_description", "text-single", "Description", c.description()),
                MucForms.field("muc#roominfo_occupants", "text-single", "Occupants", Integer.toString(room.occupants.size())),
                MucForms.field("muc#roominfo_subject", "text-single", "Subject", room.subject))));
        return Element.of("query", ServerIqs.DISCO_INFO).withChildren(children);
    }

    // ---------------------------------------------------------------- admin: roles and affiliations (§8, §9, §10)

    private record RoleChange(Occupant target, Role role, String reason) {}

    private record AffiliationChange(String bare, Affiliation affiliation, String reason) {}

    private List<Element> admin(MucRoom room, Occupant me, Jid from, Element q, boolean get) throws StanzaException, IOException {
        Affiliation mine = room.affiliation(from.bare().toString());
        Role myRole = me == null ? Role.NONE : me.role;
        List<Element> items = q.children().stream().filter(e -> e.is("item", ADMIN)).toList();
        if (items.isEmpty()) {
            throw new StanzaException(StanzaError.BAD_REQUEST, "no <item/>");
        }
        if (get) {
            Element item = items.get(0);
            Element answer = Element.of("query", ADMIN);
            if (item.attribute("affiliation").isPresent()) {
                Affiliation wanted = Affiliation.parse(item.attributeOrEmpty("affiliation"));
                if (!mine.atLeastAdmin()) {
                    throw new StanzaException(StanzaError.FORBIDDEN); // §9.5
                }
                for (Map.Entry<String, Affiliation> e : room.affiliations.entrySet()) {
                    if (e.getValue() == wanted) {
                        answer = answer.withChild(Element.of("item", ADMIN).withAttribute("affiliation", wanted.xml()).withAttribute("jid", e.getKey()));
                    }
                }
            } else {
                Role wanted = Role.parse(item.attributeOrEmpty("role"));
                if (myRole != Role.MODERATOR) {
                    throw new StanzaException(StanzaError.FORBIDDEN); // §8.5
                }
                for (Occupant o : room.occupants.values()) {
                    if (o.role == wanted) {
                        answer = answer.withChild(Element.of("item", ADMIN).withAttribute("role", wanted.xml()).withAttribute("nick", o.nick)
                                .withAttribute("affiliation", room.affiliation(o.bare).xml()).withAttribute("jid", o.jids.get(0).toString()));
                    }
                }
            }
            return List.of(result(answer));
        }
        // every item is checked before any is applied, so that a refused request changes nothing
        List<RoleChange> roles = new ArrayList<>();
        List<AffiliationChange> affiliations = new ArrayList<>();
        for (Element item : items) {
            String reason = item.child("reason", ADMIN).map(Element::text).orElse("");
            if (item.attribute("affiliation").isPresent()) {
                Affiliation to = Affiliation.parse(item.attributeOrEmpty("affiliation"));
                String bare = item.attribute("jid").isPresent() ? parse(item.attributeOrEmpty("jid")).bare().toString()
                        : Optional.ofNullable(room.occupants.get(item.attributeOrEmpty("nick"))).map(o -> o.bare)
                                .orElseThrow(() -> new StanzaException(StanzaError.BAD_REQUEST, "an affiliation item names a jid"));
                Affiliation now = room.affiliation(bare);
                if (!mine.atLeastAdmin()) {
                    throw new StanzaException(StanzaError.FORBIDDEN); // §9.1
                }
                if (mine == Affiliation.ADMIN && (now.atLeastAdmin() || to.atLeastAdmin())) {
                    throw new StanzaException(StanzaError.NOT_ALLOWED, "only owners change admins and owners"); // §9.1, §10.6
                }
                affiliations.add(new AffiliationChange(bare, to, reason));
            } else {
                Role to = Role.parse(item.attributeOrEmpty("role"));
                Occupant target = room.occupants.get(item.attributeOrEmpty("nick"));
                if (target == null) {
                    throw new StanzaException(StanzaError.ITEM_NOT_FOUND, "no occupant " + item.attributeOrEmpty("nick"));
                }
                if (myRole != Role.MODERATOR) {
                    throw new StanzaException(StanzaError.FORBIDDEN); // §8.2
                }
                Affiliation theirs = room.affiliation(target.bare);
                if (theirs.atLeastAdmin() && to != Role.MODERATOR
                        || (to == Role.MODERATOR || target.role == Role.MODERATOR) && !mine.atLeastAdmin()) {
                    throw new StanzaException(StanzaError.NOT_ALLOWED, "not allowed to change the role of " + target.nick); // §8.2, §9.6
                }
                roles.add(new RoleChange(target, to, reason));
            }
        }
        Map<String, Affiliation> before = new LinkedHashMap<>(room.affiliations);
        for (AffiliationChange c : affiliations) {
            if (c.affiliation() == Affiliation.NONE) {
                room.affiliations.remove(c.bare());
            } else {
                room.affiliations.put(c.bare(), c.affiliation());
            }
        }
        if (!room.affiliations.containsValue(Affiliation.OWNER)) {
            room.affiliations = before;
            throw new StanzaException(StanzaError.CONFLICT, "a room keeps at least one owner"); // §10.9
        }
        checkAffiliations(room, before);
        if (!affiliations.isEmpty()) {
            saveOrRevert(room, before, room.config);
        }
        List<Element> out = new ArrayList<>();
        out.add(result(null));
        String actor = me == null ? "" : me.nick;
        for (AffiliationChange c : affiliations) {
            for (Occupant o : List.copyOf(room.occupants.values())) {
                if (!o.bare.equals(c.bare())) {
                    continue;
                }
                if (c.affiliation() == Affiliation.OUTCAST) {
                    remove(room, o, 301, actor, c.reason(), out); // §9.1: banned
                } else if (room.config.membersOnly() && c.affiliation() == Affiliation.NONE) {
                    remove(room, o, 321, actor, c.reason(), out); // §9.4: no longer a member
                } else {
                    o.role = c.affiliation().atLeastAdmin() ? Role.MODERATOR
                            : o.role == Role.MODERATOR ? Role.PARTICIPANT : o.role;
                    announce(room, o, "", List.of(), List.of(), out);
                }
            }
        }
        for (RoleChange c : roles) {
            if (!room.occupants.containsValue(c.target())) {
                continue;
            }
            if (c.role() == Role.NONE) {
                remove(room, c.target(), 307, actor, c.reason(), out); // §8.2: kicked
            } else {
                c.target().role = c.role();
                announce(room, c.target(), "", List.of(), List.of(), out);
            }
        }
        dropIfDone(room);
        return out;
    }

    /** Takes an occupant out of the room with a status code saying why (kicked 307, banned 301, ...). */
    private void remove(MucRoom room, Occupant o, int code, String actor, String reason, List<Element> out) {
        room.occupants.remove(o.nick);
        o.role = Role.NONE;
        List<Element> children = new ArrayList<>();
        if (!actor.isEmpty()) {
            children.add(Element.of("actor", USER).withAttribute("nick", actor));
        }
        if (!reason.isEmpty()) {
            children.add(Element.of("reason", USER).withText(reason));
        }
        announce(room, o, "unavailable", children, List.of(code), out);
    }

    // ---------------------------------------------------------------- owner: configuration, destruction (§10)

    private List<Element> owner(MucRoom room, Jid from, Element q, boolean get) throws StanzaException, IOException {
        if (room.affiliation(from.bare().toString()) != Affiliation.OWNER) {
            throw new StanzaException(StanzaError.FORBIDDEN, "only owners configure a room"); // §10.2
        }
        if (get) {
            return List.of(result(Element.of("query", OWNER).withChild(MucForms.configForm(room.config, limits))));
        }
        Optional<Element> destroy = q.child("destroy", OWNER);
        if (destroy.isPresent()) {
            return destroy(room, destroy.get());
        }
        Optional<Element> x = q.child("x", DATA);
        if (x.isEmpty()) {
            throw new StanzaException(StanzaError.BAD_REQUEST, "expected a data form or <destroy/>");
        }
        String type = x.get().attributeOrEmpty("type");
        if (type.equals("cancel")) {
            return List.of(result(null));
        }
        if (!type.equals("submit")) {
            throw new StanzaException(StanzaError.BAD_REQUEST, "the form is of type submit or cancel");
        }
        Config old = room.config;
        Config c = MucForms.submitted(old, x.get(), limits);
        room.config = c;
        if (c.persistent() || old.persistent()) {
            saveOrRevert(room, new LinkedHashMap<>(room.affiliations), old);
        }
        List<Element> out = new ArrayList<>();
        out.add(result(null));
        if (c.membersOnly() && !old.membersOnly()) {
            for (Occupant o : List.copyOf(room.occupants.values())) {
                if (room.affiliation(o.bare) == Affiliation.NONE) {
                    remove(room, o, 322, "", "", out); // §9.? the room became members-only
                }
            }
        }
        // §10.2.1: occupants are told the configuration changed
        Element notice = Element.of("message", NS).withAttribute("type", "groupchat").withAttribute("from", roomJid(room))
                .withChild(Element.of("x", USER).withChild(Element.of("status", USER).withAttribute("code", "104")));
        for (Occupant o : room.occupants.values()) {
            for (Jid j : o.jids) {
                out.add(notice.withAttribute("to", j.toString()));
            }
        }
        while (room.history.size() > Math.min(c.history(), limits.history())) {
            room.history.removeFirst();
        }
        dropIfDone(room);
        return out;
    }

    private List<Element> destroy(MucRoom room, Element destroy) throws IOException {
        archive.delete(room.name);
        Files.deleteIfExists(file(room));
        DurableFiles.forceDirectory(dir);
        rooms.remove(room.name);
        List<Element> out = new ArrayList<>();
        out.add(result(null));
        Element d = Element.of("destroy", USER);
        for (Element c : destroy.children()) {
            d = d.withChild(c.inNamespace(USER));
        }
        if (destroy.attribute("jid").isPresent()) {
            d = d.withAttribute("jid", destroy.attributeOrEmpty("jid"));
        }
        for (Occupant o : room.occupants.values()) {
            Element p = Element.of("presence", NS).withAttribute("type", "unavailable").withAttribute("from", roomJid(room) + "/" + o.nick)
                    .withChild(Element.of("x", USER).withChild(Element.of("item", USER).withAttribute("affiliation", "none")
                            .withAttribute("role", "none")).withChild(d));
            for (Jid j : o.jids) {
                out.add(p.withAttribute("to", j.toString()));
            }
        }
        room.occupants.clear();
        return out;
    }

    // ---------------------------------------------------------------- persistence

    private Path file(MucRoom room) {
        return dir.resolve(DataStore.fileName(room.name));
    }

    /** Writes the room (if persistent) or removes its file; on failure puts the old state back and rethrows. */
    private void saveOrRevert(MucRoom room, Map<String, Affiliation> affiliations, Config config) throws IOException {
        try {
            save(room);
        } catch (IOException e) {
            room.affiliations = affiliations;
            room.config = config;
            throw e;
        }
    }

    private void save(MucRoom room) throws IOException {
        if (!room.config.persistent()) {
            if (Files.deleteIfExists(file(room))) {
                DurableFiles.forceDirectory(dir);
            }
            return;
        }
        Config c = room.config;
        Element e = Element.of("room", STORE_NS).withAttribute("name", room.name).withAttribute("title", c.title())
                .withAttribute("description", c.description()).withAttribute("public", MucForms.flag(c.isPublic()))
                .withAttribute("membersonly", MucForms.flag(c.membersOnly())).withAttribute("moderated", MucForms.flag(c.moderated()))
                .withAttribute("password", c.password()).withAttribute("whois", c.whoisAnyone() ? "anyone" : "moderators")
                .withAttribute("changesubject", MucForms.flag(c.changeSubject())).withAttribute("maxusers", Integer.toString(c.maxUsers()))
                .withAttribute("history", Integer.toString(c.history()));
        for (Map.Entry<String, Affiliation> a : room.affiliations.entrySet()) {
            e = e.withChild(Element.of("affiliation", STORE_NS).withAttribute("jid", a.getKey()).withAttribute("affiliation", a.getValue().xml()));
        }
        e = e.withChild(Element.of("subject", STORE_NS).withAttribute("nick", room.subjectBy).withText(room.subject));
        DataStore.writeAtomically(file(room), DataStore.document(List.of(e)));
    }

    private MucRoom fromStored(Element e) throws IOException {
        try {
            Config c = new Config(e.attributeOrEmpty("title"), e.attributeOrEmpty("description"), true,
                    e.attributeOrEmpty("public").equals("1"), e.attributeOrEmpty("membersonly").equals("1"),
                    e.attributeOrEmpty("moderated").equals("1"), e.attributeOrEmpty("password"),
                    e.attributeOrEmpty("whois").equals("anyone"), e.attributeOrEmpty("changesubject").equals("1"),
                    Integer.parseInt(e.attributeOrEmpty("maxusers")), Math.min(limits.history(), Integer.parseInt(e.attributeOrEmpty("history"))));
            MucRoom r = new MucRoom(Jid.parse(e.attributeOrEmpty("name") + "@" + domain).local(), c);
            for (Element a : e.children()) {
                if (a.is("affiliation", STORE_NS)) {
                    r.affiliations.put(a.attributeOrEmpty("jid"), Affiliation.parse(a.attributeOrEmpty("affiliation")));
                } else if (a.is("subject", STORE_NS)) {
                    r.subject = a.text();
                    r.subjectBy = a.attributeOrEmpty("nick");
                }
            }
            return r;
        } catch (StanzaException | IllegalArgumentException ex) {
            throw new IOException(dir + ": a corrupt room " + e.attributeOrEmpty("name") + ": " + ex.getMessage(), ex);
        }
    }

    /** For logs. */
    @Override
    public String toString() {
        return "Muc[" + domain + "]";
    }
}
