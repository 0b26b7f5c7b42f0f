package dev.twine.mail.auth;

import dev.twine.mail.auth.Spf.Evaluation.Stop;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One domain's SPF record, parsed (RFC 7208 §4.5, §12 for the grammar): its mechanisms in order
 * and the {@code redirect} and {@code exp} modifiers. Any syntax error is {@code permerror}.
 */
record SpfRecord(List<Mechanism> mechanisms, String redirect, String exp) {
    enum Kind {
        ALL, INCLUDE, A, MX, PTR, IP4, IP6, EXISTS;

        /** RFC 7208 §4.6.4: the terms counted against the limit of 10 (redirect too, counted apart). */
        boolean queriesDns() {
            return this == INCLUDE || this == A || this == MX || this == PTR || this == EXISTS;
        }
    }

    /**
     * One directive.
     *
     * @param target the domain-spec as written (macros unexpanded), null when the mechanism has none
     * @param network for ip4/ip6 the network; for a/mx only the prefix lengths (base null)
     */
    record Mechanism(AuthResult qualifier, Kind kind, String target, Spf.Network network, String text) {}

    private static final Pattern VERSION = Pattern.compile("(?i)v=spf1( .*)?");
    private static final Pattern MODIFIER = Pattern.compile("([A-Za-z][A-Za-z0-9_.-]*)=(.*)");
    private static final Pattern CIDR = Pattern.compile("(.*?)(?:/(0|[1-9][0-9]{0,2}))?(?://(0|[1-9][0-9]{0,2}))?");
    private static final Pattern LABEL = Pattern.compile("[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?");

    /**
     * The record among {@code txt} (a domain's TXT strings, each record's strings joined), or
     * null when there is none (RFC 7208 §4.5: NXDOMAIN, {@code txt} null, or no {@code v=spf1}).
     *
     * @throws Stop permerror for two records or a syntax error
     */
    static SpfRecord parse(String domain, List<String> txt) throws Stop {
        if (txt == null) {
            return null;
        }
        List<String> spf = txt.stream().filter(t -> VERSION.matcher(t).matches()).toList();
        if (spf.isEmpty()) {
            return null;
        }
        if (spf.size() > 1) {
            throw new Stop(AuthResult.PERMERROR, domain + " has " + spf.size() + " SPF records");
        }
        List<Mechanism> mechanisms = new ArrayList<>();
        String redirect = null;
        String exp = null;
        String[] terms = spf.get(0).substring(6).split(" ");
        for (String term : terms) {
            if (term.isEmpty()) {
                continue;
            }
            Matcher mod = MODIFIER.matcher(term);
            if (mod.matches()) {
                String name = mod.group(1).toLowerCase(Locale.ROOT);
                String value = mod.group(2);
                Macros.check(value, false, domain);
                if (name.equals("redirect") || name.equals("exp")) {
                    checkDomainSpec(value, domain, term);
                    if ((name.equals("redirect") ? redirect : exp) != null) {
                        throw new Stop(AuthResult.PERMERROR, domain + ": two " + name + "= modifiers"); // §6
                    }
                    if (name.equals("redirect")) {
                        redirect = value;
                    } else {
                        exp = value;
                    }
                }
                // RFC 7208 §6: other modifiers are ignored
                continue;
            }
            mechanisms.add(mechanism(term, domain));
        }
        return new SpfRecord(List.copyOf(mechanisms), redirect, exp);
    }

    private static Mechanism mechanism(String term, String domain) throws Stop {
        AuthResult qualifier = switch (term.charAt(0)) {
            case '+' -> AuthResult.PASS;
            case '-' -> AuthResult.FAIL;
            case '~' -> AuthResult.SOFTFAIL;
            case '?' -> AuthResult.NEUTRAL;
            default -> null;
        };
        String body = qualifier == null ? term : term.substring(1);
        if (qualifier == null) {
            qualifier = AuthResult.PASS;
        }
        int colon = body.indexOf(':');
        int slash = body.indexOf('/');
        int nameEnd = colon >= 0 && (slash < 0 || colon < slash) ? colon : slash >= 0 ? slash : body.length();
        String name = body.substring(0, nameEnd).toLowerCase(Locale.ROOT);
        String rest = body.substring(nameEnd);
        String arg = rest.startsWith(":") ? rest.substring(1) : null;
        Kind kind;
        try {
            kind = Kind.valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new Stop(AuthResult.PERMERROR, domain + ": unknown mechanism " + term);
        }
        switch (kind) {
            case ALL:
                if (!rest.isEmpty()) {
                    throw bad(domain, term);
                }
                return new Mechanism(qualifier, kind, null, null, term);
            case INCLUDE:
            case EXISTS:
                if (arg == null || arg.isEmpty()) {
                    throw bad(domain, term);
                }
                checkDomainSpec(arg, domain, term);
                return new Mechanism(qualifier, kind, arg, null, term);
            case PTR:
                if (!rest.isEmpty() && (arg == null || arg.isEmpty())) {
                    throw bad(domain, term);
                }
                if (arg != null) {
                    checkDomainSpec(arg, domain, term);
                }
                return new Mechanism(qualifier, kind, arg, null, term);
            case A:
            case MX: {
                Matcher m = CIDR.matcher(arg != null ? arg : rest);
                if (!m.matches()) {
                    throw bad(domain, term);
                }
                String target = m.group(1);
                if (arg == null ? !target.isEmpty() : target.isEmpty()) {
                    throw bad(domain, term);
                }
                if (arg != null) {
                    checkDomainSpec(target, domain, term);
                }
                int v4 = m.group(2) == null ? 32 : Integer.parseInt(m.group(2));
                int v6 = m.group(3) == null ? 128 : Integer.parseInt(m.group(3));
                if (v4 > 32 || v6 > 128) {
                    throw bad(domain, term);
                }
                return new Mechanism(qualifier, kind, arg == null ? null : target, new Spf.Network(null, v4, v6), term);
            }
            case IP4:
            case IP6: {
                boolean v6 = kind == Kind.IP6;
                if (arg == null) {
                    throw bad(domain, term);
                }
                int cut = arg.indexOf('/');
                InetAddress base = Spf.Network.literal(cut < 0 ? arg : arg.substring(0, cut), v6);
                int max = v6 ? 128 : 32;
                int prefix = max;
                if (cut >= 0) {
                    String p = arg.substring(cut + 1);
                    if (!p.matches("0|[1-9][0-9]{0,2}") || (prefix = Integer.parseInt(p)) > max) {
                        throw bad(domain, term);
                    }
                }
                if (base == null) {
                    throw bad(domain, term);
                }
                return new Mechanism(qualifier, kind, null, new Spf.Network(base, v6 ? 32 : prefix, v6 ? prefix : 128), term);
            }
            default:
                throw bad(domain, term);
        }
    }

    /**
     * RFC 7208 §12 domain-spec: a macro-string ending in a top label (a dot and a label that is
     * not all digits) or in a macro.
     */
    private static void checkDomainSpec(String spec, String domain, String term) throws Stop {
        Macros.check(spec, false, domain);
        String s = spec.endsWith(".") ? spec.substring(0, spec.length() - 1) : spec;
        if (s.endsWith("}")) {
            return;
        }
        int dot = s.lastIndexOf('.');
        String top = s.substring(dot + 1);
        if (dot < 0 || !top.matches("(?i)[a-z0-9]([a-z0-9-]*[a-z0-9])?") || top.matches("[0-9]+")) {
            throw bad(domain, term);
        }
    }

    private static Stop bad(String domain, String term) {
        return new Stop(AuthResult.PERMERROR, domain + ": bad term " + term);
    }

    /**
     * Whether {@code d} (lower case, no trailing dot) is a domain name with at least two labels
     * (RFC 7208 §4.3), each of at most 63 characters, at most 253 in all.
     */
    static boolean isDomain(String d) {
        if (d.isEmpty() || d.length() > 253 || d.indexOf('.') < 0) {
            return false;
        }
        for (String label : d.split("\\.", -1)) {
            if (!LABEL.matcher(label).matches()) {
                return false;
            }
        }
        return true;
    }
}
