package dev.twine.xmpp.internal;

import dev.twine.core.Connection;
import dev.twine.xmpp.Element;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The outgoing server stream of one domain pair (RFC 6120 §4; the receiving direction is
 * another stream, {@link S2sIn}). The first stanza starts it on a virtual thread of
 * federation's scope: connect, {@link S2sStream#open}, then SASL EXTERNAL if the receiving
 * server offers it (RFC 6120 §6.4, XEP-0178), else Server Dialback (XEP-0220 §2.1:
 * {@code <db:result/>} with our key, answered once the receiving server asked our authoritative
 * server). Stanzas routed meanwhile wait in a bounded queue; once authenticated they go into the
 * stream's {@link Outbound} queue, so a remote server that stops reading cannot hold up the
 * senders or grow memory past that queue's bounds (past them the stream is closed).
 *
 * <p>Ends when idle for the configured time ({@code </stream:stream>}; a stanza arriving as it
 * closes goes to a new stream), when the peer ends it, or on failure: then every stanza that
 * waited or was never written bounces to its sender, {@code remote-server-timeout} if the peer
 * did not answer in time (or stopped reading), {@code remote-server-not-found} otherwise.
 */
final class S2sOut {
    private static final System.Logger LOG = System.getLogger(S2sOut.class.getName());

    final String local;
    final String remote;
    private final S2s s2s;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    // guarded by lock
    private ArrayDeque<Element> waiting = new ArrayDeque<>();
    private Outbound out;
    private boolean started;
    private boolean ended;
    private long lastSent = System.nanoTime();

    S2sOut(S2s s2s, String local, String remote) {
        this.s2s = s2s;
        this.local = local;
        this.remote = remote;
    }

    /** Takes a stanza on the sender's thread; never blocks on the remote server. */
    void send(Element stanza) {
        boolean full = false;
        boolean start = false;
        boolean next = false;
        lock.lock();
        try {
            if (ended) {
                next = true; // this stream has just ended: the stanza goes to the next one
            } else if (out != null) {
                lastSent = System.nanoTime();
                out.send(stanza.toXml(), stanza, true); // refused: the stream closes and bounces it
            } else if (waiting.size() >= s2s.config.maxQueued()) {
                full = true;
            } else {
                lastSent = System.nanoTime();
                waiting.addLast(stanza);
                start = !started;
                started = true;
            }
        } finally {
            lock.unlock();
        }
        if (next) {
            s2s.link(local, remote).send(stanza);
        } else if (full) {
            s2s.hub.bounce(stanza, "resource-constraint", "too many stanzas wait for " + remote, null);
        } else if (start && !s2s.fork("out-" + remote, this::run)) {
            end(null, "remote-server-timeout"); // the server is stopping
        }
    }

    private void run() {
        String condition = null;
        Connection conn = null;
        try {
            conn = s2s.connect(remote);
            conn.readTimeout(s2s.config.timeout());
            conn.writeTimeout(s2s.hub.writeTimeout);
            S2sStream stream = authenticate(S2sStream.open(s2s, conn, local, remote));
            Outbound o = new Outbound(conn);
            lock.lock();
            try {
                o.startWriter(s2s.hub.outboundStanzas, s2s.hub.outboundBytes);
                for (Element e : waiting) {
                    o.send(e.toXml(), e, false);
                }
                waiting.clear();
                out = o;
            } finally {
                lock.unlock();
            }
            o.flush();
            conn.readTimeout(java.time.Duration.ZERO); // the peer sends nothing more: idleness is ours to judge
            Connection c = conn;
            if (!s2s.fork("out-reader-" + remote, () -> readUntilEnd(c, stream))) {
                throw new InterruptedException("the server is stopping");
            }
            awaitIdle(c);
            o.send("</stream:stream>");
            o.awaitDrained();
        } catch (InterruptedException e) {
            condition = "remote-server-timeout";
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            condition = S2s.condition(e);
            LOG.log(System.Logger.Level.INFO, this + " failed: " + e.getMessage());
        } catch (RuntimeException e) {
            condition = "remote-server-not-found"; // a bug here must not cancel the other streams
            LOG.log(System.Logger.Level.WARNING, this + " failed", e);
        } finally {
            end(conn, condition);
        }
    }

    /**
     * SASL EXTERNAL when offered and we present a certificate (RFC 6120 §6.4, XEP-0178), else
     * (or if refused) dialback; the choice is logged once. Returns the stream to send on.
     */
    private S2sStream authenticate(S2sStream stream) throws IOException {
        String name = toString();
        String fallback = stream.problem().isPresent() ? "dialback alone" : "dialback";
        if (stream.conn().isSecure() && s2s.presentsCertificate && stream.offersExternal()) {
            Optional<S2sStream> restarted = stream.external(s2s, local, remote);
            if (restarted.isPresent()) {
                S2s.chosen(name, stream.security(), "SASL EXTERNAL");
                return restarted.get();
            }
            fallback = "SASL EXTERNAL refused, " + fallback;
        }
        dialback(stream);
        S2s.chosen(name, stream.security(), fallback);
        return stream;
    }

    /** XEP-0220 §2.1: our key, then the receiving server's verdict. */
    private void dialback(S2sStream stream) throws IOException {
        String name = "s2s " + local + " -> " + remote;
        stream.write(Element.of("result", S2s.DB_NS).withAttribute("from", local).withAttribute("to", remote)
                .withText(s2s.key(remote, local, stream.id())).toXml());
        while (true) {
            Element e;
            try {
                e = S2sStream.next(stream.reader(), name);
            } catch (StreamErrorException x) {
                stream.write(Stanzas.streamError(x.condition(), x.text()));
                throw new IOException(name + ": " + x.getMessage());
            }
            if (!e.is("result", S2s.DB_NS)) {
                continue; // XEP-0220 §2.1.2: nothing else may come before; ignore what does
            }
            String type = e.attributeOrEmpty("type");
            if (type.equals("valid")) {
                return;
            }
            stream.write("</stream:stream>");
            throw new IOException(name + ": dialback refused (" + (type.isEmpty() ? "no type" : type) + ")");
        }
    }

    /** Reads the authenticated stream until the peer ends it; nothing but its end is expected. */
    private void readUntilEnd(Connection conn, S2sStream stream) {
        try {
            while (stream.reader().next() != null) {
                // XEP-0220 §2.4: a later <db:result/> or stray element changes nothing here
            }
        } catch (IOException | StreamErrorException e) {
            // the peer went away or broke the stream: the stream ends below
        } finally {
            conn.close();
            lock.lock();
            try {
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    /** Waits until nothing was sent for the idle time, or the connection ended. */
    private void awaitIdle(Connection conn) throws InterruptedException {
        long idle = s2s.config.idle().toNanos();
        lock.lock();
        try {
            while (!conn.isClosed()) {
                long left = idle - (System.nanoTime() - lastSent);
                if (left <= 0) {
                    s2s.ended(this); // out of the table first, so that from now on stanzas go to a new stream
                    ended = true;
                    return;
                }
                changed.awaitNanos(Math.min(left, TimeUnit.SECONDS.toNanos(1)));
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * The stream is over: out of the table, the connection closed, and every stanza not written
     * bounced with {@code condition}, or (a clean idle close) routed to a new stream.
     */
    private void end(Connection conn, String condition) {
        List<Element> left = new ArrayList<>();
        lock.lock();
        try {
            s2s.ended(this);
            ended = true;
            left.addAll(waiting);
            waiting.clear();
        } finally {
            lock.unlock();
        }
        String failed = condition;
        if (conn != null) {
            if (failed == null && out != null && out.overflowed()) {
                failed = "remote-server-timeout"; // it stopped reading
            }
            conn.close();
        }
        if (out != null) {
            left.addAll(out.close());
        }
        for (Element e : left) {
            if (failed == null) {
                s2s.link(local, remote).send(e);
            } else {
                s2s.hub.bounce(e, failed, null);
            }
        }
    }

    /** For the log and tests. */
    @Override
    public String toString() {
        return "s2s " + local + " -> " + remote;
    }
}
