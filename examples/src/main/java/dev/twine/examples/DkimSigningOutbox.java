package dev.twine.examples;

import dev.twine.core.Service;
import dev.twine.mail.auth.DkimAlgorithm;
import dev.twine.mail.auth.DkimKeys;
import dev.twine.mail.auth.DkimSigner;
import dev.twine.mail.smtp.MailDelivery;
import dev.twine.mail.smtp.SmtpServer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;

/**
 * DKIM signing in a {@link MailDelivery} of our own: an SMTP server for {@code outbox.test} that
 * signs every message with a {@link DkimSigner} (Ed25519, RFC 8463, key made at start) and files
 * the signed copy in an outbox directory, as a relay would before sending it on. It prints the
 * DNS TXT record that publishes the key.
 *
 * <p>Run: {@code ./twine run examples/src/main/java/dev/twine/examples/DkimSigningOutbox.java [PORT]}
 * (port 2527 by default; the outbox is {@code ./outbox}), then send it a message with swaks and
 * look at the signature in the file it writes:
 * {@code swaks --server 127.0.0.1:2527 --from alice@example.org --to out@outbox.test}
 */
public final class DkimSigningOutbox {
    /** Each message signed, then written to {@code outbox} (returning means it is on disk: then 250). */
    static final class SigningOutbox implements MailDelivery<String> {
        private final DkimSigner signer;
        private final Path outbox;

        SigningOutbox(DkimSigner signer, Path outbox) {
            this.signer = signer;
            this.outbox = outbox;
        }

        @Override
        public String recipient(Session session, String sender, String address) {
            return address; // the server already refuses any domain but outbox.test
        }

        @Override
        public void deliver(Envelope<String> envelope, InputStream message) throws IOException {
            byte[] signed = signer.sign(message.readAllBytes()); // DKIM-Signature: ... then the message
            Path file = outbox.resolve(envelope.id() + ".eml");
            Files.write(file, signed);
            try (var channel = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE)) {
                channel.force(true);
            }
        }
    }

    /** Starts the server on {@code endpoint}, signing for example.org with {@code key}; the caller stops it. */
    static Service start(String endpoint, KeyPair key, Path outbox) throws IOException {
        DkimSigner signer = DkimSigner.builder().domain("example.org").selector("outbox").key(key.getPrivate()).build();
        Files.createDirectories(outbox);
        SmtpServer server = SmtpServer.builder().domain("outbox.test").delivery(new SigningOutbox(signer, outbox))
                .listen(endpoint).build();
        server.start();
        return server;
    }

    public static void main(String[] args) throws Exception {
        KeyPair key = DkimKeys.generate(DkimAlgorithm.ED25519_SHA256);
        System.out.println("publish: " + DkimKeys.zoneLine("example.org", "outbox", key.getPublic()));
        Service server = start("tcp:" + (args.length > 0 ? args[0] : "2527") + ":interface=127.0.0.1", key, Path.of("outbox"));
        System.out.println(server.bindings().get(0).listeningLine());
        server.awaitTermination();
    }
}
