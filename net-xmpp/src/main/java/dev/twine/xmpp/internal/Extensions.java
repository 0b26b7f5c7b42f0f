package dev.twine.xmpp.internal;

import dev.twine.xmpp.DiscoInfo;
import dev.twine.xmpp.DomainHandler;
import dev.twine.xmpp.IqHandler;
import dev.twine.xmpp.IqType;
import dev.twine.xmpp.StanzaInterceptor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * What the server does with the stanzas it handles itself: the IQ handlers for its domain and
 * for its accounts' bare JIDs, by type and payload namespace, and the message and presence
 * interceptors in order, and the handlers of domains hosted in-process. Filled while the server is built (built-ins first, then the user's,
 * which replace a built-in of the same type and namespace), then only read.
 */
public final class Extensions {
    private record Key(IqType type, String namespace) {}

    private final Map<Key, IqHandler> server = new LinkedHashMap<>();
    private final Map<Key, IqHandler> account = new LinkedHashMap<>();
    private final List<StanzaInterceptor> messages = new ArrayList<>();
    private final List<StanzaInterceptor> presences = new ArrayList<>();
    private final List<DiscoInfo> others = new ArrayList<>();
    private final List<DiscoInfo> accountInfo = new ArrayList<>();
    private final Map<String, DomainHandler> domains = new LinkedHashMap<>();

    /** Registers a handler for IQs to the server's domain. */
    public void serverIq(IqType type, String namespace, IqHandler handler) {
        server.put(key(type, namespace), Objects.requireNonNull(handler, "handler"));
    }

    /** Registers a handler for IQs to an account's bare JID. */
    public void accountIq(IqType type, String namespace, IqHandler handler) {
        account.put(key(type, namespace), Objects.requireNonNull(handler, "handler"));
    }

    /** The handler registered so far for IQs to an account's bare JID, if any (for a handler that wraps it). */
    Optional<IqHandler> accountIq(IqType type, String namespace) {
        return Optional.ofNullable(account.get(key(type, namespace)));
    }

    /** Adds a message interceptor at the end of the chain. */
    public void messageInterceptor(StanzaInterceptor interceptor) {
        messages.add(Objects.requireNonNull(interceptor, "interceptor"));
    }

    /** Adds a presence interceptor at the end of the chain. */
    public void presenceInterceptor(StanzaInterceptor interceptor) {
        presences.add(Objects.requireNonNull(interceptor, "interceptor"));
    }

    /** A feature of every account's disco#info (the archive; XEP-0313 §7). */
    void contributeToAccounts(DiscoInfo info) {
        accountInfo.add(info);
    }

    /** The identities an account's disco#info lists besides the account's own (PEP's pubsub/pep). */
    List<DiscoInfo.Identity> accountIdentities() {
        Set<DiscoInfo.Identity> ids = new LinkedHashSet<>();
        accountInfo.forEach(d -> ids.addAll(d.identities()));
        return List.copyOf(ids);
    }

    /** What an account's disco#info lists besides its identity, each feature once. */
    List<String> accountFeatures() {
        Set<String> features = new LinkedHashSet<>();
        accountInfo.forEach(d -> features.addAll(d.features()));
        return List.copyOf(features);
    }

    /** Hosts a handler for every stanza to {@code domain} (replacing one registered before for it). */
    public void domain(String domain, DomainHandler handler) {
        domains.put(Objects.requireNonNull(domain, "domain"), Objects.requireNonNull(handler, "handler"));
    }

    /** Whether a handler is hosted for {@code domain}. */
    public boolean hosts(String domain) {
        return domains.containsKey(domain);
    }

    /** The domain handlers, by domain. */
    Map<String, DomainHandler> domains() {
        return domains;
    }

    /** A feature of the server that is neither a handler nor an interceptor (offline storage). */
    void contribute(DiscoInfo info) {
        others.add(info);
    }

    /** Everything {@code other} registered, after (and over) what is here. */
    public void addAll(Extensions other) {
        server.putAll(other.server);
        account.putAll(other.account);
        messages.addAll(other.messages);
        presences.addAll(other.presences);
        others.addAll(other.others);
        accountInfo.addAll(other.accountInfo);
        domains.putAll(other.domains);
    }

    private static Key key(IqType type, String namespace) {
        if (Objects.requireNonNull(namespace, "namespace").isEmpty()) {
            throw new IllegalArgumentException("an IQ handler needs a payload namespace");
        }
        return new Key(Objects.requireNonNull(type, "type"), namespace);
    }

    /** The handler for a request to the domain ({@code forDomain}) or to an account, or null. */
    IqHandler iqHandler(boolean forDomain, IqType type, String namespace) {
        return (forDomain ? server : account).get(new Key(type, namespace));
    }

    List<StanzaInterceptor> messageInterceptors() {
        return messages;
    }

    List<StanzaInterceptor> presenceInterceptors() {
        return presences;
    }

    /**
     * The server's disco#info (XEP-0030 §3.1): the identities and features every handler and
     * interceptor declares, in registration order, each once. Account handlers count too: the
     * server offers their features to its users (XEP-0280 §3 asks the server about carbons).
     */
    DiscoInfo disco() {
        Set<DiscoInfo.Identity> identities = new LinkedHashSet<>();
        Set<String> features = new LinkedHashSet<>();
        List<DiscoInfo> all = new ArrayList<>();
        server.values().forEach(h -> all.add(h.disco()));
        account.values().forEach(h -> all.add(h.disco()));
        messages.forEach(i -> all.add(i.disco()));
        presences.forEach(i -> all.add(i.disco()));
        all.addAll(others);
        for (DiscoInfo d : all) {
            identities.addAll(d.identities());
            features.addAll(d.features());
        }
        return new DiscoInfo(List.copyOf(identities), List.copyOf(features));
    }
}
