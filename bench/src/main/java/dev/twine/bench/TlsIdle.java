package dev.twine.bench;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * Idle TLS connections for the memory figure of {@code ci/bench echo}: opens C connections to a
 * TLS echo ({@code TwineEcho --tls DIR}), completes each handshake, sends one request and reads
 * its echo, prints {@code idle-ready conns=C answered=A setup_s=S errors=E mismatches=M} (the line
 * the plain idle test prints), then holds them open and silent for the given seconds.
 */
public final class TlsIdle {
    private static final Set<String> OPTIONS = Set.of("host", "port", "idle", "hold", "size", "cert");
    private static final String USAGE = "usage: TlsIdle --port N --cert DIR/cert.pem --idle C --hold SECONDS [--host 127.0.0.1] [--size BYTES]";

    private TlsIdle() {
    }

    public static void main(String[] args) throws Exception {
        Flags f;
        int port;
        int count;
        int size;
        Duration hold;
        try {
            f = Flags.parse(args, OPTIONS);
            port = f.integer("port", 0, 1, 65535);
            count = f.integer("idle", 0, 1, 60_000);
            size = f.integer("size", 64, 1, 16_384);
            hold = f.duration("hold", Duration.ZERO, Duration.ofHours(1));
            if (!f.has("cert")) {
                throw new Flags.BadArgument("--cert is required");
            }
        } catch (Flags.BadArgument e) {
            System.err.println("tls-idle: " + e.getMessage());
            System.err.println(USAGE);
            System.exit(2);
            return;
        }
        String host = f.string("host", "127.0.0.1");
        SSLContext ctx = trusting(Path.of(f.string("cert", "")));
        long start = System.nanoTime();
        List<SSLSocket> sockets = new ArrayList<>();
        AtomicInteger errors = new AtomicInteger();
        AtomicInteger mismatches = new AtomicInteger();
        AtomicInteger answered = new AtomicInteger();
        byte[] request = new byte[size];
        Arrays.fill(request, (byte) 'x');
        for (int i = 0; i < count; i++) {
            try {
                SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(host, port);
                s.startHandshake();
                s.getOutputStream().write(request);
                s.getOutputStream().flush();
                InputStream in = s.getInputStream();
                byte[] echo = in.readNBytes(size);
                if (Arrays.equals(echo, request)) {
                    answered.incrementAndGet();
                } else {
                    mismatches.incrementAndGet();
                }
                sockets.add(s);
            } catch (IOException e) {
                if (errors.incrementAndGet() == 1) {
                    System.err.println("tls-idle: " + e);
                }
            }
        }
        System.out.printf(Locale.ROOT, "idle-ready conns=%d answered=%d setup_s=%.2f errors=%d mismatches=%d%n",
                sockets.size(), answered.get(), (System.nanoTime() - start) / 1e9, errors.get(), mismatches.get());
        System.out.flush();
        Thread.sleep(hold.toMillis());
        for (SSLSocket s : sockets) {
            s.close();
        }
    }

    /** A client context that trusts the one certificate in {@code pem}. */
    private static SSLContext trusting(Path pem) throws Exception {
        KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
        ks.load(null, null);
        try (InputStream in = Files.newInputStream(pem)) {
            ks.setCertificateEntry("echo", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }
}
