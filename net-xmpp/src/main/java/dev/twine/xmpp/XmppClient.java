package dev.twine.xmpp;

import dev.twine.core.Client;
import dev.twine.core.ClientOptions;
import dev.twine.core.Connection;
import dev.twine.core.Endpoint;
import dev.twine.core.Tls;
import dev.twine.xmpp.internal.StreamErrorException;
import dev.twine.xmpp.internal.XmlLimits;
import dev.twine.xmpp.internal.XmlReader;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Deque;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * A blocking XMPP client (RFC 6120, RFC 6121) in direct style: {@link Builder#connect()} opens the
 * stream, upgrades it with STARTTLS, authenticates with SCRAM-SHA-256 (or PLAIN, only over TLS
 * or when plaintext is explicitly allowed) and binds a resource, and returns once the session is
 * ready. Then {@link #send} writes stanzas and {@link #receive} takes incoming ones.
 *
 * <pre>{@code
 * try (XmppClient xmpp = XmppClient.builder("alice@example.org", password)
 *         .endpoint("tcp:example.org:5222").connect()) {
 *     xmpp.sendMessage(Jid.parse("bob@example.org"), "hello");
 *     Optional<Element> reply = xmpp.await(s -> s.name().equals("message"), Duration.ofSeconds(30));
 * }
 * }</pre>
 *
 * <p>Threads: a reader child in the connection's scope parses incoming stanzas into a queue and
 * answers roster pushes and pings by itself (RFC 6121 §2.1.6, XEP-0199). {@link #send} may be
 * called from any thread; {@link #receive} and the request helpers are meant for one consuming
 * thread. Closing ends the stream and the reader.
 */
public final class XmppClient implements AutoCloseable {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Element END = Element.of("end", "urn:twine:internal");
    private static final String SASL = "urn:ietf:params:xml:ns:xmpp-sasl";
    private static final String TLS_NS = "urn:ietf:params:xml:ns:xmpp-tls";
    private static final String BIND = "urn:ietf:params:xml:ns:xmpp-bind";
    private static final String ROSTER = "jabber:iq:roster";

    private final Connection conn;
    private final Jid jid;
    private final ReentrantLock writeLock = new ReentrantLock();
    private final LinkedBlockingQueue<Element> inbox = new LinkedBlockingQueue<>();
    private final Deque<Element> stash = new ArrayDeque<>();
    private final AtomicLong ids = new AtomicLong();
    private volatile String endReason = "";
    private boolean ended;

    private XmppClient(Connection conn, Jid jid, XmlReader reader) {
        this.conn = conn;
        this.jid = jid;
        conn.scope().fork("xmpp-reader", () -> readLoop(reader));
    }

    /**
     * A builder for the account {@code user@domain} (a resource in the JID is requested at bind).
     *
     * @throws IllegalArgumentException if the JID is malformed or has no local part
     */
    public static Builder builder(String jid, char[] password) {
        return new Builder(Jid.parse(jid), password);
    }

    /** The full JID the server bound. */
    public Jid jid() {
        return jid;
    }

    /** Whether the stream is encrypted. */
    public boolean isSecure() {
        return conn.isSecure();
    }

    /**
     * Sends a stanza as is (the server stamps {@code from}).
     *
     * @throws IOException if the connection fails
     */
    public void send(Element stanza) throws IOException {
        write(stanza.toXml());
    }

    /** Sends a chat message. */
    public void sendMessage(Jid to, String body) throws IOException {
        send(Element.of("message", "jabber:client").withAttribute("to", to.toString()).withAttribute("type", "chat")
                .withAttribute("id", nextId()).withChild(Element.of("body", "jabber:client").withText(body)));
    }

    /** Sends available presence with a priority (RFC 6121 §4.2). */
    public void sendPresence(int priority) throws IOException {
        Element p = Element.of("presence", "jabber:client");
        if (priority != 0) {
            p = p.withChild(Element.of("priority", "jabber:client").withText(Integer.toString(priority)));
        }
        send(p);
    }

    /** Sends a presence subscription stanza: {@code subscribe}, {@code subscribed}, {@code unsubscribe} or {@code unsubscribed}. */
    public void sendSubscription(Jid to, String type) throws IOException {
        send(Element.of("presence", "jabber:client").withAttribute("to", to.bare().toString()).withAttribute("type", type));
    }

    /**
     * Sends an IQ get or set and waits for its result; other stanzas that arrive meanwhile are
     * kept for {@link #receive}.
     *
     * @return the result IQ
     * @throws XmppException if the reply is an error (its condition) or none comes in time
     * @throws IOException if the stream ends
     * @throws InterruptedException if interrupted while waiting
     */
    public Element request(Element iq, Duration timeout) throws IOException, InterruptedException {
        String id = iq.attribute("id").orElse(nextId());
        send(iq.withAttribute("id", id));
        long deadline = System.nanoTime() + timeout.toNanos();
        List<Element> others = new ArrayList<>();
        try {
            while (true) {
                long left = deadline - System.nanoTime();
                Element e = left <= 0 ? null : inbox.poll(left, TimeUnit.NANOSECONDS);
                if (e == null) {
                    throw new XmppException("remote-server-timeout", "no reply to IQ " + id + " within " + timeout);
                }
                if (e == END) {
                    inbox.add(END);
                    throw new EOFException("stream ended: " + endReason);
                }
                if (e.name().equals("iq") && e.attributeOrEmpty("id").equals(id)
                        && (e.attributeOrEmpty("type").equals("result") || e.attributeOrEmpty("type").equals("error"))) {
                    if (e.attributeOrEmpty("type").equals("error")) {
                        throw new XmppException(errorCondition(e), "IQ " + id + " failed");
                    }
                    return e;
                }
                others.add(e);
            }
        } finally {
            stash.addAll(others);
        }
    }

    /** Fetches the roster (RFC 6121 §2.2). */
    public List<RosterEntry> roster(Duration timeout) throws IOException, InterruptedException {
        Element r = request(Element.of("iq", "jabber:client").withAttribute("type", "get")
                .withChild(Element.of("query", ROSTER)), timeout);
        List<RosterEntry> out = new ArrayList<>();
        for (Element i : r.child("query", ROSTER).map(Element::children).orElse(List.of())) {
            out.add(RosterEntry.of(i));
        }
        return out;
    }

    /** Adds or updates a roster item (RFC 6121 §2.3) and waits for the server's result. */
    public void rosterSet(Jid contact, String name, List<String> groups, Duration timeout) throws IOException, InterruptedException {
        Element item = Element.of("item", ROSTER).withAttribute("jid", contact.bare().toString());
        if (!name.isEmpty()) {
            item = item.withAttribute("name", name);
        }
        for (String g : groups) {
            item = item.withChild(Element.of("group", ROSTER).withText(g));
        }
        request(Element.of("iq", "jabber:client").withAttribute("type", "set")
                .withChild(Element.of("query", ROSTER).withChild(item)), timeout);
    }

    /** Removes a roster item (RFC 6121 §2.5). */
    public void rosterRemove(Jid contact, Duration timeout) throws IOException, InterruptedException {
        request(Element.of("iq", "jabber:client").withAttribute("type", "set").withChild(Element.of("query", ROSTER)
                .withChild(Element.of("item", ROSTER).withAttribute("jid", contact.bare().toString())
                        .withAttribute("subscription", "remove"))), timeout);
    }

    /**
     * The next incoming stanza, waiting up to {@code timeout}.
     *
     * @return the stanza, or empty if none came in time
     * @throws EOFException once the stream has ended
     * @throws InterruptedException if interrupted while waiting
     */
    public Optional<Element> receive(Duration timeout) throws IOException, InterruptedException {
        if (!stash.isEmpty()) {
            return Optional.of(stash.poll());
        }
        Element e = inbox.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
        if (e == END) {
            inbox.add(END);
            throw new EOFException("stream ended: " + endReason);
        }
        return Optional.ofNullable(e);
    }

    /**
     * Waits for the first incoming stanza that {@code filter} accepts, keeping the others for
     * {@link #receive}.
     *
     * @return that stanza, or empty if none came in time
     */
    public Optional<Element> await(java.util.function.Predicate<Element> filter, Duration timeout) throws IOException, InterruptedException {
        for (Element e : stash) {
            if (filter.test(e)) {
                stash.remove(e);
                return Optional.of(e);
            }
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        List<Element> others = new ArrayList<>();
        try {
            while (true) {
                long left = deadline - System.nanoTime();
                Element e = left <= 0 ? null : inbox.poll(left, TimeUnit.NANOSECONDS);
                if (e == null) {
                    return Optional.empty();
                }
                if (e == END) {
                    inbox.add(END);
                    throw new EOFException("stream ended: " + endReason);
                }
                if (filter.test(e)) {
                    return Optional.of(e);
                }
                others.add(e);
            }
        } finally {
            stash.addAll(others);
        }
    }

    /** Why the stream ended, once it has (a stream error condition, or empty). */
    public String endReason() {
        return endReason;
    }

    /** Ends the stream politely ({@code </stream:stream>}) and closes the connection. */
    @Override
    public void close() {
        if (!ended) {
            ended = true;
            try {
                write("</stream:stream>");
            } catch (IOException ignored) {
                // closing anyway
            }
        }
        conn.close();
    }

    /**
     * Drops the connection without closing the stream, as a client that loses its network does;
     * the server then treats unacknowledged stanzas as undelivered (XEP-0198).
     */
    public void abort() {
        ended = true;
        conn.close();
    }

    private String nextId() {
        return "tw" + ids.incrementAndGet();
    }

    private void write(String xml) throws IOException {
        writeLock.lock();
        try {
            conn.output().write(xml.getBytes(StandardCharsets.UTF_8));
            conn.flush();
        } finally {
            writeLock.unlock();
        }
    }

    private void readLoop(XmlReader reader) {
        try {
            while (true) {
                Element e = reader.next();
                if (e == null) {
                    break;
                }
                if (e.is("error", XmlReader.STREAMS)) {
                    endReason = e.children().isEmpty() ? "stream error" : e.children().get(0).name();
                    break;
                }
                if (e.name().equals("iq") && e.attributeOrEmpty("type").equals("set") && e.child("query", ROSTER).isPresent()) {
                    // RFC 6121 §2.1.6: acknowledge roster pushes
                    write(Element.of("iq", "jabber:client").withAttribute("type", "result")
                            .withAttribute("id", e.attributeOrEmpty("id")).toXml());
                } else if (e.name().equals("iq") && e.attributeOrEmpty("type").equals("get") && e.child("ping", "urn:xmpp:ping").isPresent()) {
                    write(Element.of("iq", "jabber:client").withAttribute("type", "result")
                            .withAttribute("id", e.attributeOrEmpty("id")).withAttribute("to", e.attributeOrEmpty("from")).toXml());
                    continue;
                }
                inbox.add(e);
            }
        } catch (StreamErrorException | IOException e) {
            if (endReason.isEmpty()) {
                endReason = String.valueOf(e.getMessage());
            }
        } finally {
            inbox.add(END);
        }
    }

    private static String errorCondition(Element e) {
        return e.child("error", e.namespace()).flatMap(err -> err.children().stream()
                .filter(c -> c.namespace().equals("urn:ietf:params:xml:ns:xmpp-stanzas")).findFirst())
                .map(Element::name).orElse("undefined-condition");
    }

    /** How to connect. */
    public static final class Builder {
        private final Jid account;
        private final char[] password;
        private String endpoint;
        private Connection connection;
        private Tls tls;
        private boolean requireTls = true;
        private boolean allowPlain;
        private Duration timeout = Duration.ofSeconds(30);

        private Builder(Jid account, char[] password) {
            if (account.local().isEmpty()) {
                throw new IllegalArgumentException("the JID needs a local part: " + account);
            }
            this.account = account;
            this.password = Objects.requireNonNull(password, "password").clone();
        }

        /** The server endpoint, {@code tcp:127.0.0.1:5222}; default {@code tcp:DOMAIN:5222}. */
        public Builder endpoint(String ep) {
            this.endpoint = Objects.requireNonNull(ep, "endpoint");
            return this;
        }

        /** Runs over an already open connection (an in-memory test pair, a proxy) instead. */
        public Builder connection(Connection c) {
            this.connection = Objects.requireNonNull(c, "connection");
            return this;
        }

        /** The TLS settings for STARTTLS (trusted certificates); default {@link Tls#client()}. */
        public Builder tls(Tls clientTls) {
            this.tls = Objects.requireNonNull(clientTls, "tls");
            return this;
        }

        /** Whether to refuse a server that does not offer STARTTLS (default true). */
        public Builder requireTls(boolean required) {
            this.requireTls = required;
            return this;
        }

        /** Whether PLAIN may be used on an unencrypted stream (default false). */
        public Builder allowPlainWithoutTls(boolean allow) {
            this.allowPlain = allow;
            return this;
        }

        /** How long each negotiation step may take (default 30 s). */
        public Builder timeout(Duration t) {
            this.timeout = Objects.requireNonNull(t, "timeout");
            return this;
        }

        /**
         * Connects, negotiates and binds. Blocks until the session is ready.
         *
         * @throws XmppException if the server refuses a step (its condition)
         * @throws IOException if the connection fails
         */
        public XmppClient connect() throws IOException {
            Connection c = connection;
            if (c == null) {
                String ep = endpoint != null ? endpoint : "tcp:" + account.domain() + ":5222";
                c = Client.connect(Endpoint.parseClient(ep), ClientOptions.builder().name("xmpp-client")
                        .connectTimeout(timeout).build());
            }
            try {
                c.readTimeout(timeout);
                return negotiate(c);
            } catch (IOException | RuntimeException e) {
                c.close();
                throw e;
            }
        }

        private XmppClient negotiate(Connection c) throws IOException {
            boolean authenticated = false;
            while (true) {
                send(c, "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='" + XmlReader.STREAMS
                        + "' to='" + account.domain() + "' from='" + account.bare() + "' version='1.0' xml:lang='en'>");
                XmlReader reader = new XmlReader(c.input(), XmlLimits.DEFAULT);
                Element features;
                try {
                    reader.readHeader();
                    features = reader.next();
                } catch (StreamErrorException e) {
                    throw new XmppException("not-well-formed", "bad stream from the server: " + e.getMessage());
                }
                features = expect(features, "features", XmlReader.STREAMS);
                if (!authenticated) {
                    if (features.child("starttls", TLS_NS).isPresent() && !c.isSecure()) {
                        send(c, "<starttls xmlns='" + TLS_NS + "'/>");
                        expect(next(reader), "proceed", TLS_NS);
                        // RFC 6120 §13.7.2.1: the certificate must match the domain, not the address
                        c.startTls(tls != null ? tls : Tls.client(), account.domain());
                        continue;
                    }
                    if (!c.isSecure() && requireTls) {
                        throw new XmppException("encryption-required", "the server does not offer STARTTLS");
                    }
                    List<String> mechs = features.child("mechanisms", SASL).map(m -> m.children().stream()
                            .map(Element::text).toList()).orElse(List.of());
                    if (mechs.contains("SCRAM-SHA-256")) {
                        scram(c, reader);
                    } else if (mechs.contains("PLAIN") && (c.isSecure() || allowPlain)) {
                        plain(c, reader);
                    } else {
                        throw new XmppException("invalid-mechanism", "no usable SASL mechanism among " + mechs);
                    }
                    authenticated = true;
                    continue;
                }
                if (features.child("bind", BIND).isEmpty()) {
                    throw new XmppException("unsupported-feature", "the server offers no resource binding");
                }
                Element bind = Element.of("bind", BIND);
                if (!account.resource().isEmpty()) {
                    bind = bind.withChild(Element.of("resource", BIND).withText(account.resource()));
                }
                send(c, Element.of("iq", "jabber:client").withAttribute("type", "set").withAttribute("id", "bind1")
                        .withChild(bind).toXml());
                Element r = next(reader);
                if (!r.name().equals("iq") || !r.attributeOrEmpty("type").equals("result")) {
                    throw new XmppException(errorCondition(r), "resource binding failed");
                }
                Jid bound = Jid.parse(r.child("bind", BIND).flatMap(b -> b.child("jid", BIND)).map(Element::text)
                        .orElseThrow(() -> new XmppException("bad-request", "bind result without a JID")).strip());
                Arrays.fill(password, '\0');
                c.readTimeout(Duration.ZERO); // before the reader starts: an idle session may wait forever
                return new XmppClient(c, bound, reader);
            }
        }

        private static Element next(XmlReader reader) throws IOException {
            try {
                Element e = reader.next();
                if (e == null) {
                    throw new EOFException("the server closed the stream");
                }
                if (e.is("error", XmlReader.STREAMS)) {
                    throw new XmppException(e.children().isEmpty() ? "undefined-condition" : e.children().get(0).name(), "stream error");
                }
                return e;
            } catch (StreamErrorException e) {
                throw new XmppException(e.condition(), "bad stream from the server");
            }
        }

        private static Element expect(Element e, String name, String ns) throws XmppException {
            if (e == null || !e.is(name, ns)) {
                if (e != null && e.is("error", XmlReader.STREAMS)) {
                    throw new XmppException(e.children().isEmpty() ? "undefined-condition" : e.children().get(0).name(), "stream error");
                }
                throw new XmppException("bad-format", "expected <" + name + "/>, got " + (e == null ? "end of stream" : "<" + e.name() + "/>"));
            }
            return e;
        }

        private static void send(Connection c, String xml) throws IOException {
            c.output().write(xml.getBytes(StandardCharsets.UTF_8));
            c.flush();
        }

        private void plain(Connection c, XmlReader reader) throws IOException {
            byte[] msg = ("\0" + account.local() + "\0" + new String(password)).getBytes(StandardCharsets.UTF_8);
            send(c, "<auth xmlns='" + SASL + "' mechanism='PLAIN'>" + Base64.getEncoder().encodeToString(msg) + "</auth>");
            Element r = next(reader);
            if (!r.is("success", SASL)) {
                throw new XmppException(r.children().isEmpty() ? "not-authorized" : r.children().get(0).name(), "PLAIN authentication failed");
            }
        }

        /** RFC 5802 / RFC 7677, client side, without channel binding ("n,,"). */
        private void scram(Connection c, XmlReader reader) throws IOException {
            byte[] nonceBytes = new byte[18];
            RANDOM.nextBytes(nonceBytes);
            String cnonce = Base64.getEncoder().encodeToString(nonceBytes);
            String user = account.local().replace("=", "=3D").replace(",", "=2C");
            String clientFirstBare = "n=" + user + ",r=" + cnonce;
            send(c, "<auth xmlns='" + SASL + "' mechanism='SCRAM-SHA-256'>"
                    + b64("n,," + clientFirstBare) + "</auth>");
            Element ch = next(reader);
            if (!ch.is("challenge", SASL)) {
                throw new XmppException(ch.children().isEmpty() ? "not-authorized" : ch.children().get(0).name(), "SCRAM failed");
            }
            String serverFirst = new String(Base64.getDecoder().decode(ch.text().strip()), StandardCharsets.UTF_8);
            String nonce = null;
            byte[] salt = null;
            int iterations = 0;
            for (String part : serverFirst.split(",")) {
                if (part.startsWith("r=")) {
                    nonce = part.substring(2);
                } else if (part.startsWith("s=")) {
                    salt = Base64.getDecoder().decode(part.substring(2));
                } else if (part.startsWith("i=")) {
                    iterations = Integer.parseInt(part.substring(2));
                }
            }
            if (nonce == null || !nonce.startsWith(cnonce) || salt == null || iterations < 1 || iterations > 10_000_000) {
                throw new XmppException("malformed-request", "bad SCRAM server-first-message");
            }
            String withoutProof = "c=biws,r=" + nonce;
            String authMessage = clientFirstBare + "," + serverFirst + "," + withoutProof;
            try {
                byte[] salted = SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256")
                        .generateSecret(new PBEKeySpec(password, salt, iterations, 256)).getEncoded();
                byte[] clientKey = hmac(salted, "Client Key");
                byte[] storedKey = MessageDigest.getInstance("SHA-256").digest(clientKey);
                byte[] signature = hmac(storedKey, authMessage);
                byte[] proof = clientKey.clone();
                for (int i = 0; i < proof.length; i++) {
                    proof[i] ^= signature[i];
                }
                byte[] serverSignature = hmac(hmac(salted, "Server Key"), authMessage);
                send(c, "<response xmlns='" + SASL + "'>" + b64(withoutProof + ",p=" + Base64.getEncoder().encodeToString(proof)) + "</response>");
                Element r = next(reader);
                if (!r.is("success", SASL)) {
                    throw new XmppException(r.children().isEmpty() ? "not-authorized" : r.children().get(0).name(), "SCRAM authentication failed");
                }
                String fin = new String(Base64.getDecoder().decode(r.text().strip()), StandardCharsets.UTF_8);
                if (!MessageDigest.isEqual(fin.getBytes(StandardCharsets.US_ASCII),
                        ("v=" + Base64.getEncoder().encodeToString(serverSignature)).getBytes(StandardCharsets.US_ASCII))) {
                    // RFC 5802 §3: the server must prove it knows the password too
                    throw new XmppException("not-authorized", "the server's SCRAM signature is wrong");
                }
            } catch (GeneralSecurityException e) {
                throw new IOException("SCRAM needs HMAC-SHA-256 and PBKDF2", e);
            }
        }

        private static byte[] hmac(byte[] key, String data) throws GeneralSecurityException {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
        }

        private static String b64(String s) {
            return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
        }
    }
}
