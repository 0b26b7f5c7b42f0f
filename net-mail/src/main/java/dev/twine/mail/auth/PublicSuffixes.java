package dev.twine.mail.auth;

import java.io.IOException;
import java.net.IDN;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Public suffixes, for the organizational domain of RFC 7489 §3.2: the rules of a Public Suffix
 * List file ({@code publicsuffix.org} format: one rule a line, {@code //} comments,
 * {@code *.} wildcards, {@code !} exceptions), or the built-in set: every top-level domain, and
 * a short list of the second-level suffixes most mail comes from ({@code co.uk}, {@code com.au},
 * ...). The built-in set is written here, not copied from the list; a domain under a suffix it
 * lacks gets an organizational domain one label too short, which makes relaxed alignment
 * looser for it, never stricter.
 */
final class PublicSuffixes {
    private static final List<String> BUILT_IN = List.of(
            "ac.uk", "co.uk", "gov.uk", "ltd.uk", "me.uk", "net.uk", "nhs.uk", "org.uk", "plc.uk", "police.uk", "sch.uk",
            "asn.au", "com.au", "edu.au", "gov.au", "id.au", "net.au", "org.au",
            "ac.nz", "co.nz", "geek.nz", "govt.nz", "net.nz", "org.nz", "school.nz",
            "ac.jp", "ad.jp", "co.jp", "ed.jp", "go.jp", "gr.jp", "lg.jp", "ne.jp", "or.jp",
            "com.br", "edu.br", "gov.br", "net.br", "org.br",
            "ac.za", "co.za", "gov.za", "net.za", "org.za",
            "ac.cn", "com.cn", "edu.cn", "gov.cn", "net.cn", "org.cn",
            "ac.in", "co.in", "edu.in", "firm.in", "gen.in", "gov.in", "ind.in", "net.in", "org.in",
            "ac.kr", "co.kr", "go.kr", "ne.kr", "or.kr", "re.kr",
            "com.mx", "edu.mx", "gob.mx", "net.mx", "org.mx",
            "com.ar", "gob.ar", "net.ar", "org.ar",
            "com.tr", "edu.tr", "gov.tr", "net.tr", "org.tr",
            "com.tw", "edu.tw", "gov.tw", "idv.tw", "net.tw", "org.tw",
            "com.hk", "edu.hk", "gov.hk", "idv.hk", "net.hk", "org.hk",
            "com.sg", "edu.sg", "gov.sg", "net.sg", "org.sg",
            "ac.il", "co.il", "gov.il", "net.il", "org.il",
            "com.es", "nom.es", "org.es", "com.pl", "net.pl", "org.pl", "com.ua", "net.ua", "org.ua",
            "co.id", "or.id", "ac.id", "go.id", "com.my", "net.my", "org.my", "com.ph", "com.vn", "com.pk",
            "co.th", "in.th", "ac.th", "go.th", "com.eg", "com.ng", "co.ke", "or.ke");

    private final Set<String> rules;
    private final Set<String> wildcards;
    private final Set<String> exceptions;

    private PublicSuffixes(Set<String> rules, Set<String> wildcards, Set<String> exceptions) {
        this.rules = rules;
        this.wildcards = wildcards;
        this.exceptions = exceptions;
    }

    static PublicSuffixes builtIn() {
        return new PublicSuffixes(Set.copyOf(BUILT_IN), Set.of(), Set.of());
    }

    /**
     * The rules of a Public Suffix List file.
     *
     * @throws IOException if it cannot be read, naming the file, or holds no rule
     */
    static PublicSuffixes load(Path file) throws IOException {
        Set<String> rules = new HashSet<>();
        Set<String> wildcards = new HashSet<>();
        Set<String> exceptions = new HashSet<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            String rule = line.strip();
            int space = rule.indexOf(' ');
            rule = space < 0 ? rule : rule.substring(0, space);
            if (rule.isEmpty() || rule.startsWith("//")) {
                continue;
            }
            try {
                if (rule.startsWith("!")) {
                    exceptions.add(ascii(rule.substring(1)));
                } else if (rule.startsWith("*.")) {
                    wildcards.add(ascii(rule.substring(2)));
                } else {
                    rules.add(ascii(rule));
                }
            } catch (IllegalArgumentException e) {
                // a rule the JDK cannot turn into ASCII matches no ASCII mail domain
            }
        }
        if (rules.isEmpty() && wildcards.isEmpty()) {
            throw new IOException(file + ": no public suffix rules in it");
        }
        return new PublicSuffixes(Set.copyOf(rules), Set.copyOf(wildcards), Set.copyOf(exceptions));
    }

    private static String ascii(String name) {
        return IDN.toASCII(name, IDN.ALLOW_UNASSIGNED).toLowerCase(Locale.ROOT);
    }

    /**
     * RFC 7489 §3.2: the public suffix that matches most labels of {@code domain}, with one label
     * more; {@code domain} itself when it has no label more.
     */
    String organizationalDomain(String domain) {
        String d = Spf.trimDot(domain.toLowerCase(Locale.ROOT));
        String[] labels = d.split("\\.");
        int suffix = 1; // the "*" rule: every top-level domain is a public suffix
        for (int n = labels.length; n >= 1; n--) {
            String tail = String.join(".", java.util.Arrays.copyOfRange(labels, labels.length - n, labels.length));
            if (exceptions.contains(tail)) {
                suffix = n - 1;
                break;
            }
            String parent = n > 1 ? tail.substring(tail.indexOf('.') + 1) : null;
            if (rules.contains(tail) || (parent != null && wildcards.contains(parent))) {
                suffix = Math.max(suffix, n);
                break;
            }
        }
        int keep = Math.min(labels.length, suffix + 1);
        return String.join(".", java.util.Arrays.copyOfRange(labels, labels.length - keep, labels.length));
    }
}
