package dev.twine.mail.auth;

import dev.twine.mail.auth.Spf.Evaluation.Stop;
import java.net.Inet4Address;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * SPF macro expansion (RFC 7208 §7): {@code %{s}}, {@code %{l}}, {@code %{o}}, {@code %{d}},
 * {@code %{i}}, {@code %{p}}, {@code %{v}}, {@code %{h}}, and in explanations {@code %{c}},
 * {@code %{r}}, {@code %{t}}; with the transformers (a count of right-hand parts, {@code r} to
 * reverse, delimiters), upper case letters URL-escaped; {@code %%}, {@code %_}, {@code %-}.
 */
final class Macros {
    private final Spf.Evaluation evaluation;
    private final String domain;

    Macros(Spf.Evaluation evaluation, String domain) {
        this.evaluation = evaluation;
        this.domain = domain;
    }

    /** Checks the syntax of {@code text} without expanding it. */
    static void check(String text, boolean exp, String domain) throws Stop {
        try {
            new Macros(null, domain).walk(text, exp, null);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("a syntax check looks nothing up", e);
        }
    }

    /**
     * A domain-spec expanded (§7.3): longer than 253 characters, labels are dropped from the
     * left until it fits.
     */
    String expandDomain(String spec) throws Stop, InterruptedException {
        String d = Spf.trimDot(expand(spec, false)).toLowerCase(java.util.Locale.ROOT);
        while (d.length() > 253 && d.indexOf('.') >= 0) {
            d = d.substring(d.indexOf('.') + 1);
        }
        return d;
    }

    /** {@code text} expanded; {@code exp}: the letters only explanations may use are allowed. */
    String expand(String text, boolean exp) throws Stop, InterruptedException {
        StringBuilder out = new StringBuilder();
        walk(text, exp, out);
        return out.toString();
    }

    private void walk(String text, boolean exp, StringBuilder out) throws Stop, InterruptedException {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c != '%') {
                if (c < 0x21 && !exp || c > 0x7e) {
                    throw bad(text);
                }
                append(out, String.valueOf(c));
                continue;
            }
            if (i + 1 >= text.length()) {
                throw bad(text);
            }
            char n = text.charAt(++i);
            switch (n) {
                case '%' -> append(out, "%");
                case '_' -> append(out, " ");
                case '-' -> append(out, "%20");
                case '{' -> {
                    int end = text.indexOf('}', i);
                    if (end < 0) {
                        throw bad(text);
                    }
                    append(out, macro(text.substring(i + 1, end), exp, text, out != null));
                    i = end;
                }
                default -> throw bad(text);
            }
        }
    }

    private static void append(StringBuilder out, String s) {
        if (out != null) {
            out.append(s);
        }
    }

    private String macro(String spec, boolean exp, String text, boolean expand) throws Stop, InterruptedException {
        if (spec.isEmpty()) {
            throw bad(text);
        }
        char letter = spec.charAt(0);
        char lower = Character.toLowerCase(letter);
        if ("slodiphv".indexOf(lower) < 0 && !(exp && "crt".indexOf(lower) >= 0)) {
            throw bad(text);
        }
        int i = 1;
        while (i < spec.length() && Character.isDigit(spec.charAt(i))) {
            i++;
        }
        int keep = i > 1 ? Integer.parseInt(spec.substring(1, Math.min(i, 4))) : 0;
        if (i > 1 && keep == 0) {
            throw bad(text); // §7.1: a count must be nonzero
        }
        boolean reverse = i < spec.length() && Character.toLowerCase(spec.charAt(i)) == 'r';
        if (reverse) {
            i++;
        }
        String delimiters = spec.substring(i);
        if (!delimiters.chars().allMatch(ch -> ".-+,/_=".indexOf(ch) >= 0)) {
            throw bad(text);
        }
        if (!expand) {
            return "";
        }
        String value = value(lower);
        List<String> parts = new ArrayList<>(Arrays.asList(value.split("[" + java.util.regex.Pattern.quote(
                delimiters.isEmpty() ? "." : delimiters) + "]", -1)));
        if (reverse) {
            Collections.reverse(parts);
        }
        if (keep > 0 && keep < parts.size()) {
            parts = parts.subList(parts.size() - keep, parts.size());
        }
        String result = String.join(".", parts);
        if (Character.isUpperCase(letter)) {
            // §7.3: upper case macros are URL-escaped (RFC 3986 unreserved characters kept)
            result = URLEncoder.encode(result, StandardCharsets.UTF_8).replace("+", "%20").replace("*", "%2A")
                    .replace("%7E", "~");
        }
        return result;
    }

    private String value(char letter) throws Stop, InterruptedException {
        String sender = evaluation.sender();
        int at = sender.lastIndexOf('@');
        return switch (letter) {
            case 's' -> sender;
            case 'l' -> at <= 0 ? "postmaster" : sender.substring(0, at);
            case 'o' -> sender.substring(at + 1);
            case 'd' -> domain;
            case 'i' -> dotted(evaluation);
            case 'p' -> evaluation.validatedName(domain);
            case 'v' -> evaluation.client() instanceof Inet4Address ? "in-addr" : "ip6";
            case 'h' -> evaluation.helo();
            case 'c' -> evaluation.client().getHostAddress();
            case 'r' -> "unknown";
            case 't' -> Long.toString(System.currentTimeMillis() / 1000);
            default -> throw new IllegalStateException(String.valueOf(letter));
        };
    }

    /** %{i}: IPv4 dotted quad, IPv6 as 32 dot-separated nibbles (§7.3). */
    private static String dotted(Spf.Evaluation e) {
        if (e.client() instanceof Inet4Address) {
            return e.client().getHostAddress();
        }
        List<String> nibbles = Arrays.asList(Dnsbl.reversed(e.client()).split("\\."));
        Collections.reverse(nibbles);
        return String.join(".", nibbles);
    }

    private Stop bad(String text) {
        return new Stop(AuthResult.PERMERROR, domain + ": bad macro string " + text);
    }
}
