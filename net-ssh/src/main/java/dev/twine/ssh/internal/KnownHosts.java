package dev.twine.ssh.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.common.config.keys.PublicKeyEntryResolver;

/**
 * An OpenSSH {@code known_hosts} file (sshd(8), "SSH_KNOWN_HOSTS FILE FORMAT"): lines of
 * {@code [marker] patterns keytype base64 [comment]}, the patterns a comma-separated list of host
 * names with {@code *} and {@code ?} wildcards and {@code !} negation, or one hashed name
 * {@code |1|salt|HMAC-SHA1(salt, name)}; a host on a port other than 22 is written
 * {@code [host]:port}. The {@code @revoked} marker refuses a key; {@code @cert-authority} lines are
 * skipped (this client does not ask for host certificates). Lines that do not parse are skipped,
 * as OpenSSH does.
 */
public final class KnownHosts {

    /** What the file says about a host's key. */
    public enum Verdict { KNOWN, UNKNOWN, CHANGED, REVOKED }

    /**
     * The verdict, and the line that decided it (the offending line for {@code CHANGED} and
     * {@code REVOKED}; 0 when no line did).
     */
    public record Check(Verdict verdict, int line) {
    }

    private record Entry(int line, String marker, String patterns, PublicKey key) {
    }

    private final List<Entry> entries;

    private KnownHosts(List<Entry> entries) {
        this.entries = entries;
    }

    /** The entries of {@code file}; a missing file has none. */
    public static KnownHosts read(Path file) throws IOException {
        List<Entry> entries = new ArrayList<>();
        if (!Files.exists(file)) {
            return new KnownHosts(entries);
        }
        int n = 0;
        for (String line : new String(Files.readAllBytes(file), StandardCharsets.UTF_8).split("\n", -1)) {
            n++;
            String t = line.strip();
            if (t.isEmpty() || t.startsWith("#")) {
                continue;
            }
            String[] f = t.split("\\s+");
            int i = 0;
            String marker = f[0].startsWith("@") ? f[i++] : "";
            if (f.length < i + 3) {
                continue;
            }
            try {
                PublicKey key = PublicKeyEntry.parsePublicKeyEntry(f[i + 1] + " " + f[i + 2])
                        .resolvePublicKey(null, Map.of(), PublicKeyEntryResolver.IGNORING);
                if (key != null) {
                    entries.add(new Entry(n, marker, f[i], key));
                }
            } catch (IllegalArgumentException | GeneralSecurityException | IOException unusable) {
                // a key type we do not know, or bad base64: this line says nothing
            }
        }
        return new KnownHosts(entries);
    }

    /** How {@code host} is written for {@code port}: {@code host}, or {@code [host]:port} off port 22. */
    public static String hostName(String host, int port) {
        return port == 22 ? host : "[" + host + "]:" + port;
    }

    /** What the file says of {@code key} for {@code name} (as {@link #hostName} writes it). */
    public Check check(String name, PublicKey key) {
        for (Entry e : entries) {
            if (e.marker.equals("@revoked") && Keys.sameKey(e.key, key)) {
                return new Check(Verdict.REVOKED, e.line);
            }
        }
        Entry other = null;
        for (Entry e : entries) {
            if (!e.marker.isEmpty() || !matches(e.patterns, name)) {
                continue;
            }
            if (Keys.sameKey(e.key, key)) {
                return new Check(Verdict.KNOWN, e.line);
            }
            if (other == null && sameType(e.key, key)) {
                other = e;
            }
        }
        // a key of another type only is not a change: the host is new for this type, as in OpenSSH
        return other == null ? new Check(Verdict.UNKNOWN, 0) : new Check(Verdict.CHANGED, other.line);
    }

    private static boolean sameType(PublicKey a, PublicKey b) {
        return KeyUtils.getKeyType(a).equals(KeyUtils.getKeyType(b));
    }

    /**
     * Adds {@code key} for {@code name} at the end of {@code file} (made, and its directory 0700,
     * if missing), unhashed, as OpenSSH's default {@code HashKnownHosts no} writes it.
     */
    public static void append(Path file, String name, PublicKey key) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(dir);
            try {
                Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
            } catch (UnsupportedOperationException notPosix) {
                // the directory's default permissions, then
            }
        }
        String prefix = "";
        if (Files.exists(file) && Files.size(file) > 0) {
            byte[] all = Files.readAllBytes(file);
            prefix = all[all.length - 1] == '\n' ? "" : "\n";
        }
        String line = prefix + name + " " + Keys.publicKeyLine(key, null) + "\n";
        Files.writeString(file, line, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND,
                StandardOpenOption.SYNC);
    }

    /** Whether a comma-separated pattern list matches: some pattern does, and no negated one. */
    static boolean matches(String patterns, String name) {
        if (patterns.startsWith("|1|")) {
            return hashedMatches(patterns, name);
        }
        boolean matched = false;
        for (String p : patterns.split(",")) {
            boolean negated = p.startsWith("!");
            String pattern = negated ? p.substring(1) : p;
            if (AddressPatterns.wildcard(pattern.toLowerCase(java.util.Locale.ROOT), 0, name.toLowerCase(java.util.Locale.ROOT), 0)) {
                if (negated) {
                    return false;
                }
                matched = true;
            }
        }
        return matched;
    }

    /** {@code |1|base64(salt)|base64(HMAC-SHA1 keyed by salt over the name)} (OpenSSH's hostfile.c format). */
    private static boolean hashedMatches(String entry, String name) {
        String[] parts = entry.split("\\|");
        if (parts.length != 4) {
            return false;
        }
        try {
            byte[] salt = Base64.getDecoder().decode(parts[2]);
            byte[] hash = Base64.getDecoder().decode(parts[3]);
            Mac mac = Mac.getInstance("HmacSHA1");
            mac.init(new SecretKeySpec(salt, "HmacSHA1"));
            return MessageDigest.isEqual(hash, mac.doFinal(name.getBytes(StandardCharsets.UTF_8)));
        } catch (IllegalArgumentException | GeneralSecurityException e) {
            return false;
        }
    }
}
