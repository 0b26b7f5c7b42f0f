package dev.twine.dns;

import java.io.IOException;

/**
 * A DNS server answered, but not with data: the name does not exist ({@code NXDOMAIN}), or the
 * server failed or refused ({@code SERVFAIL}, {@code REFUSED}, ...). Carries the response code
 * (RFC 1035 §4.1.1, RFC 6895 §2.3). Timeouts and network errors are plain {@link IOException}s
 * ({@link java.net.SocketTimeoutException} for a timeout).
 */
public final class DnsException extends IOException {
    private static final long serialVersionUID = 1L;

    /** The response code for "the name does not exist". */
    public static final int NXDOMAIN = 3;

    private final int rcode;
    private final String name;

    /**
     * An answer with response code {@code rcode} for {@code name}.
     *
     * @param rcode the response code, such as {@link #NXDOMAIN}
     * @param rcodeName its mnemonic, such as {@code NXDOMAIN}
     * @param name the queried name
     */
    public DnsException(int rcode, String rcodeName, String name) {
        super(name + ": " + rcodeName);
        this.rcode = rcode;
        this.name = name;
    }

    /** The response code (3 is NXDOMAIN, 2 SERVFAIL, 5 REFUSED). */
    public int rcode() {
        return rcode;
    }

    /** The name that was looked up. */
    public String name() {
        return name;
    }

    /** Whether the name does not exist (NXDOMAIN): a permanent answer, unlike a server failure. */
    public boolean isNameError() {
        return rcode == NXDOMAIN;
    }
}
