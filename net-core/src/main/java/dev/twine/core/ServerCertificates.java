package dev.twine.core;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.StandardConstants;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * The certificates a server {@link Tls} offers, loaded from PEM files and chosen per handshake by
 * the name the client asked for (SNI, RFC 6066 §3).
 *
 * <p>A key manager that delegates to an immutable snapshot, swapped atomically by {@link #reload()},
 * rather than a rebuilt {@code SSLContext}: the context (and its session cache, ALPN and
 * client-auth settings) stays the one every socket was made from, so a reload cannot race a socket
 * being layered, and open connections are untouched (their handshake is over). Aliases carry the
 * snapshot's generation, and the previous snapshot is kept, so a handshake that chose an alias just
 * before a swap still gets a matching chain and key.
 */
final class ServerCertificates extends X509ExtendedKeyManager {
    /** One configured pair; {@code name} is null for the default, else a host name or {@code *.domain}. */
    record Source(String name, Path chain, Path key) {}

    private record Entry(String name, String alias, X509Certificate[] chain, PrivateKey key) {}

    private record Snapshot(long generation, List<Entry> entries, Map<Path, FileTime> stamps) {
        Entry byAlias(String alias) {
            for (Entry e : entries) {
                if (e.alias.equals(alias)) {
                    return e;
                }
            }
            return null;
        }
    }

    private final List<Source> sources;
    private final System.Logger log;
    private final boolean watch;
    private final Clock clock;
    private final ReentrantLock reloadLock = new ReentrantLock();
    private volatile Snapshot current;
    private volatile Snapshot previous;
    /** The file times of the last failed automatic reload, so its failure is logged once. */
    private volatile Map<Path, FileTime> failedStamps = Map.of();

    private ServerCertificates(List<Source> sources, System.Logger log, boolean watch, Clock clock, Snapshot first) {
        this.sources = sources;
        this.log = log;
        this.watch = watch;
        this.clock = clock;
        this.current = first;
        this.previous = first;
    }

    /**
     * Loads every pair.
     *
     * @throws IOException naming the file that is missing or malformed, or the key that does not
     *     match its certificate
     */
    static ServerCertificates load(List<Source> sources, System.Logger log, boolean watch, Clock clock) throws IOException {
        return new ServerCertificates(List.copyOf(sources), log, watch, clock, read(sources, 1, null));
    }

    /**
     * Reads the files again and, if they hold other certificates or keys, serves them to new
     * handshakes. All pairs or none: a bad file keeps every old pair.
     *
     * @return whether anything changed
     * @throws IOException naming the file and what is wrong with it (also an expired certificate)
     */
    boolean reload() throws IOException {
        reloadLock.lock();
        try {
            Snapshot old = current;
            Snapshot next = read(sources, old.generation + 1, clock.instant());
            if (sameMaterial(old, next)) {
                current = new Snapshot(old.generation, old.entries, next.stamps);
                return false;
            }
            previous = old;
            current = next;
            for (int i = 0; i < next.entries.size(); i++) {
                X509Certificate leaf = next.entries.get(i).chain[0];
                log.log(Level.INFO, "TLS certificate reloaded from {0}: {1}, valid until {2}",
                        sources.get(i).chain(), leaf.getSubjectX500Principal().getName(), leaf.getNotAfter().toInstant());
            }
            return true;
        } finally {
            reloadLock.unlock();
        }
    }

    /**
     * On each handshake when watching: if a file's modification time changed since it was read,
     * reloads; a failure is logged once per change of the files and the old pairs stay. Costs one
     * {@code stat} per file while nothing changes.
     */
    private void followFiles() {
        if (!watch) {
            return;
        }
        Map<Path, FileTime> now = stamps(sources);
        if (now.equals(current.stamps) || now.equals(failedStamps) || !reloadLock.tryLock()) {
            return; // unchanged, already refused, or another handshake is reloading
        }
        try {
            if (now.equals(current.stamps)) {
                return;
            }
            reload();
        } catch (IOException e) {
            failedStamps = now;
            log.log(Level.WARNING, "TLS certificate not reloaded, still serving the previous one: {0}", e.getMessage());
        } finally {
            reloadLock.unlock();
        }
    }

    private static Snapshot read(List<Source> sources, long generation, Instant notExpiredAt) throws IOException {
        // the times first: a file replaced while it is read is read again on the next handshake
        Map<Path, FileTime> stamps = stamps(sources);
        List<Entry> entries = new ArrayList<>();
        for (int i = 0; i < sources.size(); i++) {
            Source s = sources.get(i);
            List<X509Certificate> chain = Tls.readCertificates(s.chain());
            PrivateKey key = Tls.readPrivateKey(s.key());
            Tls.requireMatch(key, chain.get(0), s.chain(), s.key());
            if (notExpiredAt != null && chain.get(0).getNotAfter().toInstant().isBefore(notExpiredAt)) {
                throw new IOException(s.chain() + ": the certificate expired at " + chain.get(0).getNotAfter().toInstant());
            }
            entries.add(new Entry(s.name(), "twine-" + generation + "-" + i, chain.toArray(new X509Certificate[0]), key));
        }
        return new Snapshot(generation, List.copyOf(entries), stamps);
    }

    private static Map<Path, FileTime> stamps(List<Source> sources) {
        Map<Path, FileTime> out = new LinkedHashMap<>();
        for (Source s : sources) {
            for (Path p : List.of(s.chain(), s.key())) {
                try {
                    out.put(p, Files.getLastModifiedTime(p));
                } catch (IOException e) {
                    out.put(p, FileTime.fromMillis(Long.MIN_VALUE)); // missing: read() will say so
                }
            }
        }
        return out;
    }

    private static boolean sameMaterial(Snapshot a, Snapshot b) {
        for (int i = 0; i < a.entries.size(); i++) {
            Entry x = a.entries.get(i);
            Entry y = b.entries.get(i);
            if (!Arrays.equals(x.chain, y.chain) || !Arrays.equals(x.key.getEncoded(), y.key.getEncoded())) {
                return false;
            }
        }
        return true;
    }

    /**
     * The alias for a handshake: the pairs for exactly the requested name, else those whose
     * wildcard matches it, else the default; among them the first whose key suits
     * {@code keyType}. Null if none does (the JDK then tries its next key type).
     */
    private String choose(String keyType, SSLSession handshake) {
        followFiles();
        String requested = requestedName(handshake);
        List<Entry> entries = current.entries;
        List<Entry> level = matching(entries, requested, false);
        if (level.isEmpty()) {
            level = matching(entries, requested, true);
        }
        if (level.isEmpty()) {
            level = entries.stream().filter(e -> e.name == null).toList();
        }
        for (Entry e : level) {
            if (suits(e.key, keyType)) {
                return e.alias;
            }
        }
        return null;
    }

    private static List<Entry> matching(List<Entry> entries, String requested, boolean wildcards) {
        if (requested == null) {
            return List.of();
        }
        List<Entry> out = new ArrayList<>();
        for (Entry e : entries) {
            if (e.name != null && e.name.startsWith("*.") == wildcards && nameMatches(e.name, requested)) {
                out.add(e);
            }
        }
        return out;
    }

    /**
     * Whether a configured name covers a requested one, ignoring ASCII case; a wildcard
     * {@code *.example.org} stands for exactly one leftmost label (RFC 6125 §6.4.3).
     */
    static boolean nameMatches(String configured, String requested) {
        String c = configured.toLowerCase(Locale.ROOT);
        String r = requested.toLowerCase(Locale.ROOT);
        if (!c.startsWith("*.")) {
            return c.equals(r);
        }
        int dot = r.indexOf('.');
        return dot > 0 && r.substring(dot).equals(c.substring(1));
    }

    private static String requestedName(SSLSession handshake) {
        if (handshake instanceof ExtendedSSLSession x) {
            for (SNIServerName n : x.getRequestedServerNames()) {
                if (n.getType() == StandardConstants.SNI_HOST_NAME && n instanceof SNIHostName h) {
                    String name = h.getAsciiName();
                    return name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
                }
            }
        }
        return null;
    }

    /** Whether a key can serve a JDK key type ({@code "EC"}, {@code "RSA"}, {@code "EdDSA"}, {@code "EC_RSA"}...). */
    private static boolean suits(PrivateKey key, String keyType) {
        int underscore = keyType.indexOf('_');
        String wanted = underscore > 0 ? keyType.substring(0, underscore) : keyType;
        return family(key.getAlgorithm()).equals(family(wanted));
    }

    private static String family(String algorithm) {
        return switch (algorithm) {
            case "Ed25519", "Ed448", "EdDSA" -> "EdDSA";
            default -> algorithm;
        };
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        return choose(keyType, socket instanceof SSLSocket s ? s.getHandshakeSession() : null);
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
        return choose(keyType, engine == null ? null : engine.getHandshakeSession());
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
        return current.entries.stream().filter(e -> suits(e.key, keyType)).map(Entry::alias).toArray(String[]::new);
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
        Entry e = find(alias);
        return e == null ? null : e.chain.clone();
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
        Entry e = find(alias);
        return e == null ? null : e.key;
    }

    private Entry find(String alias) {
        Entry e = current.byAlias(alias);
        return e != null ? e : previous.byAlias(alias);
    }

    // as a client (Tls#asClientAcceptingAnyCertificate: a server that is also a client of its
    // peers, as XMPP servers are, RFC 6120 §13.7.2): the default certificates, whatever the issuers

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
        return current.entries.stream().filter(e -> e.name == null && suits(e.key, keyType)).map(Entry::alias).toArray(String[]::new);
    }

    @Override
    public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
        followFiles();
        for (String keyType : keyTypes) {
            for (Entry e : current.entries) {
                if (e.name == null && suits(e.key, keyType)) {
                    return e.alias;
                }
            }
        }
        return null;
    }

    @Override
    public String chooseEngineClientAlias(String[] keyTypes, Principal[] issuers, SSLEngine engine) {
        return chooseClientAlias(keyTypes, issuers, null);
    }
}
