package dev.twine.ssh.internal;

import java.util.List;
import java.util.stream.Stream;
import org.apache.sshd.common.NamedFactory;
import org.apache.sshd.common.cipher.BuiltinCiphers;
import org.apache.sshd.common.cipher.Cipher;
import org.apache.sshd.common.kex.BuiltinDHFactories;
import org.apache.sshd.common.kex.KeyExchangeFactory;
import org.apache.sshd.common.mac.BuiltinMacs;
import org.apache.sshd.common.mac.Mac;
import org.apache.sshd.common.signature.BuiltinSignatures;
import org.apache.sshd.common.signature.Signature;
import org.apache.sshd.server.ServerBuilder;
import org.apache.sshd.client.ClientBuilder;

/**
 * The algorithms Twine offers, modern ones only (no SHA-1, no CBC, no RC4, no DSA), strongest
 * first; the same list on the server and the client.
 */
public final class Algorithms {

    private Algorithms() {
    }

    /**
     * Key exchange: first the post-quantum hybrids OpenSSH offers first (ML-KEM-768 with X25519,
     * draft-ietf-sshm-mlkem-hybrid-kex, OpenSSH 9.9's default; sntrup761 with X25519,
     * draft-ietf-sshm-ntruprime-ssh, OpenSSH 9.0's default, under both its names), so that a
     * key exchange recorded today cannot be decrypted by a quantum computer later; then
     * Curve25519 (RFC 8731), the NIST curves (RFC 5656) and large DH groups (RFC 8268). The
     * hybrids need BouncyCastle, which MINA finds at run time; a factory MINA cannot support is
     * left out by {@link NamedFactory#setUpTransformedFactories}.
     */
    static final List<BuiltinDHFactories> KEX = List.of(
            BuiltinDHFactories.mlkem768x25519,
            BuiltinDHFactories.sntrup761x25519,
            BuiltinDHFactories.sntrup761x25519_openssh,
            BuiltinDHFactories.curve25519,
            BuiltinDHFactories.curve25519_libssh,
            BuiltinDHFactories.ecdhp256,
            BuiltinDHFactories.ecdhp384,
            BuiltinDHFactories.ecdhp521,
            BuiltinDHFactories.dhg16_512,
            BuiltinDHFactories.dhg18_512);

    /** Ciphers: ChaCha20-Poly1305 and AES-GCM (RFC 5647), AES-CTR only with the EtM MACs below. */
    static final List<NamedFactory<Cipher>> CIPHERS = List.of(
            BuiltinCiphers.cc20p1305_openssh,
            BuiltinCiphers.aes256gcm,
            BuiltinCiphers.aes128gcm,
            BuiltinCiphers.aes256ctr,
            BuiltinCiphers.aes128ctr);

    /** MACs: encrypt-then-MAC SHA-2 only. */
    static final List<NamedFactory<Mac>> MACS = List.of(
            BuiltinMacs.hmacsha256etm,
            BuiltinMacs.hmacsha512etm);

    /** Host and user key signatures: Ed25519 (RFC 8709), RSA with SHA-2 (RFC 8332), ECDSA (RFC 5656). */
    static final List<NamedFactory<Signature>> SIGNATURES = List.of(
            BuiltinSignatures.ed25519,
            BuiltinSignatures.nistp256,
            BuiltinSignatures.nistp384,
            BuiltinSignatures.nistp521,
            BuiltinSignatures.rsaSHA512,
            BuiltinSignatures.rsaSHA256);

    /**
     * The same signatures and their OpenSSH certificate forms (PROTOCOL.certkeys), for the
     * server: user certificates in publickey requests, and a host certificate when one is set.
     */
    static final List<NamedFactory<Signature>> SERVER_SIGNATURES = Stream.concat(Stream.of(
            BuiltinSignatures.ed25519_cert,
            BuiltinSignatures.nistp256_cert,
            BuiltinSignatures.nistp384_cert,
            BuiltinSignatures.nistp521_cert,
            BuiltinSignatures.rsaSHA512_cert,
            BuiltinSignatures.rsaSHA256_cert), SIGNATURES.stream()).toList();

    /** The server's signature list: {@link #SERVER_SIGNATURES}. */
    static List<NamedFactory<Signature>> serverSignatures() {
        return SERVER_SIGNATURES;
    }

    /** Server-side key exchange factories. */
    static List<KeyExchangeFactory> serverKex() {
        return NamedFactory.setUpTransformedFactories(false, KEX, ServerBuilder.DH2KEX);
    }

    /** Client-side key exchange factories. */
    public static List<KeyExchangeFactory> clientKex() {
        return NamedFactory.setUpTransformedFactories(false, KEX, ClientBuilder.DH2KEX);
    }

    /** The cipher list. */
    public static List<NamedFactory<Cipher>> ciphers() {
        return CIPHERS;
    }

    /** The MAC list. */
    public static List<NamedFactory<Mac>> macs() {
        return MACS;
    }

    /** The signature list. */
    public static List<NamedFactory<Signature>> signatures() {
        return SIGNATURES;
    }
}
