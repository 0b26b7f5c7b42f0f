package dev.twine.xmpp.internal;

import dev.twine.xmpp.Element;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One node of a user's personal PubSub service (XEP-0163 on XEP-0060): its name, its
 * configuration and its items, oldest first. A value: a change makes a new node.
 *
 * @param name the node's name, {@code urn:xmpp:avatar:metadata}
 * @param config how it is configured
 * @param items its items (each {@code <item id>} with one payload), oldest first, at most
 *     {@code config.maxItems()} of them
 */
record PubSubNode(String name, Config config, List<Element> items) {
    /** The access models of XEP-0060 §4.5 that this service offers. */
    static final List<String> ACCESS_MODELS = List.of("open", "presence", "whitelist");
    /** The values of {@code pubsub#send_last_published_item} (XEP-0060 §16.4.4). */
    static final List<String> SEND_LAST = List.of("never", "on_sub", "on_sub_and_presence");

    PubSubNode {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(config, "config");
        items = List.copyOf(items);
    }

    /**
     * A node's configuration, the part of XEP-0060 §16.4.4 this service keeps.
     *
     * @param accessModel {@code open} (anyone may read), {@code presence} (the owner and the
     *     contacts subscribed to the owner's presence) or {@code whitelist} (the owner only)
     * @param maxItems the most items kept; publishing one more drops the oldest
     * @param persistItems whether items are kept at all (false: a publish only notifies)
     * @param sendLast when the last item goes to a new subscriber: {@code never}, {@code on_sub}
     *     (when a presence subscription is approved) or {@code on_sub_and_presence} (also when a
     *     resource comes online with {@code NODE+notify} in its capabilities)
     */
    record Config(String accessModel, int maxItems, boolean persistItems, String sendLast) {
        /** XEP-0163 §4.2: presence access, one item, persistent, last item on subscription and presence. */
        static final Config DEFAULT = new Config("presence", 1, true, "on_sub_and_presence");

        Config {
            if (!ACCESS_MODELS.contains(accessModel) || !SEND_LAST.contains(sendLast) || maxItems < 1) {
                throw new IllegalArgumentException("bad node configuration");
            }
        }
    }

    /** A node with no items yet. */
    static PubSubNode empty(String name, Config config) {
        return new PubSubNode(name, config, List.of());
    }

    /** This node with {@code item} as its newest item (replacing one with its id), trimmed to {@code maxItems}. */
    PubSubNode with(Element item) {
        if (!config.persistItems()) {
            return this;
        }
        String id = item.attributeOrEmpty("id");
        List<Element> all = new ArrayList<>(items.size() + 1);
        for (Element e : items) {
            if (!e.attributeOrEmpty("id").equals(id)) {
                all.add(e);
            }
        }
        all.add(item);
        return new PubSubNode(name, config, trim(all, config.maxItems()));
    }

    /** This node without the item of that id; itself if it has none. */
    PubSubNode without(String id) {
        List<Element> all = items.stream().filter(e -> !e.attributeOrEmpty("id").equals(id)).toList();
        return all.size() == items.size() ? this : new PubSubNode(name, config, all);
    }

    /** Whether an item of that id is here. */
    boolean has(String id) {
        return items.stream().anyMatch(e -> e.attributeOrEmpty("id").equals(id));
    }

    /** The newest item, if any. */
    java.util.Optional<Element> last() {
        return items.isEmpty() ? java.util.Optional.empty() : java.util.Optional.of(items.get(items.size() - 1));
    }

    /** This node with another configuration (its items trimmed to the new maximum, or gone if not persisted). */
    PubSubNode configured(Config c) {
        return new PubSubNode(name, c, c.persistItems() ? trim(items, c.maxItems()) : List.of());
    }

    /** This node without items. */
    PubSubNode purged() {
        return new PubSubNode(name, config, List.of());
    }

    private static List<Element> trim(List<Element> all, int max) {
        return all.size() <= max ? all : all.subList(all.size() - max, all.size());
    }

    // ---------------------------------------------------------------- storage

    /** The node as stored: a {@code <node/>} head, then its items. */
    List<Element> toStored() {
        List<Element> out = new ArrayList<>(items.size() + 1);
        out.add(Element.of("node", Pep.NS).withAttribute("name", name).withAttribute("access", config.accessModel())
                .withAttribute("max", Integer.toString(config.maxItems())).withAttribute("persist", Boolean.toString(config.persistItems()))
                .withAttribute("send-last", config.sendLast()));
        out.addAll(items);
        return out;
    }

    /**
     * A node read back from {@link #toStored()}'s elements.
     *
     * @throws IllegalArgumentException if they are not a node
     */
    static PubSubNode fromStored(List<Element> stored) {
        if (stored.isEmpty() || !stored.get(0).is("node", Pep.NS)) {
            throw new IllegalArgumentException("not a stored node");
        }
        Element head = stored.get(0);
        Config c = new Config(head.attributeOrEmpty("access"), Integer.parseInt(head.attributeOrEmpty("max")),
                Boolean.parseBoolean(head.attributeOrEmpty("persist")), head.attributeOrEmpty("send-last"));
        return new PubSubNode(head.attributeOrEmpty("name"), c, stored.subList(1, stored.size()));
    }
}
