package dev.twine.xmpp.internal;

import static dev.twine.xmpp.internal.Muc.CONFIG;
import static dev.twine.xmpp.internal.Muc.DATA;

import dev.twine.xmpp.Element;
import dev.twine.xmpp.StanzaError;
import dev.twine.xmpp.StanzaException;
import dev.twine.xmpp.internal.MucRoom.Config;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The XEP-0004 data forms of group chat: the room configuration form an owner gets and submits
 * (XEP-0045 §10.2, {@code muc#roomconfig}), and the small builders the room's disco#info form
 * shares. Pure functions.
 */
final class MucForms {
    private MucForms() {}

    static Element configForm(Config c, Muc.Limits limits) {
        return form("form", CONFIG, List.of(
                field("muc#roomconfig_roomname", "text-single", "Room title", c.title()),
                field("muc#roomconfig_roomdesc", "text-single", "Description", c.description()),
                field("muc#roomconfig_persistentroom", "boolean", "Keep the room when it is empty", flag(c.persistent())),
                field("muc#roomconfig_publicroom", "boolean", "List the room in disco#items", flag(c.isPublic())),
                field("muc#roomconfig_membersonly", "boolean", "Members only", flag(c.membersOnly())),
                field("muc#roomconfig_moderatedroom", "boolean", "Moderated (newcomers are visitors)", flag(c.moderated())),
                field("muc#roomconfig_passwordprotectedroom", "boolean", "Password protected", flag(!c.password().isEmpty())),
                field("muc#roomconfig_roomsecret", "text-private", "Password", c.password()),
                field("muc#roomconfig_whois", "list-single", "Who may see real addresses", c.whoisAnyone() ? "anyone" : "moderators")
                        .withChild(option("moderators")).withChild(option("anyone")),
                field("muc#roomconfig_changesubject", "boolean", "Occupants may change the subject", flag(c.changeSubject())),
                field("muc#roomconfig_maxusers", "text-single", "Most occupants (0: the service's limit " + limits.occupants() + ")",
                        Integer.toString(c.maxUsers())),
                field("muc#maxhistoryfetch", "text-single", "Messages of history kept (at most " + limits.history() + ")",
                        Integer.toString(c.history()))));
    }

    /** A submitted muc#roomconfig form over the current configuration; fields left out keep their values. */
    static Config submitted(Config c, Element form, Muc.Limits limits) throws StanzaException {
        Map<String, String> v = new LinkedHashMap<>();
        for (Element f : form.children()) {
            if (f.is("field", DATA)) {
                v.put(f.attributeOrEmpty("var"), f.child("value", DATA).map(Element::text).orElse(""));
            }
        }
        if (v.containsKey("FORM_TYPE") && !v.get("FORM_TYPE").equals(CONFIG)) {
            throw new StanzaException(StanzaError.BAD_REQUEST, "FORM_TYPE is " + CONFIG);
        }
        boolean protect = bool(v, "muc#roomconfig_passwordprotectedroom", !c.password().isEmpty());
        String password = v.getOrDefault("muc#roomconfig_roomsecret", c.password());
        if (protect && password.isEmpty()) {
            throw new StanzaException(StanzaError.NOT_ACCEPTABLE, "a password-protected room needs muc#roomconfig_roomsecret");
        }
        int maxUsers = number(v, "muc#roomconfig_maxusers", c.maxUsers());
        int history = number(v, "muc#maxhistoryfetch", c.history());
        if (history > limits.history()) {
            throw new StanzaException(StanzaError.NOT_ACCEPTABLE, "history is at most " + limits.history() + " messages");
        }
        return new Config(v.getOrDefault("muc#roomconfig_roomname", c.title()), v.getOrDefault("muc#roomconfig_roomdesc", c.description()),
                bool(v, "muc#roomconfig_persistentroom", c.persistent()), bool(v, "muc#roomconfig_publicroom", c.isPublic()),
                bool(v, "muc#roomconfig_membersonly", c.membersOnly()), bool(v, "muc#roomconfig_moderatedroom", c.moderated()),
                protect ? password : "", v.getOrDefault("muc#roomconfig_whois", c.whoisAnyone() ? "anyone" : "moderators").equals("anyone"),
                bool(v, "muc#roomconfig_changesubject", c.changeSubject()), maxUsers, history);
    }

    private static boolean bool(Map<String, String> v, String var, boolean otherwise) throws StanzaException {
        String s = v.get(var);
        if (s == null) {
            return otherwise;
        }
        return switch (s.strip()) {
            case "1", "true" -> true;
            case "0", "false" -> false;
            default -> throw new StanzaException(StanzaError.BAD_REQUEST, var + " is a boolean (XEP-0004 §3.3)");
        };
    }

    private static int number(Map<String, String> v, String var, int otherwise) throws StanzaException {
        String s = v.get(var);
        if (s == null || s.isBlank()) {
            return otherwise;
        }
        try {
            int n = Integer.parseInt(s.strip());
            if (n < 0) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new StanzaException(StanzaError.BAD_REQUEST, var + " is a number");
        }
    }

    static String flag(boolean b) {
        return b ? "1" : "0";
    }

    /** An XEP-0004 form of {@code type} with a hidden FORM_TYPE. */
    static Element form(String type, String formType, List<Element> fields) {
        Element x = Element.of("x", DATA).withAttribute("type", type)
                .withChild(Element.of("field", DATA).withAttribute("var", "FORM_TYPE").withAttribute("type", "hidden")
                        .withChild(Element.of("value", DATA).withText(formType)));
        for (Element f : fields) {
            x = x.withChild(f);
        }
        return x;
    }

    static Element field(String var, String type, String label, String value) {
        return Element.of("field", DATA).withAttribute("var", var).withAttribute("type", type).withAttribute("label", label)
                .withChild(Element.of("value", DATA).withText(value));
    }

    static Element option(String value) {
        return Element.of("option", DATA).withChild(Element.of("value", DATA).withText(value));
    }
}
