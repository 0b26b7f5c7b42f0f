package dev.twine.ssh.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.util.ArrayList;
import java.util.List;

/**
 * The server's host keys in OpenSSH format: Ed25519 at {@code PATH} and RSA (3072 bits, for old
 * clients) at {@code PATH-rsa}, each with a {@code .pub} beside it; a missing one is generated on
 * first start and persisted (fsync + rename).
 */
public final class HostKeys {

    private HostKeys() {
    }

    /** The RSA key file that goes with the Ed25519 key file {@code ed25519}. */
    public static Path rsaPath(Path ed25519) {
        return ed25519.resolveSibling(ed25519.getFileName() + "-rsa");
    }

    /**
     * Loads both host keys, generating any that is missing.
     *
     * @throws IllegalArgumentException naming the file if an existing one holds no usable key
     */
    public static List<KeyPair> loadOrGenerate(Path ed25519) throws IOException, GeneralSecurityException {
        List<KeyPair> pairs = new ArrayList<>();
        pairs.add(loadOrGenerate(ed25519, true));
        pairs.add(loadOrGenerate(rsaPath(ed25519), false));
        return pairs;
    }

    private static KeyPair loadOrGenerate(Path file, boolean ed25519) throws IOException, GeneralSecurityException {
        if (Files.exists(file)) {
            return Keys.readKeyPairs(file).getFirst();
        }
        KeyPair kp = ed25519 ? Keys.generateEd25519() : Keys.generateRsa(3072);
        Keys.writeKeyPair(kp, file, "twine-host-key");
        return kp;
    }
}
