package dev.twine.xmpp.internal;

import dev.twine.core.Connection;
import dev.twine.core.Deadline;
import dev.twine.core.DrainingException;
import dev.twine.core.auth.LoginAttempts;
import dev.twine.core.auth.LoginResult;
import dev.twine.core.auth.Principal;
import dev.twine.core.auth.SaslExchange;
import dev.twine.xmpp.Element;
import dev.twine.xmpp.Jid;
import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.SocketTimeoutException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One client-to-server stream (RFC 6120), run on its connection's virtual thread: stream header,
 * STARTTLS (§5), SASL (§6), resource binding (§7), then stanzas until the stream ends. The stream
 * restarts after TLS and after SASL success with a fresh {@link XmlReader}.
 */
final class C2sSession {
    private static final System.Logger LOG = System.getLogger(C2sSession.class.getName());
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Hub hub;
    private final Connection conn;
    private final Outbound out;
    private boolean headerSent;
    private String streamId = "";
    private String principal;
    /** Who the client authenticated as (its name is {@link #principal}); set with it. */
    private Principal authenticated;
    private volatile Jid jid;
    /** This stream's logins under the portal's auth policy; made at the first {@code <auth/>}. */
    private LoginAttempts attempts;

    // presence state, read by other sessions' threads
    volatile boolean available;
    volatile int priority;
    volatile Element presence = Element.of("presence", Hub.CLIENT_NS);
    volatile boolean rosterRequested;
    /** XEP-0280 message carbons enabled for this session. */
    volatile boolean carbons;
    final Set<String> directed = ConcurrentHashMap.newKeySet();

    /** A stream framed by its transport (WebSocket, RFC 7395 §3.6): TLS is the transport's, never STARTTLS. */
    private final boolean framed;

    C2sSession(Hub hub, Connection conn) {
        this(hub, conn, false);
    }

    C2sSession(Hub hub, Connection conn, boolean framed) {
        this.hub = hub;
        this.conn = conn;
        this.out = new Outbound(conn);
        this.framed = framed;
    }

    Jid jid() {
        return jid;
    }

    /** Who the client authenticated as; set before the session is bound. */
    Principal principal() {
        return authenticated;
    }

    /** The XEP-0198 resumption id, for the hub's registry (set before the hub is told). */
    String smIdForHub() {
        return smId;
    }

    /** Writes a stanza to this client; false if the connection failed. */
    boolean send(Element stanza) {
        return write(stanza, true);
    }

    /**
     * Writes a stanza that {@code via}'s reading thread routed here. It is only buffered: that
     * thread flushes it before it next waits for input, so a burst of stanzas read at once goes
     * out in one write per recipient instead of one per stanza. Order is kept, as every stanza
     * for this client passes through the same buffer. With no {@code via}, as {@link #send}.
     */
    boolean deliver(Element stanza, C2sSession via) {
        if (via == null) {
            return send(stanza);
        }
        boolean ok = write(stanza, false);
        via.heldFor(this);
        return ok;
    }

    /** Sessions this session's thread wrote to without flushing; only that thread touches it. */
    private ArrayList<C2sSession> held;

    private void heldFor(C2sSession target) {
        if (held == null) {
            held = new ArrayList<>(4);
        }
        for (C2sSession t : held) {
            if (t == target) {
                return;
            }
        }
        held.add(target);
    }

    /** Flushes what this session's thread wrote to others and held back (see {@link #deliver}). */
    private void flushHeld() {
        if (held == null || held.isEmpty()) {
            return;
        }
        for (C2sSession t : held) {
            t.out.flush();
        }
        if (held.size() > 16) {
            held = null; // a rare wide fan-out: do not keep the big list
        } else {
            held.clear();
        }
    }

    /** XEP-0352: what this session holds back while its client is inactive. */
    private final ClientState clientState = new ClientState();

    private boolean write(Element stanza, boolean flush) {
        if (clientState.inactive()) {
            List<Element> before = clientState.hold(stanza);
            if (before == null) {
                return true; // held until the client is active, or something goes at once
            }
            for (Element e : before) {
                writeNow(e, false);
            }
        }
        return writeNow(stanza, flush);
    }

    /** XEP-0352 §4: {@code <inactive/>} and {@code <active/>}, nonzas that are not counted as stanzas. */
    private void clientState(Element e) throws StreamErrorException {
        switch (e.name()) {
            case "inactive" -> clientState.becomeInactive();
            case "active" -> {
                for (Element held : clientState.becomeActive()) {
                    writeNow(held, false);
                }
                out.flush();
            }
            default -> throw new StreamErrorException("unsupported-stanza-type", "<" + e.name() + "/> in " + ClientState.NS);
        }
    }

    private boolean writeNow(Element stanza, boolean flush) {
        String xml = stanza.toXml();
        if (!smEnabled) {
            if (out.send(xml, stanza, flush)) {
                return true;
            }
            if (out.isClosed()) {
                // the session ended (and was unbound) while this was on its way (RFC 6121 §8.5.3.2.1)
                hub.undelivered(stanza, principal);
                return true;
            }
            return false; // kept by the queue: the session's end hands it on
        }
        out.awaitRoom(xml.length());
        // XEP-0198 §4: count and keep each stanza in the order the client sees it
        boolean[] ok = new boolean[1];
        C2sSession[] next = new C2sSession[1];
        boolean[] gone = new boolean[1];
        boolean[] overflow = new boolean[1];
        try {
            out.exclusive(() -> {
                if (movedTo != null) {
                    next[0] = movedTo; // resumed on another stream: the stanza goes there
                    return;
                }
                if (smState == SmState.ENDED) {
                    gone[0] = true;
                    return;
                }
                if (!smEnabled) {
                    ok[0] = out.send(xml, stanza, flush);
                    return;
                }
                smSent++;
                smUnacked.addLast(new Kept(stanza, xml.length()));
                smUnackedChars += xml.length();
                if (!smOverflow && (smUnacked.size() > MAX_UNACKED || smUnackedChars > MAX_UNACKED_CHARS)) {
                    // the client does not ack: keep no more for it (see overflow())
                    smOverflow = true;
                    overflow[0] = smState == SmState.ATTACHED;
                    out.signalAll();
                }
                if (smState == SmState.DETACHED || smOverflow) {
                    ok[0] = true; // kept for the client's return, or for the end of the session
                    return;
                }
                ok[0] = flush ? out.send(xml) : out.write(xml);
                if (ok[0] && smSent - smAcked >= ACK_EVERY && smSent % ACK_EVERY == 0) {
                    out.send("<r xmlns='" + SM_NS + "'/>");
                }
            });
        } catch (IOException e) {
            return false;
        }
        if (next[0] != null) {
            // flushed at once: a sender holding writes back would flush this session, not that one
            return next[0].write(stanza, true);
        }
        if (gone[0]) {
            hub.undelivered(stanza, principal); // the session ended while this was on its way
            return true;
        }
        if (overflow[0]) {
            overflow();
        }
        return ok[0];
    }

    /**
     * XEP-0198: stream management. Acks (§4) and resumption (§5): a resumable session outlives a
     * dropped connection for up to its {@code max}, keeping what the client has not acknowledged,
     * until a new stream resumes it or the time runs out.
     */
    static final String SM_NS = "urn:xmpp:sm:3";
    /** Unacknowledged stanzas kept per session; past this the session ends (see {@link #overflow()}). */
    static final int MAX_UNACKED = 500;
    /** Characters of unacknowledged stanzas kept per session. */
    static final long MAX_UNACKED_CHARS = 1 << 20;
    private static final int ACK_EVERY = 50;

    private enum SmState { ATTACHED, DETACHED, ENDED }

    private volatile boolean smEnabled;
    private long smReceived;
    private long smSent;
    private long smAcked;
    private long smUnackedChars;
    private ArrayDeque<Kept> smUnacked = new ArrayDeque<>();

    /** A stanza the client has not acknowledged, with the length of its XML (for the size limit). */
    private record Kept(Element stanza, int chars) {}
    /** The id a client resumes with, or null if this session cannot be resumed. Guarded by out's lock. */
    private String smId;
    /** How long this session waits, detached, for its client. */
    private Duration smMax = Duration.ZERO;
    private SmState smState = SmState.ATTACHED;
    private boolean smOverflow;
    /** Set when the hub asks a detached session to end now (too many detached sessions). */
    private boolean smEvicted;
    /** Set when the session starts to end: it can no longer be resumed. */
    private boolean smEnding;
    /** The session that resumed this one, once it has; stanzas sent here are passed on to it. */
    private volatile C2sSession movedTo;
    private boolean closedCleanly;

    /** XEP-0198 §3-§4: enable, answer {@code <r/>}, take {@code <a/>}. */
    private void streamManagement(Element e) throws IOException, StreamErrorException {
        switch (e.name()) {
            case "enable" -> {
                if (smEnabled) {
                    out.send(smFailed("unexpected-request"));
                    return;
                }
                String resume = e.attributeOrEmpty("resume");
                boolean resumable = (resume.equals("true") || resume.equals("1")) && !hub.resumption.resumeTimeout.isZero();
                Duration max = hub.resumption.resumeTimeout;
                try {
                    long wanted = Long.parseLong(e.attributeOrEmpty("max"));
                    if (wanted > 0 && wanted < max.toSeconds()) {
                        max = Duration.ofSeconds(wanted); // §5: the client's preference, if shorter
                    }
                } catch (NumberFormatException ignored) {
                    // no preference
                }
                Duration chosen = max;
                out.exclusive(() -> {
                    StringBuilder enabled = new StringBuilder("<enabled xmlns='").append(SM_NS).append('\'');
                    if (resumable) {
                        smId = HexFormat.of().formatHex(randomBytes()) + HexFormat.of().formatHex(randomBytes());
                        smMax = chosen;
                        hub.resumption.register(smId, this);
                        enabled.append(" id='").append(smId).append("' resume='true' max='").append(chosen.toSeconds()).append('\'');
                        if (!hub.resumption.location.isEmpty()) {
                            enabled.append(" location='").append(hub.resumption.location).append('\''); // §5
                        }
                    }
                    out.send(enabled.append("/>").toString());
                    smEnabled = true;
                });
            }
            case "r" -> {
                if (smEnabled) {
                    out.send("<a xmlns='" + SM_NS + "' h='" + (smReceived & 0xffffffffL) + "'/>");
                }
            }
            case "a" -> {
                if (!smEnabled) {
                    return;
                }
                long h = parseH(e);
                boolean[] ok = new boolean[1];
                out.exclusive(() -> ok[0] = acknowledge(h));
                if (!ok[0]) {
                    // XEP-0198 §4 (handled-count-too-high)
                    throw new StreamErrorException("undefined-condition", "h acknowledges more stanzas than were sent");
                }
            }
            case "resume" -> out.send(smFailed("unexpected-request")); // §5: only before binding
            default -> throw new StreamErrorException("unsupported-stanza-type", "<" + e.name() + "/> in " + SM_NS);
        }
    }

    private static String smFailed(String condition) {
        return smFailed(condition, -1);
    }

    /** XEP-0198 §5: with the old session's {@code h} where it is known (not negative). */
    private static String smFailed(String condition, long h) {
        return "<failed xmlns='" + SM_NS + "'" + (h >= 0 ? " h='" + h + "'" : "") + "><" + condition
                + " xmlns='" + Stanzas.STANZAS_NS + "'/></failed>";
    }

    private static long parseH(Element e) throws StreamErrorException {
        try {
            long h = Long.parseLong(e.attributeOrEmpty("h"));
            if (h < 0 || h > 0xffffffffL) {
                throw new NumberFormatException("out of range");
            }
            return h;
        } catch (NumberFormatException ex) {
            throw new StreamErrorException("undefined-condition", "bad 'h' in stream management");
        }
    }

    /**
     * Drops the stanzas the client says it has handled; called holding out's lock. {@code h}
     * counts modulo 2^32 (XEP-0198 §4).
     *
     * @return false, dropping nothing, if {@code h} counts more stanzas than were sent
     */
    private boolean acknowledge(long h) {
        long delta = (h - smAcked) & 0xffffffffL;
        if (delta > smSent - smAcked) {
            return false;
        }
        for (long i = 0; i < delta && !smUnacked.isEmpty(); i++) {
            smUnackedChars -= smUnacked.pollFirst().chars();
        }
        smAcked += delta;
        return true;
    }

    /**
     * Too many unacknowledged stanzas: the session ends and cannot be resumed. An attached stream
     * gets a {@code resource-constraint} stream error (RFC 6120 §4.9.3.17; XEP-0198 leaves the
     * limit to the server); a detached session's wait ends at once. What it kept is then handled
     * as for an unavailable resource.
     */
    private void overflow() {
        kick("resource-constraint", "too many unacknowledged stanzas");
    }

    /**
     * Ends this stream with a stream error from another thread (resource conflict); a session
     * waiting detached for resumption ends now instead.
     */
    void kick(String condition, String text) {
        // after what is queued, without waiting here for a client that may not read
        out.sendAndClose(Stanzas.streamError(condition, text));
        evict();
    }

    void run() throws IOException {
        conn.writeTimeout(hub.writeTimeout);
        try {
            if (!hub.idleTimeout.isZero()) {
                conn.readTimeout(hub.idleTimeout); // each read; keepalives reset it (RFC 6120 §4.6.1)
            }
            negotiate();
        } catch (StreamErrorException e) {
            fail(e.condition(), e.text());
        } catch (DrainingException e) {
            fail("system-shutdown", "the server is shutting down");
        } catch (EOFException e) {
            // the peer went away
        } catch (SocketTimeoutException e) {
            // RFC 6120 §4.9.3.4: the pre-authentication time (ConnectionLimits) or the idle
            // timeout ran out; whitespace keepalives do not extend the former
            fail("connection-timeout", conn.isAuthenticated() ? "idle for too long" : "authenticate sooner");
        } catch (IOException e) {
            // a broken connection ends this session only; nothing to tell the peer
        } finally {
            flushHeld();
            out.awaitDrained(); // the closing tag or stream error, at most the write timeout
            conn.close();
            if (jid != null) {
                finish();
            }
            for (Element m : out.close()) {
                hub.undelivered(m, principal); // queued here but never written (a resumed session)
            }
        }
    }

    /**
     * After the stream: a resumable session whose connection dropped waits here, on this
     * connection's thread, for a new stream to resume it (XEP-0198 §5); otherwise, or when the
     * wait runs out, the session ends.
     */
    private void finish() {
        boolean[] wait = new boolean[1];
        try {
            out.exclusive(() -> {
                if (movedTo != null) {
                    return; // resumed while this connection was still open
                }
                // a client whose queue overflowed is not kept either: it did not read
                wait[0] = smId != null && !closedCleanly && !smOverflow && !smEvicted && !conn.draining() && !out.overflowed();
                if (wait[0]) {
                    smState = SmState.DETACHED; // from now on stanzas for it are only kept
                }
            });
        } catch (IOException e) {
            wait[0] = false;
        }
        if (movedTo != null) {
            return;
        }
        // the window starts now, before the session counts as detached, so that whoever sees it
        // detached (a test advancing a manual clock) moves time after the deadline was set
        Deadline resumeBy = Deadline.after(smMax, hub.resumption.clock);
        // outside this session's lock: counting it may end another detached session
        wait[0] = wait[0] && hub.resumption.detach(this);
        boolean interrupted = false;
        if (wait[0]) {
            try {
                // false when the client did not come back in time: the session ends below
                out.awaitWhile(() -> movedTo == null && !smEvicted && !smOverflow, resumeBy);
            } catch (InterruptedException e) {
                interrupted = true; // the server is stopping: end the session properly first
            }
            hub.resumption.undetach(this);
            if (movedTo != null) {
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
                return;
            }
        }
        // the interrupt flag would make the offline store's file writes fail
        interrupted |= Thread.interrupted();
        try {
            end();
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Ends the session: no longer resumable, unbound (contacts see unavailable presence, RFC 6121
     * §4.5.2), and what the client never acknowledged goes where stanzas for an unavailable
     * resource go (RFC 6121 §8.5.3.2.1).
     */
    private void end() {
        boolean[] resumed = new boolean[1];
        try {
            out.exclusive(() -> {
                resumed[0] = movedTo != null;
                smEnding = true; // from here on no resumption can take this session over
            });
        } catch (IOException e) {
            return;
        }
        if (resumed[0]) {
            return;
        }
        if (smId != null) {
            hub.resumption.forget(smId, this);
            hub.resumption.ended(smId, principal, smReceived & 0xffffffffL);
        }
        hub.unbind(this);
        List<Element> left = new ArrayList<>();
        try {
            out.exclusive(() -> {
                // stanzas routed here until the unbind above are in the queue; later ones see ENDED
                smState = SmState.ENDED;
                smUnacked.forEach(k -> left.add(k.stanza()));
                smUnacked.clear();
                smUnackedChars = 0;
            });
        } catch (IOException e) {
            return;
        }
        // queued before stream management was enabled (or without it) and never written
        List<Element> queued = out.close();
        for (Element m : queued) {
            hub.undelivered(m, principal);
        }
        for (Element m : left) {
            hub.undelivered(m, principal);
        }
    }

    /** Ends a detached wait now (too many sessions are detached and this is the oldest, or a conflict). */
    void evict() {
        try {
            out.exclusive(() -> {
                smEvicted = true;
                out.signalAll();
            });
        } catch (IOException e) {
            // nothing is written here
        }
    }

    /**
     * XEP-0198 §5: the client of a dropped stream asks, on a new authenticated stream, to pick up
     * its old session. On success the old session's state moves here: its address and presence
     * stay as they were (no presence is broadcast), {@code <resumed/>} tells the client how many
     * of its stanzas were handled, and what it has not acknowledged is sent again.
     *
     * @return true if resumed; false after a {@code <failed/>}, when the client binds normally
     */
    private boolean resume(Element e) throws IOException, StreamErrorException {
        long h = parseH(e);
        String previd = e.attributeOrEmpty("previd");
        C2sSession old = previd.isEmpty() ? null : hub.resumption.find(previd);
        if (old == null || !old.principal.equals(principal)) {
            // an ended session of this user's: its h tells the client which of its stanzas arrived
            out.send(smFailed("item-not-found", previd.isEmpty() || old != null ? -1 : hub.resumption.endedH(previd, principal)));
            return false;
        }
        boolean[] taken = new boolean[1];
        boolean[] wasAttached = new boolean[1];
        long[] oldH = {-1};
        // this stream's lock first: nothing reaches this client before <resumed/> and the resent stanzas
        out.exclusive(() -> old.out.exclusive(() -> {
            if (old.movedTo != null || old.smEnding || old.smOverflow || old.smEvicted || old.smId == null) {
                oldH[0] = old.smReceived & 0xffffffffL;
                return;
            }
            jid = old.jid;
            available = old.available;
            priority = old.priority;
            presence = old.presence;
            rosterRequested = old.rosterRequested;
            carbons = old.carbons;
            directed.addAll(old.directed);
            smId = old.smId;
            smMax = old.smMax;
            smReceived = old.smReceived;
            smSent = old.smSent;
            smAcked = old.smAcked;
            smUnacked = old.smUnacked;
            smUnackedChars = old.smUnackedChars;
            old.smUnacked = new ArrayDeque<>();
            old.smUnackedChars = 0;
            if (!acknowledge(h)) {
                acknowledge(smSent); // the client says it has everything: nothing to send again
            }
            wasAttached[0] = old.smState == SmState.ATTACHED;
            old.movedTo = this;
            old.out.signalAll();
            smEnabled = true;
            taken[0] = true;
            StringBuilder sb = new StringBuilder("<resumed xmlns='").append(SM_NS).append("' h='")
                    .append(smReceived & 0xffffffffL).append("' previd='").append(smId).append("'/>");
            for (Kept k : smUnacked) {
                sb.append(k.stanza().toXml());
            }
            out.send(sb.toString());
        }));
        if (!taken[0]) {
            out.send(smFailed("item-not-found", oldH[0]));
            return false;
        }
        hub.replace(old, this);
        for (Element held : old.clientState.becomeActive()) {
            send(held); // XEP-0352: a new stream starts active; what the old one held goes now
        }
        if (wasAttached[0]) {
            // the old stream has not noticed yet that its client left
            old.kick("conflict", "the session was resumed on another stream");
        }
        return true;
    }

    private void fail(String condition, String text) {
        if (!headerSent) {
            // RFC 6120 §4.9.1.1: open a stream before the error if none was opened yet
            out.send(header());
        }
        out.send(Stanzas.streamError(condition, text));
    }

    private String header() {
        headerSent = true;
        streamId = HexFormat.of().formatHex(randomBytes());
        return "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='" + XmlReader.STREAMS
                + "' id='" + streamId + "' from='" + hub.domain + "' version='1.0' xml:lang='en'>";
    }

    private static byte[] randomBytes() {
        byte[] b = new byte[12];
        RANDOM.nextBytes(b);
        return b;
    }

    private void negotiate() throws IOException, StreamErrorException {
        while (true) {
            XmlReader reader = new XmlReader(conn.input(), hub.limits);
            reader.beforeWait(this::flushHeld);
            Element h = reader.readHeader();
            checkHeader(h, reader);
            StringBuilder features = new StringBuilder(header()).append("<stream:features>");
            boolean tlsOffered = !conn.isSecure() && hub.tls != null && !framed;
            boolean authAllowed = conn.isSecure() || !(hub.requireTls && hub.tls != null);
            if (principal == null) {
                if (tlsOffered) {
                    features.append("<starttls xmlns='").append(Stanzas.TLS_NS).append("'>")
                            .append(hub.requireTls ? "<required/>" : "").append("</starttls>");
                }
                if (authAllowed) {
                    features.append("<mechanisms xmlns='").append(Stanzas.SASL_NS).append("'>");
                    for (String m : hub.mechanisms()) {
                        features.append("<mechanism>").append(m).append("</mechanism>");
                    }
                    features.append("</mechanisms>");
                }
            } else {
                features.append("<bind xmlns='").append(Stanzas.BIND_NS).append("'/>")
                        .append("<session xmlns='").append(Stanzas.SESSION_NS).append("'><optional/></session>")
                        .append("<sm xmlns='").append(SM_NS).append("'/>")
                        .append("<csi xmlns='").append(ClientState.NS).append("'/>");
            }
            features.append("</stream:features>");
            out.send(features.toString());
            Restart r = principal == null ? preAuth(reader, tlsOffered, authAllowed) : postAuth(reader);
            if (r == Restart.NO) {
                return;
            }
        }
    }

    private enum Restart { YES, NO }

    private void checkHeader(Element h, XmlReader reader) throws StreamErrorException {
        if (!reader.defaultNamespace().equals(Hub.CLIENT_NS)) {
            throw new StreamErrorException("invalid-namespace", "the content namespace must be jabber:client");
        }
        String to = h.attributeOrEmpty("to");
        if (!to.isEmpty()) {
            Jid t;
            try {
                t = Jid.parse(to);
            } catch (IllegalArgumentException e) {
                throw new StreamErrorException("host-unknown", "bad 'to' address");
            }
            if (!t.domain().equals(hub.domain) || !t.local().isEmpty() || !t.isBare()) {
                throw new StreamErrorException("host-unknown", "this server serves " + hub.domain);
            }
        } else {
            throw new StreamErrorException("host-unknown", "the stream header has no 'to' (RFC 6120 §4.7.2)");
        }
        String version = h.attributeOrEmpty("version");
        if (!version.startsWith("1.")) {
            // RFC 6120 §4.7.5: no version means pre-XMPP 1.0, which this server does not speak
            throw new StreamErrorException("unsupported-version", "XMPP 1.0 is required");
        }
    }

    private Restart preAuth(XmlReader reader, boolean tlsOffered, boolean authAllowed) throws IOException, StreamErrorException {
        while (true) {
            Element e = reader.next();
            if (e == null) {
                closeStream();
                return Restart.NO;
            }
            if (e.is("starttls", Stanzas.TLS_NS)) {
                if (!tlsOffered) {
                    out.send("<failure xmlns='" + Stanzas.TLS_NS + "'/></stream:stream>");
                    return Restart.NO;
                }
                out.send("<proceed xmlns='" + Stanzas.TLS_NS + "'/>");
                // RFC 6120 §5.4.3.3: the old parser and anything it read ahead are dropped
                out.exclusive(() -> conn.startTls(hub.tls));
                headerSent = false;
                return Restart.YES;
            }
            if (e.is("auth", Stanzas.SASL_NS)) {
                if (!authAllowed) {
                    // RFC 6120 §5.3.1: TLS is mandatory here before SASL
                    out.send(saslFailure("encryption-required"));
                    continue;
                }
                if (authenticate(reader, e)) {
                    headerSent = false;
                    return Restart.YES;
                }
                continue;
            }
            if (e.is("abort", Stanzas.SASL_NS)) {
                out.send(saslFailure("aborted"));
                continue;
            }
            // RFC 6120 §6.4.1 / §4.9.3.12: stanzas before authentication
            throw new StreamErrorException("not-authorized", "authenticate first");
        }
    }

    private static String saslFailure(String condition) {
        return "<failure xmlns='" + Stanzas.SASL_NS + "'><" + condition + "/></failure>";
    }

    /**
     * Runs one SASL exchange (RFC 6120 §6.4) through the core's driver, which applies the auth
     * policy around it; true on success.
     */
    private boolean authenticate(XmlReader reader, Element auth) throws IOException, StreamErrorException {
        String mech = auth.attributeOrEmpty("mechanism");
        if (!hub.mechanisms().contains(mech)) {
            out.send(saslFailure("invalid-mechanism"));
            return false;
        }
        byte[] initial;
        try {
            initial = decode(auth.text());
        } catch (IllegalArgumentException e) {
            out.send(saslFailure("incorrect-encoding"));
            return false;
        }
        LoginResult result;
        try {
            result = hub.portal.sasl(mech).run(Optional.of(initial), saslProfile(reader), attempts());
        } catch (StreamFailure e) {
            throw e.streamError;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted during the failed-login delay");
        }
        switch (result) {
            case LoginResult.LoggedIn in -> {
                try {
                    Jid.parse(in.principal().name() + "@" + hub.domain);
                } catch (IllegalArgumentException e) {
                    out.send(saslFailure("not-authorized")); // a user name that is no JID localpart
                    return false;
                }
                conn.markAuthenticated(); // out of the pre-auth counts, no pre-auth deadline
                principal = in.principal().name();
                authenticated = in.principal();
                out.send("<success xmlns='" + Stanzas.SASL_NS + "'>" + encode(in.additionalData()) + "</success>");
                return true;
            }
            case LoginResult.Failed f -> {
                // RFC 6120 §6.4.5: after the policy's retries, <policy-violation/> closes the stream
                out.send(saslFailure("not-authorized"));
                return mayRetry(f.mayRetry());
            }
            case LoginResult.Refused r -> {
                // RFC 6120 §6.5.9: the address or user is penalised, whatever the credentials
                out.send(saslFailure("temporary-auth-failure"));
                return mayRetry(r.mayRetry());
            }
            case LoginResult.Abandoned a -> {
                return false; // the profile has answered the abort or the bad response
            }
        }
    }

    private static boolean mayRetry(boolean again) throws StreamErrorException {
        if (!again) {
            throw new StreamErrorException("policy-violation", "too many failed authentication attempts");
        }
        return false;
    }

    /**
     * XMPP's SASL profile (RFC 4422 §4, RFC 6120 §6.4): challenges in {@code <challenge/>},
     * responses in {@code <response/>}, {@code <abort/>} cancels, and {@code <success/>} carries
     * the additional data.
     */
    private SaslExchange.Profile saslProfile(XmlReader reader) {
        return new SaslExchange.Profile() {
            @Override
            public Optional<byte[]> challenge(byte[] challenge) throws IOException {
                out.send("<challenge xmlns='" + Stanzas.SASL_NS + "'>" + (challenge.length == 0 ? "=" : encode(challenge)) + "</challenge>");
                Element next;
                try {
                    next = reader.next();
                } catch (StreamErrorException e) {
                    throw new StreamFailure(e);
                }
                if (next == null) {
                    throw new EOFException("stream closed during SASL");
                }
                if (next.is("abort", Stanzas.SASL_NS)) {
                    out.send(saslFailure("aborted"));
                    return Optional.empty();
                }
                if (!next.is("response", Stanzas.SASL_NS)) {
                    out.send(saslFailure("malformed-request"));
                    return Optional.empty();
                }
                try {
                    return Optional.of(decode(next.text()));
                } catch (IllegalArgumentException e) {
                    out.send(saslFailure("incorrect-encoding"));
                    return Optional.empty();
                }
            }

            @Override
            public boolean successCarriesData() {
                return true;
            }
        };
    }

    /** A stream error met while the SASL driver reads, carried out through its IOException. */
    private static final class StreamFailure extends IOException {
        final StreamErrorException streamError;

        StreamFailure(StreamErrorException e) {
            super(e);
            this.streamError = e;
        }
    }

    private LoginAttempts attempts() {
        if (attempts == null) {
            attempts = hub.portal.policy().open("xmpp", conn.remoteAddress());
        }
        return attempts;
    }

    /** RFC 6120 §6.4.2: "=" is an empty response, no text is none (treated as empty too). */
    private static byte[] decode(String text) {
        String t = text.strip();
        if (t.isEmpty() || t.equals("=")) {
            return new byte[0];
        }
        return Base64.getDecoder().decode(t.replaceAll("\\s", ""));
    }

    private static String encode(byte[] b) {
        return b.length == 0 ? "" : Base64.getEncoder().encodeToString(b);
    }

    private Restart postAuth(XmlReader reader) throws IOException, StreamErrorException {
        // from here on other sessions can write to this one: through a queue and a writer of its
        // own, so that they never wait on this client's socket
        out.startWriter(hub.outboundStanzas, hub.outboundBytes);
        while (jid == null) {
            Element e = reader.next();
            if (e == null) {
                closeStream();
                return Restart.NO;
            }
            if (e.is("resume", SM_NS)) {
                if (resume(e)) {
                    break; // the resumed session is bound already
                }
                continue;
            }
            if (e.is("enable", SM_NS)) {
                out.send(smFailed("unexpected-request")); // XEP-0198 §3: only after binding
                continue;
            }
            if (!e.is("iq", Hub.CLIENT_NS) || e.child("bind", Stanzas.BIND_NS).isEmpty()) {
                // RFC 6120 §7.1: nothing but binding before a resource is bound
                if (e.is("iq", Hub.CLIENT_NS) && e.child("session", Stanzas.SESSION_NS).isPresent()) {
                    send(Stanzas.result(e, null, null));
                    continue;
                }
                throw new StreamErrorException("not-authorized", "bind a resource first");
            }
            if (!e.attributeOrEmpty("type").equals("set")) {
                send(Stanzas.error(e, "bad-request", Hub.CLIENT_NS));
                continue;
            }
            Element bind = e.child("bind", Stanzas.BIND_NS).orElseThrow();
            String resource = bind.child("resource", Stanzas.BIND_NS).map(Element::text).orElse("").strip();
            if (resource.isEmpty()) {
                resource = "twine-" + HexFormat.of().formatHex(randomBytes(), 0, 6); // RFC 6120 §7.6
            }
            Jid full;
            try {
                full = new Jid(principal, hub.domain, resource);
            } catch (IllegalArgumentException ex) {
                send(Stanzas.error(e, "bad-request", Hub.CLIENT_NS));
                continue;
            }
            jid = full;
            hub.bind(this);
            send(Stanzas.result(e, null, Element.of("bind", Stanzas.BIND_NS)
                    .withChild(Element.of("jid", Stanzas.BIND_NS).withText(full.toString()))));
        }
        stanzas(reader);
        return Restart.NO;
    }

    private void stanzas(XmlReader reader) throws IOException, StreamErrorException {
        String me = jid.toString(); // bound (or resumed) before this: it does not change
        while (true) {
            Element e;
            e = reader.next();
            if (e == null) {
                closedCleanly = true;
                closeStream();
                return;
            }
            if (e.namespace().equals(SM_NS)) {
                streamManagement(e);
                continue;
            }
            if (e.namespace().equals(ClientState.NS)) {
                clientState(e);
                continue;
            }
            if (smEnabled) {
                smReceived++;
            }
            if (!e.namespace().equals(Hub.CLIENT_NS) || !(e.name().equals("message") || e.name().equals("presence") || e.name().equals("iq"))) {
                // RFC 6120 §4.9.3.21: a top-level element this stream does not support
                throw new StreamErrorException("unsupported-stanza-type", "<" + e.name() + "/> in " + e.namespace());
            }
            // RFC 6120 §8.1.2.1: the server stamps 'from'; a client may only give its own addresses
            String from = e.attributeOrEmpty("from");
            if (!from.isEmpty()) {
                Jid f;
                try {
                    f = Jid.parse(from);
                } catch (IllegalArgumentException ex) {
                    throw new StreamErrorException("invalid-from", "malformed 'from'");
                }
                if (!f.equals(jid) && !f.equals(jid.bare())) {
                    throw new StreamErrorException("invalid-from", "'from' must be your own address");
                }
            }
            Element stamped = e.withAttribute("from", me);
            try {
                hub.route(stamped, this);
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while handling a stanza");
            } catch (RuntimeException ex) {
                LOG.log(System.Logger.Level.WARNING, "error routing a stanza from " + jid, ex);
                hub.bounce(stamped, "internal-server-error", this);
            }
        }
    }

    private void closeStream() {
        // RFC 6120 §4.4: answer the closing tag with ours
        out.send("</stream:stream>");
    }

    /** For the component module and tests: the stream id of the current stream. */
    String streamId() {
        return streamId;
    }

}
