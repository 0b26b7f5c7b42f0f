package dev.twine.xmpp;

import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import javax.xml.XMLConstants;

/**
 * An immutable XML element as XMPP uses it: a stanza ({@code <message/>}, {@code <presence/>},
 * {@code <iq/>}) or one of its payloads. Each {@code with...} method returns a new element.
 *
 * <p>XMPP stanzas carry no mixed content that matters (RFC 6120 §11.1), so an element holds its
 * text and its child elements separately; the text is written before the children.
 * Attributes keep their insertion order; {@code xml:lang} is stored under that name.
 */
public final class Element {
    /** The stanza namespaces that take the stream's default namespace when written. */
    private static final List<String> CONTENT_NAMESPACES =
            List.of("jabber:client", "jabber:server", "jabber:component:accept");

    private final String name;
    private final String namespace;
    private final Attributes attributes;
    private final List<Element> children;
    private final String text;

    private Element(String name, String namespace, Attributes attributes, List<Element> children, String text) {
        this.name = name;
        this.namespace = namespace;
        this.attributes = attributes;
        this.children = children;
        this.text = text;
    }

    /**
     * A new empty element.
     *
     * @param name the local name, {@code message}
     * @param namespace the namespace URI, {@code jabber:client}; empty for none
     * @throws IllegalArgumentException if the name is empty
     */
    public static Element of(String name, String namespace) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(namespace, "namespace");
        if (name.isEmpty()) {
            throw new IllegalArgumentException("empty element name");
        }
        return new Element(name, namespace, Attributes.EMPTY, List.of(), "");
    }

    /**
     * A new element with everything at once (one copy of each collection, for parsers).
     *
     * @throws IllegalArgumentException if the name is empty
     */
    public static Element of(String name, String namespace, Map<String, String> attributes, List<Element> children, String text) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(namespace, "namespace");
        if (name.isEmpty()) {
            throw new IllegalArgumentException("empty element name");
        }
        return new Element(name, namespace, Attributes.copyOf(attributes), List.copyOf(children), Objects.requireNonNull(text, "text"));
    }

    /** The local name. */
    public String name() {
        return name;
    }

    /** The namespace URI, empty for none. */
    public String namespace() {
        return namespace;
    }

    /** Whether this element has the given name and namespace. */
    public boolean is(String name, String namespace) {
        return this.name.equals(name) && this.namespace.equals(namespace);
    }

    /** The attributes, in order, unmodifiable. */
    public Map<String, String> attributes() {
        return attributes;
    }

    /** The value of an attribute, if present. */
    public Optional<String> attribute(String name) {
        return Optional.ofNullable(attributes.get(name));
    }

    /** The value of an attribute, or the empty string if absent. */
    public String attributeOrEmpty(String name) {
        String v = attributes.get(name);
        return v == null ? "" : v;
    }

    /** The child elements, in order, unmodifiable. */
    public List<Element> children() {
        return children;
    }

    /** The first child with this name and namespace. */
    public Optional<Element> child(String name, String namespace) {
        for (Element c : children) {
            if (c.is(name, namespace)) {
                return Optional.of(c);
            }
        }
        return Optional.empty();
    }

    /** The first child in this namespace, whatever its name (an IQ's payload). */
    public Optional<Element> childIn(String namespace) {
        for (Element c : children) {
            if (c.namespace.equals(namespace)) {
                return Optional.of(c);
            }
        }
        return Optional.empty();
    }

    /** The character data directly inside this element (not its children's). */
    public String text() {
        return text;
    }

    /** The text of the first child with this name in this element's namespace, if any. */
    public Optional<String> childText(String name) {
        return child(name, namespace).map(Element::text);
    }

    /** A copy with the attribute set; a null value removes it. */
    public Element withAttribute(String name, String value) {
        Objects.requireNonNull(name, "name");
        return new Element(this.name, namespace, attributes.with(name, value), children, text);
    }

    /** A copy with one more child at the end. */
    public Element withChild(Element child) {
        Objects.requireNonNull(child, "child");
        List<Element> c = new ArrayList<>(children.size() + 1);
        c.addAll(children);
        c.add(child);
        return new Element(name, namespace, attributes, Collections.unmodifiableList(c), text);
    }

    /** A copy whose children are exactly these. */
    public Element withChildren(List<Element> newChildren) {
        return new Element(name, namespace, attributes, List.copyOf(newChildren), text);
    }

    /** A copy with this text content. */
    public Element withText(String newText) {
        return new Element(name, namespace, attributes, children, Objects.requireNonNull(newText, "text"));
    }

    /** A copy in another namespace, its children that shared the old namespace moved along. */
    public Element inNamespace(String newNamespace) {
        List<Element> c = new ArrayList<>(children.size());
        for (Element child : children) {
            c.add(child.namespace.equals(namespace) ? child.inNamespace(newNamespace) : child);
        }
        return new Element(name, newNamespace, attributes, Collections.unmodifiableList(c), text);
    }

    /**
     * This element as XML text, declaring its namespace unless it is a stanza namespace
     * ({@code jabber:client}, {@code jabber:server}, {@code jabber:component:accept}): a stanza
     * takes the default namespace of the stream it is written to. An element in the XML namespace
     * ({@code http://www.w3.org/XML/1998/namespace}) is written with its reserved {@code xml}
     * prefix, which needs no declaration.
     */
    public String toXml() {
        StringBuilder sb = new StringBuilder(128);
        write(sb, CONTENT_NAMESPACES.contains(namespace) ? namespace : null);
        return sb.toString();
    }

    /** As {@link #toXml()}. */
    @Override
    public String toString() {
        return toXml();
    }

    private void write(StringBuilder sb, String inherited) {
        // Namespaces in XML 1.0 §3: the XML namespace must not be declared as the default
        // namespace (a reader refuses xmlns='http://www.w3.org/XML/1998/namespace'), but its
        // prefix xml is bound everywhere without a declaration. So an element in it (a peer may
        // send <xml:e/>) is written with that prefix, and the default namespace its children
        // inherit stays what it was.
        boolean xmlPrefixed = namespace.equals(XMLConstants.XML_NS_URI);
        String tag = xmlPrefixed ? XMLConstants.XML_NS_PREFIX + ":" + name : name;
        sb.append('<').append(tag);
        if (!xmlPrefixed && !namespace.equals(inherited)) {
            sb.append(" xmlns='");
            escape(sb, namespace, true);
            sb.append('\'');
        }
        String[] pairs = attributes.pairs;
        for (int i = 0; i < pairs.length; i += 2) {
            sb.append(' ').append(pairs[i]).append("='");
            escape(sb, pairs[i + 1], true);
            sb.append('\'');
        }
        if (text.isEmpty() && children.isEmpty()) {
            sb.append("/>");
            return;
        }
        sb.append('>');
        escape(sb, text, false);
        for (Element c : children) {
            c.write(sb, xmlPrefixed ? inherited : namespace);
        }
        sb.append("</").append(tag).append('>');
    }

    /**
     * Appends {@code s} escaped for XML character data or a single-quoted attribute value.
     *
     * @param sb where to append
     * @param s the raw text
     * @param attribute true to escape quotes as well
     */
    public static void escape(StringBuilder sb, String s, boolean attribute) {
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            switch (ch) {
                case '&' -> sb.append("&amp;");
                case '<' -> sb.append("&lt;");
                case '>' -> sb.append("&gt;");
                case '\'' -> sb.append(attribute ? "&apos;" : "'");
                case '"' -> sb.append(attribute ? "&quot;" : "\"");
                case '\r' -> sb.append("&#13;"); // would be normalised away otherwise (XML 1.0 §2.11)
                default -> sb.append(ch);
            }
        }
    }

    /**
     * The attributes in order, as name/value pairs in one array: an element has a handful, so a
     * scan costs less than hashing, and a copy with one more is one array.
     */
    private static final class Attributes extends AbstractMap<String, String> {
        static final Attributes EMPTY = new Attributes(new String[0]);
        final String[] pairs;

        private Attributes(String[] pairs) {
            this.pairs = pairs;
        }

        static Attributes copyOf(Map<String, String> m) {
            if (m instanceof Attributes a) {
                return a;
            }
            if (m.isEmpty()) {
                return EMPTY;
            }
            String[] p = new String[m.size() * 2];
            int i = 0;
            for (Map.Entry<String, String> e : m.entrySet()) {
                p[i++] = Objects.requireNonNull(e.getKey(), "attribute name");
                p[i++] = Objects.requireNonNull(e.getValue(), "attribute value");
            }
            return new Attributes(p);
        }

        private int indexOf(Object key) {
            for (int i = 0; i < pairs.length; i += 2) {
                if (pairs[i].equals(key)) {
                    return i;
                }
            }
            return -1;
        }

        /** A copy with {@code name} set in place (or added at the end); a null value removes it. */
        Attributes with(String name, String value) {
            int i = indexOf(name);
            if (value == null) {
                if (i < 0) {
                    return this;
                }
                String[] p = new String[pairs.length - 2];
                System.arraycopy(pairs, 0, p, 0, i);
                System.arraycopy(pairs, i + 2, p, i, pairs.length - i - 2);
                return p.length == 0 ? EMPTY : new Attributes(p);
            }
            String[] p;
            if (i >= 0) {
                p = pairs.clone();
            } else {
                p = java.util.Arrays.copyOf(pairs, pairs.length + 2);
                i = pairs.length;
                p[i] = name;
            }
            p[i + 1] = value;
            return new Attributes(p);
        }

        @Override
        public String get(Object key) {
            int i = indexOf(key);
            return i < 0 ? null : pairs[i + 1];
        }

        @Override
        public boolean containsKey(Object key) {
            return indexOf(key) >= 0;
        }

        @Override
        public int size() {
            return pairs.length / 2;
        }

        @Override
        public Set<Map.Entry<String, String>> entrySet() {
            return new AbstractSet<>() {
                @Override
                public Iterator<Map.Entry<String, String>> iterator() {
                    return new Iterator<>() {
                        private int next;

                        @Override
                        public boolean hasNext() {
                            return next < pairs.length;
                        }

                        @Override
                        public Map.Entry<String, String> next() {
                            if (next >= pairs.length) {
                                throw new NoSuchElementException();
                            }
                            Map.Entry<String, String> e = new AbstractMap.SimpleImmutableEntry<>(pairs[next], pairs[next + 1]);
                            next += 2;
                            return e;
                        }
                    };
                }

                @Override
                public int size() {
                    return pairs.length / 2;
                }
            };
        }
    }

    /** Equal if name, namespace, attributes (in any order), text and children are equal. */
    @Override
    public boolean equals(Object o) {
        return o instanceof Element e && name.equals(e.name) && namespace.equals(e.namespace)
                && attributes.equals(e.attributes) && text.equals(e.text) && children.equals(e.children);
    }

    /** Consistent with {@link #equals}. */
    @Override
    public int hashCode() {
        return Objects.hash(name, namespace, attributes, text, children);
    }
}
