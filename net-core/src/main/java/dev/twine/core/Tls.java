package dev.twine.core;

import dev.twine.core.internal.SelfSigned;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;

/**
 * A TLS configuration for one side of a connection: an {@link SSLContext} restricted to TLS 1.3
 * and 1.2. Servers load PEM certificate chains and PEM PKCS#8 private keys; clients trust the
 * JDK's default store or a PEM file of certificates, and verify the server's host name.
 *
 * <p>Used by {@code tls:} endpoints and by {@link Connection#startTls(Tls)}.
 *
 * <pre>{@code
 * Tls tls = Tls.serverBuilder()
 *         .certificate(Path.of("example.org.pem"), Path.of("example.org.key"))          // the default
 *         .certificate("mail.example.net", Path.of("mail.pem"), Path.of("mail.key"))    // by SNI
 *         .alpn("imap")                                                               // RFC 7301
 *         .clientAuth(Tls.ClientAuth.REQUEST, Path.of("client-ca.pem"))               // optional
 *         .build();
 * }</pre>
 *
 * <h2>What a server configuration does</h2>
 * <ul>
 *   <li>It follows its files: a certificate renewed on disk is served from the next handshake
 *       on, and {@link #reload()} rereads them on demand (SIGHUP); see {@link ServerBuilder}.</li>
 *   <li>It picks a certificate by the name the client asks for (SNI), see
 *       {@link ServerBuilder#certificate(String, Path, Path)}.</li>
 *   <li>It agrees on an application protocol by ALPN ({@link Connection#applicationProtocol()}),
 *       and may ask for client certificates ({@link Connection#peerCertificates()}).</li>
 * </ul>
 *
 * <h2>Ending a TLS connection</h2>
 * Both sides end a session with a {@code close_notify} alert before closing the socket (RFC 8446
 * §6.1): {@link Connection#shutdownOutput()} sends it, and so does {@link Connection#close()},
 * waiting at most a second for a peer that does not read (it is skipped when another thread is
 * writing or the closing thread is interrupted). A peer that closes <em>without</em>
 * {@code close_notify} is read as an ordinary end of stream, as most TLS stacks do. That opens
 * the door to a truncation attack (an attacker who cuts the TCP connection makes the data end
 * early, RFC 8446 §6.1, RFC 5246 §7.2.1), which is harmless only where the protocol frames its own
 * end: an SMTP message ends with {@code <CRLF>.<CRLF>}, an IMAP literal has its length, an XMPP
 * stream its closing tag, and a protocol that reads a truncated command sees an incomplete one. A
 * protocol whose data runs "until the connection closes" must not trust such an end.
 *
 * <h2>Error handling</h2>
 * The loaders throw {@link IOException} whose message names the file and what is wrong with it
 * (missing, no PEM block, PKCS#1 instead of PKCS#8, unsupported key type, key not matching the
 * certificate).
 */
public final class Tls {
    private static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

    private final SSLContext context;
    private final boolean client;
    /** The server's reloadable certificates, or null (a client, or a context built elsewhere). */
    private final ServerCertificates certificates;
    /** ALPN protocol names (RFC 7301), preferred first; empty for no ALPN. */
    private final List<String> applicationProtocols;
    private final ClientAuth clientAuth;

    private Tls(SSLContext context, boolean client, ServerCertificates certificates, List<String> applicationProtocols,
            ClientAuth clientAuth) {
        this.context = context;
        this.client = client;
        this.certificates = certificates;
        this.applicationProtocols = applicationProtocols;
        this.clientAuth = clientAuth;
    }

    private Tls(SSLContext context, boolean client) {
        this(context, client, null, List.of(), ClientAuth.NONE);
    }

    /**
     * Whether a server asks TLS clients for a certificate (RFC 8446 §4.3.2), see
     * {@link ServerBuilder#clientAuth(ClientAuth, Path)}.
     */
    public enum ClientAuth {
        /** No certificate is asked for. */
        NONE,
        /** A certificate is asked for; a client that sends none is served without. */
        REQUEST,
        /** A certificate is required; a client that sends none fails the handshake. */
        REQUIRE
    }

    /**
     * A server configuration from a PEM certificate chain (leaf first) and a PEM PKCS#8 key
     * ({@code -----BEGIN PRIVATE KEY-----}; RSA, EC and Ed25519 keys), following the files as
     * {@link ServerBuilder#reloading(boolean)} describes: the same as
     * {@code Tls.serverBuilder().certificate(certificateChain, privateKey).build()}.
     *
     * @throws IOException naming the file that is missing or malformed
     */
    public static Tls server(Path certificateChain, Path privateKey) throws IOException {
        return serverBuilder().certificate(certificateChain, privateKey).build();
    }

    /**
     * Starts a server configuration: certificates from PEM files that are reloaded when they
     * change.
     *
     * <pre>{@code
     * Tls tls = Tls.serverBuilder()
     *         .certificate(Path.of("/etc/letsencrypt/live/example.org/fullchain.pem"),
     *                 Path.of("/etc/letsencrypt/live/example.org/privkey.pem"))
     *         .build();
     * // in a STARTTLS handler, each handshake gets the pair on disk now:
     * connection.startTls(tls);
     * // on SIGHUP, or whenever the operator says so (true if the files held a new pair):
     * boolean changed = tls.reload();
     * }</pre>
     *
     * @return a new builder
     */
    public static ServerBuilder serverBuilder() {
        return new ServerBuilder();
    }

    /**
     * A server configuration with a self-signed certificate kept in two files, for a server that
     * must offer TLS before its operator has a real certificate (clients trust it only if told
     * to). If both files exist and the certificate has not expired, they are loaded as
     * {@link #server(Path, Path)} does. Otherwise a new EC P-256 key and a certificate for
     * {@code names}, valid from a day ago for 825 days, replace them: each file is written to a
     * temporary file, synced and renamed into place; the key gets mode 0600 where POSIX
     * permissions exist. Parent directories are created.
     *
     * @param certificate the PEM certificate file
     * @param privateKey the PEM PKCS#8 key file
     * @param names DNS names or IP addresses for the certificate (subjectAltName); the first is
     *     also its common name
     * @throws IOException if the files cannot be read, written or loaded
     * @throws IllegalArgumentException if {@code names} is empty
     */
    public static Tls selfSigned(Path certificate, Path privateKey, List<String> names) throws IOException {
        Objects.requireNonNull(certificate, "certificate");
        Objects.requireNonNull(privateKey, "privateKey");
        if (names.isEmpty()) {
            throw new IllegalArgumentException("a self-signed certificate needs at least one name");
        }
        if (Files.exists(certificate) && Files.exists(privateKey)) {
            List<X509Certificate> chain = readCertificates(certificate);
            if (chain.get(0).getNotAfter().toInstant().isAfter(Instant.now())) {
                return server(certificate, privateKey);
            }
        }
        Instant now = Instant.now();
        SelfSigned.Pem pem;
        try {
            pem = SelfSigned.create(List.copyOf(names),
                    now.minus(Duration.ofDays(1)), now.plus(Duration.ofDays(825)));
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot make a self-signed certificate: " + e.getMessage(), e);
        }
        writeAtomically(privateKey, pem.privateKey(), true);
        writeAtomically(certificate, pem.certificate(), false);
        return server(certificate, privateKey);
    }

    private static void writeAtomically(Path file, String text, boolean secret) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
        if (secret) {
            DurableFiles.replacePrivate(file, bytes);
        } else {
            DurableFiles.replace(file, bytes);
        }
    }

    /** A client configuration that trusts the JDK's default trust store. */
    public static Tls client() {
        try {
            return new Tls(SSLContext.getDefault(), true);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK has no default TLS context", e);
        }
    }

    /**
     * A client configuration that accepts whatever certificate the server presents, and checks
     * no host name: for opportunistic TLS (RFC 7435), where encryption without authentication
     * beats none, and for protocols that authenticate the server another way and judge the
     * certificate themselves after the handshake ({@link Connection#peerCertificates()}), as XMPP
     * Server Dialback does (XEP-0220). Never use it where the certificate is the only check.
     *
     * @return the configuration
     */
    public static Tls clientAcceptingAnyCertificate() {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, new TrustManager[] {new AcceptAny()}, null);
            return new Tls(ctx, true);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK cannot make a TLS context", e);
        }
    }

    /**
     * Accepts every certificate. Extended, so that JSSE does not wrap it in its own host name
     * check (the endpoint identification a client configuration asks for).
     */
    private static final class AcceptAny extends javax.net.ssl.X509ExtendedTrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {}

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }

    /**
     * A client configuration that trusts exactly the certificates in a PEM file (a CA, or a
     * self-signed server certificate).
     *
     * @throws IOException naming the file that is missing or malformed
     */
    public static Tls client(Path trustedCertificates) throws IOException {
        return clientBuilder().trust(trustedCertificates).build();
    }

    /**
     * Starts a client configuration with more than {@link #client()} and {@link #client(Path)}
     * offer: ALPN.
     *
     * <pre>{@code
     * Tls tls = Tls.clientBuilder()
     *         .trust(Path.of("ca.pem"))
     *         .alpn("imap")
     *         .build();
     * Connection c = Client.connect(Endpoint.parseClient("tls:mail.example.org:993"),
     *         ClientOptions.builder().tls(tls).build());
     * boolean agreed = c.applicationProtocol().equals(Optional.of("imap"));
     * }</pre>
     *
     * @return a new builder
     */
    public static ClientBuilder clientBuilder() {
        return new ClientBuilder();
    }

    private static TrustManager[] trustManagers(Path trustedCertificates) throws IOException {
        List<X509Certificate> certs = readCertificates(trustedCertificates);
        try {
            KeyStore ts = KeyStore.getInstance("PKCS12");
            ts.load(null, null);
            for (int i = 0; i < certs.size(); i++) {
                ts.setCertificateEntry("trusted-" + i, certs.get(i));
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ts);
            return tmf.getTrustManagers();
        } catch (GeneralSecurityException e) {
            throw new IOException(trustedCertificates + ": cannot build a TLS context: " + e.getMessage(), e);
        }
    }

    /**
     * Wraps a context built elsewhere. The protocol restriction to TLS 1.3/1.2 still applies.
     *
     * @param client whether this is the client side (which sends SNI and verifies host names)
     */
    public static Tls of(SSLContext context, boolean client) {
        return new Tls(Objects.requireNonNull(context, "context"), client);
    }

    /**
     * Reads this server configuration's PEM files again and, if they hold another certificate or
     * key, serves the new pairs to every handshake from now on; connections already open keep the
     * session they have. Meant for SIGHUP and for an operator's "reload" command; with
     * {@linkplain ServerBuilder#reloading(boolean) reloading} on (the default), changed files are
     * also picked up by the next handshake without calling this.
     *
     * <p>Blocks while it reads the files. Safe to call from any thread at any time.
     *
     * <h4>Error handling</h4>
     * All pairs are replaced or none: if any file is missing or unparsable, a key does not match
     * its certificate, or a certificate has expired, this throws and the previous pairs stay in
     * use.
     *
     * @return whether a certificate or key changed; false if the files hold what is served already,
     *     and for configurations not loaded from files (clients, {@link #of(SSLContext, boolean)})
     * @throws IOException naming the file and what is wrong with it
     */
    public boolean reload() throws IOException {
        return certificates != null && certificates.reload();
    }

    /**
     * The application protocols this configuration offers (servers) or sends (clients) by ALPN,
     * preferred first.
     *
     * @return the ALPN names; empty when ALPN is not used
     */
    public List<String> applicationProtocols() {
        return applicationProtocols;
    }

    /**
     * The same configuration (context, certificates and their reloading, client certificates)
     * with another ALPN list: how a protocol server gives the {@code tls:} listeners it is handed
     * its own protocol's name ({@link Server.Builder#alpn}). Reloading either reloads both.
     *
     * @param protocols ALPN names as IANA registers them, preferred first; none for no ALPN
     * @return the new configuration
     * @throws IllegalArgumentException if a name is empty or longer than 255 bytes
     */
    public Tls withAlpn(String... protocols) {
        return new Tls(context, client, certificates, alpnList(protocols), clientAuth);
    }

    /**
     * The same server configuration (certificates and their reloading, ALPN) that also asks
     * clients for a certificate and accepts whatever they send, or none: for protocols that judge
     * the client's certificate themselves after the handshake ({@link Connection#peerCertificates()}),
     * against a name the client only gives later, as XMPP servers do for the servers that connect
     * to them (RFC 6120 §13.7.2, SASL EXTERNAL per XEP-0178). A handler that uses the chain must
     * verify it itself: nothing here did.
     *
     * <pre>{@code
     * Tls peers = Tls.server(cert, key).requestingAnyClientCertificate();
     * connection.startTls(peers);
     * List<X509Certificate> unverified = connection.peerCertificates();
     * }</pre>
     *
     * @return the new configuration
     * @throws IllegalStateException if this is a client configuration, or one wrapping a context
     *     built elsewhere ({@link #of(SSLContext, boolean)}), whose keys cannot be reached
     */
    public Tls requestingAnyClientCertificate() {
        return new Tls(ownKeysAcceptingAnyPeer(), false, certificates, applicationProtocols, ClientAuth.REQUEST);
    }

    /**
     * A client configuration that presents this server configuration's default certificate (as
     * its files change, see {@link ServerBuilder#reloading}) to servers that ask for one, and
     * accepts any server certificate as {@link #clientAcceptingAnyCertificate()} does: for a
     * server that connects to its peers under its own name and judges theirs after the handshake,
     * as an XMPP server does on server-to-server streams (RFC 6120 §13.7.2). No ALPN.
     *
     * @return the client configuration
     * @throws IllegalStateException if this is a client configuration, or one wrapping a context
     *     built elsewhere ({@link #of(SSLContext, boolean)})
     */
    public Tls asClientAcceptingAnyCertificate() {
        return new Tls(ownKeysAcceptingAnyPeer(), true);
    }

    /** A context with this server configuration's (reloading) keys that trusts any peer. */
    private SSLContext ownKeysAcceptingAnyPeer() {
        if (client || certificates == null) {
            throw new IllegalStateException("only a server configuration built from PEM files has keys to share");
        }
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(new KeyManager[] {certificates}, new TrustManager[] {new AcceptAny()}, null);
            return ctx;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK cannot make a TLS context", e);
        }
    }

    /** The underlying context. */
    public SSLContext context() {
        return context;
    }

    /** Whether this is a client-side configuration. */
    public boolean isClient() {
        return client;
    }

    /**
     * Layers TLS over a connected socket, in client or server mode as configured, and returns the
     * socket without handshaking. Closing the returned socket closes {@code raw}.
     *
     * @param host the server's name on the client side (SNI and host name verification), ignored
     *     on the server side
     */
    SSLSocket layer(Socket raw, String host) throws IOException {
        SSLSocket s;
        if (client) {
            s = (SSLSocket) context.getSocketFactory().createSocket(raw, host, raw.getPort(), true);
            s.setUseClientMode(true);
        } else {
            // the (Socket, InputStream, boolean) form creates a server-mode socket; passing no
            // consumed bytes is what makes STARTTLS safe (RFC 3207 §4.2)
            s = (SSLSocket) context.getSocketFactory().createSocket(raw, null, true);
        }
        s.setSSLParameters(parameters(s.getSSLParameters(), host));
        return s;
    }

    /** This configuration as the transports see it (see {@code Transport.startTls}). */
    dev.twine.core.internal.TlsLayer layer() {
        return new dev.twine.core.internal.TlsLayer() {
            @Override
            public SSLEngine engine(String host, int port) {
                return Tls.this.engine(host, port);
            }

            @Override
            public SSLSocket layer(Socket raw, String host) throws IOException {
                return Tls.this.layer(raw, host);
            }
        };
    }

    /**
     * An engine in client or server mode as configured, for TLS over a transport that is not a
     * socket; {@code host} as for {@link #layer}.
     */
    SSLEngine engine(String host, int port) {
        SSLEngine e = client ? context.createSSLEngine(host, port) : context.createSSLEngine();
        e.setUseClientMode(client);
        e.setSSLParameters(parameters(e.getSSLParameters(), host));
        return e;
    }

    /**
     * TLS 1.3/1.2 only; the ALPN list; client certificates asked for or not; on the client side,
     * host name verification and SNI for {@code host}.
     */
    private SSLParameters parameters(SSLParameters p, String host) {
        p.setProtocols(PROTOCOLS);
        if (!applicationProtocols.isEmpty()) {
            p.setApplicationProtocols(applicationProtocols.toArray(new String[0]));
        }
        switch (clientAuth) {
            case REQUIRE -> p.setNeedClientAuth(true);
            case REQUEST -> p.setWantClientAuth(true);
            case NONE -> { }
        }
        if (client) {
            p.setEndpointIdentificationAlgorithm("HTTPS");
            if (host != null && !host.isEmpty() && Character.isLetter(host.charAt(host.length() - 1))) {
                p.setServerNames(List.of(new SNIHostName(host)));
            }
        }
        return p;
    }

    static List<X509Certificate> readCertificates(Path file) throws IOException {
        byte[] pem = readFile(file, "certificate");
        List<byte[]> blocks = pemBlocks(file, pem, "CERTIFICATE");
        if (blocks.isEmpty()) {
            throw new IOException(file + ": no '-----BEGIN CERTIFICATE-----' block found");
        }
        List<X509Certificate> certs = new ArrayList<>();
        try {
            CertificateFactory cf = CertificateFactory.getInstance("X.509");
            for (byte[] der : blocks) {
                Collection<? extends Certificate> got = cf.generateCertificates(new ByteArrayInputStream(der));
                for (Certificate c : got) {
                    certs.add((X509Certificate) c);
                }
            }
        } catch (CertificateException e) {
            throw new IOException(file + ": not a valid X.509 certificate: " + e.getMessage(), e);
        }
        return certs;
    }

    static PrivateKey readPrivateKey(Path file) throws IOException {
        byte[] pem = readFile(file, "private key");
        String text = new String(pem, StandardCharsets.US_ASCII);
        if (text.contains("-----BEGIN RSA PRIVATE KEY-----") || text.contains("-----BEGIN EC PRIVATE KEY-----")) {
            throw new IOException(file + ": the key is in the old PKCS#1/SEC1 format; convert it to PKCS#8 with "
                    + "'openssl pkcs8 -topk8 -nocrypt -in " + file + " -out key-pkcs8.pem'");
        }
        if (text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")) {
            throw new IOException(file + ": the key is encrypted; Twine needs an unencrypted PKCS#8 key");
        }
        List<byte[]> blocks = pemBlocks(file, pem, "PRIVATE KEY");
        if (blocks.size() != 1) {
            throw new IOException(file + ": expected exactly one '-----BEGIN PRIVATE KEY-----' block, found " + blocks.size());
        }
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(blocks.get(0));
        for (String alg : new String[] {"RSA", "EC", "Ed25519", "Ed448", "RSASSA-PSS"}) {
            try {
                return KeyFactory.getInstance(alg).generatePrivate(spec);
            } catch (GeneralSecurityException tryNext) {
                // not this algorithm
            }
        }
        throw new IOException(file + ": unsupported or malformed PKCS#8 key (RSA, EC and Ed25519 are supported)");
    }

    /** Throws naming both files unless {@code key} belongs to {@code cert}. */
    static void requireMatch(PrivateKey key, X509Certificate cert, Path certificateChain, Path privateKey) throws IOException {
        if (!matches(key, cert)) {
            throw new IOException(privateKey + ": this key does not belong to the first certificate in " + certificateChain);
        }
    }

    private static boolean matches(PrivateKey key, X509Certificate cert) {
        String certAlg = cert.getPublicKey().getAlgorithm();
        String keyAlg = key.getAlgorithm();
        // the same algorithm is not enough (any two EC keys share it): sign with the key and
        // verify with the certificate
        String signature = switch (keyAlg) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            case "Ed25519", "Ed448", "EdDSA" -> keyAlg;
            default -> null;
        };
        if (signature == null) {
            return certAlg.equals(keyAlg); // RSASSA-PSS needs parameters: the handshake will tell
        }
        try {
            byte[] probe = "twine key check".getBytes(StandardCharsets.US_ASCII);
            Signature signer = Signature.getInstance(signature);
            signer.initSign(key);
            signer.update(probe);
            byte[] signed = signer.sign();
            Signature verifier = Signature.getInstance(signature);
            verifier.initVerify(cert.getPublicKey());
            verifier.update(probe);
            return verifier.verify(signed);
        } catch (GeneralSecurityException e) {
            return false; // a key of another type than the certificate's
        }
    }

    private static byte[] readFile(Path file, String what) throws IOException {
        try {
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new IOException(file + ": no such " + what + " file", e);
        }
    }

    private static List<byte[]> pemBlocks(Path file, byte[] pem, String label) throws IOException {
        String text = new String(pem, StandardCharsets.US_ASCII);
        String begin = "-----BEGIN " + label + "-----";
        String end = "-----END " + label + "-----";
        List<byte[]> out = new ArrayList<>();
        int from = 0;
        while (true) {
            int b = text.indexOf(begin, from);
            if (b < 0) {
                return out;
            }
            int e = text.indexOf(end, b);
            if (e < 0) {
                int line = (int) text.substring(0, b).chars().filter(c -> c == '\n').count() + 1;
                throw new IOException(file + ":" + line + ": '" + begin + "' has no matching '" + end + "'");
            }
            String body = text.substring(b + begin.length(), e).replaceAll("\\s", "");
            try {
                out.add(Base64.getDecoder().decode(body));
            } catch (IllegalArgumentException bad) {
                int line = (int) text.substring(0, b).chars().filter(c -> c == '\n').count() + 1;
                throw new IOException(file + ":" + line + ": bad base64 in PEM block: " + bad.getMessage());
            }
            from = e + end.length();
        }
    }

    /**
     * Builds a server {@link Tls}: a default certificate ({@link #certificate(Path, Path)},
     * required) and any number chosen by the name the client asks for
     * ({@link #certificate(String, Path, Path)}).
     *
     * <h2>Following the files</h2>
     * With {@link #reloading(boolean)} on (the default), every handshake first compares the
     * modification times of the PEM files with those read last (one {@code stat} per file) and, if
     * one changed, reloads them as {@link Tls#reload()} does: an ACME client (certbot, lego)
     * that renews a certificate in place is served from the next handshake on, with no restart and
     * no signal. A renewal that leaves a bad pair on disk (the key written before the certificate,
     * a mismatch, an expired or unparsable file) is logged once as a warning on the
     * {@code dev.twine.core.Tls} logger, and the previous pair stays in use until the files change
     * again.
     */
    public static final class ServerBuilder {
        private final List<ServerCertificates.Source> sources = new ArrayList<>();
        private boolean reloading = true;
        private List<String> alpn = List.of();
        private ClientAuth clientAuth = ClientAuth.NONE;
        private Path trustedIssuers;
        private System.Logger log = System.getLogger(Tls.class.getName());

        private ServerBuilder() {
        }

        /** For tests: where reload messages go instead of the {@code dev.twine.core.Tls} logger. */
        ServerBuilder log(System.Logger log) {
            this.log = log;
            return this;
        }

        /**
         * Adds the default certificate: the one served to clients that send no server name or
         * one no {@link #certificate(String, Path, Path) named certificate} covers. A PEM chain
         * (leaf first) and a PEM PKCS#8 key (RSA, EC, Ed25519). Called again, it adds another
         * default of another key type.
         *
         * @param certificateChain the certificate file
         * @param privateKey the key file
         * @return this builder
         */
        public ServerBuilder certificate(Path certificateChain, Path privateKey) {
            sources.add(new ServerCertificates.Source(null,
                    Objects.requireNonNull(certificateChain, "certificateChain"), Objects.requireNonNull(privateKey, "privateKey")));
            return this;
        }

        /**
         * Adds a certificate for clients that ask for {@code serverName} in their ClientHello
         * (SNI, RFC 6066 §3), so one endpoint can serve several domains each with its own
         * certificate. A handshake gets the certificate of exactly its name, else one whose
         * wildcard matches ({@code *.example.org} covers {@code mail.example.org} but neither
         * {@code example.org} nor {@code a.b.example.org}, RFC 6125 §6.4.3), else the default;
         * names are compared ignoring ASCII case. Several certificates may share a name when their
         * key types differ (RSA and EC): the first that suits the client's signature algorithms
         * is used.
         *
         * <pre>{@code
         * Tls tls = Tls.serverBuilder()
         *         .certificate(Path.of("example.org.pem"), Path.of("example.org.key"))
         *         .certificate("mail.example.net", Path.of("mail.example.net.pem"), Path.of("mail.example.net.key"))
         *         .certificate("*.example.com", Path.of("wild.example.com.pem"), Path.of("wild.example.com.key"))
         *         .build();
         * }</pre>
         *
         * @param serverName a DNS name, or {@code *.} followed by one with at least two labels
         * @param certificateChain the certificate file
         * @param privateKey the key file
         * @return this builder
         * @throws IllegalArgumentException if {@code serverName} is not a DNS name or such a wildcard
         */
        public ServerBuilder certificate(String serverName, Path certificateChain, Path privateKey) {
            Objects.requireNonNull(serverName, "serverName");
            String bare = serverName.startsWith("*.") ? serverName.substring(2) : serverName;
            if (!bare.matches("(?i)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")
                    || serverName.startsWith("*.") && bare.indexOf('.') < 0) {
                throw new IllegalArgumentException("not a DNS name or a wildcard like *.example.org: " + serverName);
            }
            sources.add(new ServerCertificates.Source(serverName,
                    Objects.requireNonNull(certificateChain, "certificateChain"), Objects.requireNonNull(privateKey, "privateKey")));
            return this;
        }

        /**
         * Offers application protocols by ALPN (RFC 7301), this server's preferred first: of the
         * names the client lists, the handshake picks the first one in {@code protocols}, and
         * {@link Connection#applicationProtocol()} tells the handler which. A client that sends no
         * ALPN is served as before (no protocol chosen); a client that lists only other protocols
         * is refused with the {@code no_application_protocol} alert (RFC 7301 §3.2), which is what
         * stops cross-protocol attacks that redirect, say, an HTTPS client to a mail port.
         *
         * <pre>{@code
         * Tls tls = Tls.serverBuilder().certificate(cert, key).alpn("imap").build();
         * }</pre>
         *
         * @param protocols ALPN names as IANA registers them ({@code "imap"}, {@code "smtp"},
         *     {@code "xmpp-client"}, {@code "dot"}), none to offer nothing
         * @return this builder
         * @throws IllegalArgumentException if a name is empty or longer than 255 bytes
         */
        public ServerBuilder alpn(String... protocols) {
            this.alpn = alpnList(protocols);
            return this;
        }

        /**
         * Asks clients for a certificate, verified against the CA certificates (or self-signed
         * client certificates) in a PEM file: a client certificate that does not verify fails the
         * handshake in both modes, and {@link Connection#peerCertificates()} gives the handler the
         * verified chain, which {@link dev.twine.core.auth.CertificateCredentials} carries to a
         * {@link dev.twine.core.auth.Portal} (SASL EXTERNAL, RFC 4422 Appendix A).
         *
         * <pre>{@code
         * Tls tls = Tls.serverBuilder()
         *         .certificate(cert, key)
         *         .clientAuth(Tls.ClientAuth.REQUEST, Path.of("client-ca.pem"))
         *         .build();
         * // in the handler, after connection.startTls(tls):
         * List<X509Certificate> chain = connection.peerCertificates(); // empty if none was sent
         * }</pre>
         *
         * <p>The trusted file is read once, at {@link #build()}; it is not reloaded.
         *
         * @param mode whether to ask for a certificate; {@link ClientAuth#NONE} (the default) does not
         * @param trustedIssuers the PEM file of trusted certificates; ignored (may be null) for
         *     {@code NONE}
         * @return this builder
         * @throws NullPointerException if {@code mode} is null, or {@code trustedIssuers} is null
         *     and {@code mode} is not {@code NONE}
         */
        public ServerBuilder clientAuth(ClientAuth mode, Path trustedIssuers) {
            this.clientAuth = Objects.requireNonNull(mode, "mode");
            this.trustedIssuers = mode == ClientAuth.NONE ? null : Objects.requireNonNull(trustedIssuers, "trustedIssuers");
            return this;
        }

        /**
         * Whether handshakes pick up changed PEM files (see the class comment). Default: true.
         *
         * @param reloading false to change certificates only through {@link Tls#reload()}
         * @return this builder
         */
        public ServerBuilder reloading(boolean reloading) {
            this.reloading = reloading;
            return this;
        }

        /**
         * Loads the files and builds the configuration.
         *
         * @return the configuration
         * @throws IOException naming the file that is missing or malformed, or the key that does
         *     not belong to its certificate
         * @throws IllegalStateException if no certificate was added
         */
        public Tls build() throws IOException {
            if (sources.stream().noneMatch(s -> s.name() == null)) {
                throw new IllegalStateException("certificate(certificateChain, privateKey) is required");
            }
            ServerCertificates certs = ServerCertificates.load(sources, log, reloading, Clock.systemUTC());
            TrustManager[] trusted = trustedIssuers == null ? null : trustManagers(trustedIssuers);
            try {
                SSLContext ctx = SSLContext.getInstance("TLS");
                ctx.init(new KeyManager[] {certs}, trusted, null);
                return new Tls(ctx, false, certs, alpn, clientAuth);
            } catch (GeneralSecurityException e) {
                throw new IOException(sources.get(0).chain() + ": cannot build a TLS context: " + e.getMessage(), e);
            }
        }
    }

    private static KeyManager[] clientKeys(Path certificateChain, Path privateKey) throws IOException {
        List<X509Certificate> chain = readCertificates(certificateChain);
        PrivateKey key = readPrivateKey(privateKey);
        requireMatch(key, chain.get(0), certificateChain, privateKey);
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            char[] pw = new char[0];
            ks.setKeyEntry("twine", key, pw, chain.toArray(new Certificate[0]));
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, pw);
            return kmf.getKeyManagers();
        } catch (GeneralSecurityException e) {
            throw new IOException(certificateChain + ": cannot build a TLS context: " + e.getMessage(), e);
        }
    }

    static List<String> alpnList(String... protocols) {
        for (String p : protocols) {
            int bytes = p.getBytes(StandardCharsets.UTF_8).length;
            if (bytes == 0 || bytes > 255) {
                // RFC 7301 §3.1: a ProtocolName is 1 to 255 bytes
                throw new IllegalArgumentException("an ALPN protocol name has 1 to 255 bytes: '" + p + "'");
            }
        }
        return List.of(protocols);
    }

    /** Builds a client {@link Tls}; with nothing set, the same as {@link Tls#client()}. */
    public static final class ClientBuilder {
        private Path trust;
        private List<String> alpn = List.of();
        private Path certificateChain;
        private Path privateKey;

        private ClientBuilder() {
        }

        /**
         * Trusts exactly the certificates in a PEM file (a CA, or a self-signed server
         * certificate) instead of the JDK's default trust store.
         *
         * @param trustedCertificates the PEM file
         * @return this builder
         */
        public ClientBuilder trust(Path trustedCertificates) {
            this.trust = Objects.requireNonNull(trustedCertificates, "trustedCertificates");
            return this;
        }

        /**
         * Sends application protocols by ALPN (RFC 7301), preferred first; the server picks one
         * (its preference decides), which {@link Connection#applicationProtocol()} then tells. A
         * server that knows no ALPN picks none, and the connection goes on without.
         *
         * @param protocols ALPN names ({@code "imap"}, {@code "xmpp-client"}), none to send nothing
         * @return this builder
         * @throws IllegalArgumentException if a name is empty or longer than 255 bytes
         */
        public ClientBuilder alpn(String... protocols) {
            this.alpn = alpnList(protocols);
            return this;
        }

        /**
         * Presents a client certificate to servers that ask for one: a PEM chain (leaf first) and
         * a PEM PKCS#8 key, as for a server.
         *
         * @param certificateChain the certificate file
         * @param privateKey the key file
         * @return this builder
         */
        public ClientBuilder certificate(Path certificateChain, Path privateKey) {
            this.certificateChain = Objects.requireNonNull(certificateChain, "certificateChain");
            this.privateKey = Objects.requireNonNull(privateKey, "privateKey");
            return this;
        }

        /**
         * Reads the files and builds the configuration.
         *
         * @return the configuration
         * @throws IOException naming the file that is missing or malformed, or the key that does
         *     not belong to its certificate
         */
        public Tls build() throws IOException {
            TrustManager[] trusted = trust == null ? null : trustManagers(trust);
            KeyManager[] keys = certificateChain == null ? null : clientKeys(certificateChain, privateKey);
            try {
                SSLContext ctx;
                if (trusted == null && keys == null) {
                    ctx = SSLContext.getDefault();
                } else {
                    ctx = SSLContext.getInstance("TLS");
                    ctx.init(keys, trusted, null);
                }
                return new Tls(ctx, true, null, alpn, ClientAuth.NONE);
            } catch (GeneralSecurityException e) {
                throw new IOException("cannot build a TLS context: " + e.getMessage(), e);
            }
        }
    }
}
