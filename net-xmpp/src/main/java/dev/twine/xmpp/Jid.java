package dev.twine.xmpp;

import java.util.Locale;
import java.util.Objects;

/**
 * An XMPP address (RFC 7622): {@code local@domain/resource}, where the local part and the resource
 * may be empty.
 *
 * <p>Parts are compared after a simplified preparation: the local part and domain are lower-cased
 * (RFC 7622 §3.2 and §3.3 use PRECIS and IDNA case mapping; full PRECIS profiles are not applied),
 * the resource is kept as given. Each part is limited to 1023 bytes (RFC 7622 §3.1).
 *
 * @param local the local part, empty for a domain or server address
 * @param domain the domain part, never empty
 * @param resource the resource, empty for a bare address
 */
public record Jid(String local, String domain, String resource) {
    /**
     * Validates and prepares the parts.
     *
     * @throws IllegalArgumentException if a part is malformed
     */
    public Jid {
        Objects.requireNonNull(local, "local");
        Objects.requireNonNull(domain, "domain");
        Objects.requireNonNull(resource, "resource");
        local = local.toLowerCase(Locale.ROOT);
        domain = domain.toLowerCase(Locale.ROOT);
        if (domain.endsWith(".")) {
            domain = domain.substring(0, domain.length() - 1); // RFC 7622 §3.2: trailing dot removed
        }
        check(domain, "domain");
        if (domain.isEmpty()) {
            throw new IllegalArgumentException("empty domain part");
        }
        for (int i = 0; i < domain.length(); i++) {
            char c = domain.charAt(i);
            if (c <= ' ' || c == '@' || c == '/' || c == '"' || c == '\'' || c == '<' || c == '>' || c == '&') {
                throw new IllegalArgumentException("bad character in domain part: " + domain);
            }
        }
        check(local, "local");
        for (int i = 0; i < local.length(); i++) {
            // RFC 7622 §3.3.1: these characters are not allowed in a local part
            if ("\"&'/:<>@".indexOf(local.charAt(i)) >= 0 || Character.isWhitespace(local.charAt(i))
                    || Character.isISOControl(local.charAt(i))) {
                throw new IllegalArgumentException("bad character in local part: " + local);
            }
        }
        check(resource, "resource");
        for (int i = 0; i < resource.length(); i++) {
            if (Character.isISOControl(resource.charAt(i))) {
                throw new IllegalArgumentException("control character in resource");
            }
        }
    }

    private static void check(String part, String what) {
        // a char is at most 3 bytes in UTF-8 (a surrogate pair 4 for 2): short parts need no count
        if (part.length() > 341 && part.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 1023) {
            throw new IllegalArgumentException(what + " part longer than 1023 bytes");
        }
    }

    /**
     * Parses {@code [local@]domain[/resource]} (RFC 7622 §3.1: the first {@code /} starts the
     * resource, the last {@code @} before it ends the local part).
     *
     * @throws IllegalArgumentException if the address is malformed
     */
    public static Jid parse(String s) {
        Objects.requireNonNull(s, "jid");
        String rest = s;
        String resource = "";
        int slash = rest.indexOf('/');
        if (slash >= 0) {
            resource = rest.substring(slash + 1);
            rest = rest.substring(0, slash);
            if (resource.isEmpty()) {
                throw new IllegalArgumentException("empty resource in " + s);
            }
        }
        String local = "";
        int at = rest.indexOf('@');
        if (at >= 0) {
            local = rest.substring(0, at);
            rest = rest.substring(at + 1);
            if (local.isEmpty()) {
                throw new IllegalArgumentException("empty local part in " + s);
            }
        }
        return new Jid(local, rest, resource);
    }

    /** This address without its resource. */
    public Jid bare() {
        return resource.isEmpty() ? this : new Jid(local, domain, "");
    }

    /** This bare address with a resource. */
    public Jid withResource(String r) {
        return new Jid(local, domain, r);
    }

    /** Whether there is no resource. */
    public boolean isBare() {
        return resource.isEmpty();
    }

    /** {@code local@domain/resource}, leaving out empty parts. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        if (!local.isEmpty()) {
            sb.append(local).append('@');
        }
        sb.append(domain);
        if (!resource.isEmpty()) {
            sb.append('/').append(resource);
        }
        return sb.toString();
    }
}
