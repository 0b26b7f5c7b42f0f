package dev.twine.xmpp.internal;

import dev.twine.xmpp.DiscoInfo;
import dev.twine.xmpp.Element;
import dev.twine.xmpp.InboundStanza;
import dev.twine.xmpp.IqHandler;
import dev.twine.xmpp.IqRequest;
import dev.twine.xmpp.IqType;
import dev.twine.xmpp.Jid;
import dev.twine.xmpp.StanzaError;
import dev.twine.xmpp.StanzaException;
import dev.twine.xmpp.StanzaInterceptor;
import dev.twine.xmpp.Verdict;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The Personal Eventing Protocol (XEP-0163): every account's bare JID is a PubSub service
 * (XEP-0060) of its own, built from the server's extension points: account IQ handlers for
 * {@code pubsub} and {@code pubsub#owner}, and a presence interceptor (last in the chain) that
 * learns each client's entity capabilities (XEP-0115) to know which nodes it wants
 * notifications of ({@code NODE+notify}, XEP-0163 §4.3.3).
 *
 * <p>Offered: publish with auto-create and publish-options (§7.1.5 preconditions on
 * {@code pubsub#access_model}, {@code pubsub#max_items}, {@code pubsub#persist_items},
 * {@code pubsub#send_last_published_item}), retract, items (all, {@code max_items}, by id),
 * create, and the owner's configure, purge and delete; access models open, presence and
 * whitelist (the owner only). Notifications go, as {@code headline} messages from the owner's
 * bare JID, to the owner's available resources and to those of the contacts subscribed to the
 * owner's presence (not for whitelist nodes), each only if its capabilities ask for the node;
 * the last item goes to a resource when its capabilities are learnt and to a contact when its
 * presence subscription is approved. Nodes live in {@link PepStore}, bounded by {@link Limits}.
 * Only local users' resources are notified.
 */
public final class Pep implements IqHandler, StanzaInterceptor {
    static final String NS = "http://jabber.org/protocol/pubsub";
    static final String OWNER = NS + "#owner";
    static final String EVENT = NS + "#event";
    static final String ERRORS = NS + "#errors";
    private static final String DATA = "jabber:x:data";
    private static final String PUBLISH_OPTIONS = NS + "#publish-options";
    private static final String NODE_CONFIG = NS + "#node_config";
    private static final String CAPS_QUERY = "pepcaps-";

    /** What an account's disco#info says (XEP-0163 §6.1, XEP-0060 §10): only what works. */
    static final DiscoInfo ACCOUNT_DISCO = new DiscoInfo(List.of(new DiscoInfo.Identity("pubsub", "pep", "")), List.of(
            NS + "#access-open", NS + "#access-presence", NS + "#access-whitelist", NS + "#auto-create",
            NS + "#auto-subscribe", NS + "#config-node", NS + "#create-and-configure", NS + "#create-nodes",
            NS + "#delete-items", NS + "#delete-nodes", NS + "#filtered-notifications", NS + "#item-ids",
            NS + "#last-published", NS + "#persistent-items", NS + "#presence-notifications", NS + "#publish",
            NS + "#publish-options", NS + "#purge-nodes", NS + "#retract-items", NS + "#retrieve-items"));

    /**
     * How much one user's PEP service may hold.
     *
     * @param itemsPerNode the most items one node keeps (what {@code pubsub#max_items} {@code max} means)
     * @param itemBytes the most bytes of XML one item's payload may have
     * @param nodesPerUser the most nodes one user may have
     */
    public record Limits(int itemsPerNode, int itemBytes, int nodesPerUser) {
        /** Checks that each is positive. */
        public Limits {
            if (itemsPerNode < 1 || itemBytes < 1 || nodesPerUser < 1) {
                throw new IllegalArgumentException("PEP limits must be positive");
            }
        }
    }

    /** A client's wish: the caps ver it last sent and the nodes it wants notifications of. */
    private record Want(String ver, Set<String> nodes) {}

    /** A disco#info query sent to learn a ver. */
    private record Pending(String jid, String hash, String ver) {}

    private final Hub hub;
    private final PepStore store;
    private final Limits limits;
    private final EntityCaps caps = new EntityCaps(4096);
    private final ConcurrentHashMap<String, Want> wants = new ConcurrentHashMap<>();
    private final ReentrantLock pendingLock = new ReentrantLock();
    private final Map<String, Pending> pending = new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Pending> eldest) {
            return size() > 1024; // clients that never answer: the oldest questions are forgotten
        }
    };
    private final AtomicLong ids = new AtomicLong();

    Pep(Hub hub, Path dir, Limits limits) throws IOException {
        this.hub = hub;
        this.store = new PepStore(dir);
        this.limits = limits;
    }

    /** Registers the handlers on accounts and the account disco; the interceptor is the caller's to place. */
    void register(Extensions ext) {
        ext.accountIq(IqType.GET, NS, this);
        ext.accountIq(IqType.SET, NS, this);
        ext.accountIq(IqType.GET, OWNER, this);
        ext.accountIq(IqType.SET, OWNER, this);
        ext.accountIq(IqType.GET, ServerIqs.DISCO_ITEMS, this); // in place of the built-in, which lists nothing for accounts
        // XEP-0060 §5.4: a node's disco#info; a query without a node goes on to the handler before this one
        IqHandler info = ext.accountIq(IqType.GET, ServerIqs.DISCO_INFO).orElseThrow();
        ext.accountIq(IqType.GET, ServerIqs.DISCO_INFO, ServerIqs.declaring(info.disco(), request -> {
            Optional<String> node = request.payload().attribute("node");
            return node.isPresent() ? Optional.of(nodeInfo(request, node.get())) : info.handle(request);
        }));
        ext.contributeToAccounts(ACCOUNT_DISCO);
    }

    /** Nothing on the domain: PEP is offered on each account's bare JID (XEP-0163 §6.1). */
    @Override
    public DiscoInfo disco() {
        return DiscoInfo.none();
    }

    // ---------------------------------------------------------------- requests

    @Override
    public Optional<Element> handle(IqRequest request) throws StanzaException, IOException {
        Element p = request.payload();
        if (p.namespace().equals(ServerIqs.DISCO_ITEMS)) {
            ServerIqs.expect(request, "query");
            return Optional.of(discoItems(request, request.to().local(), p.attributeOrEmpty("node")));
        }
        if (!p.name().equals("pubsub") || p.children().isEmpty()) {
            throw new StanzaException(StanzaError.BAD_REQUEST, "expected <pubsub/> with an action");
        }
        String user = request.to().local();
        boolean set = request.type() == IqType.SET;
        Element op = p.children().get(0);
        if (p.namespace().equals(OWNER)) {
            if (!request.fromOwner()) {
                throw new StanzaException(StanzaError.FORBIDDEN, "only the owner configures a PEP node");
            }
            return switch (op.name()) {
                case "configure" -> set ? configure(user, op) : configuration(user, op);
                case "delete" -> requireSet(set, () -> delete(user, op));
                case "purge" -> requireSet(set, () -> purge(user, op));
                default -> throw unsupported(op.name());
            };
        }
        return switch (op.name()) {
            case "publish" -> requireSet(set, () -> {
                requireOwner(request);
                return publish(user, op, p.child("publish-options", NS));
            });
            case "retract" -> requireSet(set, () -> {
                requireOwner(request);
                return retract(user, op);
            });
            case "create" -> requireSet(set, () -> {
                requireOwner(request);
                return create(user, op, p.child("configure", NS));
            });
            case "items" -> {
                if (set) {
                    throw new StanzaException(StanzaError.BAD_REQUEST, "items is a get");
                }
                yield items(request, user, op);
            }
            case "subscribe", "unsubscribe", "subscriptions", "options" -> throw unsupported("subscribe");
            case "affiliations" -> throw unsupported("retrieve-affiliations");
            default -> throw unsupported(op.name());
        };
    }

    private interface Action {
        Optional<Element> run() throws StanzaException, IOException;
    }

    private static Optional<Element> requireSet(boolean set, Action action) throws StanzaException, IOException {
        if (!set) {
            throw new StanzaException(StanzaError.BAD_REQUEST, "this action is a set");
        }
        return action.run();
    }

    private static void requireOwner(IqRequest request) throws StanzaException {
        if (!request.fromOwner()) {
            throw new StanzaException(StanzaError.FORBIDDEN, "only the owner publishes to a PEP service"); // XEP-0163 §3
        }
    }

    /** XEP-0060 §7.1: publish one item, creating the node if it does not exist (XEP-0163 §3). */
    private Optional<Element> publish(String user, Element op, Optional<Element> options) throws StanzaException, IOException {
        String name = nodeName(op);
        List<Element> items = op.children().stream().filter(e -> e.is("item", NS)).toList();
        if (items.isEmpty()) {
            throw error(StanzaError.BAD_REQUEST, "item-required", "publish one item");
        }
        if (items.size() > 1) {
            throw error(StanzaError.BAD_REQUEST, "invalid-payload", "publish one item at a time");
        }
        Element item = items.get(0);
        if (item.children().isEmpty()) {
            throw error(StanzaError.BAD_REQUEST, "payload-required", "an item needs a payload");
        }
        if (item.children().size() > 1) {
            throw error(StanzaError.BAD_REQUEST, "invalid-payload", "an item has one payload");
        }
        Element payload = item.children().get(0);
        if (payload.toXml().getBytes(StandardCharsets.UTF_8).length > limits.itemBytes()) {
            throw error(StanzaError.NOT_ACCEPTABLE, "payload-too-big", "an item may have " + limits.itemBytes() + " bytes");
        }
        String id = item.attribute("id").filter(s -> !s.isEmpty()).orElseGet(this::newId);
        Element stored = Element.of("item", NS).withAttribute("id", id).withChild(payload);
        Map<String, String> wanted = options.isPresent() ? form(options.get(), PUBLISH_OPTIONS) : Map.of();
        PubSubNode node = change(user, name, current -> {
            if (current.isEmpty()) {
                return Optional.of(PubSubNode.empty(name, apply(PubSubNode.Config.DEFAULT, wanted, true)).with(stored));
            }
            if (!wanted.isEmpty() && !apply(current.get().config(), wanted, true).equals(current.get().config())) {
                throw error(StanzaError.CONFLICT, "precondition-not-met", "the node is configured otherwise"); // §7.1.5
            }
            return Optional.of(current.get().with(stored));
        }).orElseThrow();
        notify(user, node, Element.of("items", EVENT).withAttribute("node", name).withChild(stored.inNamespace(EVENT)));
        return Optional.of(Element.of("pubsub", NS).withChild(Element.of("publish", NS).withAttribute("node", name)
                .withChild(Element.of("item", NS).withAttribute("id", id))));
    }

    /** XEP-0060 §7.2: retract one item; subscribers are told (notify_retract is on). */
    private Optional<Element> retract(String user, Element op) throws StanzaException, IOException {
        String name = nodeName(op);
        List<String> ids = op.children().stream().filter(e -> e.is("item", NS)).map(e -> e.attributeOrEmpty("id")).toList();
        if (ids.size() != 1 || ids.get(0).isEmpty()) {
            throw error(StanzaError.BAD_REQUEST, "item-required", "retract one item by id");
        }
        String id = ids.get(0);
        PubSubNode node = change(user, name, current -> {
            if (current.isEmpty() || !current.get().has(id)) {
                throw new StanzaException(StanzaError.ITEM_NOT_FOUND, "no such item");
            }
            return Optional.of(current.get().without(id));
        }).orElseThrow();
        notify(user, node, Element.of("items", EVENT).withAttribute("node", name).withChild(Element.of("retract", EVENT).withAttribute("id", id)));
        return Optional.empty();
    }

    /** XEP-0060 §8.1: create a node, optionally configured. */
    private Optional<Element> create(String user, Element op, Optional<Element> configure) throws StanzaException, IOException {
        String name = op.attributeOrEmpty("node");
        if (name.isEmpty()) {
            throw error(StanzaError.NOT_ACCEPTABLE, "nodeid-required", "PEP has no instant nodes"); // §8.1.3
        }
        Optional<Element> form = configure.flatMap(c -> c.child("x", DATA));
        PubSubNode.Config config = form.isPresent() ? apply(PubSubNode.Config.DEFAULT, form(form.get(), NODE_CONFIG), false)
                : PubSubNode.Config.DEFAULT;
        change(user, name, current -> {
            if (current.isPresent()) {
                throw new StanzaException(StanzaError.CONFLICT, "the node exists");
            }
            return Optional.of(PubSubNode.empty(name, config));
        });
        return Optional.empty();
    }

    /** XEP-0060 §6.5: items, all, the newest {@code max_items}, or those asked for by id; oldest first. */
    private Optional<Element> items(IqRequest request, String user, Element op) throws StanzaException, IOException {
        String name = nodeName(op);
        PubSubNode node = store.node(user, name).orElseThrow(() -> new StanzaException(StanzaError.ITEM_NOT_FOUND, "no such node"));
        Jid requester = request.from().bare();
        if (!request.fromOwner()) {
            switch (node.config().accessModel()) {
                case "whitelist" -> throw error(StanzaError.NOT_ALLOWED, "closed-node", "the owner's only"); // §6.5.9.6
                case "presence" -> {
                    if (!subscribed(user, requester)) {
                        throw error(StanzaError.NOT_AUTHORIZED, "presence-subscription-required", ""); // §6.5.9.3
                    }
                }
                default -> { }
            }
        }
        List<Element> items = node.items();
        List<String> ids = op.children().stream().filter(e -> e.is("item", NS)).map(e -> e.attributeOrEmpty("id")).toList();
        if (!ids.isEmpty()) {
            items = items.stream().filter(e -> ids.contains(e.attributeOrEmpty("id"))).toList();
        } else if (op.attribute("max_items").isPresent()) {
            int max;
            try {
                max = Integer.parseInt(op.attributeOrEmpty("max_items"));
            } catch (NumberFormatException e) {
                max = -1;
            }
            if (max < 0) {
                throw new StanzaException(StanzaError.BAD_REQUEST, "max_items is a number");
            }
            items = items.subList(Math.max(0, items.size() - max), items.size());
        }
        return Optional.of(Element.of("pubsub", NS).withChild(Element.of("items", NS).withAttribute("node", name).withChildren(items)));
    }

    /**
     * XEP-0060 §5.2 and §5.5: the nodes the requester may read, or the ids of one node's items
     * (a node it may not read, or none, is listed empty).
     */
    private Element discoItems(IqRequest request, String user, String node) throws IOException {
        Element q = Element.of("query", ServerIqs.DISCO_ITEMS);
        String service = request.to().bare().toString();
        List<String> names = node.isEmpty() ? store.names(user) : List.of(node);
        for (String name : names) {
            Optional<PubSubNode> n = store.node(user, name);
            if (n.isEmpty() || !readable(request, user, n.get())) {
                continue;
            }
            if (node.isEmpty()) {
                q = q.withChild(Element.of("item", ServerIqs.DISCO_ITEMS).withAttribute("jid", service).withAttribute("node", name));
            } else {
                q = q.withAttribute("node", node);
                for (Element i : n.get().items()) {
                    q = q.withChild(Element.of("item", ServerIqs.DISCO_ITEMS).withAttribute("jid", service)
                            .withAttribute("name", i.attributeOrEmpty("id")));
                }
            }
        }
        return q;
    }

    /**
     * XEP-0060 §5.4: a node the requester may read is a leaf node; one it may not read, or none,
     * is not found (as in its disco#items, the node is not shown to those who may not read it).
     */
    private Element nodeInfo(IqRequest request, String node) throws StanzaException, IOException {
        ServerIqs.expect(request, "query");
        String user = request.to().local();
        Optional<PubSubNode> n = store.node(user, node);
        if (n.isEmpty() || !readable(request, user, n.get())) {
            throw new StanzaException(StanzaError.ITEM_NOT_FOUND);
        }
        return Element.of("query", ServerIqs.DISCO_INFO).withAttribute("node", node).withChildren(List.of(
                Element.of("identity", ServerIqs.DISCO_INFO).withAttribute("category", "pubsub").withAttribute("type", "leaf"),
                Element.of("feature", ServerIqs.DISCO_INFO).withAttribute("var", NS)));
    }

    private boolean readable(IqRequest request, String user, PubSubNode node) throws IOException {
        return request.fromOwner() || switch (node.config().accessModel()) {
            case "open" -> true;
            case "presence" -> subscribed(user, request.from().bare());
            default -> false;
        };
    }

    /** XEP-0060 §8.4: delete a node; subscribers are told. */
    private Optional<Element> delete(String user, Element op) throws StanzaException, IOException {
        String name = nodeName(op);
        PubSubNode[] gone = new PubSubNode[1];
        change(user, name, current -> {
            gone[0] = current.orElseThrow(() -> new StanzaException(StanzaError.ITEM_NOT_FOUND, "no such node"));
            return Optional.empty();
        });
        notify(user, gone[0], Element.of("delete", EVENT).withAttribute("node", name));
        return Optional.empty();
    }

    /** XEP-0060 §8.5: drop every item of a node; subscribers are told. */
    private Optional<Element> purge(String user, Element op) throws StanzaException, IOException {
        String name = nodeName(op);
        PubSubNode node = change(user, name, current -> Optional.of(current
                .orElseThrow(() -> new StanzaException(StanzaError.ITEM_NOT_FOUND, "no such node")).purged())).orElseThrow();
        notify(user, node, Element.of("purge", EVENT).withAttribute("node", name));
        return Optional.empty();
    }

    /** XEP-0060 §8.2: a node's configuration form. */
    private Optional<Element> configuration(String user, Element op) throws StanzaException, IOException {
        String name = nodeName(op);
        PubSubNode.Config c = store.node(user, name).orElseThrow(() -> new StanzaException(StanzaError.ITEM_NOT_FOUND, "no such node")).config();
        Element x = Element.of("x", DATA).withAttribute("type", "form")
                .withChild(field("FORM_TYPE", "hidden", NODE_CONFIG, List.of()))
                .withChild(field("pubsub#access_model", "list-single", c.accessModel(), PubSubNode.ACCESS_MODELS))
                .withChild(field("pubsub#max_items", "text-single", Integer.toString(c.maxItems()), List.of()))
                .withChild(field("pubsub#persist_items", "boolean", c.persistItems() ? "1" : "0", List.of()))
                .withChild(field("pubsub#send_last_published_item", "list-single", c.sendLast(), PubSubNode.SEND_LAST))
                .withChild(field("pubsub#deliver_notifications", "boolean", "1", List.of()))
                .withChild(field("pubsub#deliver_payloads", "boolean", "1", List.of()))
                .withChild(field("pubsub#notify_retract", "boolean", "1", List.of()))
                .withChild(field("pubsub#presence_based_delivery", "boolean", "1", List.of()));
        return Optional.of(Element.of("pubsub", OWNER).withChild(Element.of("configure", OWNER).withAttribute("node", name).withChild(x)));
    }

    /** XEP-0060 §8.2.4: submit a new configuration (a cancelled form changes nothing). */
    private Optional<Element> configure(String user, Element op) throws StanzaException, IOException {
        String name = nodeName(op);
        Element x = op.child("x", DATA).orElseThrow(() -> new StanzaException(StanzaError.BAD_REQUEST, "a configuration form is needed"));
        if (x.attributeOrEmpty("type").equals("cancel")) {
            return Optional.empty();
        }
        Map<String, String> fields = form(x, NODE_CONFIG);
        change(user, name, current -> {
            PubSubNode n = current.orElseThrow(() -> new StanzaException(StanzaError.ITEM_NOT_FOUND, "no such node"));
            return Optional.of(n.configured(apply(n.config(), fields, false)));
        });
        return Optional.empty();
    }

    private PubSubNode.Config apply(PubSubNode.Config base, Map<String, String> fields, boolean precondition) throws StanzaException {
        String access = base.accessModel();
        int max = base.maxItems();
        boolean persist = base.persistItems();
        String sendLast = base.sendLast();
        for (Map.Entry<String, String> f : fields.entrySet()) {
            String v = f.getValue();
            switch (f.getKey()) {
                case "pubsub#access_model" -> {
                    if (!PubSubNode.ACCESS_MODELS.contains(v)) {
                        throw precondition ? unmet(f.getKey()) : error(StanzaError.NOT_ACCEPTABLE, "unsupported-access-model", v);
                    }
                    access = v;
                }
                case "pubsub#max_items" -> max = maxItems(v);
                case "pubsub#persist_items" -> persist = bool(f.getKey(), v);
                case "pubsub#send_last_published_item" -> {
                    if (!PubSubNode.SEND_LAST.contains(v)) {
                        throw precondition ? unmet(f.getKey()) : error(StanzaError.NOT_ACCEPTABLE, "invalid-options", f.getKey());
                    }
                    sendLast = v;
                }
                // always so here: asking for anything else cannot be met
                case "pubsub#deliver_notifications", "pubsub#deliver_payloads", "pubsub#notify_retract", "pubsub#notify_delete",
                        "pubsub#presence_based_delivery" -> {
                    if (!bool(f.getKey(), v)) {
                        throw precondition ? unmet(f.getKey()) : error(StanzaError.NOT_ACCEPTABLE, "invalid-options", f.getKey());
                    }
                }
                case "pubsub#title", "pubsub#description" -> { } // not kept
                default -> throw precondition ? unmet(f.getKey()) : error(StanzaError.NOT_ACCEPTABLE, "invalid-options", f.getKey());
            }
        }
        return new PubSubNode.Config(access, max, persist, sendLast);
    }

    private int maxItems(String v) throws StanzaException {
        if (v.equals("max")) {
            return limits.itemsPerNode();
        }
        int n;
        try {
            n = Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw error(StanzaError.BAD_REQUEST, "invalid-options", "pubsub#max_items is a number or max");
        }
        if (n < 1) {
            throw error(StanzaError.BAD_REQUEST, "invalid-options", "pubsub#max_items is at least 1");
        }
        if (n > limits.itemsPerNode()) {
            throw error(StanzaError.POLICY_VIOLATION, "max-items-exceeded", "a node keeps at most " + limits.itemsPerNode() + " items");
        }
        return n;
    }

    private static boolean bool(String var, String v) throws StanzaException {
        return switch (v) {
            case "1", "true" -> true;
            case "0", "false" -> false;
            default -> throw error(StanzaError.BAD_REQUEST, "invalid-options", var + " is a boolean");
        };
    }

    /** A submitted data form's fields (first value each), its FORM_TYPE checked (XEP-0004 §3.4, XEP-0068). */
    private static Map<String, String> form(Element x, String formType) throws StanzaException {
        Element form = x.is("x", DATA) ? x : x.child("x", DATA).orElse(null);
        Map<String, String> out = new LinkedHashMap<>();
        if (form == null) {
            return out;
        }
        for (Element f : form.children()) {
            if (!f.name().equals("field")) {
                continue;
            }
            String value = f.children().stream().filter(v -> v.name().equals("value")).map(Element::text).findFirst().orElse("");
            if (f.attributeOrEmpty("var").equals("FORM_TYPE")) {
                if (!value.equals(formType)) {
                    throw error(StanzaError.BAD_REQUEST, "invalid-options", "FORM_TYPE is " + formType);
                }
            } else {
                out.put(f.attributeOrEmpty("var"), value.trim());
            }
        }
        return out;
    }

    private static Element field(String var, String type, String value, List<String> options) {
        Element f = Element.of("field", DATA).withAttribute("var", var).withAttribute("type", type);
        for (String o : options) {
            f = f.withChild(Element.of("option", DATA).withChild(Element.of("value", DATA).withText(o)));
        }
        return f.withChild(Element.of("value", DATA).withText(value));
    }

    /** Changes a node durably, or fails with the node limit's error. */
    private Optional<PubSubNode> change(String user, String name, PepStore.Change<StanzaException> c) throws StanzaException, IOException {
        return store.update(user, name, limits.nodesPerUser(), c).orElseThrow(() -> error(StanzaError.POLICY_VIOLATION,
                "max-nodes-exceeded", "a user may have " + limits.nodesPerUser() + " nodes"));
    }

    private static String nodeName(Element op) throws StanzaException {
        String name = op.attributeOrEmpty("node");
        if (name.isEmpty()) {
            throw error(StanzaError.BAD_REQUEST, "nodeid-required", "");
        }
        return name;
    }

    private String newId() {
        return Long.toString(System.currentTimeMillis(), 36) + "-" + Long.toString(ids.incrementAndGet(), 36);
    }

    private static StanzaException error(StanzaError e, String condition, String text) {
        return new StanzaException(e, Element.of(condition, ERRORS), text);
    }

    private static StanzaException unmet(String field) {
        return error(StanzaError.CONFLICT, "precondition-not-met", field + " cannot be met");
    }

    private static StanzaException unsupported(String feature) {
        return new StanzaException(StanzaError.FEATURE_NOT_IMPLEMENTED,
                Element.of("unsupported", ERRORS).withAttribute("feature", feature), "");
    }

    /** Whether {@code contact} is subscribed to {@code user}'s presence (RFC 6121 §3: 'from' or 'both' on the user's side). */
    private boolean subscribed(String user, Jid contact) throws IOException {
        RosterItem i = hub.store.rosterItem(user, contact.toString());
        return i != null && i.hasFrom();
    }

    // ---------------------------------------------------------------- notifications

    /**
     * XEP-0163 §4.3: the event to every resource that may see the node and asks for it. The change
     * is on disk already: a roster that cannot be read is logged, and the change answered as done.
     */
    private void notify(String user, PubSubNode node, Element what) {
        try {
            notifyResources(user, node, what);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot notify the contacts of " + user + " of " + node.name(), e);
        }
    }

    private void notifyResources(String user, PubSubNode node, Element what) throws IOException {
        Element event = Element.of("event", EVENT).withChild(what);
        Jid service = new Jid(user, hub.domain, "");
        for (C2sSession s : hub.sessionsOf(user)) {
            if (s.available && wants(s.jid(), node.name())) {
                send(s, service, event);
            }
        }
        if (node.config().accessModel().equals("whitelist")) {
            return;
        }
        for (RosterItem i : hub.store.roster(user)) {
            if (!i.hasFrom()) {
                continue;
            }
            Jid contact = Jid.parse(i.jid());
            if (!contact.domain().equals(hub.domain) || contact.local().isEmpty() || contact.local().equals(user)) {
                continue;
            }
            for (C2sSession s : hub.availableSessionsOf(contact.local())) {
                if (wants(s.jid(), node.name())) {
                    send(s, service, event);
                }
            }
        }
    }

    private boolean wants(Jid resource, String node) {
        Want w = wants.get(resource.toString());
        return w != null && w.nodes().contains(node);
    }

    private void send(C2sSession s, Jid service, Element event) {
        s.send(Element.of("message", Hub.CLIENT_NS).withAttribute("from", service.toString()).withAttribute("to", s.jid().toString())
                .withAttribute("type", "headline").withAttribute("id", newId()).withChild(event));
    }

    /**
     * The last item of each of {@code nodes} that {@code resource} may see: its own user's and
     * those of the users whose presence it is subscribed to (XEP-0163 §4.3.2,
     * {@code send_last_published_item} on presence).
     */
    private void sendLast(Jid resource, Set<String> nodes) throws IOException {
        C2sSession s = hub.sessionFor(resource);
        if (s == null || nodes.isEmpty()) {
            return;
        }
        String own = resource.local();
        List<String> services = new ArrayList<>(List.of(own));
        for (RosterItem i : hub.store.roster(own)) {
            Jid c = Jid.parse(i.jid());
            if (i.hasTo() && c.domain().equals(hub.domain) && !c.local().isEmpty() && !c.local().equals(own)
                    && subscribed(c.local(), resource.bare())) {
                services.add(c.local());
            }
        }
        for (String user : services) {
            if (store.mayHaveNodes(user)) {
                lastItems(s, user, nodes, "on_sub_and_presence");
            }
        }
    }

    private void lastItems(C2sSession s, String user, Set<String> nodes, String... when) throws IOException {
        Jid service = new Jid(user, hub.domain, "");
        for (String name : nodes) {
            Optional<PubSubNode> node = store.node(user, name);
            if (node.isEmpty() || node.get().last().isEmpty() || !List.of(when).contains(node.get().config().sendLast())
                    || node.get().config().accessModel().equals("whitelist") && !user.equals(s.jid().local())) {
                continue;
            }
            send(s, service, Element.of("event", EVENT).withChild(Element.of("items", EVENT).withAttribute("node", name)
                    .withChild(node.get().last().get().inNamespace(EVENT))));
        }
    }

    // ---------------------------------------------------------------- entity capabilities

    /**
     * Watches what local clients broadcast: available presence with caps (XEP-0115 §4) says which
     * nodes the resource wants, learnt from the cache or by asking the client; unavailable
     * presence forgets it; a {@code subscribed} answer to a pending request sends the new
     * subscriber the last items (XEP-0163 §4.3.2). Always passes the stanza on: a failure to
     * read the nodes is logged, and the presence goes its way all the same.
     */
    @Override
    public Verdict intercept(InboundStanza in) {
        try {
            watch(in);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot send the last PEP items to " + in.from(), e);
        }
        return Verdict.pass();
    }

    private void watch(InboundStanza in) throws IOException {
        Jid from = in.from();
        if (in.principal().isEmpty() || from.isBare() || !from.domain().equals(hub.domain)) {
            return;
        }
        Element p = in.stanza();
        String type = p.attributeOrEmpty("type");
        String to = p.attributeOrEmpty("to");
        if (!to.isEmpty()) {
            if (type.equals("subscribed")) {
                approved(from.local(), to);
            }
            return;
        }
        if (type.equals("unavailable")) {
            wants.remove(from.toString());
        } else if (type.isEmpty()) {
            Optional<Element> c = p.child("c", EntityCaps.NS);
            String ver = c.map(e -> e.attributeOrEmpty("ver")).orElse("");
            String hash = c.map(e -> e.attributeOrEmpty("hash")).orElse("");
            Want now = wants.get(from.toString());
            if (now != null && now.ver().equals(ver)) {
                return; // a presence update from the same client: nothing new to send
            }
            Optional<Set<String>> known = ver.isEmpty() ? Optional.of(Set.of()) : caps.known(hash, ver);
            if (known.isPresent()) {
                learnt(from, ver, known.get());
            } else {
                ask(from, c.get(), hash, ver, now);
            }
        }
    }

    private void learnt(Jid resource, String ver, Set<String> nodes) throws IOException {
        Want old = wants.put(resource.toString(), new Want(ver, nodes));
        Set<String> added = new HashSet<>(nodes);
        if (old != null) {
            added.removeAll(old.nodes());
        }
        prune();
        sendLast(resource, added);
    }

    /** XEP-0115 §6.2: a disco#info query to the client for {@code node#ver}, from the server. */
    private void ask(Jid resource, Element c, String hash, String ver, Want now) {
        C2sSession s = hub.sessionFor(resource);
        if (s == null) {
            return;
        }
        // until the answer, the resource keeps what it wanted before, under the new ver (no second query)
        wants.put(resource.toString(), new Want(ver, now == null ? Set.of() : now.nodes()));
        String id = CAPS_QUERY + newId();
        pendingLock.lock();
        try {
            pending.put(id, new Pending(resource.toString(), hash, ver));
        } finally {
            pendingLock.unlock();
        }
        s.send(Element.of("iq", Hub.CLIENT_NS).withAttribute("type", "get").withAttribute("id", id).withAttribute("from", hub.domain)
                .withAttribute("to", resource.toString()).withChild(Element.of("query", ServerIqs.DISCO_INFO)
                        .withAttribute("node", c.attributeOrEmpty("node") + "#" + ver)));
    }

    /**
     * An IQ result or error addressed to the server: the answer to a caps query, if it is one.
     *
     * @return whether it was (and is handled)
     */
    boolean response(Element iq, C2sSession sender) {
        String id = iq.attributeOrEmpty("id");
        if (!id.startsWith(CAPS_QUERY)) {
            return false;
        }
        Pending q;
        pendingLock.lock();
        try {
            q = pending.remove(id);
        } finally {
            pendingLock.unlock();
        }
        if (q == null || sender == null || !sender.jid().toString().equals(q.jid())) {
            return true;
        }
        Want now = wants.get(q.jid());
        if (now == null || !now.ver().equals(q.ver())) {
            return true; // the client went, or announced other caps meanwhile
        }
        Optional<Element> query = iq.attributeOrEmpty("type").equals("result") ? iq.child("query", ServerIqs.DISCO_INFO) : Optional.empty();
        Set<String> nodes = query.map(e -> caps.learn(q.hash(), q.ver(), e)).orElse(Set.of());
        try {
            learnt(sender.jid(), q.ver(), nodes);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot send the last PEP items to " + q.jid(), e);
        }
        return true;
    }

    private static final System.Logger LOG = System.getLogger(Pep.class.getName());

    /** A local user approved {@code to}'s presence subscription: its resources get the user's last items (send_last on_sub). */
    private void approved(String user, String to) throws IOException {
        Jid contact;
        try {
            contact = Jid.parse(to).bare();
        } catch (IllegalArgumentException e) {
            return;
        }
        RosterItem i = hub.store.rosterItem(user, contact.toString());
        if (i == null || !i.pendingIn() || !contact.domain().equals(hub.domain) || !store.mayHaveNodes(user)) {
            return; // no request to approve: the roster ignores this answer too (RFC 6121 §3.1.4)
        }
        for (C2sSession s : hub.availableSessionsOf(contact.local())) {
            Want w = wants.get(s.jid().toString());
            if (w != null) {
                lastItems(s, user, w.nodes(), "on_sub", "on_sub_and_presence");
            }
        }
    }

    /** Forgets the wishes of resources that went without unavailable presence (a dropped stream). */
    private void prune() {
        if (wants.size() <= 2 * hub.sessionCount() + 1024) {
            return;
        }
        wants.keySet().removeIf(j -> hub.sessionFor(Jid.parse(j)) == null);
    }
}
