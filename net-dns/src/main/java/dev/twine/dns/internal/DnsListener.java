package dev.twine.dns.internal;

import dev.twine.core.Binding;
import dev.twine.core.Connection;
import dev.twine.core.DrainingException;
import dev.twine.core.Endpoint;
import dev.twine.core.Frames;
import dev.twine.core.Scope;
import dev.twine.core.Server;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.BindException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.SocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;

/**
 * What {@link dev.twine.dns.DnsServer} runs: one core {@link Server} with a datagram handler
 * (UDP) and a connection handler (TCP, 2-byte length frames, RFC 1035 §4.2.2), the zones in an
 * atomic reference swapped by reloads, and the watcher.
 */
public final class DnsListener {
    private static final System.Logger LOG = System.getLogger("dev.twine.dns");
    /** RFC 7766 §6.2.3: idle TCP connections are closed after a while (seconds, not minutes). */
    private static final Duration TCP_IDLE = Duration.ofSeconds(10);
    private static final List<DnsListener> SIGHUP = new CopyOnWriteArrayList<>();
    private static final ReentrantLock SIGNAL_LOCK = new ReentrantLock();
    private static boolean signalInstalled;
    private static volatile boolean signalWorks;

    private final List<Path> files;
    private final List<Endpoint> endpoints;
    private final Duration watch;
    private final boolean sighup;
    private final AtomicReference<ZoneSet> zones = new AtomicReference<>();
    private final AtomicReference<String> reloadError = new AtomicReference<>();
    private final AtomicLong reloads = new AtomicLong();
    private final ReentrantLock reloadLock = new ReentrantLock();
    private final Responder responder;
    private final Forwarder forwarder;
    private Server server;
    private Scope watcher;

    public DnsListener(List<Path> files, List<Endpoint> endpoints, List<InetAddress> transfers, InetSocketAddress forward,
            Duration watch, boolean sighup, int cacheSize, Duration upstreamTimeout, Clock clock) {
        this(files, endpoints, transfers, forward, AddressBlock.LOOPBACK, watch, sighup, cacheSize, upstreamTimeout, clock);
    }

    /**
     * @param forwardAllow the clients the forwarder serves (an empty list: none); the others get
     *     REFUSED for names outside the zones
     */
    public DnsListener(List<Path> files, List<Endpoint> endpoints, List<InetAddress> transfers, InetSocketAddress forward,
            List<AddressBlock> forwardAllow, Duration watch, boolean sighup, int cacheSize, Duration upstreamTimeout,
            Clock clock) {
        this.files = List.copyOf(files);
        this.endpoints = List.copyOf(endpoints);
        this.watch = watch;
        this.sighup = sighup;
        try {
            zones.set(load(this.files));
        } catch (ZoneFileException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        Set<InetAddress> allowed = Set.copyOf(transfers);
        this.forwarder = forward == null ? null : new Forwarder(new Exchanger(List.of(forward), upstreamTimeout, 2), clock, cacheSize);
        List<AddressBlock> recursion = List.copyOf(forwardAllow);
        this.responder = new Responder(zones::get, forwarder, allowed::contains,
                peer -> recursion.stream().anyMatch(b -> b.contains(peer)));
    }

    /** The request path (for tests). */
    public Responder responder() {
        return responder;
    }

    /** The forwarder, if any (for tests). */
    public Optional<Forwarder> forwarder() {
        return Optional.ofNullable(forwarder);
    }

    static ZoneSet load(List<Path> files) throws ZoneFileException {
        List<Zone> list = new ArrayList<>();
        for (Path f : files) {
            list.add(Zone.load(f));
        }
        return new ZoneSet(list);
    }

    public void start() throws IOException {
        IOException last = null;
        // tcp:0 and udp:0 on one interface share a port: pick one free for both, retry on a race
        for (int attempt = 0; attempt < 5; attempt++) {
            Server.Builder b = Server.builder("dns")
                    .handler(this::serveTcp)
                    .datagramHandler(d -> responder.answerUdp(d.payload(), address(d.sender())))
                    .maxDatagramsInFlight(4096)
                    // each TCP connection may buffer a 64 KiB frame: bound them (RFC 7766 §6.2.2)
                    .maxConnections(1024)
                    .readTimeout(TCP_IDLE)
                    .writeTimeout(Duration.ofSeconds(10));
            for (Endpoint e : samePort(endpoints)) {
                b.listen(e);
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
        if (!watch.isZero()) {
            watcher = Scope.open("dns-watch");
            watcher.fork("dns-watch", this::watchLoop);
        }
        if (sighup) {
            installSighup(this);
        }
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
                    out.set(j, new Endpoint.Udp(u.host(), port));
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
                frames.write(conn.output(), a);
            }
            conn.flush();
        }
    }

    public boolean reload() {
        reloadLock.lock();
        try {
            ZoneSet fresh = load(files);
            zones.set(fresh);
            reloadError.set(null);
            reloads.incrementAndGet();
            LOG.log(Level.INFO, "dns: reloaded {0} zone(s)", fresh.zones().size());
            return true;
        } catch (ZoneFileException e) {
            reloadError.set(e.getMessage());
            LOG.log(Level.ERROR, "dns: reload failed, keeping the old zones: {0}", e.getMessage());
            return false;
        } finally {
            reloadLock.unlock();
        }
    }

    public Optional<String> lastReloadError() {
        return Optional.ofNullable(reloadError.get());
    }

    public long reloads() {
        return reloads.get();
    }

    /** The zone files and, one level deep, the files they {@code $INCLUDE} (RFC 1035 §5.1). */
    private List<Path> watchedFiles() {
        List<Path> out = new ArrayList<>(files);
        for (Path f : files) {
            try (var lines = Files.lines(f)) {
                lines.map(String::trim).filter(l -> l.regionMatches(true, 0, "$INCLUDE", 0, 8)).forEach(l -> {
                    String[] w = l.split("\\s+");
                    if (w.length >= 2) {
                        Path inc = Path.of(w[1]);
                        Path dir = f.toAbsolutePath().getParent();
                        out.add(inc.isAbsolute() || dir == null ? inc : dir.resolve(inc));
                    }
                });
            } catch (IOException | java.io.UncheckedIOException | java.nio.file.InvalidPathException e) {
                // unreadable now: the reload reports it with its line
            }
        }
        return out;
    }

    private List<Object> stamps() {
        List<Object> out = new ArrayList<>();
        for (Path f : watchedFiles()) {
            try {
                FileTime t = Files.getLastModifiedTime(f);
                out.add(t.toMillis() + "/" + Files.size(f));
            } catch (IOException e) {
                out.add("missing");
            }
        }
        return out;
    }

    private void watchLoop() throws InterruptedException {
        List<Object> seen = stamps();
        while (!Thread.currentThread().isInterrupted()) {
            Thread.sleep(watch);
            List<Object> now = stamps();
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
                sun.misc.Signal.handle(new sun.misc.Signal("HUP"), s -> {
                    for (DnsListener each : SIGHUP) {
                        each.reload();
                    }
                });
                signalWorks = true;
            } catch (IllegalArgumentException | UnsupportedOperationException unsupported) {
                LOG.log(Level.WARNING, "dns: SIGHUP cannot be handled here ({0}); use --watch", unsupported.getMessage());
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
