package dev.twine.xmpp;

import java.util.List;
import java.util.Objects;

/**
 * What a handler adds to the server's XEP-0030 service discovery answer (§3.1,
 * {@code disco#info}): identities and feature namespaces. The server's answer is built from the
 * {@link IqHandler#disco()} and {@link StanzaInterceptor#disco()} of everything registered on it,
 * in registration order, each feature listed once.
 *
 * @param identities the entity's identities (XEP-0030 §3.1: category, type, optional name)
 * @param features the namespaces of the features offered
 */
public record DiscoInfo(List<Identity> identities, List<String> features) {
    private static final DiscoInfo NONE = new DiscoInfo(List.of(), List.of());

    /** Copies both lists. */
    public DiscoInfo {
        identities = List.copyOf(identities);
        features = List.copyOf(features);
    }

    /** Nothing to add (what a handler declares unless it says otherwise). */
    public static DiscoInfo none() {
        return NONE;
    }

    /** Only features, {@code DiscoInfo.features("urn:example:time")}. */
    public static DiscoInfo features(String... namespaces) {
        return new DiscoInfo(List.of(), List.of(namespaces));
    }

    /** This plus one identity. */
    public DiscoInfo withIdentity(String category, String type, String name) {
        List<Identity> all = new java.util.ArrayList<>(identities);
        all.add(new Identity(category, type, name));
        return new DiscoInfo(all, features);
    }

    /**
     * One identity of an entity (XEP-0030 §3.1; categories and types from the XMPP registrar,
     * {@code server}/{@code im}).
     *
     * @param category the category, {@code server}
     * @param type the type within it, {@code im}
     * @param name a human-readable name, or empty for none
     */
    public record Identity(String category, String type, String name) {
        /** Checks that category and type are not empty. */
        public Identity {
            if (Objects.requireNonNull(category, "category").isEmpty() || Objects.requireNonNull(type, "type").isEmpty()) {
                throw new IllegalArgumentException("an identity needs a category and a type");
            }
            Objects.requireNonNull(name, "name");
        }
    }
}
