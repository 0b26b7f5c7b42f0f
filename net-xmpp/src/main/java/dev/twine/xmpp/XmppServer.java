package dev.twine.xmpp;

import dev.twine.core.Binding;
import dev.twine.core.ConnectionHandler;
import dev.twine.core.ConnectionLimits;
import dev.twine.core.Metrics;
import dev.twine.core.Server;
import dev.twine.core.Service;
import dev.twine.core.Services;
import dev.twine.core.Tls;
import dev.twine.core.auth.AuthPolicy;
import dev.twine.core.auth.Portal;
import dev.twine.core.auth.UserStore;
import dev.twine.xmpp.internal.DataStore;
import dev.twine.xmpp.internal.Extensions;
import dev.twine.xmpp.internal.Hub;
import dev.twine.xmpp.internal.Muc;
import dev.twine.xmpp.internal.Pep;
import dev.twine.xmpp.internal.S2s;
import dev.twine.xmpp.internal.WsSession;
import dev.twine.xmpp.internal.Sessions;
import dev.twine.xmpp.internal.Upload;
import dev.twine.xmpp.internal.XmlLimits;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.Objects;

/**
 * An XMPP server for one domain: client streams (RFC 6120, RFC 6121) on the {@code xmpp} service
 * and, optionally, XEP-0114 external components on the {@code xmpp-component} service.
 *
 * <p>Each connection runs on its own virtual thread, which reads the stream with the JDK's StAX
 * parser. Rosters and offline messages live under the data directory and are written durably
 * before they are acknowledged. Users and passwords come from a core {@link UserStore} (a
 * Dovecot passwd-file), checked through a {@link Portal}. IQ requests the server answers itself
 * go to {@link IqHandler}s and messages and presence pass {@link StanzaInterceptor}s, both
 * registered on the builder ({@link Builder#iqHandler}, {@link Builder#accountIqHandler},
 * {@link Builder#messageInterceptor}, {@link Builder#presenceInterceptor}).
 *
 * <pre>{@code
 * XmppServer server = XmppServer.builder().domain("example.org")
 *         .users(UsersFile.load(usersPath)).dataDirectory(dataDir)
 *         .tls(Tls.server(cert, key)).listen("tcp:5222:interface=127.0.0.1").build();
 * server.start();
 * }</pre>
 */
public final class XmppServer implements Service {
    private final Hub hub;
    private final Server clients;
    private final Server components;
    private final Server servers;
    private final Server websockets;
    private final Set<String> websocketOrigins;
    private final S2s federation;
    private final Service group;
    private final Tls hubTls;
    private final Upload upload;
    private final Server uploadServer;

    private XmppServer(Builder b) throws IOException {
        Portal portal = Portal.builder().users(b.users).policy(b.authPolicy != null ? b.authPolicy : AuthPolicy.defaults()).build();
        hub = new Hub(b.domain, portal, b.users, new DataStore(b.dataDir), b.tls, b.requireTls,
                new XmlLimits(b.maxStanzaBytes, b.maxDepth, b.maxAttributes), b.componentSecret, b.writeTimeout, VERSION);
        hubTls = b.tls;
        hub.scramSha1(b.scramSha1);
        hub.resumption().configure(b.resumeTimeout, b.maxDetached, b.clock);
        hub.resumption().location(b.resumeLocation);
        hub.outboundQueue(b.outboundStanzas, b.outboundBytes);
        hub.rosterLimit(b.rosterLimit);
        hub.idleTimeout(b.idleTimeout);
        Extensions hosted = new Extensions();
        if (b.groupChat) {
            String muc = b.groupChatDomain != null ? b.groupChatDomain : "conference." + b.domain;
            hosted.domain(muc, new Muc(muc, b.dataDir.resolve("muc"), b.clock, b.groupChatLimits,
                    b.dataDir.resolve("muc-mam"), b.archiveLimit));
        }
        if (b.uploadUrl != null || !b.uploadListen.isEmpty()) {
            String up = b.uploadDomain != null ? b.uploadDomain : "upload." + hub.domain();
            Server[] http = new Server[1];
            java.util.function.Supplier<String> base = b.uploadUrl != null ? () -> b.uploadUrl
                    : () -> uploadUrl(b.uploadListen.get(0), hub.domain(), http[0].port());
            upload = new Upload(up, hub.domain(), b.dataDir.resolve("upload"), b.clock, b.uploadLimits, base);
            hosted.domain(up, upload);
            if (!b.uploadListen.isEmpty()) {
                Server.Builder ub = Server.builder("xmpp-upload").handler(upload.httpHandler()).writeTimeout(b.writeTimeout);
                b.uploadListen.forEach(ub::listen);
                if (b.metrics != null) {
                    ub.metrics(b.metrics);
                }
                if (b.tls != null) {
                    ub.tls(b.tls); // tls:5443 without cert= and key= serves HTTPS with the server's certificate
                }
                http[0] = ub.build();
            }
            uploadServer = http[0];
        } else {
            upload = null;
            uploadServer = null;
        }
        hosted.addAll(b.extensions); // a handler of the user's for the same domain replaces the group chat
        hub.blocking(b.dataDir.resolve("blocking"), b.blocklistLimit);
        hub.extensions(this, hosted, b.dataDir.resolve("mam"), b.archiveLimit, b.clock,
                b.dataDir.resolve("pep"), b.pepLimits, b.dataDir.resolve("vcard"), b.vcardBytes);
        String domain = hub.domain();
        Server.Builder cb = Server.builder("xmpp").handler(conn -> Sessions.client(hub, conn))
                .maxConnections(b.maxConnections).writeTimeout(b.writeTimeout)
                .limits(b.limits != null ? b.limits : defaultLimits())
                .overLimit(conn -> Sessions.refuse(domain, conn))
                .alpn("xmpp-client"); // XEP-0368: what a direct-TLS client offers
        for (String ep : b.listen) {
            cb.listen(ep);
        }
        if (b.metrics != null) {
            cb.metrics(b.metrics);
        }
        if (b.tls != null) {
            cb.tls(b.tls); // tls:5223 without cert= and key= is direct TLS (XEP-0368) with this pair
        }
        clients = cb.build();
        List<Service> all = new ArrayList<>(List.of(clients));
        if (!b.componentListen.isEmpty()) {
            Server.Builder pb = Server.builder("xmpp-component").handler(conn -> Sessions.component(hub, conn))
                    .writeTimeout(b.writeTimeout);
            for (String ep : b.componentListen) {
                pb.listen(ep);
            }
            if (b.metrics != null) {
                pb.metrics(b.metrics);
            }
            components = pb.build();
            all.add(components);
        } else {
            components = null;
        }
        if (b.s2sConnector != null) {
            federation = new S2s(hub, new S2s.Config(b.s2sConnector, b.dialbackSecret != null ? b.dialbackSecret : S2s.randomSecret(),
                    b.s2sTrust, b.requireValidCertificates, java.util.Set.copyOf(b.dialbackAllowed), b.s2sQueue,
                    b.s2sTimeout, b.s2sIdle, b.s2sStreamsPerDomain));
            hub.federation(federation);
        } else {
            federation = null;
        }
        if (!b.s2sListen.isEmpty()) {
            S2s f = federation;
            Server.Builder sb = Server.builder("xmpp-server").handler(conn -> Sessions.server(f, conn))
                    .writeTimeout(b.writeTimeout).alpn("xmpp-server"); // XEP-0368
            for (String ep : b.s2sListen) {
                sb.listen(ep);
            }
            if (b.metrics != null) {
                sb.metrics(b.metrics);
            }
            if (b.tls != null) {
                sb.tls(f.serverTls()); // peers' certificates asked for, for SASL EXTERNAL
            }
            servers = sb.build();
            all.add(servers);
        } else {
            servers = null;
        }
        websocketOrigins = Set.copyOf(b.websocketOrigins);
        if (!b.websocketListen.isEmpty()) {
            Set<String> origins = websocketOrigins;
            Server.Builder wb = Server.builder("xmpp-websocket").handler(conn -> WsSession.run(hub, conn, origins))
                    .maxConnections(b.maxConnections).writeTimeout(b.writeTimeout)
                    .limits(b.limits != null ? b.limits : defaultLimits()).alpn("http/1.1"); // RFC 7395 over RFC 6455
            for (String ep : b.websocketListen) {
                wb.listen(ep);
            }
            if (b.metrics != null) {
                wb.metrics(b.metrics);
            }
            if (b.tls != null) {
                wb.tls(b.tls); // wss: a tls: endpoint without cert= and key= uses this pair
            }
            websockets = wb.build();
            all.add(websockets);
        } else {
            websockets = null;
        }
        if (uploadServer != null) {
            all.add(uploadServer);
        }
        group = all.size() == 1 ? clients : Services.group("xmpp", all);
    }

    /** The file upload's public URL from its listening endpoint: http or https, the interface or the domain, the port. */
    private static String uploadUrl(String endpoint, String domain, int port) {
        dev.twine.core.Endpoint e = dev.twine.core.Endpoint.parseServer(endpoint);
        String host = switch (e) {
            case dev.twine.core.Endpoint.Tcp t -> t.host();
            case dev.twine.core.Endpoint.Tls t -> t.host();
            default -> throw new IllegalStateException("fileUploadUrl(...) is required when the upload listens on " + endpoint);
        };
        host = host.isEmpty() ? domain : host.indexOf(':') >= 0 ? "[" + host + "]" : host;
        return (e instanceof dev.twine.core.Endpoint.Tls ? "https://" : "http://") + host + ":" + port;
    }

    /**
     * The connection limits a server has unless {@link Builder#limits} says otherwise (a new
     * instance each time, as an instance counts connections): at most 50 connections per client
     * address (IPv6: per /64), 1,000 streams not yet authenticated in all and 10 per address, and
     * 60 seconds from connecting to SASL success, however busy the stream is.
     */
    public static ConnectionLimits defaultLimits() {
        return ConnectionLimits.defaults();
    }

    /** The version this server reports through XEP-0092. */
    public static final String VERSION = "0.1.0";

    /** A builder; {@link Builder#domain}, {@link Builder#users} and {@link Builder#dataDirectory} are required. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The handler that runs one client stream (RFC 6120) on a connection, on the connection's
     * thread, until the stream ends: for in-memory tests and for embedding behind another
     * acceptor. The server need not be started; {@link #shutdown} and {@link #close} also end
     * the waits of sessions served this way.
     *
     * <p>Error handling: a protocol error ends that stream with a stream error, and a broken
     * connection ends it silently; neither is thrown. The handler throws {@link IOException} only
     * if the connection is already closed when it starts (its idle timeout cannot be set).
     */
    public ConnectionHandler clientHandler() {
        return conn -> Sessions.client(hub, conn);
    }

    /**
     * The handler that runs one XEP-0114 component stream on a connection, on the connection's
     * thread, until it ends; it needs {@link Builder#componentListen}'s secret to accept any
     * component, and throws nothing (a failed stream is closed with a stream error).
     */
    public ConnectionHandler componentHandler() {
        return conn -> Sessions.component(hub, conn);
    }

    /**
     * The handler that runs one client connection over WebSocket (RFC 7395: the HTTP/1.1 upgrade,
     * then RFC 6455 frames, one stanza per message) on a connection, on the connection's thread,
     * until it ends: for in-memory tests and for embedding behind another acceptor. The session is
     * the one {@link #clientHandler()} runs, without STARTTLS (the connection's TLS is the
     * WebSocket's). See {@link Builder#websocketListen}.
     *
     * <p>Error handling: a bad upgrade request gets its HTTP error (400, 403, 404, 405, 426) and
     * the connection is closed; a frame RFC 6455 forbids ends the connection with the close code
     * for it (1002, 1003, 1007, 1009); stream errors are sent as on TCP, then {@code <close/>}.
     * It throws only {@link IOException} from the connection.
     *
     * @return the handler
     */
    public ConnectionHandler websocketHandler() {
        return conn -> WsSession.run(hub, conn, websocketOrigins);
    }

    /**
     * The handler that runs one incoming server-to-server stream (RFC 6120, SASL EXTERNAL or
     * XEP-0220 Server Dialback) on a connection, on the connection's thread, until it ends: for in-memory tests
     * and embedding. It throws nothing: a failed stream is closed with a stream error.
     *
     * @throws IllegalStateException if federation is not configured ({@link Builder#s2sConnector})
     */
    public ConnectionHandler serverHandler() {
        if (federation == null) {
            throw new IllegalStateException("federation is not configured: s2sConnector(...) is required");
        }
        S2s f = federation;
        return conn -> Sessions.server(f, conn);
    }

    /**
     * The handler that serves one HTTP/1.1 request of the file upload service (XEP-0363 §5:
     * {@code PUT} to a slot, {@code GET} and {@code HEAD} of a stored file, {@code OPTIONS} for
     * CORS) on a connection, on its thread, then returns (one request per connection): for
     * in-memory tests and embedding behind another acceptor. A {@code PUT} is answered
     * {@code 201 Created} only once the file and its metadata are forced to disk.
     *
     * <p>Error handling: bad requests get their HTTP status (400, 403, 404, 405, 408, 409, 411,
     * 413, 431; 500 if the disk fails) and a one-line reason; the handler throws only
     * {@link IOException} when the connection breaks.
     *
     * @throws IllegalStateException if file upload is not configured ({@link Builder#fileUploadUrl}
     *     or {@link Builder#fileUploadListen})
     */
    public ConnectionHandler uploadHandler() {
        if (upload == null) {
            throw new IllegalStateException("file upload is not configured: fileUploadUrl(...) or fileUploadListen(...) is required");
        }
        return upload.httpHandler();
    }

    /** The number of outgoing server-to-server streams, connecting or open. */
    public int outgoingServerStreams() {
        return federation == null ? 0 : federation.outgoingCount();
    }

    /**
     * The first server-to-server port once started.
     *
     * @throws IllegalStateException if no s2s endpoint was configured
     */
    public int serverPort() {
        if (servers == null) {
            throw new IllegalStateException("no s2s endpoint configured");
        }
        return servers.port();
    }

    /** The served domain. */
    public String domain() {
        return hub.domain();
    }

    /** The number of client sessions with a bound resource right now. */
    public int sessionCount() {
        return hub.sessionCount();
    }

    /** The number of XEP-0198 sessions whose connection dropped and that wait to be resumed. */
    public int detachedSessionCount() {
        return hub.resumption().detachedCount();
    }

    /** The first client port once started. */
    public int port() {
        return clients.port();
    }

    /**
     * The first WebSocket port once started.
     *
     * @throws IllegalStateException if no WebSocket endpoint was configured
     */
    public int websocketPort() {
        if (websockets == null) {
            throw new IllegalStateException("no WebSocket endpoint configured");
        }
        return websockets.port();
    }

    /**
     * The first component port once started.
     *
     * @throws IllegalStateException if no component endpoint was configured
     */
    public int componentPort() {
        if (components == null) {
            throw new IllegalStateException("no component endpoint configured");
        }
        return components.port();
    }

    /** {@code xmpp}. */
    @Override
    public String name() {
        return "xmpp";
    }

    /** Binds every endpoint; returns once bound. */
    @Override
    public void start() throws Exception {
        group.start();
    }

    /** The bound endpoints once started: {@code xmpp} first, then {@code xmpp-component}. */
    @Override
    public List<Binding> bindings() {
        return group.bindings();
    }

    /** Stops accepting, lets streams say {@code system-shutdown}, waits up to {@code grace}, then cancels. */
    @Override
    public void shutdown(Duration grace) throws InterruptedException {
        hub.resumption().stop(); // sessions waiting for their clients end now, their stanzas stored
        if (federation != null) {
            federation.stop();
        }
        group.shutdown(grace);
    }

    /**
     * Rereads the STARTTLS certificate and key if their files changed (a renewal), and those of
     * {@code tls:} endpoints: what the launcher does on SIGHUP. Streams stay up; the next
     * handshake gets the new pair.
     *
     * @return whether a certificate changed
     * @throws IOException naming the file, if a renewed pair is bad; the old one stays in use
     */
    @Override
    public boolean reload() throws IOException {
        boolean changed = hubTls != null && hubTls.reload();
        return group.reload() | changed;
    }

    /** Stops at once: every stream is closed without a goodbye. */
    @Override
    public void close() {
        hub.resumption().stop();
        if (federation != null) {
            federation.stop();
        }
        group.close();
    }

    /** Blocks until every connection has ended after {@link #shutdown} or {@link #close}. */
    @Override
    public void awaitTermination() throws InterruptedException {
        group.awaitTermination();
    }

    /** For logs. */
    @Override
    public String toString() {
        return "XmppServer[" + hub.domain() + "]";
    }

    /** Configuration of an {@link XmppServer}. */
    public static final class Builder {
        private String domain;
        private UserStore users;
        private Path dataDir;
        private Tls tls;
        private Metrics metrics;
        private boolean requireTls = true;
        private final List<String> listen = new ArrayList<>();
        private final List<String> componentListen = new ArrayList<>();
        private String componentSecret;
        private int maxConnections = 20_000;
        private Duration writeTimeout = Duration.ofSeconds(30);
        private int maxStanzaBytes = 256 * 1024;
        private int maxDepth = 32;
        private int maxAttributes = 64;
        private boolean scramSha1 = true;
        private Duration resumeTimeout = Duration.ofSeconds(300);
        private int maxDetached = 1000;
        private String resumeLocation = "";
        private java.time.Clock clock = java.time.Clock.systemUTC();
        private ConnectionLimits limits;
        private AuthPolicy authPolicy;
        private int rosterLimit = 1000;
        private Duration idleTimeout = Duration.ZERO;
        private int outboundStanzas = 1000;
        private long outboundBytes = 2L << 20;
        private final Extensions extensions = new Extensions();
        private int archiveLimit = 10_000;
        private int blocklistLimit = 1000;
        private boolean groupChat = true;
        private String groupChatDomain;
        private Muc.Limits groupChatLimits = new Muc.Limits(1000, 200, 50);
        private Pep.Limits pepLimits = new Pep.Limits(256, 128 * 1024, 100);
        private int vcardBytes = 128 * 1024;
        private final List<String> s2sListen = new ArrayList<>();
        private final List<String> websocketListen = new ArrayList<>();
        private final List<String> websocketOrigins = new ArrayList<>();
        private S2sConnector s2sConnector;
        private String dialbackSecret;
        private Path s2sTrust;
        private boolean requireValidCertificates;
        private final java.util.Set<String> dialbackAllowed = new java.util.HashSet<>();
        private int s2sQueue = 1000;
        private int s2sStreamsPerDomain = 8;
        private Duration s2sTimeout = Duration.ofSeconds(30);
        private Duration s2sIdle = Duration.ofMinutes(10);
        private String uploadUrl;
        private String uploadDomain;
        private final List<String> uploadListen = new ArrayList<>();
        private Upload.Limits uploadLimits = Upload.Limits.defaults();

        private Builder() {}

        /**
         * The domain this server serves (required), {@code example.org}: the domain part of its
         * users' addresses.
         *
         * @throws IllegalArgumentException if it is not a valid XMPP domain (RFC 7622 §3.2)
         */
        public Builder domain(String name) {
            this.domain = new Jid("", Objects.requireNonNull(name, "domain"), "").domain();
            return this;
        }

        /** Where users and passwords come from (required). */
        public Builder users(UserStore store) {
            this.users = Objects.requireNonNull(store, "users");
            return this;
        }

        /** Where rosters and offline messages are kept (required). */
        public Builder dataDirectory(Path dir) {
            this.dataDir = Objects.requireNonNull(dir, "dataDir");
            return this;
        }

        /**
         * Registers the client and component listeners' connection and traffic series in
         * {@code registry} (services {@code xmpp} and {@code xmpp-component}).
         *
         * @param registry the metrics registry
         * @return this builder
         */
        public Builder metrics(Metrics registry) {
            this.metrics = Objects.requireNonNull(registry, "metrics");
            return this;
        }

        /** The certificate for STARTTLS; without one the server offers no TLS. */
        public Builder tls(Tls serverTls) {
            this.tls = Objects.requireNonNull(serverTls, "tls");
            return this;
        }

        /**
         * Whether clients must use STARTTLS before authenticating (default true; it only applies
         * when {@link #tls} is set).
         */
        public Builder requireTls(boolean required) {
            this.requireTls = required;
            return this;
        }

        /** A client endpoint, {@code tcp:5222:interface=127.0.0.1}; repeatable. */
        public Builder listen(String endpoint) {
            listen.add(Objects.requireNonNull(endpoint, "endpoint"));
            return this;
        }

        /** An XEP-0114 component endpoint with its shared secret; repeatable (one secret). */
        public Builder componentListen(String endpoint, String secret) {
            componentListen.add(Objects.requireNonNull(endpoint, "endpoint"));
            this.componentSecret = Objects.requireNonNull(secret, "secret");
            return this;
        }

        /**
         * Whether to offer SCRAM-SHA-1 besides SCRAM-SHA-256 and PLAIN (default true: RFC 6120
         * §13.8 makes it mandatory, and some clients, Smack 4.4 among them, pick it). It works for
         * users whose secrets include SHA-1 keys, as {@code twine user add} writes them (see
         * {@link dev.twine.core.auth.UsersFile}), and for {@code {PLAIN}} users. A user with only
         * SCRAM-SHA-256 keys fails a SCRAM-SHA-1 login, and clients do not fall back after a
         * failure: turn it off if the users file holds such users and cannot be rewritten.
         */
        public Builder scramSha1(boolean offer) {
            this.scramSha1 = offer;
            return this;
        }

        /**
         * XEP-0198 stream resumption: how long a session whose connection dropped waits for its
         * client to resume it, keeping what the client has not acknowledged (default 300 s, whole
         * seconds; a client may ask for less). Zero turns resumption off; acks still work.
         */
        public Builder resumeTimeout(Duration d) {
            if (Objects.requireNonNull(d, "resumeTimeout").isNegative()) {
                throw new IllegalArgumentException("negative resume timeout");
            }
            this.resumeTimeout = d;
            return this;
        }

        /**
         * Where clients should reconnect to resume a session (XEP-0198 §5, the {@code location}
         * attribute of {@code <enabled/>}): this node's own host name or address, optionally
         * with a port ({@code node2.example.org:5222}, {@code [2001:db8::1]:5222}), when the
         * domain's clients reach several nodes and only this one holds the session. Empty (the
         * default) leaves the attribute out.
         *
         * @throws IllegalArgumentException if it is not a host, an address or either with a port
         */
        public Builder resumeLocation(String hostPort) {
            String l = Objects.requireNonNull(hostPort, "resumeLocation").strip();
            if (!l.matches("[A-Za-z0-9.:\\[\\]-]*")) {
                throw new IllegalArgumentException("resumeLocation must be HOST or HOST:PORT, got '" + hostPort + "'");
            }
            this.resumeLocation = l;
            return this;
        }

        /**
         * The most sessions waiting for resumption at once (default 1,000); when one more would
         * wait, the one that has waited longest ends. Each keeps at most 500 unacknowledged
         * stanzas (1 MiB of XML). A waiting session also keeps its connection slot
         * ({@link #maxConnections}) until it ends or is resumed.
         */
        public Builder maxDetachedSessions(int max) {
            if (max < 0) {
                throw new IllegalArgumentException("negative maxDetachedSessions");
            }
            this.maxDetached = max;
            return this;
        }

        /**
         * The clock resumption waits and group chat history times are measured on (default the
         * system clock; tests pass a manual one).
         */
        public Builder clock(java.time.Clock c) {
            this.clock = Objects.requireNonNull(c, "clock");
            return this;
        }

        /** The most client connections at once (default 20,000). */
        public Builder maxConnections(int max) {
            this.maxConnections = max;
            return this;
        }

        /**
         * Caps on client connections per address and before authentication, and the time a
         * client has to authenticate (default {@link XmppServer#defaultLimits()};
         * {@link ConnectionLimits#none()} for none). A connection over a cap gets a
         * {@code <policy-violation/>} stream error and is closed; a stream that has not completed
         * SASL when the time is up gets {@code <connection-timeout/>} (RFC 6120 §4.9.3.4).
         * Whitespace keepalives do not extend that time. Components are not limited.
         */
        public Builder limits(ConnectionLimits connectionLimits) {
            this.limits = Objects.requireNonNull(connectionLimits, "limits");
            return this;
        }

        /**
         * What happens after failed SASL logins (default {@link AuthPolicy#defaults()}): a growing
         * delay before each {@code <not-authorized/>}, the stream closed with
         * {@code <policy-violation/>} after the policy's number of failures (RFC 6120 §6.4.5), and
         * {@code <temporary-auth-failure/>}, right password or not, while the address or user is
         * penalised.
         */
        public Builder authPolicy(AuthPolicy policy) {
            this.authPolicy = Objects.requireNonNull(policy, "policy");
            return this;
        }

        /**
         * The most items one user's roster may hold, pending subscription requests included
         * (default 1,000). A roster set or a subscription request that would add one more gets a
         * {@code <resource-constraint/>} error and changes nothing.
         *
         * @throws IllegalArgumentException if not positive
         */
        public Builder rosterLimit(int max) {
            if (max < 1) {
                throw new IllegalArgumentException("roster limit must be positive");
            }
            this.rosterLimit = max;
            return this;
        }

        /**
         * How long a client stream may send nothing at all, whitespace keepalives included, before
         * it is closed with {@code <connection-timeout/>} (default zero: never, as clients are not
         * required to send keepalives; the time before authentication is bounded by
         * {@link #limits} instead).
         */
        public Builder idleTimeout(Duration d) {
            if (Objects.requireNonNull(d, "idleTimeout").isNegative()) {
                throw new IllegalArgumentException("negative idle timeout");
            }
            this.idleTimeout = d;
            return this;
        }

        /**
         * How much may wait to be written to one client (default 1,000 stanzas and 2 MiB of XML).
         * Stanzas other sessions route to a client are queued for that client's own writer, so a
         * client that stops reading never holds up its senders; once its queue would pass either
         * bound it is disconnected, and the messages still queued for it are handled as for an
         * unavailable resource (another resource of the user, or offline storage; RFC 6121
         * §8.5.3.2.1). A client's answers to its own requests wait for room instead.
         *
         * @throws IllegalArgumentException if either bound is not positive
         */
        public Builder outboundQueue(int stanzas, long bytes) {
            if (stanzas < 1 || bytes < 1) {
                throw new IllegalArgumentException("outbound queue bounds must be positive");
            }
            this.outboundStanzas = stanzas;
            this.outboundBytes = bytes;
            return this;
        }

        /**
         * How long a write to one client may block before that client is dropped (default 30 s;
         * zero: forever). Writes happen on the client's own writer, so this bounds how long a
         * client that does not read keeps its connection, not how long anyone else waits.
         */
        public Builder writeTimeout(Duration d) {
            this.writeTimeout = Objects.requireNonNull(d, "writeTimeout");
            return this;
        }

        /** Limits on one stanza: bytes (default 256 KiB), depth (32), attributes per element (64). */
        public Builder limits(int stanzaBytes, int depth, int attributes) {
            new XmlLimits(stanzaBytes, depth, attributes);
            this.maxStanzaBytes = stanzaBytes;
            this.maxDepth = depth;
            this.maxAttributes = attributes;
            return this;
        }

        /**
         * Answers IQ requests of one type and payload namespace addressed to the server's domain
         * (see {@link IqHandler}); the handler's {@link IqHandler#disco()} joins the domain's
         * {@code disco#info}. A later registration for the same type and namespace replaces an
         * earlier one, and a built-in (ping {@code urn:xmpp:ping}, version {@code jabber:iq:version},
         * {@code disco#info}, {@code disco#items}).
         */
        public Builder iqHandler(IqType type, String namespace, IqHandler handler) {
            extensions.serverIq(type, namespace, handler);
            return this;
        }

        /**
         * Answers IQ requests of one type and payload namespace addressed to a local account's
         * bare JID, or sent with no {@code to} (RFC 6120 §10.3.3), on the account's behalf
         * (RFC 6121 §8.5.1), for accounts that exist; {@link IqRequest#fromOwner()} tells whether
         * the user asks about their own account. The handler's {@link IqHandler#disco()} joins the
         * domain's {@code disco#info}, where clients look for what the server offers them. A
         * later registration replaces an earlier one and a built-in (roster
         * {@code jabber:iq:roster}, carbons {@code urn:xmpp:carbons:2}, ping, disco).
         */
        public Builder accountIqHandler(IqType type, String namespace, IqHandler handler) {
            extensions.accountIq(type, namespace, handler);
            return this;
        }

        /**
         * Adds an interceptor at the end of the message chain: it sees every message a client or
         * component sends, after those registered before it, before routing, carbons and offline
         * storage (see {@link StanzaInterceptor} for the order).
         */
        public Builder messageInterceptor(StanzaInterceptor interceptor) {
            extensions.messageInterceptor(interceptor);
            return this;
        }

        /**
         * Adds an interceptor at the end of the presence chain: it sees every presence a client or
         * component sends (broadcasts, directed presence, subscription requests), before routing
         * and roster changes (see {@link StanzaInterceptor}).
         */
        public Builder presenceInterceptor(StanzaInterceptor interceptor) {
            extensions.presenceInterceptor(interceptor);
            return this;
        }

        /**
         * The most messages one user's archive (XEP-0313) keeps (default 10,000); past it the
         * oldest go. Every chat or normal message with a body is archived, before it is routed,
         * for the local users who send and receive it (as their archive preferences allow), and
         * the recipient's copy carries its XEP-0359 stanza id. Archives live under the data
         * directory's {@code mam/}, each appended and forced to disk.
         *
         * @throws IllegalArgumentException if not positive
         */
        public Builder archiveLimit(int messages) {
            if (messages < 1) {
                throw new IllegalArgumentException("archive limit must be positive");
            }
            this.archiveLimit = messages;
            return this;
        }

        /**
         * The most addresses one user may block with the blocking command (XEP-0191; default
         * 1,000). A {@code <block/>} past it gets {@code resource-constraint} and changes nothing.
         * Lists live under the data directory's {@code blocking/}, replaced atomically.
         *
         * @throws IllegalArgumentException if not positive
         */
        public Builder blocklistLimit(int max) {
            if (max < 1) {
                throw new IllegalArgumentException("blocklist limit must be positive");
            }
            this.blocklistLimit = max;
            return this;
        }

        /**
         * Hosts {@code handler} for every stanza addressed to {@code domain} or an address in it
         * (see {@link DomainHandler}); the domain joins the server's {@code disco#items}, and a
         * component connecting for it is refused with {@code conflict}. A later registration
         * for the same domain replaces an earlier one, and the group chat service if it has the
         * same domain.
         *
         * @throws IllegalArgumentException if {@code domain} is not a valid XMPP domain (RFC 7622 §3.2)
         */
        public Builder domainHandler(String domain, DomainHandler handler) {
            extensions.domain(new Jid("", Objects.requireNonNull(domain, "domain"), "").domain(), handler);
            return this;
        }

        /**
         * Where the group chat service (XEP-0045 Multi-User Chat) lives (default
         * {@code conference.DOMAIN}). Rooms are created by joining them; persistent rooms, their
         * configuration and affiliations are kept under the data directory's {@code muc/} and
         * read back at the next start; discussion history is kept in memory only.
         *
         * @throws IllegalArgumentException if {@code domain} is not a valid XMPP domain
         */
        public Builder groupChat(String domain) {
            this.groupChatDomain = new Jid("", Objects.requireNonNull(domain, "domain"), "").domain();
            this.groupChat = true;
            return this;
        }

        /**
         * Serves HTTP File Upload (XEP-0363) and listens for its HTTP requests on {@code endpoint}
         * ({@code tcp:5280}, or {@code tls:5443}, which without {@code cert=} and {@code key=}
         * uses {@link #tls}'s certificate). The slots' URLs start with {@link #fileUploadUrl}, or
         * else with {@code http://HOST:PORT} ({@code https} for {@code tls:}), HOST being the
         * endpoint's interface or, without one, the domain. May be called more than once.
         *
         * @throws IllegalArgumentException if the endpoint is malformed
         */
        public Builder fileUploadListen(String endpoint) {
            dev.twine.core.Endpoint.parseServer(Objects.requireNonNull(endpoint, "endpoint"));
            uploadListen.add(endpoint);
            return this;
        }

        /**
         * Serves HTTP File Upload (XEP-0363) with slot URLs under {@code baseUrl}, the address
         * clients reach the upload's HTTP side at ({@code https://upload.example.org:5443}, or one
         * with a path, behind a proxy): {@link #fileUploadListen}'s endpoint or
         * {@link XmppServer#uploadHandler()} served elsewhere.
         *
         * @throws IllegalArgumentException if it is not an absolute http or https URL without query
         */
        public Builder fileUploadUrl(String baseUrl) {
            java.net.URI u;
            try {
                u = new java.net.URI(Objects.requireNonNull(baseUrl, "baseUrl"));
            } catch (java.net.URISyntaxException e) {
                throw new IllegalArgumentException("not a URL: " + baseUrl, e);
            }
            if (!("http".equals(u.getScheme()) || "https".equals(u.getScheme())) || u.getHost() == null
                    || u.getRawQuery() != null || u.getRawFragment() != null) {
                throw new IllegalArgumentException("expected http://HOST[:PORT][/PATH] or https://..., got " + baseUrl);
            }
            this.uploadUrl = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
            return this;
        }

        /**
         * Where the file upload service lives (default {@code upload.DOMAIN}); files are kept
         * under the data directory's {@code upload/}.
         *
         * @throws IllegalArgumentException if {@code domain} is not a valid XMPP domain
         */
        public Builder fileUploadDomain(String domain) {
            this.uploadDomain = new Jid("", Objects.requireNonNull(domain, "domain"), "").domain();
            return this;
        }

        /**
         * What file upload accepts (defaults: 100 MiB per file, 1 GiB held per user, 10 GiB in
         * all, 30 slots per user a minute, files kept 7 days). A slot for a larger file gets
         * {@code not-acceptable} with {@code <file-too-large/>} (XEP-0363 §4.1); past the quota or
         * the total, {@code resource-constraint}; past the rate, {@code resource-constraint} with
         * {@code <retry stamp/>}. A file is deleted once older than {@code retention}.
         *
         * @throws IllegalArgumentException if any is not positive
         */
        public Builder fileUploadLimits(long maxFileBytes, long quotaBytes, long totalBytes, int slots, Duration per, Duration retention) {
            this.uploadLimits = new Upload.Limits(maxFileBytes, quotaBytes, totalBytes, slots, per, retention);
            return this;
        }

        /** Serves no group chat: stanzas to {@code conference.DOMAIN} are treated as for any other remote domain. */
        public Builder withoutGroupChat() {
            this.groupChat = false;
            return this;
        }

        /**
         * What the group chat service may hold (defaults: 1,000 rooms, 200 occupants per room, 50
         * messages of history per room). Creating one room more gets {@code resource-constraint};
         * joining a full room {@code service-unavailable} (XEP-0045 §7.2.10; owners and admins
         * still get in); a room keeps only its latest messages, and an owner cannot configure a
         * longer history ({@code not-acceptable}).
         *
         * @throws IllegalArgumentException if rooms or occupants is not positive, or history negative
         */
        public Builder groupChatLimits(int rooms, int occupants, int history) {
            this.groupChatLimits = new Muc.Limits(rooms, occupants, history, groupChatLimits.affiliations());
            return this;
        }

        /**
         * The most affiliations (owners, admins, members, outcasts) one room lists (default
         * 10,000). A change through {@code muc#admin}, or an invitation to a members-only room,
         * that would list more gets {@code resource-constraint} and changes nothing.
         *
         * @throws IllegalArgumentException if not positive
         */
        public Builder groupChatAffiliationLimit(int max) {
            this.groupChatLimits = new Muc.Limits(groupChatLimits.rooms(), groupChatLimits.occupants(), groupChatLimits.history(), max);
            return this;
        }

        /**
         * What one user's personal PubSub service (XEP-0163 PEP) may hold (defaults: 256 items per
         * node, 128 KiB per item, 100 nodes per user). Every account's bare JID is such a service:
         * avatars, OMEMO keys, bookmarks and nicknames are published there, kept under the data
         * directory's {@code pep/} and written to disk before a publish is answered. An item
         * larger than {@code itemBytes} gets {@code not-acceptable} with {@code <payload-too-big/>},
         * a node past {@code nodesPerUser} {@code policy-violation} with
         * {@code <max-nodes-exceeded/>}, and a node configured to keep more than
         * {@code itemsPerNode} items (what {@code pubsub#max_items} {@code max} means)
         * {@code policy-violation} with {@code <max-items-exceeded/>}; past a node's own maximum the
         * oldest item goes.
         *
         * @throws IllegalArgumentException if one is not positive
         */
        public Builder pepLimits(int itemsPerNode, int itemBytes, int nodesPerUser) {
            this.pepLimits = new Pep.Limits(itemsPerNode, itemBytes, nodesPerUser);
            return this;
        }

        /**
         * The most bytes of XML one user's vCard (XEP-0054 vcard-temp) may have (default 128 KiB);
         * a larger one is refused with {@code not-acceptable}. vCards are kept under the data
         * directory's {@code vcard/}, written to disk before a set is answered.
         *
         * @throws IllegalArgumentException if not positive
         */
        public Builder vcardLimit(int bytes) {
            if (bytes < 1) {
                throw new IllegalArgumentException("vCard limit must be positive");
            }
            this.vcardBytes = bytes;
            return this;
        }

        /**
         * An endpoint for clients over WebSocket (RFC 7395; repeatable): HTTP/1.1 upgrades to
         * {@code /xmpp-websocket} with the {@code xmpp} subprotocol, then the same client
         * sessions as {@link #listen} serves, with one stanza per WebSocket message. TLS is the
         * endpoint's: {@code tls:PORT} (wss, with {@link #tls}'s pair unless it names its own), or
         * {@code tcp:PORT} plaintext (ws; behind a TLS proxy, say), where logins need
         * {@link #requireTls requireTls(false)}; STARTTLS is never offered on WebSocket. A message
         * may be as large as a stanza ({@link #limits(int, int, int)}); the connection limits are
         * {@link #limits(ConnectionLimits)}'s.
         *
         * @param endpoint a server endpoint, e.g. {@code tls:5281:interface=127.0.0.1}
         * @return this builder
         */
        public Builder websocketListen(String endpoint) {
            websocketListen.add(Objects.requireNonNull(endpoint, "endpoint"));
            return this;
        }

        /**
         * An {@code Origin} allowed to open WebSocket sessions (RFC 6455 §10.2), such as
         * {@code https://chat.example.org}; repeatable. With none, any origin (or none) is
         * allowed; with some, another origin's upgrade gets 403.
         *
         * @param origin the origin, compared exactly
         * @return this builder
         */
        public Builder websocketOrigin(String origin) {
            websocketOrigins.add(Objects.requireNonNull(origin, "origin"));
            return this;
        }

        /**
         * An endpoint for incoming server-to-server streams (RFC 6120; port 5269 by convention,
         * {@code tls:} for direct TLS, XEP-0368); repeatable. STARTTLS is offered with
         * {@link #tls}'s certificate, and required unless {@link #requireTls} is false; peers
         * authenticate by SASL EXTERNAL when their TLS client certificate verifies for their
         * domain (RFC 6120 §6.4, XEP-0178; {@link #s2sTrust}), else by Server Dialback
         * (XEP-0220), which needs {@link #s2sConnector} to reach the claimed domain's server back.
         */
        public Builder s2sListen(String endpoint) {
            s2sListen.add(Objects.requireNonNull(endpoint, "endpoint"));
            return this;
        }

        /**
         * Turns outgoing federation on: stanzas for a domain this server does not host go to
         * that domain's server, reached through {@code connector} (see {@link S2sConnector}), on
         * one stream per local and remote domain pair, opened by the first stanza, authenticated
         * by Server Dialback and closed after {@link #s2sTimeouts idle time}. Without it such
         * stanzas bounce with {@code remote-server-not-found}.
         */
        public Builder s2sConnector(S2sConnector connector) {
            this.s2sConnector = Objects.requireNonNull(connector, "connector");
            return this;
        }

        /**
         * The Server Dialback secret keys are made from (XEP-0185: HMAC-SHA256 of the remote
         * domain, ours and the stream id); default: a random one per start, which is fine for one
         * server, but every node serving the domain needs the same, and keys a peer holds across a
         * restart then fail (it reconnects).
         */
        public Builder dialbackSecret(String secret) {
            if (secret.isEmpty()) {
                throw new IllegalArgumentException("the dialback secret must not be empty");
            }
            this.dialbackSecret = secret;
            return this;
        }

        /**
         * The certificates peers' certificates are checked against (a PEM file: a private
         * federation's CA, or the peers' own self-signed certificates); default: the JDK's trust
         * store. A certificate is valid for a domain if it chains to one of them and has the
         * domain as a DNS name (RFC 6125 §6.4, a wildcard for the leftmost label only).
         */
        public Builder s2sTrust(Path pemFile) {
            this.s2sTrust = Objects.requireNonNull(pemFile, "pemFile");
            return this;
        }

        /**
         * Whether a peer whose certificate is not valid for its domain is refused (default false:
         * it is logged, and Server Dialback alone authenticates it, as most servers federate).
         * The domains of {@link #dialbackAllowed} are accepted on dialback alone all the same.
         */
        public Builder requireValidCertificates(boolean required) {
            this.requireValidCertificates = required;
            return this;
        }

        /** Domains accepted on Server Dialback alone when {@link #requireValidCertificates} is on; repeatable. */
        public Builder dialbackAllowed(String domain) {
            dialbackAllowed.add(domain.toLowerCase(java.util.Locale.ROOT));
            return this;
        }

        /**
         * Federation limits: stanzas waiting for one outgoing stream to be set up (default 1,000;
         * one more bounces with {@code resource-constraint}), and incoming streams one remote
         * domain may have at once (default 8; another one's dialback gets
         * {@code resource-constraint}). Once a stream is up its stanzas wait in the same bounded
         * queue as a client's ({@link #outboundQueue}): a peer that stops reading is disconnected
         * and what waited for it bounces with {@code remote-server-timeout}.
         */
        public Builder s2sLimits(int queuedStanzas, int streamsPerDomain) {
            if (queuedStanzas < 1 || streamsPerDomain < 1) {
                throw new IllegalArgumentException("s2s limits must be positive");
            }
            this.s2sQueue = queuedStanzas;
            this.s2sStreamsPerDomain = streamsPerDomain;
            return this;
        }

        /**
         * Federation times: {@code timeout} bounds connecting to and negotiating with a peer, and
         * each read until a stream is authenticated (default 30 s; a peer slower than that gets
         * the waiting stanzas bounced with {@code remote-server-timeout}); an outgoing stream
         * with nothing to send for {@code idle} is closed (default 10 minutes).
         */
        public Builder s2sTimeouts(Duration timeout, Duration idle) {
            if (timeout.isNegative() || timeout.isZero() || idle.isNegative() || idle.isZero()) {
                throw new IllegalArgumentException("s2s timeouts must be positive");
            }
            this.s2sTimeout = timeout;
            this.s2sIdle = idle;
            return this;
        }

        /**
         * Makes the (unstarted) server.
         *
         * @throws IllegalStateException if the domain, the users or the data directory are
         *     missing, or file upload's domain or URL cannot be worked out (the message names the
         *     builder method)
         * @throws IOException if the data directory cannot be created
         */
        public XmppServer build() throws IOException {
            if (domain == null) {
                throw new IllegalStateException("domain(...) is required");
            }
            if (users == null) {
                throw new IllegalStateException("users(...) is required");
            }
            if (dataDir == null) {
                throw new IllegalStateException("dataDirectory(...) is required");
            }
            String mucDomain = groupChatDomain != null ? groupChatDomain : "conference." + domain;
            if (groupChat && mucDomain.equals(domain) || extensions.hosts(domain)) {
                throw new IllegalStateException("groupChat(...) and domainHandler(...) need a domain other than domain(...)");
            }
            String upDomain = uploadDomain != null ? uploadDomain : "upload." + domain;
            if ((uploadUrl != null || !uploadListen.isEmpty()) && (upDomain.equals(domain) || groupChat && upDomain.equals(mucDomain))) {
                throw new IllegalStateException("fileUploadDomain(...) needs a domain other than domain(...) and groupChat(...)");
            }
            if (uploadUrl == null && !uploadListen.isEmpty()
                    && !(dev.twine.core.Endpoint.parseServer(uploadListen.get(0)) instanceof dev.twine.core.Endpoint.Tcp
                    || dev.twine.core.Endpoint.parseServer(uploadListen.get(0)) instanceof dev.twine.core.Endpoint.Tls)) {
                throw new IllegalStateException("fileUploadUrl(...) is required when the upload listens on " + uploadListen.get(0));
            }
            if (listen.isEmpty()) {
                listen.add("tcp:5222:interface=127.0.0.1");
            }
            if (!s2sListen.isEmpty() && s2sConnector == null) {
                throw new IllegalStateException("s2sConnector(...) is required with s2sListen(...): dialback verifies peers through it");
            }
            return new XmppServer(this);
        }
    }
}
