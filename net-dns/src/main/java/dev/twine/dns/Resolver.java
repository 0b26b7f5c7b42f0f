package dev.twine.dns;

import dev.twine.dns.internal.Exchanger;
import dev.twine.dns.internal.Records;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.TextParseException;

/**
 * A blocking DNS resolver client: asks the configured servers (recursive resolvers, or an
 * authoritative server directly) and returns typed answers. Each instance has its own
 * configuration; nothing global is read or changed.
 *
 * <pre>{@code
 * Resolver dns = Resolver.builder().server("127.0.0.1", 53).timeout(Duration.ofSeconds(2)).build();
 * List<DnsRecord.Mx> mx = dns.lookupMx("example.com");
 * }</pre>
 *
 * <h2>Blocking and errors</h2>
 * Every lookup blocks the calling (virtual) thread for at most about {@code attempts ×
 * servers × timeout}. A query goes over UDP with EDNS0; a truncated answer is asked again over
 * TCP (RFC 7766 §5). A lookup returns the records of the asked type (following CNAMEs in the
 * answer, RFC 1034 §3.6.2), an empty list if the name exists without such records, and throws
 * {@link DnsException} for NXDOMAIN, SERVFAIL, REFUSED and the like,
 * {@link java.net.SocketTimeoutException} when no server answered, and
 * {@link InterruptedException} when the thread is interrupted (cancellation). Instances are
 * immutable and thread-safe.
 */
public final class Resolver {
    private final Exchanger exchanger;
    private final List<InetSocketAddress> servers;

    private Resolver(Builder b) {
        this.servers = List.copyOf(b.servers);
        this.exchanger = new Exchanger(servers, b.timeout, b.attempts);
    }

    /** Starts a configuration. */
    public static Builder builder() {
        return new Builder();
    }

    /** The servers asked, in order. */
    public List<InetSocketAddress> servers() {
        return servers;
    }

    /**
     * The records of {@code type} for {@code name} (absolute; a trailing dot is optional).
     *
     * @return the records in the order received, each an instance of the record class for
     *     {@code type}; empty if the name has no such records (NODATA)
     * @throws DnsException if the server answered with an error code (NXDOMAIN included)
     * @throws java.net.SocketTimeoutException if no server answered in time
     * @throws IOException on network failure or a bad name
     * @throws InterruptedException if interrupted while waiting
     */
    public List<DnsRecord> lookup(String name, RecordType type) throws IOException, InterruptedException {
        Objects.requireNonNull(type, "type");
        Name qname = toName(name);
        Message response = exchanger.exchange(Exchanger.query(Record.newRecord(qname, type.code(), DClass.IN)));
        int rcode = response.getRcode();
        if (rcode != Rcode.NOERROR) {
            throw new DnsException(rcode, Rcode.string(rcode), name);
        }
        // the owner names along the CNAME chain that answers for qname (RFC 1034 §3.6.2)
        Set<Name> owners = new HashSet<>();
        owners.add(qname);
        List<Record> answers = response.getSection(Section.ANSWER);
        for (int i = 0; i < 16; i++) {
            boolean grew = false;
            for (Record r : answers) {
                if (r instanceof CNAMERecord c && owners.contains(c.getName()) && owners.add(c.getTarget())) {
                    grew = true;
                }
            }
            if (!grew) {
                break;
            }
        }
        List<DnsRecord> out = new ArrayList<>();
        for (Record r : answers) {
            if (r.getType() == type.code() && owners.contains(r.getName())) {
                out.add(Records.typed(r));
            }
        }
        return out;
    }

    /**
     * The typed records of {@code type} for {@code name}: like {@link #lookup} with the cast done.
     *
     * @throws IllegalArgumentException if {@code recordClass} does not belong to {@code type}
     */
    public <T extends DnsRecord> List<T> lookup(String name, RecordType type, Class<T> recordClass)
            throws IOException, InterruptedException {
        List<T> out = new ArrayList<>();
        for (DnsRecord r : lookup(name, type)) {
            if (!recordClass.isInstance(r)) {
                throw new IllegalArgumentException(recordClass.getSimpleName() + " is not the record class of " + type);
            }
            out.add(recordClass.cast(r));
        }
        return out;
    }

    /**
     * The mail exchanges of {@code domain}, most preferred (lowest preference) first; equal
     * preferences keep the server's order. Empty if the domain has no MX records: a mail sender
     * then falls back to the domain's own address (RFC 5321 §5.1). A null MX ({@code 0 .}, RFC
     * 7505) is returned as is, with exchange {@code .}.
     *
     * @throws DnsException with {@link DnsException#isNameError()} if the domain does not exist
     * @see #lookup(String, RecordType)
     */
    public List<DnsRecord.Mx> lookupMx(String domain) throws IOException, InterruptedException {
        List<DnsRecord.Mx> mx = new ArrayList<>(lookup(domain, RecordType.MX, DnsRecord.Mx.class));
        mx.sort(Comparator.comparingInt(DnsRecord.Mx::preference));
        return mx;
    }

    /**
     * The IPv4 and IPv6 addresses of {@code name} (A then AAAA).
     *
     * @throws DnsException if the name does not exist or the server failed
     */
    public List<InetAddress> lookupAddresses(String name) throws IOException, InterruptedException {
        List<InetAddress> out = new ArrayList<>();
        for (DnsRecord.A a : lookup(name, RecordType.A, DnsRecord.A.class)) {
            out.add(a.address());
        }
        for (DnsRecord.Aaaa a : lookup(name, RecordType.AAAA, DnsRecord.Aaaa.class)) {
            out.add(a.address());
        }
        return out;
    }

    private static Name toName(String name) throws IOException {
        Objects.requireNonNull(name, "name");
        try {
            return Name.fromString(name.endsWith(".") ? name : name + ".");
        } catch (TextParseException e) {
            throw new IOException("bad domain name '" + name + "': " + e.getMessage(), e);
        }
    }

    /**
     * The system's resolver: the {@code nameserver} lines of {@code /etc/resolv.conf}, or
     * {@code 127.0.0.1:53} when the file is missing or names none.
     *
     * @return the resolver
     */
    public static Resolver system() {
        Path resolvConf = Path.of("/etc/resolv.conf");
        if (Files.isReadable(resolvConf)) {
            try {
                return builder().serversFrom(resolvConf).build();
            } catch (IOException | RuntimeException e) {
                // no usable nameserver line: the local resolver below
            }
        }
        return builder().server("127.0.0.1", 53).build();
    }

    /** A resolver configuration. */
    public static final class Builder {
        private final List<InetSocketAddress> servers = new ArrayList<>();
        private Duration timeout = Duration.ofSeconds(2);
        private int attempts = 2;

        private Builder() {}

        /** Adds a server to ask, by IP address literal and port. */
        public Builder server(String address, int port) {
            return server(new InetSocketAddress(literal(address), port));
        }

        /** Adds a server to ask. */
        public Builder server(InetSocketAddress address) {
            if (address.isUnresolved()) {
                throw new IllegalArgumentException("a DNS server must be an IP address: " + address);
            }
            servers.add(address);
            return this;
        }

        /**
         * Adds the {@code nameserver} lines of a resolv.conf file (port 53), such as
         * {@code /etc/resolv.conf}.
         *
         * @throws IOException if the file cannot be read
         */
        public Builder serversFrom(Path resolvConf) throws IOException {
            for (String line : Files.readAllLines(resolvConf)) {
                String[] f = line.trim().split("\\s+");
                if (f.length >= 2 && f[0].equals("nameserver")) {
                    String addr = f[1];
                    int zone = addr.indexOf('%');
                    server(zone >= 0 ? addr.substring(0, zone) : addr, 53);
                }
            }
            return this;
        }

        /** How long one attempt waits for an answer; positive. Default 2 seconds. */
        public Builder timeout(Duration timeout) {
            if (timeout.isZero() || timeout.isNegative()) {
                throw new IllegalArgumentException("timeout must be positive: " + timeout);
            }
            this.timeout = timeout;
            return this;
        }

        /** How many rounds over all servers before giving up; at least 1. Default 2. */
        public Builder attempts(int attempts) {
            if (attempts < 1) {
                throw new IllegalArgumentException("attempts must be at least 1: " + attempts);
            }
            this.attempts = attempts;
            return this;
        }

        /**
         * The resolver.
         *
         * @throws IllegalStateException if no server was given
         */
        public Resolver build() {
            if (servers.isEmpty()) {
                throw new IllegalStateException("no DNS server given");
            }
            return new Resolver(this);
        }

        private static InetAddress literal(String address) {
            // only literals: resolving a DNS server's own name would need DNS
            if (!address.matches("[0-9.]+|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*")) {
                throw new IllegalArgumentException("not an IP address: " + address);
            }
            try {
                return InetAddress.getByName(address);
            } catch (UnknownHostException e) {
                throw new IllegalArgumentException("not an IP address: " + address, e);
            }
        }
    }
}
