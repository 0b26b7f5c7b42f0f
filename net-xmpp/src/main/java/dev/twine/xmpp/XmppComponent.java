package dev.twine.xmpp;

import dev.twine.core.Binding;
import dev.twine.core.Client;
import dev.twine.core.ClientOptions;
import dev.twine.core.Connection;
import dev.twine.core.Endpoint;
import dev.twine.core.Handle;
import dev.twine.core.Scope;
import dev.twine.core.Service;
import dev.twine.xmpp.internal.ComponentStream;
import dev.twine.xmpp.internal.XmlLimits;
import dev.twine.xmpp.internal.XmlReader;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * An external component (XEP-0114, the Jabber Component Protocol): connects to an XMPP server's
 * component port, takes charge of a domain such as {@code echo.example.org}, and hands every
 * stanza the server routes to that domain to a {@link Handler}, sending back what the handler
 * returns. It speaks to any XEP-0114 server; Twine's {@link XmppServer} and Prosody are tested.
 *
 * <pre>{@code
 * XmppComponent echo = XmppComponent.builder()
 *         .connect("tcp:127.0.0.1:5347")            // the server's component port
 *         .domain("echo.example.org")                // as the server's configuration names it
 *         .secret("the shared secret")
 *         .handler(stanza -> {
 *             if (!stanza.name().equals("message") || stanza.attributeOrEmpty("type").equals("error")
 *                     || stanza.childText("body").isEmpty()) {
 *                 return Optional.empty();           // an unanswered IQ gets service-unavailable
 *             }
 *             String body = stanza.childText("body").orElseThrow();
 *             // the reply goes to the sender, from the address the message was sent to
 *             return Optional.of(Element.of("message", "jabber:component:accept").withAttribute("type", "chat")
 *                     .withChild(Element.of("body", "jabber:component:accept").withText("echo: " + body)));
 *         })
 *         .build();
 * echo.run();                                        // connects, then serves until the stream ends
 * }</pre>
 *
 * <h2>Threads and blocking</h2>
 * {@link #start()} connects and performs the handshake on the calling thread and returns once
 * the server has accepted the component. Stanzas are then read by one virtual thread of the
 * component's own, which calls the handler for each in turn: a handler may block (a database, a
 * remote call), and while it does the next stanzas wait in the connection. {@link #send} may be
 * called from any thread, the handler's included; writes are serialised by a lock. {@link #run()}
 * is {@code start()} plus waiting for the end. As a {@link Service} a component can be started
 * and stopped with others; it listens on nothing, so {@link #bindings()} is empty.
 *
 * <h2>Timeouts</h2>
 * {@link Builder#timeout} bounds connecting and each handshake step (30 s). Once running, a
 * whitespace keepalive (RFC 6120 §4.6.1) is written whenever nothing has been written for
 * {@link Builder#keepalive} (one minute), so a dead connection is noticed when a write fails.
 * {@link Builder#readTimeout} (none by default) ends the stream with {@code connection-timeout}
 * when the server sends nothing for that long. Each write may wait on a server that does not read for
 * {@link Builder#writeTimeout} (30 s). Zero turns each of them off.
 *
 * <h2>Error handling</h2>
 * <ul>
 * <li>Refusals at the handshake are {@link XmppException}s carrying the server's stream error
 *     condition: {@code not-authorized} (a wrong secret), {@code host-unknown} (the server has no
 *     component of that domain), {@code conflict} (that domain is connected already). A broken
 *     or refused connection is an {@link IOException} naming the endpoint.</li>
 * <li>A stream error from the server later, bad XML from it (answered with a stream error of
 *     ours) or a stanza over the {@linkplain Builder#limits limits} ends the component with an
 *     {@link XmppException} of that condition; an abrupt end of the connection with an
 *     {@link IOException}; a read timeout with a {@link SocketTimeoutException}. {@link #run()}
 *     throws it; it is also logged (warning).</li>
 * <li>The server closing the stream ({@code </stream:stream>}) is a normal end: the component
 *     closes its side too, and {@code run()} returns.</li>
 * <li>What the handler throws becomes a stanza error to the sender, as its Javadoc says; the
 *     component goes on with the next stanza.</li>
 * </ul>
 *
 * <p>Not done: reconnecting after the stream ends (loop around {@code run()} for that), and
 * requests of the component's own that wait for their IQ result.
 */
public final class XmppComponent implements Service {
    private static final System.Logger LOG = System.getLogger(XmppComponent.class.getName());
    private static final Set<String> STANZAS = Set.of("message", "presence", "iq");
    private static final Set<String> STANZA_NAMESPACES = Set.of(ComponentStream.NS, "jabber:client", "jabber:server", "");

    private final String endpoint;
    private final Connection givenConnection;
    private final String domain;
    private final String secret;
    private final Handler handler;
    private final Duration timeout;
    private final Duration readTimeout;
    private final Duration writeTimeout;
    private final Duration keepalive;
    private final XmlLimits limits;

    /** Guards the state below and every write. */
    private final ReentrantLock lock = new ReentrantLock();
    /** What the keepalive waits on until its next one is due; cancelling it interrupts the wait. */
    private final Condition keepaliveDue = lock.newCondition();
    private final CountDownLatch terminated = new CountDownLatch(1);
    private boolean started;
    private boolean endSent;
    private long lastWrite;
    private volatile boolean closing;
    private volatile IOException failure;
    private volatile Connection conn;
    private volatile ComponentStream stream;
    private volatile Scope scope;
    private volatile Thread reader;
    private Handle<Void> keepaliveTask;

    private XmppComponent(Builder b) {
        this.endpoint = b.endpoint;
        this.givenConnection = b.connection;
        this.domain = b.domain;
        this.secret = b.secret;
        this.handler = b.handler;
        this.timeout = b.timeout;
        this.readTimeout = b.readTimeout;
        this.writeTimeout = b.writeTimeout;
        this.keepalive = b.keepalive;
        this.limits = b.limits;
    }

    /** A builder; {@link Builder#connect} (or {@link Builder#connection}), the domain, the secret and the handler are required. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * What a component does with the stanzas the server routes to its domain. Called on the
     * component's reading thread, one stanza at a time, in the order they arrive.
     *
     * <p>The handler sees every {@code <message/>}, {@code <presence/>} and {@code <iq/>}, errors
     * and IQ results included, in the namespace {@code jabber:component:accept}, with the
     * sender's address in {@code from} and one of the component's addresses in {@code to}.
     *
     * <p>What it returns is sent back: a stanza without {@code to} goes to the sender, one
     * without {@code from} comes from the address the stanza was sent to, an IQ without
     * {@code id} carries the request's. Stanzas in {@code jabber:client} are moved to the
     * component namespace. To send more than one stanza, or to others, call
     * {@link XmppComponent#send}.
     *
     * <p>An IQ request ({@code get} or {@code set}) the handler returns nothing for is answered
     * {@code service-unavailable} (RFC 6120 §8.4), so that its sender is not left waiting.
     *
     * <p>A handler that answers software-version queries (XEP-0092) and looks words up in a
     * dictionary of its own, refusing unknown ones with {@code item-not-found}:
     *
     * <pre>{@code
     * final class Dictionary implements XmppComponent.Handler {
     *     private static final String NS = "jabber:component:accept";
     *     private final Map<String, String> meanings;
     *
     *     Dictionary(Map<String, String> meanings) {
     *         this.meanings = Map.copyOf(meanings);
     *     }
     *
     *     public Optional<Element> handle(Element stanza) throws StanzaException {
     *         String type = stanza.attributeOrEmpty("type");
     *         if (stanza.name().equals("iq") && type.equals("get")
     *                 && stanza.child("query", "jabber:iq:version").isPresent()) {
     *             Element version = Element.of("query", "jabber:iq:version")
     *                     .withChild(Element.of("name", "jabber:iq:version").withText("dictionary"))
     *                     .withChild(Element.of("version", "jabber:iq:version").withText("1.0"));
     *             return Optional.of(Element.of("iq", NS).withAttribute("type", "result").withChild(version));
     *         }
     *         if (stanza.name().equals("message") && !type.equals("error")) {
     *             String word = stanza.childText("body").orElse("").strip();
     *             String meaning = meanings.get(word);
     *             if (meaning == null) {
     *                 throw new StanzaException(StanzaError.ITEM_NOT_FOUND, "no entry for " + word);
     *             }
     *             return Optional.of(Element.of("message", NS).withAttribute("type", "chat")
     *                     .withChild(Element.of("body", NS).withText(word + ": " + meaning)));
     *         }
     *         return Optional.empty(); // other IQs: service-unavailable; other stanzas: nothing
     *     }
     * }
     *
     * XmppComponent.builder().connect("tcp:127.0.0.1:5347").domain("dict.example.org")
     *         .secret(secret).handler(new Dictionary(Map.of("twine", "a strong thread"))).build().run();
     * }</pre>
     *
     * <h2>Error handling</h2>
     * A {@link StanzaException} is answered with a stanza error of its condition and text
     * (RFC 6120 §8.3), as the server's {@link IqHandler}s do; an {@link IOException} or a runtime
     * exception with {@code internal-server-error}, and logged. No error is ever sent in answer
     * to an error or to an IQ result. An {@link InterruptedException} ends the component (it is
     * how closing cancels a handler).
     */
    @FunctionalInterface
    public interface Handler {
        /**
         * Handles one stanza.
         *
         * @param stanza what arrived for the component's domain
         * @return the reply to send, or empty for none
         * @throws StanzaException to answer with a stanza error of its condition
         * @throws IOException if something it needs failed: answered {@code internal-server-error}
         * @throws InterruptedException if interrupted: the component is being closed
         */
        Optional<Element> handle(Element stanza) throws StanzaException, IOException, InterruptedException;
    }

    /** {@code xmpp-component}. */
    @Override
    public String name() {
        return "xmpp-component";
    }

    /** The domain this component serves. */
    public String domain() {
        return domain;
    }

    /**
     * Connects, opens the stream and performs the handshake, then starts reading stanzas on a
     * virtual thread of its own. Blocks until the server has accepted the component.
     *
     * @throws XmppException if the server refuses the component ({@code not-authorized},
     *     {@code host-unknown}, {@code conflict}) or breaks the protocol
     * @throws IOException if the connection cannot be made or fails; nothing is left open
     * @throws IllegalStateException if already started
     */
    @Override
    public void start() throws IOException {
        lock.lock();
        try {
            if (started) {
                throw new IllegalStateException("the component for " + domain + " was started already");
            }
            started = true;
        } finally {
            lock.unlock();
        }
        Connection c = null;
        try {
            c = givenConnection != null ? givenConnection
                    : Client.connect(Endpoint.parseClient(endpoint), ClientOptions.builder().name(name())
                            .connectTimeout(timeout).build());
            conn = c; // from here close() aborts the handshake
            c.readTimeout(timeout);
            c.writeTimeout(writeTimeout);
            ComponentStream s = ComponentStream.open(c, domain, secret, limits);
            c.readTimeout(readTimeout);
            lock.lock();
            try {
                if (closing) {
                    throw new IOException("the component for " + domain + " was closed while starting");
                }
                stream = s;
                lastWrite = System.nanoTime();
                Scope sc = Scope.open(name() + " " + domain);
                scope = sc;
                if (!keepalive.isZero()) {
                    keepaliveTask = sc.fork("keepalive", this::keepalive);
                }
                sc.fork("stanzas", this::receive);
            } finally {
                lock.unlock();
            }
        } catch (IOException | RuntimeException e) {
            if (c != null) {
                c.close();
            }
            terminated.countDown();
            throw e;
        }
    }

    /** None: a component connects to its server and listens on nothing. */
    @Override
    public List<Binding> bindings() {
        return List.of();
    }

    /**
     * Sends a stanza to the server, from any thread. A stanza without {@code from} is sent from
     * the component's domain; one in {@code jabber:client} is moved to the component namespace.
     * Blocks while the server does not read, up to the write timeout.
     *
     * @throws IllegalArgumentException if it is not a {@code message}, {@code presence} or
     *     {@code iq}, or its {@code from} is not an address in the component's domain (XEP-0114
     *     §3: the server would end the stream with {@code invalid-from})
     * @throws IllegalStateException if the component has not been started
     * @throws IOException if the stream has ended or the write fails
     */
    public void send(Element stanza) throws IOException {
        Objects.requireNonNull(stanza, "stanza");
        if (stream == null) {
            throw new IllegalStateException("start() the component for " + domain + " before sending");
        }
        write(prepare(stanza).toXml());
    }

    /**
     * Starts the component unless {@link #start()} did already, then blocks until its stream
     * ends; closes it either way.
     *
     * @throws XmppException if the server refused the component, ended the stream with a stream
     *     error or sent bad XML (the condition says which)
     * @throws SocketTimeoutException if the server sent nothing for the read timeout
     * @throws IOException if the connection could not be made or broke
     * @throws InterruptedException if interrupted while waiting; the component is closed first
     */
    public void run() throws IOException, InterruptedException {
        boolean startHere;
        lock.lock();
        try {
            startHere = !started;
        } finally {
            lock.unlock();
        }
        if (startHere) {
            start();
        }
        try {
            terminated.await();
        } finally {
            close();
        }
        IOException f = failure;
        if (f != null) {
            throw f;
        }
    }

    /**
     * Ends the stream politely: sends {@code </stream:stream>}, waits up to {@code grace} for the
     * server to close its side (stanzas still in flight are handled meanwhile; replies to them
     * are dropped), then closes. Called from the handler it does not wait, and the component ends
     * once the server has closed its side.
     *
     * @throws InterruptedException if interrupted while waiting; the component is then closed at once
     */
    @Override
    public void shutdown(Duration grace) throws InterruptedException {
        closing = true;
        if (stream == null) {
            close(); // never started: no stream to end
            return;
        }
        try {
            endStream();
        } catch (IOException e) {
            // the connection is gone: nothing to wait for
            close();
            return;
        }
        if (Thread.currentThread() == reader) {
            return;
        }
        try {
            terminated.await(grace.toNanos(), TimeUnit.NANOSECONDS);
        } finally {
            close();
        }
    }

    /**
     * Closes the connection at once, without ending the stream, and stops the reading thread
     * (a handler at work is interrupted). Blocks until that thread has ended, unless called from
     * the handler itself. Idempotent.
     */
    @Override
    public void close() {
        closing = true;
        Connection c = conn;
        if (c != null) {
            c.close();
        }
        Scope s = scope;
        if (s != null) {
            s.cancel();
            if (Thread.currentThread() != reader) {
                s.close();
            }
        }
        terminated.countDown();
    }

    /**
     * Blocks until the component has stopped: its stream ended or it was closed (or it failed to
     * start).
     *
     * @throws InterruptedException if interrupted while waiting
     */
    @Override
    public void awaitTermination() throws InterruptedException {
        terminated.await();
    }

    @Override
    public String toString() {
        return "XmppComponent[" + domain + "]";
    }

    /** The reading thread: each stanza to the handler, until the stream ends. */
    private void receive() {
        reader = Thread.currentThread();
        try {
            while (true) {
                Element e = stream.next();
                if (e == null) {
                    // RFC 6120 §4.4: the server closed its stream; close ours, then the connection
                    endStream();
                    return;
                }
                if (e.is("error", XmlReader.STREAMS)) {
                    fail(ComponentStream.streamError(e, domain));
                    return;
                }
                if (STANZAS.contains(e.name()) && e.namespace().equals(ComponentStream.NS)) {
                    dispatch(e);
                } else {
                    LOG.log(Level.DEBUG, () -> "component " + domain + ": ignoring <" + e.name() + " xmlns='" + e.namespace() + "'/>");
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // cancelled by close(); it finishes the rest
        } catch (SocketTimeoutException e) {
            if (!closing) {
                try {
                    // RFC 6120 §4.9.3.4: no traffic for too long
                    stream.writeStreamError("connection-timeout", "");
                } catch (IOException alsoBroken) {
                    e.addSuppressed(alsoBroken);
                }
                SocketTimeoutException t = new SocketTimeoutException("the server sent nothing for " + readTimeout
                        + " (the read timeout of component " + domain + ")");
                t.initCause(e);
                fail(t);
            }
        } catch (IOException e) {
            if (!closing) {
                fail(e);
            }
        } finally {
            lock.lock();
            try {
                endSent = true; // nothing more may be written, not even a keepalive
                if (keepaliveTask != null) {
                    keepaliveTask.cancel();
                }
            } finally {
                lock.unlock();
            }
            conn.close();
            terminated.countDown();
        }
    }

    /** One stanza to the handler and its answer back (RFC 6120 §8.4 for unanswered IQs). */
    private void dispatch(Element stanza) throws IOException, InterruptedException {
        Optional<Element> reply;
        try {
            Optional<Element> answer = Objects.requireNonNull(handler.handle(stanza), "the handler returned null, not Optional.empty()");
            if (answer.isPresent()) {
                reply = Optional.of(prepare(addressed(answer.get(), stanza)));
            } else if (stanza.name().equals("iq")) {
                reply = ComponentStream.errorReply(stanza, StanzaError.SERVICE_UNAVAILABLE, "");
            } else {
                reply = Optional.empty();
            }
        } catch (StanzaException e) {
            reply = ComponentStream.errorReply(stanza, e);
        } catch (InterruptedException e) {
            throw e;
        } catch (Exception e) {
            LOG.log(Level.WARNING, "component " + domain + ": the handler failed on a <" + stanza.name() + "/> from "
                    + stanza.attributeOrEmpty("from"), e);
            reply = ComponentStream.errorReply(stanza, StanzaError.INTERNAL_SERVER_ERROR, "");
        }
        if (reply.isEmpty()) {
            return;
        }
        try {
            write(reply.get().toXml());
        } catch (IOException e) {
            if (!endSentNow()) {
                throw e;
            }
            // shutting down: the reply comes too late for this stream
        }
    }

    /** The defaults a reply takes from the stanza it answers. */
    private static Element addressed(Element reply, Element request) {
        Element r = reply;
        if (r.attribute("to").isEmpty() && request.attribute("from").isPresent()) {
            r = r.withAttribute("to", request.attributeOrEmpty("from"));
        }
        if (r.attribute("from").isEmpty() && request.attribute("to").isPresent()) {
            r = r.withAttribute("from", request.attributeOrEmpty("to"));
        }
        if (r.name().equals("iq") && r.attribute("id").isEmpty() && request.attribute("id").isPresent()) {
            r = r.withAttribute("id", request.attributeOrEmpty("id"));
        }
        return r;
    }

    /** Checks a stanza is one this component may send, and puts it in the component namespace. */
    private Element prepare(Element stanza) {
        if (!STANZAS.contains(stanza.name()) || !STANZA_NAMESPACES.contains(stanza.namespace())) {
            throw new IllegalArgumentException("a component sends <message/>, <presence/> or <iq/> stanzas, not <"
                    + stanza.name() + " xmlns='" + stanza.namespace() + "'/>");
        }
        Element s = stanza.namespace().equals(ComponentStream.NS) ? stanza : stanza.inNamespace(ComponentStream.NS);
        if (s.attribute("from").isEmpty()) {
            return s.withAttribute("from", domain);
        }
        if (!Jid.parse(s.attributeOrEmpty("from")).domain().equals(domain)) {
            throw new IllegalArgumentException("'from' must be an address in " + domain + ", not " + s.attributeOrEmpty("from"));
        }
        return s;
    }

    /** Writes under the lock; the stream must still be open. */
    private void write(String xml) throws IOException {
        lock.lock();
        try {
            if (endSent) {
                throw new IOException("the stream of component " + domain + " has ended");
            }
            stream.write(xml);
            lastWrite = System.nanoTime();
        } finally {
            lock.unlock();
        }
    }

    /** Sends the closing tag once (RFC 6120 §4.4). */
    private void endStream() throws IOException {
        lock.lock();
        try {
            if (endSent || stream == null) {
                return;
            }
            endSent = true;
            stream.write("</stream:stream>");
        } finally {
            lock.unlock();
        }
    }

    private boolean endSentNow() {
        lock.lock();
        try {
            return endSent;
        } finally {
            lock.unlock();
        }
    }

    /** The keepalive child: a space whenever nothing was written for the keepalive interval (RFC 6120 §4.6.1). */
    private void keepalive() {
        lock.lock();
        try {
            while (!endSent) {
                long left = lastWrite + keepalive.toNanos() - System.nanoTime();
                if (left > 0) {
                    keepaliveDue.awaitNanos(left);
                } else {
                    stream.write(" ");
                    lastWrite = System.nanoTime();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // the stream ended or the component is closing
        } catch (IOException e) {
            if (!closing) {
                fail(e);
            }
            conn.close(); // the reading thread ends too
        } finally {
            lock.unlock();
        }
    }

    /** Records why the component ended, first cause only, and logs it once. */
    private void fail(IOException e) {
        lock.lock();
        try {
            if (failure != null) {
                return;
            }
            failure = e;
        } finally {
            lock.unlock();
        }
        LOG.log(Level.WARNING, "component " + domain + " stopped: " + e.getMessage());
    }

    /** How to connect and what to do with stanzas. */
    public static final class Builder {
        private String endpoint;
        private Connection connection;
        private String domain;
        private String secret;
        private Handler handler;
        private Duration timeout = Duration.ofSeconds(30);
        private Duration readTimeout = Duration.ZERO;
        private Duration writeTimeout = Duration.ofSeconds(30);
        private Duration keepalive = Duration.ofMinutes(1);
        private XmlLimits limits = XmlLimits.DEFAULT;

        private Builder() {}

        /**
         * The server's component endpoint, {@code tcp:127.0.0.1:5347} ({@code tls:HOST:PORT} for a
         * server that takes components over TLS).
         *
         * @throws IllegalArgumentException if it does not parse as a client endpoint
         */
        public Builder connect(String endpoint) {
            Endpoint.parseClient(Objects.requireNonNull(endpoint, "endpoint"));
            this.endpoint = endpoint;
            this.connection = null;
            return this;
        }

        /**
         * Runs over an already open connection instead (an in-memory pair in tests, a proxy); the
         * component closes it when it ends.
         */
        public Builder connection(Connection c) {
            this.connection = Objects.requireNonNull(c, "connection");
            this.endpoint = null;
            return this;
        }

        /**
         * The domain the component serves (required), {@code echo.example.org}: the name the
         * server's configuration gives it.
         *
         * @throws IllegalArgumentException if it is not a bare domain (RFC 7622 §3.2)
         */
        public Builder domain(String name) {
            Jid d = Jid.parse(Objects.requireNonNull(name, "domain"));
            if (!d.local().isEmpty() || !d.isBare()) {
                throw new IllegalArgumentException("a component's domain is a bare domain, not " + name);
            }
            this.domain = d.domain();
            return this;
        }

        /** The secret shared with the server (required). */
        public Builder secret(String sharedSecret) {
            this.secret = Objects.requireNonNull(sharedSecret, "secret");
            return this;
        }

        /** What to do with each stanza (required). */
        public Builder handler(Handler h) {
            this.handler = Objects.requireNonNull(h, "handler");
            return this;
        }

        /** How long connecting and each step of the handshake may take (default 30 s; zero: no limit). */
        public Builder timeout(Duration t) {
            this.timeout = nonNegative(t, "timeout");
            return this;
        }

        /**
         * How long the running component waits for the server to send anything before it ends
         * the stream with {@code connection-timeout} (default zero: as long as it takes). Useful
         * against servers that send whitespace keepalives.
         */
        public Builder readTimeout(Duration t) {
            this.readTimeout = nonNegative(t, "read timeout");
            return this;
        }

        /** How long each write may block on a server that does not read (default 30 s; zero: forever). */
        public Builder writeTimeout(Duration t) {
            this.writeTimeout = nonNegative(t, "write timeout");
            return this;
        }

        /**
         * After how long without writing anything the component writes a whitespace keepalive
         * (RFC 6120 §4.6.1; default one minute; zero: never).
         */
        public Builder keepalive(Duration interval) {
            this.keepalive = nonNegative(interval, "keepalive");
            return this;
        }

        /**
         * Limits on what the server may send, as {@link XmppServer.Builder#limits} sets them for
         * clients: bytes per stanza (256 KiB by default), element depth (32) and attributes per
         * element (64). A stanza over them ends the stream with {@code policy-violation}.
         *
         * @throws IllegalArgumentException if a limit is below 10,000 bytes, depth 4 or 4 attributes
         */
        public Builder limits(int maxStanzaBytes, int maxDepth, int maxAttributes) {
            this.limits = new XmlLimits(maxStanzaBytes, maxDepth, maxAttributes);
            return this;
        }

        /**
         * Makes the (unstarted) component.
         *
         * @throws IllegalStateException if a required setting is missing (the message names the
         *     builder method)
         */
        public XmppComponent build() {
            if (endpoint == null && connection == null) {
                throw new IllegalStateException("connect(...) or connection(...) is required");
            }
            if (domain == null) {
                throw new IllegalStateException("domain(...) is required");
            }
            if (secret == null) {
                throw new IllegalStateException("secret(...) is required");
            }
            if (handler == null) {
                throw new IllegalStateException("handler(...) is required");
            }
            return new XmppComponent(this);
        }

        private static Duration nonNegative(Duration d, String what) {
            Objects.requireNonNull(d, what);
            if (d.isNegative()) {
                throw new IllegalArgumentException(what + " must not be negative: " + d);
            }
            return d;
        }
    }
}
