package dev.twine.dns;

import java.util.Optional;

/**
 * The record types {@link Resolver#lookup} answers with typed values, with their IANA type codes
 * (RFC 1035 §3.2.2, RFC 3596 for AAAA, RFC 2782 for SRV).
 */
public enum RecordType {
    /** An IPv4 address. */
    A(1),
    /** An authoritative name server. */
    NS(2),
    /** The canonical name of an alias. */
    CNAME(5),
    /** The start of a zone of authority. */
    SOA(6),
    /** A domain name pointer (reverse lookups). */
    PTR(12),
    /** A mail exchange. */
    MX(15),
    /** Text strings. */
    TXT(16),
    /** An IPv6 address. */
    AAAA(28),
    /** A service location. */
    SRV(33);

    private final int code;

    RecordType(int code) {
        this.code = code;
    }

    /** The type with this code, or empty for a type without a constant here. */
    public static Optional<RecordType> of(int code) {
        for (RecordType t : values()) {
            if (t.code == code) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }

    /** The type's code on the wire. */
    public int code() {
        return code;
    }
}
