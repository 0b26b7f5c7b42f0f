package dev.twine.dns.internal;

import dev.twine.core.Binding;
import dev.twine.core.Connection;
import dev.twine.core.ConnectionHandler;
import dev.twine.core.ConnectionLimits;
import dev.twine.core.Datagram;
import dev.twine.core.DatagramHandler;
import dev.twine.core.DrainingException;
import dev.twine.core.Endpoint;
import dev.twine.core.Frames;
import dev.twine.core.Scope;
import dev.twine.core.Metrics;
import dev.twine.core.Server;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.BindException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.ReentrantLock;

/**
 * What {@link dev.twine.dns.DnsServer} runs: one core {@link Server} with a datagram handler
 * (UDP) and a connection handler (TCP, 2-byte length frames, RFC 1035 §4.2.2) over one
 * {@link Responder}, and the zone files' watcher and SIGHUP reload.
 */
public final class DnsListener {
    private static final System.Logger LOG = System.getLogger("dev.twine.dns");
    /** RFC 7766 §6.2.3: idle TCP connections are closed after a while (seconds, not minutes). */
    private static final Duration TCP_IDLE = Duration.ofSeconds(10);
    /** Concurrent TCP connections one client address (IPv6: /64) may hold. */
    static final int TCP_PER_ADDRESS = 64;
    private static final List<DnsListener> SIGHUP = new CopyOnWriteArrayList<>();
    private static final ReentrantLock SIGNAL_LOCK = new ReentrantLock();
    private static boolean signalInstalled;
    private static volatile boolean signalWorks;

    private final List<Endpoint> endpoints;
    private final Duration watch;
    private final boolean sighup;
    private final Responder responder;
    /** Where the UDP and TCP server's series go, or null. */
    private final Metrics metrics;
    private final ZoneAuthority zones;
    private final Notifier notifier;
    private Server server;
    private Scope watcher;
    /** The TLS context of the DNS-over-TLS endpoints, made at the first start. */
    private dev.twine.core.Tls dot;
    /** Where NOTIFY messages are sent from once started, or null. */
    private Scope notifying;
    /** The secondary zones, kept current from their primaries once started. */
    private final List<Secondary> secondaries;
    /** Where the secondary zones' refresh loops (and the re-signing) run once started, or null. */
    private Scope refreshing;
    private final java.time.Clock resignClock;

    /**
     * @param responder the request path
     * @param zones the zone files to reload, or null if there are none
     * @param endpoints where to listen
     * @param watch how often to poll the zone files for changes; zero = never
     * @param sighup whether SIGHUP reloads the zone files
     * @param secondaries the secondary zones (of {@code zones}) to keep current once started
     * @param resignClock the clock zones are signed again on (every {@link Signer#RESIGN}), or
     *     null when they are not signed here
     */
    public DnsListener(Responder responder, ZoneAuthority zones, List<Endpoint> endpoints, Duration watch, boolean sighup,
            Metrics metrics, List<InetSocketAddress> notify, org.xbill.DNS.TSIG notifyKey, List<Secondary> secondaries,
            java.time.Clock resignClock) {
        this.resignClock = resignClock;
        this.secondaries = List.copyOf(secondaries);
        this.notifier = zones == null || notify.isEmpty() ? null
                : new Notifier(notify, zones.current(), Duration.ofSeconds(2), 3, notifyKey);
        this.metrics = metrics;
        this.responder = responder;
        this.zones = zones;
        this.endpoints = List.copyOf(endpoints);
        this.watch = watch;
        this.sighup = sighup;
    }

    /**
     * The UDP side: one datagram in, its answer out; an answer the cache holds is given at once
     * on the receiving thread ({@link DatagramHandler#tryHandle}), anything else on a thread of
     * its own, since an authority or the forwarder may block.
     */
    public DatagramHandler datagramHandler() {
        return new DatagramHandler() {
            @Override
            public Optional<byte[]> tryHandle(Datagram d) {
                return responder.answerUdpAtOnce(d.payload(), address(d.sender()));
            }

            @Override
            public Optional<byte[]> handle(Datagram d) {
                return responder.answerUdp(d.payload(), address(d.sender()));
            }
        };
    }

    /** The TCP side: one connection's queries, pipelined. */
    public ConnectionHandler connectionHandler() {
        return this::serveTcp;
    }

    public void start() throws IOException {
        responder.warmUp();
        IOException last = null;
        // tcp:0 and udp:0 on one interface share a port: pick one free for both, retry on a race
        for (int attempt = 0; attempt < 5; attempt++) {
            Server.Builder b = Server.builder("dns")
                    .handler(connectionHandler())
                    .datagramHandler(datagramHandler())
                    .maxDatagramsInFlight(4096)
                    // each TCP connection may buffer a 64 KiB frame: bound them (RFC 7766 §6.2.2)
                    .maxConnections(1024)
                    // and one client may hold only a few of them (RFC 7766 §6.2.2: servers limit
                    // connections per client), so a flood from one address cannot take them all
                    .limits(ConnectionLimits.builder().perAddress(TCP_PER_ADDRESS).build())
                    .readTimeout(TCP_IDLE)
                    .writeTimeout(Duration.ofSeconds(10));
            if (metrics != null) {
                b.metrics(metrics);
            }
            for (Endpoint e : samePort(endpoints)) {
                b.listen(dotEndpoint(e, b));
            }
            try {
                server = b.start();
                last = null;
                break;
            } catch (BindException e) {
                last = e;
            }
        }
        if (last != null) {
            throw last;
        }
        if (notifier != null) {
            notifying = Scope.open("dns-notify");
        }
        if (!secondaries.isEmpty() || resignClock != null) {
            refreshing = Scope.open("dns-secondary");
            for (Secondary z : secondaries) {
                refreshing.fork("dns-secondary " + z.origin(), z::run);
            }
            if (resignClock != null) {
                refreshing.fork("dns-resign", this::resignLoop);
            }
        }
        if (zones != null && !watch.isZero()) {
            watcher = Scope.open("dns-watch");
            // the files as they are now, not when the watcher's thread first runs: a change made
            // in between would otherwise be taken as the starting point and never reloaded
            List<Object> seen = zones.stamps();
            dev.twine.core.Task watching = () -> watchLoop(seen);
            watcher.fork("dns-watch", watching);
        }
        if (zones != null && sighup) {
            installSighup(this);
        }
    }

    /**
     * A {@code tls:} endpoint with its own certificate is DNS over TLS (RFC 7858): its context
     * offers ALPN {@code dot} (RFC 7858 §3.1, IANA's name), set as the server's context, and the
     * endpoint given without the files so the server uses it. All such endpoints take the
     * first one's certificate.
     */
    private Endpoint dotEndpoint(Endpoint e, Server.Builder b) throws IOException {
        if (!(e instanceof Endpoint.Tls t) || t.cert() == null) {
            return e;
        }
        if (dot == null) {
            dot = dev.twine.core.Tls.serverBuilder().certificate(t.cert(), t.key()).alpn("dot").build();
        }
        b.tls(dot);
        return new Endpoint.Tls(t.host(), t.port(), t.backlog(), null, null, t.trust());
    }

    private static List<Endpoint> samePort(List<Endpoint> endpoints) throws IOException {
        List<Endpoint> out = new ArrayList<>(endpoints);
        for (int i = 0; i < out.size(); i++) {
            if (!(out.get(i) instanceof Endpoint.Tcp t) || t.port() != 0) {
                continue;
            }
            for (int j = 0; j < out.size(); j++) {
                if (out.get(j) instanceof Endpoint.Udp u && u.port() == 0 && u.host().equals(t.host())) {
                    int port = freePort(t.host());
                    out.set(i, new Endpoint.Tcp(t.host(), port, t.backlog()));
                    out.set(j, new Endpoint.Udp(u.host(), port, u.receivers()));
                    break;
                }
            }
        }
        return out;
    }

    private static int freePort(String host) throws IOException {
        InetAddress addr = host.isEmpty() ? null : InetAddress.getByName(host);
        for (int i = 0; i < 20; i++) {
            try (ServerSocket s = new ServerSocket(0, 1, addr)) {
                int port = s.getLocalPort();
                DatagramSocket d;
                try {
                    d = new DatagramSocket(new InetSocketAddress(addr, port));
                } catch (IOException taken) {
                    continue; // the UDP port is in use: try another
                }
                d.close();
                return port;
            }
        }
        throw new BindException("no port free for both TCP and UDP on " + (host.isEmpty() ? "*" : host));
    }

    private static InetAddress address(SocketAddress a) {
        return a instanceof InetSocketAddress i ? i.getAddress() : null;
    }

    /** One TCP connection: queries in, answers out, pipelined, until the client closes or idles. */
    void serveTcp(Connection conn) throws IOException {
        Frames frames = Frames.u16(65_535);
        InetAddress peer = address(conn.remoteAddress());
        while (true) {
            byte[] query;
            try {
                query = frames.read(conn.input());
            } catch (DrainingException e) {
                return; // shutting down: DNS has no goodbye, closing is the answer (RFC 7766 §6.2.3)
            }
            if (query == null) {
                return;
            }
            List<byte[]> answers = responder.answerTcp(query, peer);
            if (answers.isEmpty()) {
                return; // nothing to say to garbage: close (RFC 7766 §6.2.4 lets servers do so)
            }
            for (byte[] a : answers) {
                // over TLS (DNS over TLS, RFC 7858) a padded query gets a padded answer (RFC 7830 §3)
                frames.write(conn.output(), conn.isSecure() ? Padding.pad(query, a) : a);
            }
            conn.flush();
        }
    }

    /**
     * Re-reads the zone files, then sends NOTIFY for each zone whose serial changed (RFC 1996 §4,
     * in the background once started); true with none to read.
     */
    public boolean reload() {
        if (zones == null) {
            return true;
        }
        if (!zones.reload()) {
            return false;
        }
        zonesChanged();
        return true;
    }

    /** Sends NOTIFY for each zone whose serial changed (RFC 1996 §4): after a reload or a secondary's transfer. */
    public void zonesChanged() {
        if (notifier != null) {
            try {
                notifier.changed(zones.current(), notifying);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt(); // the zones are in force; the notifying was cut short
            }
        }
    }

    public Optional<String> lastReloadError() {
        return zones == null ? Optional.empty() : zones.lastReloadError();
    }

    public long reloads() {
        return zones == null ? 0 : zones.reloads();
    }

    /** Signs the zones again (by reloading them) every {@link Signer#RESIGN} on the clock, long before their signatures expire. */
    private void resignLoop() throws InterruptedException {
        ReentrantLock lock = new ReentrantLock();
        java.util.concurrent.locks.Condition never = lock.newCondition();
        while (true) {
            lock.lock();
            try {
                dev.twine.core.Deadline.after(Signer.RESIGN, resignClock).awaitWhile(lock, never, () -> true);
            } finally {
                lock.unlock();
            }
            reload();
        }
    }

    private void watchLoop(List<Object> startingPoint) throws InterruptedException {
        List<Object> seen = startingPoint;
        while (!Thread.currentThread().isInterrupted()) {
            Thread.sleep(watch);
            List<Object> now = zones.stamps();
            if (!now.equals(seen)) {
                seen = now;
                reload();
            }
        }
    }

    private static void installSighup(DnsListener l) {
        SIGHUP.add(l);
        SIGNAL_LOCK.lock();
        try {
            if (signalInstalled) {
                return;
            }
            signalInstalled = true;
            try {
                sun.misc.SignalHandler before = sun.misc.Signal.handle(new sun.misc.Signal("HUP"), s -> {
                    // each server on its own thread: one slow reload (re-signing a large zone) must
                    // not hold up the others, nor the JVM's signal thread
                    for (DnsListener each : SIGHUP) {
                        Thread.ofVirtual().name("dns-sighup").start(each::reload);
                    }
                });
                // under nohup the JVM keeps an ignored SIGHUP ignored, and says so by returning SIG_IGN
                signalWorks = before != sun.misc.SignalHandler.SIG_IGN;
                if (!signalWorks) {
                    LOG.log(Level.WARNING, "dns: SIGHUP is ignored in this process (started under nohup?): "
                            + "it will not reload the zones; use --watch or restart");
                }
            } catch (IllegalArgumentException | UnsupportedOperationException unsupported) {
                LOG.log(Level.WARNING, "dns: SIGHUP cannot be handled here ({0}); reload by polling (watch) instead", unsupported.getMessage());
            }
        } finally {
            SIGNAL_LOCK.unlock();
        }
    }

    /** Whether a SIGHUP handler is in place in this JVM. */
    public static boolean sighupInstalled() {
        return signalWorks;
    }

    public List<Binding> bindings() {
        return server == null ? List.of() : server.bindings();
    }

    private void stopWatching() {
        SIGHUP.remove(this);
        if (refreshing != null) {
            refreshing.cancel();
            try {
                refreshing.close();
            } catch (RuntimeException ignored) {
                // the refresh loops end by interruption at shutdown, which is how they are meant to end
            }
        }
        if (notifying != null) {
            notifying.cancel();
            try {
                notifying.close();
            } catch (RuntimeException ignored) {
                // NOTIFY tasks end by interruption at shutdown, which is how they are meant to end
            }
        }
        if (watcher != null) {
            watcher.cancel();
            try {
                watcher.close();
            } catch (RuntimeException ignored) {
                // the watcher ends by interruption, which is how it is meant to end
            }
        }
    }

    public void shutdown(Duration grace) throws InterruptedException {
        stopWatching();
        if (server != null) {
            server.shutdown(grace);
        }
    }

    public void close() {
        stopWatching();
        if (server != null) {
            server.close();
        }
    }

    public void awaitTermination() throws InterruptedException {
        if (server != null) {
            server.awaitTermination();
        }
    }
}
