package dev.twine.dns.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.TSIG;
import org.xbill.DNS.TSIGRecord;
import org.xbill.DNS.TextParseException;

/**
 * TSIG keys (RFC 8945) read from a file of BIND/NSD {@code key} clauses, as {@code tsig-keygen}
 * writes them: {@code key "name" { algorithm hmac-sha256; secret "BASE64"; };}, with {@code #},
 * {@code //} and {@code /* *}{@code /} comments. HMAC-SHA256 is what RFC 8945 §6 makes mandatory;
 * hmac-sha384, hmac-sha512, hmac-sha224 and hmac-sha1 are read too. Immutable.
 */
public final class TsigKeys {
    private static final Pattern KEY = Pattern.compile("key\\s+(\"[^\"]*\"|[^\\s{]+)\\s*\\{([^}]*)}\\s*;");
    private static final Pattern ALGORITHM = Pattern.compile("algorithm\\s+\"?([A-Za-z0-9.-]+)\"?\\s*;");
    private static final Pattern SECRET = Pattern.compile("secret\\s+\"([^\"]*)\"\\s*;");
    private static final List<String> ALGORITHMS = List.of("hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha224", "hmac-sha1");

    private final Map<Name, TSIG> keys;

    private TsigKeys(Map<Name, TSIG> keys) {
        this.keys = keys;
    }

    /**
     * Reads {@code file}.
     *
     * @throws IOException if it cannot be read
     * @throws IllegalArgumentException naming the file and line of a clause that is not a key,
     *     an unknown algorithm or a secret that is not base64; or if it has no key at all
     */
    public static TsigKeys load(Path file) throws IOException {
        String text = Files.readString(file);
        String clean = blank(blank(text, "(?s)/\\*.*?\\*/"), "(?m)(#|//).*$");
        Map<Name, TSIG> keys = new LinkedHashMap<>();
        Matcher m = KEY.matcher(clean);
        int end = 0;
        while (m.find()) {
            if (!clean.substring(end, m.start()).isBlank()) {
                throw bad(file, text, clean, end, "expected key \"name\" { algorithm ...; secret \"...\"; };");
            }
            end = m.end();
            String name = m.group(1).replace("\"", "");
            Matcher alg = ALGORITHM.matcher(m.group(2));
            Matcher secret = SECRET.matcher(m.group(2));
            if (!alg.find() || !secret.find()) {
                throw bad(file, text, clean, m.start(), "key " + name + " needs an algorithm and a secret");
            }
            String algorithm = alg.group(1).toLowerCase(java.util.Locale.ROOT);
            if (!ALGORITHMS.contains(algorithm)) {
                throw bad(file, text, clean, m.start(), "key " + name + ": algorithm " + algorithm + " is not one of " + ALGORITHMS);
            }
            byte[] raw;
            try {
                raw = Base64.getDecoder().decode(secret.group(1).replaceAll("\\s", ""));
            } catch (IllegalArgumentException e) {
                throw bad(file, text, clean, m.start(), "key " + name + ": the secret is not base64");
            }
            try {
                Name n = Name.fromString(name, Name.root);
                keys.put(n, new TSIG(TSIG.algorithmToName(algorithm), n, raw));
            } catch (TextParseException e) {
                throw bad(file, text, clean, m.start(), "key " + name + ": not a domain name");
            }
        }
        if (!clean.substring(end).isBlank()) {
            throw bad(file, text, clean, end, "expected key \"name\" { algorithm ...; secret \"...\"; };");
        }
        if (keys.isEmpty()) {
            throw new IllegalArgumentException(file + ": no key clause");
        }
        return new TsigKeys(java.util.Collections.unmodifiableMap(keys));
    }

    /** {@code s} with what {@code regex} matches turned to spaces, newlines kept, so offsets and lines stay. */
    private static String blank(String s, String regex) {
        return Pattern.compile(regex).matcher(s).replaceAll(r -> Matcher.quoteReplacement(r.group().replaceAll("[^\n]", " ")));
    }

    private static IllegalArgumentException bad(Path file, String text, String clean, int at, String problem) {
        // the comments were blanked in place, so an offset in one is the same line in the other
        while (at < clean.length() && Character.isWhitespace(clean.charAt(at))) {
            at++;
        }
        int line = 1;
        for (int i = 0; i < Math.min(at, text.length()); i++) {
            if (text.charAt(i) == '\n') {
                line++;
            }
        }
        return new IllegalArgumentException(file + ":" + line + ": " + problem);
    }

    /** The key {@code message} is signed with, if it is one of ours; null for none or an unknown key. */
    TSIG keyOf(Message message) {
        TSIGRecord r = message.getTSIG();
        if (r == null) {
            return null;
        }
        return keys.get(r.getName()); // a different algorithm under this name fails verification (BADKEY)
    }

    /**
     * Whether {@code message} (parsed from {@code wire}) carries a valid signature by one of our
     * keys, within the allowed clock skew (RFC 8945 §5.2).
     */
    boolean verified(Message message, byte[] wire) {
        TSIG k = keyOf(message);
        return k != null && k.verify(message, wire, null) == Rcode.NOERROR;
    }

    /**
     * The key called {@code name} (case-insensitive, as DNS names compare).
     *
     * @throws IllegalArgumentException if the file has no such key, or the name is no domain name
     */
    public TSIG named(String name) {
        TSIG k;
        try {
            k = keys.get(Name.fromString(name, Name.root));
        } catch (TextParseException e) {
            throw new IllegalArgumentException("not a key name: '" + name + "'", e);
        }
        if (k == null) {
            throw new IllegalArgumentException("no key " + name + " among " + keys.keySet());
        }
        return k;
    }

    /** The first key in the file: what outgoing NOTIFY messages are signed with. */
    public TSIG first() {
        return keys.values().iterator().next();
    }
}
