package dev.twine.xmpp.internal;

import dev.twine.xmpp.Element;
import dev.twine.xmpp.Jid;
import dev.twine.xmpp.StanzaError;
import dev.twine.xmpp.StanzaException;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One XEP-0045 room as {@link Muc} keeps it: its configuration (§15.5.3), the affiliations that
 * outlive occupancy (§5.2), the occupants with their roles (§5.1), the subject and the bounded
 * discussion history. Guarded by the service's lock; not thread-safe on its own.
 */
final class MucRoom {
    final String name;
    Config config;
    Map<String, Affiliation> affiliations = new LinkedHashMap<>();
    final Map<String, Occupant> occupants = new LinkedHashMap<>();
    final ArrayDeque<Past> history = new ArrayDeque<>();
    String subject = "";
    String subjectBy = "";

    MucRoom(String name, Config config) {
        this.name = name;
        this.config = config;
    }

    Affiliation affiliation(String bare) {
        return affiliations.getOrDefault(bare, Affiliation.NONE);
    }

    Occupant byJid(Jid full) {
        for (Occupant o : occupants.values()) {
            if (o.jids.contains(full)) {
                return o;
            }
        }
        return null;
    }

    enum Affiliation {
        OWNER, ADMIN, MEMBER, NONE, OUTCAST;

        String xml() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        boolean atLeastAdmin() {
            return this == OWNER || this == ADMIN;
        }

        static Affiliation parse(String s) throws StanzaException {
            for (Affiliation a : values()) {
                if (a.xml().equals(s)) {
                    return a;
                }
            }
            throw new StanzaException(StanzaError.BAD_REQUEST, "unknown affiliation " + s);
        }
    }

    enum Role {
        MODERATOR, PARTICIPANT, VISITOR, NONE;

        String xml() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        static Role parse(String s) throws StanzaException {
            for (Role r : values()) {
                if (r.xml().equals(s)) {
                    return r;
                }
            }
            throw new StanzaException(StanzaError.BAD_REQUEST, "unknown role " + s);
        }
    }

    /** A room's configuration (XEP-0045 §15.5.3, muc#roomconfig); maxUsers zero: the service's limit. */
    record Config(String title, String description, boolean persistent, boolean isPublic, boolean membersOnly,
            boolean moderated, String password, boolean whoisAnyone, boolean changeSubject, int maxUsers, int history) {
        static Config defaults(int history) {
            return new Config("", "", false, true, false, false, "", false, false, 0, history);
        }
    }

    static final class Occupant {
        String nick;
        final String bare;
        final List<Jid> jids = new ArrayList<>();
        Role role;
        Element presence;

        Occupant(String nick, String bare, Role role) {
            this.nick = nick;
            this.bare = bare;
            this.role = role;
        }
    }

    record Past(Element message, Instant at) {}
}
