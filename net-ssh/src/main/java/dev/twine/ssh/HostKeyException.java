package dev.twine.ssh;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * The server's host key was not trusted: not in the known_hosts file (under
 * {@link SshClient.HostKeyChecking#STRICT}), different from the key listed there for the host, or
 * revoked ({@code @revoked}). What {@link SshClient.Builder#connect()} throws then, with what a
 * command needs to say so as OpenSSH does.
 */
public final class HostKeyException extends IOException {
    private static final long serialVersionUID = 1L;

    /** Why the key was refused. */
    public enum Reason {
        /** No key of its type is listed for the host. */
        UNKNOWN,
        /** Another key of the same type is listed for the host: possibly someone in the middle. */
        CHANGED,
        /** The key is marked {@code @revoked}. */
        REVOKED
    }

    private final Reason reason;
    private final String host;
    private final String keyType;
    private final String fingerprint;
    private final transient Path knownHosts;
    private final int line;

    HostKeyException(Reason reason, String host, String keyType, String fingerprint, Path knownHosts, int line) {
        super(switch (reason) {
            case UNKNOWN -> "host key of " + host + " is not in " + knownHosts;
            case CHANGED -> "host key of " + host + " has changed (" + knownHosts + ":" + line + ")";
            case REVOKED -> "host key of " + host + " is revoked (" + knownHosts + ":" + line + ")";
        } + ": " + keyType + " " + fingerprint);
        this.reason = Objects.requireNonNull(reason);
        this.host = host;
        this.keyType = keyType;
        this.fingerprint = fingerprint;
        this.knownHosts = knownHosts;
        this.line = line;
    }

    /**
     * Why the key was refused.
     *
     * @return the reason
     */
    public Reason reason() {
        return reason;
    }

    /**
     * The host as known_hosts names it: {@code host}, or {@code [host]:port} off port 22.
     *
     * @return the host's name
     */
    public String host() {
        return host;
    }

    /**
     * The key's type as OpenSSH prints it in messages: {@code ED25519}, {@code ECDSA}, {@code RSA}.
     *
     * @return the key type
     */
    public String keyType() {
        return keyType;
    }

    /**
     * The key's fingerprint as {@code ssh-keygen -l} prints it ({@code SHA256:...}).
     *
     * @return the fingerprint
     */
    public String fingerprint() {
        return fingerprint;
    }

    /**
     * The known_hosts file that was consulted.
     *
     * @return its path
     */
    public Path knownHosts() {
        return knownHosts;
    }

    /**
     * The line of the offending entry (the other key, or the {@code @revoked} one).
     *
     * @return a line number from 1, or 0 for {@link Reason#UNKNOWN}
     */
    public int line() {
        return line;
    }
}
