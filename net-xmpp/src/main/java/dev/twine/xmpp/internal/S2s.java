package dev.twine.xmpp.internal;

import dev.twine.core.Connection;
import dev.twine.core.Scope;
import dev.twine.core.Tls;
import dev.twine.xmpp.Element;
import dev.twine.xmpp.S2sConnector;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * Server-to-server federation for one {@link Hub} (RFC 6120 §4, §5, §13.9.3): the outgoing
 * streams ({@link S2sOut}, one per local and remote domain pair, started by the first stanza and
 * closed when idle), the incoming streams ({@link S2sIn}), and what both need: Server Dialback
 * keys (XEP-0220, generated as XEP-0185 says), the peer certificate check (RFC 6125) and the
 * policy that decides whether a peer whose certificate does not verify may still federate.
 *
 * <p>Authentication, over TLS, is by certificate where it can be (SASL EXTERNAL, RFC 6120 §6.4
 * and §13.7.2, as XEP-0178 profiles it for servers), else by dialback: both ends present their
 * certificate, an incoming stream offers EXTERNAL when the peer's certificate verifies for the
 * stream's {@code from} domain, and an outgoing one uses it when offered, falling back to
 * dialback when it is not or fails. The remote domain's certificate is also checked on the
 * streams this server opens: the outgoing stream itself, and the one it opens to verify an
 * incoming stream's key with the claimed domain's authoritative server. By default a certificate
 * that does not verify is logged and dialback alone decides (as Prosody's
 * {@code s2s_secure_auth = false}); with {@link Config#requireValidCertificates} it is refused
 * unless the domain is in {@link Config#dialbackAllowed}.
 */
public final class S2s {
    private static final System.Logger LOG = System.getLogger(S2s.class.getName());
    static final String SERVER_NS = "jabber:server";
    static final String DB_NS = "jabber:server:dialback";
    static final String DB_FEATURE = "urn:xmpp:features:dialback";

    /**
     * What federation is configured with.
     *
     * @param connector how remote servers are reached
     * @param secret the dialback secret (XEP-0185 §3); the same on every node serving the domain
     * @param trust a PEM file of trusted certificates for peers' certificates, or null for the
     *     JDK's default trust store
     * @param requireValidCertificates whether a peer whose certificate does not verify is refused
     * @param dialbackAllowed domains accepted on dialback alone even when certificates are required
     * @param maxQueued stanzas that may wait for one outgoing stream to be ready
     * @param timeout connecting, negotiating and each read until a stream is authenticated
     * @param idle how long an outgoing stream stays open with nothing to send
     * @param maxIncomingPerDomain incoming streams one remote domain may have authenticated at once
     */
    public record Config(S2sConnector connector, String secret, Path trust, boolean requireValidCertificates,
            Set<String> dialbackAllowed, int maxQueued, Duration timeout, Duration idle, int maxIncomingPerDomain) {}

    final Hub hub;
    final Config config;
    private final byte[] hmacKey;
    /**
     * For the streams we open: presents our certificate (when the server's TLS configuration is
     * built from files) and accepts any in the handshake: {@link #certificateProblem} checks it after.
     */
    final Tls clientTls;
    /** For incoming streams: the server's certificate, and any peer certificate asked for, judged after. */
    final Tls serverTls;
    /** {@link #clientTls} with ALPN {@code xmpp-server}, for direct-TLS targets (XEP-0368 §4). */
    private final Tls directTls;
    /** Whether {@link #clientTls} presents a certificate, so that SASL EXTERNAL can be tried. */
    final boolean presentsCertificate;
    private final X509TrustManager trust;
    private final Scope scope = Scope.open("xmpp-s2s");
    private final ConcurrentHashMap<String, S2sOut> links = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Integer> incoming = new ConcurrentHashMap<>();

    /**
     * Federation for {@code hub}.
     *
     * @throws IOException if the trust file cannot be read
     */
    public S2s(Hub hub, Config config) throws IOException {
        this.hub = hub;
        this.config = config;
        // XEP-0185 §3: the HMAC key is the hex SHA-256 of the secret
        this.hmacKey = HexFormat.of().formatHex(sha256(config.secret().getBytes(StandardCharsets.UTF_8)))
                .getBytes(StandardCharsets.US_ASCII);
        this.trust = trustManager(config.trust());
        // TLS first protects the stream; whether a certificate authenticates the peer is decided
        // after the handshake (certificateProblem, accept), once the stream has named the domain
        Tls presenting = null;
        Tls requesting = hub.tls;
        if (hub.tls != null) {
            try {
                presenting = hub.tls.asClientAcceptingAnyCertificate();
                requesting = hub.tls.requestingAnyClientCertificate();
            } catch (IllegalStateException e) {
                LOG.log(System.Logger.Level.INFO, "the TLS configuration's keys cannot be reached: no SASL EXTERNAL on s2s streams");
            }
        }
        this.presentsCertificate = presenting != null;
        this.clientTls = presenting != null ? presenting : Tls.clientAcceptingAnyCertificate();
        this.serverTls = requesting;
        this.directTls = clientTls.withAlpn("xmpp-server");
    }

    /** The TLS configuration of incoming streams, for the direct-TLS listeners too (XEP-0368). */
    public Tls serverTls() {
        return serverTls;
    }

    /** A random dialback secret, for servers configured without one. */
    public static String randomSecret() {
        byte[] b = new byte[32];
        new SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    /** The route to a remote domain: each stanza goes to the stream of its sender's domain and that one. */
    Route route(String remote) {
        return new Route() {
            @Override
            public String domain() {
                return remote;
            }

            @Override
            public void send(Element stanza) {
                String from = Stanzas.jidOrNull(stanza, "from") instanceof dev.twine.xmpp.Jid j ? j.domain() : hub.domain;
                link(from, remote).send(stanza);
            }
        };
    }

    /** The outgoing stream of a domain pair, made (not yet connected) if there is none. */
    S2sOut link(String local, String remote) {
        return links.computeIfAbsent(local + " " + remote, k -> new S2sOut(this, local, remote));
    }

    /** A link that ended leaves the table, so the next stanza opens a new stream. */
    void ended(S2sOut link) {
        links.remove(link.local + " " + link.remote, link);
    }

    /** The number of outgoing streams (connecting or ready). */
    public int outgoingCount() {
        return links.size();
    }

    /**
     * Runs a task of federation's own (an outgoing stream) on a virtual thread of its scope;
     * false if the server is stopping and nothing was started.
     */
    boolean fork(String name, Runnable task) {
        try {
            return scope.fork(name, task::run).state() != dev.twine.core.Handle.State.CANCELLED;
        } catch (IllegalStateException stopped) {
            return false; // the scope is closed
        }
    }

    /** Connects to a remote domain's server through the configured connector. */
    Connection connect(String remote) throws IOException, InterruptedException {
        try {
            return config.connector().connect(remote, directTls);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "the s2s connector failed for " + remote, e);
            throw new IOException("the s2s connector failed for " + remote + ": " + e, e);
        }
    }

    /** The stanza error for an outgoing stream that failed so (RFC 6120 §8.3.3.15, §8.3.3.16). */
    static String condition(Exception failure) {
        return failure instanceof SocketTimeoutException ? "remote-server-timeout" : "remote-server-not-found";
    }

    /** Whether we host {@code domain}: ours, a connected component's or an in-process handler's. */
    boolean hosts(String domain) {
        return hub.isHosted(domain);
    }

    /** Shuts every stream down (the server is stopping). */
    public void stop() {
        scope.cancel();
        scope.close();
    }

    // ---------------------------------------------------------------- incoming stream counts

    /** Counts an authenticated incoming stream of {@code remote}; false past the cap. */
    boolean admitIncoming(String remote) {
        boolean[] ok = new boolean[1];
        incoming.compute(remote, (k, n) -> {
            int now = n == null ? 0 : n;
            ok[0] = now < config.maxIncomingPerDomain();
            return ok[0] ? now + 1 : n;
        });
        return ok[0];
    }

    void releaseIncoming(String remote) {
        incoming.computeIfPresent(remote, (k, n) -> n <= 1 ? null : n - 1);
    }

    // ---------------------------------------------------------------- dialback (XEP-0220, XEP-0185)

    /** XEP-0185 §3: HMAC-SHA256(hex SHA-256(secret), receiving + ' ' + originating + ' ' + stream id), in hex. */
    String key(String receiving, String originating, String streamId) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(hmacKey, "HmacSHA256"));
            return HexFormat.of().formatHex(mac.doFinal((receiving + " " + originating + " " + streamId).getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Whether a key another server presents to us, as the authoritative server, is ours. */
    boolean keyMatches(String receiving, String originating, String streamId, String key) {
        return MessageDigest.isEqual(key(receiving, originating, streamId).getBytes(StandardCharsets.US_ASCII),
                key.strip().toLowerCase(Locale.ROOT).getBytes(StandardCharsets.US_ASCII));
    }

    // ---------------------------------------------------------------- certificates (RFC 6125)

    /**
     * Why a peer's certificate chain does not authenticate {@code domain}: not trusted, or no
     * DNS-ID matching the domain (RFC 6125 §6.4; the common name is not used). Empty if it does.
     */
    Optional<String> certificateProblem(String domain, List<X509Certificate> chain) {
        if (chain.isEmpty()) {
            return Optional.of("no certificate");
        }
        try {
            trust.checkServerTrusted(chain.toArray(new X509Certificate[0]), "UNKNOWN");
        } catch (CertificateException e) {
            return Optional.of("not trusted"); // the JDK's reason is a path-building stack of words
        }
        return matchesDomain(chain.get(0), domain) ? Optional.empty() : Optional.of("not issued for " + domain);
    }

    /** RFC 6125 §6.4.3: a dNSName equal to the domain, or a wildcard standing for its leftmost label only. */
    static boolean matchesDomain(X509Certificate cert, String domain) {
        String d = domain.toLowerCase(Locale.ROOT);
        try {
            if (cert.getSubjectAlternativeNames() == null) {
                return false;
            }
            for (List<?> san : cert.getSubjectAlternativeNames()) {
                if (!Integer.valueOf(2).equals(san.get(0))) {
                    continue; // dNSName only
                }
                String name = san.get(1).toString().toLowerCase(Locale.ROOT);
                if (name.equals(d)) {
                    return true;
                }
                if (name.startsWith("*.") && d.indexOf('.') > 0 && d.substring(d.indexOf('.') + 1).equals(name.substring(2))) {
                    return true;
                }
            }
        } catch (CertificateException e) {
            return false;
        }
        return false;
    }

    /**
     * Whether a peer whose certificate was checked may go on to authenticate; a refusal is logged
     * on {@code dev.twine.xmpp.internal.S2s}.
     */
    boolean accept(String stream, String domain, Optional<String> problem, boolean tls) {
        if (!tls || problem.isEmpty() || !config.requireValidCertificates() || config.dialbackAllowed().contains(domain)) {
            return true;
        }
        LOG.log(System.Logger.Level.WARNING, stream + ": refused, certificate of " + domain + " " + problem.get()
                + " and valid certificates are required");
        return false;
    }

    /** How a stream's peer was secured, for the one log line per stream. */
    static String security(String domain, Optional<String> problem, boolean tls) {
        if (!tls) {
            return "no TLS (plaintext allowed)";
        }
        return "TLS, certificate of " + domain + " " + problem.orElse("valid");
    }

    /** Logs, once per stream, how it was authenticated. */
    static void chosen(String stream, String security, String method) {
        LOG.log(System.Logger.Level.INFO, stream + ": " + security + ", " + method);
    }

    private static X509TrustManager trustManager(Path pem) throws IOException {
        try {
            TrustManagerFactory f = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            if (pem == null) {
                f.init((KeyStore) null);
            } else {
                KeyStore ks = KeyStore.getInstance("PKCS12");
                ks.load(null, null);
                int i = 0;
                try (InputStream in = Files.newInputStream(pem)) {
                    for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                        ks.setCertificateEntry("peer-" + i++, c);
                    }
                }
                if (i == 0) {
                    throw new IOException(pem + ": no certificates");
                }
                f.init(ks);
            }
            for (TrustManager t : f.getTrustManagers()) {
                if (t instanceof X509TrustManager x) {
                    return x;
                }
            }
            throw new IOException("no X.509 trust manager");
        } catch (GeneralSecurityException e) {
            throw new IOException((pem == null ? "the default trust store" : pem.toString()) + ": " + e.getMessage(), e);
        }
    }

    private static byte[] sha256(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
