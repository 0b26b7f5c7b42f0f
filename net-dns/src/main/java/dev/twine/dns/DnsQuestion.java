package dev.twine.dns;

import java.net.InetAddress;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * What a {@link DnsAuthority} is asked: the question of a query (RFC 1035 §4.1.2) and what the
 * server knows about who asked and how.
 *
 * @param name the name asked, in presentation form without the trailing dot and with the case
 *     the client sent ({@code WWW.Example.com}; the root is {@code .}); compare it
 *     case-insensitively (RFC 4343), and answer with it as the owner so the client sees its own
 *     spelling
 * @param type the type code asked (1 for A, 28 for AAAA, 255 for ANY, ...; see
 *     {@link #is(RecordType)})
 * @param dnsClass the class code asked: 1 (IN) nearly always, 255 for ANY
 * @param client the client's address, or empty where the transport has none (a Unix socket)
 * @param transport whether the query came over UDP or TCP
 * @param ednsPayloadSize the UDP payload size the client offered in an EDNS OPT record
 *     (RFC 6891 §6.2.3), or empty if it sent no OPT; the server applies it, this is for
 *     information
 * @param recursionDesired the RD bit (RFC 1035 §4.1.1): whether the client asked for recursion
 * @param dnssecOk the DO bit of the query's OPT record (RFC 3225 §3): whether the client wants
 *     DNSSEC records (RRSIG, NSEC, NSEC3, DS) with the answer; an unsigned authority ignores it
 */
public record DnsQuestion(String name, int type, int dnsClass, Optional<InetAddress> client, Transport transport,
        OptionalInt ednsPayloadSize, boolean recursionDesired, boolean dnssecOk) {
    /** The type code of an ANY question (RFC 1035 §3.2.3, RFC 8482). */
    public static final int ANY = 255;
    /** The class code of the Internet (RFC 1035 §3.2.4). */
    public static final int IN = 1;

    /** How a query reached the server. */
    public enum Transport {
        /** A datagram: the server truncates what does not fit and sets TC (RFC 1035 §4.2.1). */
        UDP,
        /** A TCP stream: the whole answer is sent, up to 65,535 bytes (RFC 7766). */
        TCP
    }

    /** Checks its parts. */
    public DnsQuestion {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(client, "client");
        Objects.requireNonNull(transport, "transport");
        Objects.requireNonNull(ednsPayloadSize, "ednsPayloadSize");
    }

    /** A question without the DO bit. */
    public DnsQuestion(String name, int type, int dnsClass, Optional<InetAddress> client, Transport transport,
            OptionalInt ednsPayloadSize, boolean recursionDesired) {
        this(name, type, dnsClass, client, transport, ednsPayloadSize, recursionDesired, false);
    }

    /** Whether the question asks for {@code t} (an ANY question asks for no single type). */
    public boolean is(RecordType t) {
        return type == t.code();
    }

    /**
     * Whether {@link #name()} is {@code zone} or a name below it, ignoring ASCII case
     * ({@code inZone("svc.local")} holds for {@code Web.SVC.local} and {@code svc.local}, not for
     * {@code xsvc.local}). A trailing dot on {@code zone} is ignored; {@code "."} holds for every
     * name.
     */
    public boolean inZone(String zone) {
        String z = zone.endsWith(".") && zone.length() > 1 ? zone.substring(0, zone.length() - 1) : zone;
        if (z.equals(".")) {
            return true;
        }
        String n = name.toLowerCase(Locale.ROOT);
        z = z.toLowerCase(Locale.ROOT);
        return n.equals(z) || n.endsWith("." + z);
    }
}
