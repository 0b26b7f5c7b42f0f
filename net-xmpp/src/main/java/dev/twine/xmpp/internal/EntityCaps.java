package dev.twine.xmpp.internal;

import dev.twine.xmpp.Element;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Entity capabilities (XEP-0115) as a PEP service needs them: which nodes a client wants
 * notifications of ({@code NODE+notify} features, XEP-0163 §4.3.3), learnt from the
 * {@code disco#info} answer behind a caps {@code ver}, checked against the ver's hash (§5.1) and
 * kept by ver in a bounded cache (§5.4: a ver whose answer does not hash to it is never cached).
 * Thread-safe.
 */
final class EntityCaps {
    static final String NS = "http://jabber.org/protocol/caps";
    private static final String DATA = "jabber:x:data";
    private static final String NOTIFY = "+notify";

    private final ReentrantLock lock = new ReentrantLock();
    private final Map<String, Set<String>> byVer;

    /** A cache of at most {@code max} vers, least recently used first out. */
    EntityCaps(int max) {
        byVer = new LinkedHashMap<>(64, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Set<String>> eldest) {
                return size() > max;
            }
        };
    }

    /** The nodes wanted by the clients of a ver, if it was learnt (key: hash algorithm and ver). */
    Optional<Set<String>> known(String hash, String ver) {
        lock.lock();
        try {
            return Optional.ofNullable(byVer.get(hash + " " + ver));
        } finally {
            lock.unlock();
        }
    }

    /**
     * Learns a ver from a {@code disco#info} answer: the {@code +notify} nodes it lists, cached
     * if the answer hashes to the ver with the named algorithm (§5.4).
     *
     * @param hash the {@code hash} attribute of the caps ({@code sha-1}), or empty for legacy caps (never cached)
     * @return the nodes the client wants notifications of
     */
    Set<String> learn(String hash, String ver, Element query) {
        Set<String> nodes = notifyNodes(query);
        if (!hash.isEmpty() && verification(query, hash).map(ver::equals).orElse(false)) {
            lock.lock();
            try {
                byVer.put(hash + " " + ver, nodes);
            } finally {
                lock.unlock();
            }
        }
        return nodes;
    }

    /** The nodes of the {@code NODE+notify} features of a {@code disco#info} answer. */
    static Set<String> notifyNodes(Element query) {
        Set<String> nodes = new HashSet<>();
        for (Element f : query.children()) {
            String var = f.attributeOrEmpty("var");
            if (f.name().equals("feature") && var.endsWith(NOTIFY) && var.length() > NOTIFY.length()) {
                nodes.add(var.substring(0, var.length() - NOTIFY.length()));
            }
        }
        return Set.copyOf(nodes);
    }

    /**
     * XEP-0115 §5.1: the verification string of a {@code disco#info} answer, hashed with
     * {@code hash} (IANA name, {@code sha-1}) and in base64; empty if the algorithm is unknown or
     * the answer is ill-formed (§5.4 3.6: a duplicate identity, feature or form type, or a
     * {@code FORM_TYPE} of several values); forms without a hidden {@code FORM_TYPE} are left out.
     */
    static Optional<String> verification(Element query, String hash) {
        String algorithm = switch (hash.toLowerCase(Locale.ROOT)) {
            case "sha-1" -> "SHA-1";
            case "sha-224" -> "SHA-224";
            case "sha-256" -> "SHA-256";
            case "sha-384" -> "SHA-384";
            case "sha-512" -> "SHA-512";
            default -> null;
        };
        if (algorithm == null) {
            return Optional.empty();
        }
        List<String> identities = new ArrayList<>();
        List<String> features = new ArrayList<>();
        List<Element> forms = new ArrayList<>();
        for (Element c : query.children()) {
            switch (c.name()) {
                case "identity" -> identities.add(c.attributeOrEmpty("category") + "/" + c.attributeOrEmpty("type") + "/"
                        + c.attributeOrEmpty("xml:lang") + "/" + c.attributeOrEmpty("name"));
                case "feature" -> features.add(c.attributeOrEmpty("var"));
                case "x" -> {
                    if (c.namespace().equals(DATA)) {
                        forms.add(c);
                    }
                }
                default -> { }
            }
        }
        if (new HashSet<>(identities).size() != identities.size() || new HashSet<>(features).size() != features.size()) {
            return Optional.empty();
        }
        // RFC 4790 i;octet ordering is byte order, which String.compareTo matches for these
        // strings except outside the BMP; clients' feature names are ASCII
        identities.sort(null);
        features.sort(null);
        StringBuilder s = new StringBuilder();
        identities.forEach(i -> s.append(i).append('<'));
        features.forEach(f -> s.append(f).append('<'));
        List<Map.Entry<String, Element>> typed = new ArrayList<>();
        for (Element form : forms) {
            List<Element> formTypes = form.children().stream()
                    .filter(f -> f.name().equals("field") && f.attributeOrEmpty("var").equals("FORM_TYPE")).toList();
            if (formTypes.isEmpty() || !formTypes.get(0).attributeOrEmpty("type").equals("hidden")) {
                continue; // §5.4 3.6: such a form is ignored
            }
            List<String> values = formTypes.get(0).children().stream().filter(v -> v.name().equals("value")).map(Element::text).toList();
            if (formTypes.size() > 1 || values.size() != 1) {
                return Optional.empty();
            }
            typed.add(Map.entry(values.get(0), form));
        }
        if (typed.stream().map(Map.Entry::getKey).distinct().count() != typed.size()) {
            return Optional.empty();
        }
        typed.sort(Map.Entry.comparingByKey());
        for (Map.Entry<String, Element> t : typed) {
            s.append(t.getKey()).append('<');
            List<Element> fields = new ArrayList<>();
            for (Element f : t.getValue().children()) {
                if (f.name().equals("field") && !f.attributeOrEmpty("var").equals("FORM_TYPE")) {
                    fields.add(f);
                }
            }
            fields.sort(Comparator.comparing(f -> f.attributeOrEmpty("var")));
            for (Element f : fields) {
                s.append(f.attributeOrEmpty("var")).append('<');
                List<String> values = new ArrayList<>();
                for (Element v : f.children()) {
                    if (v.name().equals("value")) {
                        values.add(v.text());
                    }
                }
                values.sort(null);
                values.forEach(v -> s.append(v).append('<'));
            }
        }
        try {
            byte[] digest = MessageDigest.getInstance(algorithm).digest(s.toString().getBytes(StandardCharsets.UTF_8));
            return Optional.of(Base64.getEncoder().encodeToString(digest));
        } catch (NoSuchAlgorithmException e) {
            return Optional.empty();
        }
    }
}
