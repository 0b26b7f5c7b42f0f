package dev.twine.mail.auth;

import dev.twine.mail.smtp.MailDelivery;
import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Signs messages with DKIM (RFC 6376) for one domain and selector: {@code rsa-sha256} or
 * {@code ed25519-sha256} (RFC 8463), as the key is; relaxed/relaxed canonicalisation; a body hash
 * over the whole body ({@code bh=}, no {@code l=}); the signing time ({@code t=}); and the header
 * fields that carry meaning to a reader (by default From, Reply-To, Sender, Subject, Date, To, Cc,
 * Message-ID, In-Reply-To, References and the MIME fields), each as many times as it appears,
 * with {@code From} signed once more than it appears (over-signing, RFC 6376 §8.15), so that a
 * second From added later breaks the signature.
 *
 * <pre>{@code
 * DkimSigner signer = DkimSigner.builder().domain("example.org").selector("mail2026")
 *         .key(DkimKeys.read(Path.of("/etc/twine/dkim/example.org.pem"))).build();
 * byte[] signed = signer.sign(message);                  // the DKIM-Signature field, then the message
 * // or, in a MailDelivery of one's own, before relaying what an authenticated user sent:
 * MailDelivery<String> out = DkimSigner.signing(List.of(signer), relayQueue);
 * }</pre>
 *
 * Instances are immutable and thread-safe; signing blocks only for the computation (an RSA 2048
 * signature is about a millisecond).
 */
public final class DkimSigner {
    /** The fields signed by default, when present. */
    public static final List<String> DEFAULT_HEADERS = List.of("from", "reply-to", "sender", "subject", "date", "to", "cc",
            "message-id", "in-reply-to", "references", "mime-version", "content-type", "content-transfer-encoding");

    private final String domain;
    private final String selector;
    private final PrivateKey key;
    private final DkimAlgorithm algorithm;
    private final List<String> headers;
    private final Clock clock;

    private DkimSigner(Builder b) {
        this.domain = b.domain;
        this.selector = b.selector;
        this.key = b.key;
        this.algorithm = DkimKeys.algorithmOf(b.key);
        this.headers = b.headers;
        this.clock = b.clock;
    }

    /** A builder; {@link Builder#domain}, {@link Builder#selector} and {@link Builder#key} are required. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * A signer for {@code domain} with the PEM PKCS#8 key in {@code keyFile} ({@link DkimKeys#read}).
     *
     * @throws IOException naming the file if the key cannot be read or is not RSA or Ed25519
     * @throws IllegalArgumentException for a bad domain or selector, or an RSA key under 1024 bits
     */
    public static DkimSigner load(String domain, String selector, Path keyFile) throws IOException {
        return builder().domain(domain).selector(selector).key(DkimKeys.read(keyFile)).build();
    }

    /** The signing domain, {@code d=}, in lower case. */
    public String domain() {
        return domain;
    }

    /** The selector, {@code s=}. */
    public String selector() {
        return selector;
    }

    /** The algorithm the key signs with. */
    public DkimAlgorithm algorithm() {
        return algorithm;
    }

    /**
     * The {@code DKIM-Signature} field for {@code message} (header section, empty line, body, lines
     * ending in CRLF), folded, ending in CRLF, to be put before the message's first field.
     *
     * @throws IllegalStateException if the key cannot sign (the JDK refusing a key it made)
     */
    public String signatureField(byte[] message) {
        MessageText text = MessageText.parse(message);
        String bh = Base64.getEncoder().encodeToString(DkimCore.sha256(text.body(true)));
        List<String> h = new ArrayList<>();
        for (String name : headers) {
            int n = text.fields(name).size();
            for (int i = 0; i < n + (name.equals("from") ? 1 : 0); i++) {
                h.add(name);
            }
        }
        String unsigned = "DKIM-Signature: v=1; a=" + algorithm.tag() + "; c=relaxed/relaxed; d=" + domain
                + "; s=" + selector + ";\r\n\tt=" + clock.instant().getEpochSecond() + "; h=" + String.join(":", h)
                + ";\r\n\tbh=" + bh + ";\r\n\tb=";
        byte[] signature;
        try {
            signature = DkimCore.sign(algorithm, key, DkimCore.signedData(text, h, true, unsigned));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("DKIM signing with the " + algorithm.keyType() + " key failed", e);
        }
        String b = Base64.getEncoder().encodeToString(signature);
        StringBuilder field = new StringBuilder(unsigned);
        for (int i = 0; i < b.length(); i += 72) {
            field.append(i == 0 ? "" : "\r\n\t ").append(b, i, Math.min(b.length(), i + 72));
        }
        return field.append("\r\n").toString();
    }

    /** {@code message} with its {@linkplain #signatureField signature field} in front. */
    public byte[] sign(byte[] message) {
        byte[] field = DkimCore.bytes(signatureField(message));
        byte[] signed = new byte[field.length + message.length];
        System.arraycopy(field, 0, signed, 0, field.length);
        System.arraycopy(message, 0, signed, field.length, message.length);
        return signed;
    }

    /**
     * A delivery that signs what authenticated clients send, then hands it to {@code delivery}: the
     * signer is the one whose domain is the {@code From:} address's domain, or failing that the
     * longest one that is a parent of it (which DMARC's relaxed alignment accepts). A message from
     * an unauthenticated client, or whose {@code From:} no signer covers or is not one address,
     * goes on unsigned, so mail forwarded for others is never signed as ours. What
     * {@code twine mail --dkim-key} puts in front of the relay queue.
     *
     * <p>The message is read whole into memory to sign it (the server's size limit bounds it).
     * Errors are {@code delivery}'s own; the signing itself does not fail with a key a signer was
     * built with.
     *
     * @param signers the signers, at most one per domain
     * @param delivery where signed mail goes
     * @throws IllegalArgumentException if two signers have one domain
     */
    public static <T> MailDelivery<T> signing(Collection<DkimSigner> signers, MailDelivery<T> delivery) {
        return signingDelivery(signers, delivery);
    }

    private static <T> MailDelivery<T> signingDelivery(Collection<DkimSigner> signers, MailDelivery<T> delivery) {
        java.util.Map<String, DkimSigner> byDomain = new java.util.HashMap<>();
        for (DkimSigner s : signers) {
            if (byDomain.put(s.domain(), s) != null) {
                throw new IllegalArgumentException("two DKIM signers for " + s.domain());
            }
        }
        return WrappedDelivery.rewriting(delivery, (envelope, text) -> {
            if (envelope.session().principal().isEmpty()) {
                return text;
            }
            // the From domain's own signer, else its nearest parent's
            String d = Addresses.fromDomain(MessageText.parse(text));
            for (; d != null; d = d.indexOf('.') < 0 ? null : d.substring(d.indexOf('.') + 1)) {
                DkimSigner s = byDomain.get(d);
                if (s != null) {
                    return s.sign(text);
                }
            }
            return text;
        });
    }

    /** A signer configuration. */
    public static final class Builder {
        private String domain;
        private String selector;
        private PrivateKey key;
        private List<String> headers = DEFAULT_HEADERS;
        private Clock clock = Clock.systemUTC();

        private Builder() {}

        /** The signing domain ({@code d=}): the domain of the {@code From:} addresses signed for. */
        public Builder domain(String domain) {
            String d = Objects.requireNonNull(domain, "domain").strip().toLowerCase(Locale.ROOT);
            if (!d.matches("[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+")) {
                throw new IllegalArgumentException("not a domain name: " + domain);
            }
            this.domain = d;
            return this;
        }

        /** The selector ({@code s=}): the key record is at {@code selector._domainkey.domain}. */
        public Builder selector(String selector) {
            String s = Objects.requireNonNull(selector, "selector").strip();
            if (!s.matches("[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*")) {
                throw new IllegalArgumentException("not a DKIM selector (letters, digits, '-', '.'): " + selector);
            }
            this.selector = s;
            return this;
        }

        /**
         * The private key: RSA (at least 1024 bits, RFC 8301 §3.2; 2048 recommended) or Ed25519.
         *
         * @throws IllegalArgumentException for another kind of key or a smaller RSA key
         */
        public Builder key(PrivateKey key) {
            DkimKeys.algorithmOf(Objects.requireNonNull(key, "key"));
            if (key.getAlgorithm().equals("RSA") && DkimKeys.rsaBits(key) < 1024) {
                throw new IllegalArgumentException("an RSA key for DKIM needs at least 1024 bits, this has " + DkimKeys.rsaBits(key));
            }
            this.key = key;
            return this;
        }

        /**
         * The header fields to sign, when present (case does not matter; {@code from} is always
         * signed, and over-signed). Default {@link #DEFAULT_HEADERS}.
         */
        public Builder headers(List<String> names) {
            List<String> h = new ArrayList<>(List.of("from"));
            for (String n : names) {
                String l = n.strip().toLowerCase(Locale.ROOT);
                if (!l.matches("[!-9;-~]+")) {
                    throw new IllegalArgumentException("not a header field name: " + n);
                }
                if (!h.contains(l)) {
                    h.add(l);
                }
            }
            this.headers = List.copyOf(h);
            return this;
        }

        /** The clock for {@code t=} (tests). */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /**
         * The signer.
         *
         * @throws IllegalStateException naming the missing builder method
         */
        public DkimSigner build() {
            if (domain == null) {
                throw new IllegalStateException("domain(...) is required");
            }
            if (selector == null) {
                throw new IllegalStateException("selector(...) is required");
            }
            if (key == null) {
                throw new IllegalStateException("key(...) is required");
            }
            return new DkimSigner(this);
        }
    }
}
