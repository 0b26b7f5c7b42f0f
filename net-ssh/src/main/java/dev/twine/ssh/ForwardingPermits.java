package dev.twine.ssh;

import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * What one login may forward, in the terms of OpenSSH's {@code authorized_keys} options
 * (sshd(8) AUTHORIZED_KEYS FILE FORMAT): {@code permitopen="host:port"} limits the destinations
 * of local and dynamic forwarding ({@code ssh -L}, {@code ssh -D}: RFC 4254 §7.2
 * {@code direct-tcpip}), {@code permitlisten="[host:]port"} the ports of remote forwarding
 * ({@code ssh -R}: RFC 4254 §7.1 {@code tcpip-forward}), and {@code no-port-forwarding} refuses
 * both. An empty list leaves that direction unrestricted (within what the server allows at
 * all); {@code *} stands for any host or any port, and {@code none} admits nothing.
 *
 * <pre>{@code
 * ForwardingPermits p = new ForwardingPermits(List.of("db.internal:5432", "*:443"), List.of("8080"));
 * p.allowsOpen("db.internal", 5432);   // true
 * p.allowsListen("localhost", 8080);   // true
 * }</pre>
 *
 * @param open {@code host:port} patterns for {@code direct-tcpip}; empty: any
 * @param listen {@code [host:]port} patterns for {@code tcpip-forward}; empty: any
 */
public record ForwardingPermits(List<String> open, List<String> listen) {

    /** No restriction in either direction. */
    public static final ForwardingPermits ANY = new ForwardingPermits(List.of(), List.of());

    /** Nothing in either direction ({@code no-port-forwarding}). */
    public static final ForwardingPermits NONE = new ForwardingPermits(List.of("none"), List.of("none"));

    /**
     * Copies the lists.
     *
     * @throws NullPointerException if a list or an element is null
     */
    public ForwardingPermits {
        open = List.copyOf(open);
        listen = List.copyOf(listen);
    }

    /**
     * Whether a {@code direct-tcpip} channel to {@code host:port} is permitted. Host names are
     * compared as given, ignoring case (no lookups, as sshd).
     *
     * @param host the destination the client asked for
     * @param port its port
     * @return true if {@link #open} is empty or one of its patterns matches
     */
    public boolean allowsOpen(String host, int port) {
        return open.isEmpty() || open.stream().anyMatch(p -> matches(p, host, port, false));
    }

    /**
     * Whether a {@code tcpip-forward} listener on {@code host:port} is permitted; a pattern
     * without a host matches any host.
     *
     * @param host the bind address the client asked for
     * @param port the port (0: the server picks one; only {@code *} admits that)
     * @return true if {@link #listen} is empty or one of its patterns matches
     */
    public boolean allowsListen(String host, int port) {
        return listen.isEmpty() || listen.stream().anyMatch(p -> matches(p, host, port, true));
    }

    private static boolean matches(String pattern, String host, int port, boolean hostOptional) {
        String p = pattern.strip();
        if (p.equalsIgnoreCase("none")) {
            return false;
        }
        int colon = p.lastIndexOf(':');
        if (colon < 0 && !hostOptional) {
            return false; // sshd requires host:port here
        }
        String patternHost = colon < 0 ? "*" : p.substring(0, colon);
        if (patternHost.startsWith("[") && patternHost.endsWith("]")) {
            patternHost = patternHost.substring(1, patternHost.length() - 1);
        }
        String patternPort = p.substring(colon + 1);
        boolean portOk = patternPort.equals("*") || patternPort.equals(String.valueOf(port));
        boolean hostOk = patternHost.equals("*")
                || patternHost.toLowerCase(Locale.ROOT).equals(Objects.requireNonNullElse(host, "").toLowerCase(Locale.ROOT));
        return portOk && hostOk;
    }
}
