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
import org.xbill.DNS.Flags;
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
 *
 * <h2>DNSSEC</h2>
 * This client does not validate signatures itself. {@link #authenticatedLookup} asks with the AD
 * bit set (RFC 6840 §5.7) and reports whether the server answered with it: a validating
 * recursive resolver sets it when it found the answer secure (RFC 4035 §3.2.3). That is only worth
 * something when the path to that resolver cannot be tampered with, and the resolver itself
 * validates (a forwarder on loopback, such as Docker's, may pass on a bit set far away), so the bit
 * is believed only when the operator says so: {@link Builder#trustAuthenticatedData}, or
 * {@code options trust-ad} in the resolv.conf read (glibc's rule; Postfix likewise asks to be told,
 * with {@code smtp_dns_support_level = dnssec}, and wants a validating resolver on the host).
 */
public final class Resolver {
    private final Exchanger exchanger;
    private final List<InetSocketAddress> servers;
    private final boolean trustAd;

    private Resolver(Builder b) {
        this.servers = List.copyOf(b.servers);
        this.exchanger = new Exchanger(servers, b.timeout, b.attempts);
        this.trustAd = b.trustAd != null && b.trustAd;
    }

    /**
     * The records of one lookup and whether they are authenticated.
     *
     * @param records the records, as {@link #lookup} returns them
     * @param authenticated whether the server set the AD bit (its DNSSEC validation found the
     *     answer secure) and this resolver trusts it to; false for an insecure or unsigned answer
     * @param <T> the record class
     */
    public record Lookup<T extends DnsRecord>(List<T> records, boolean authenticated) {
        /** Copies the list; nothing may be null. */
        public Lookup {
            records = List.copyOf(records);
        }
    }

    /** Whether the AD bit of these servers' answers is believed; see the class description. */
    public boolean trustsAuthenticatedData() {
        return trustAd;
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
        return ask(name, type, false).records();
    }

    /**
     * Like {@link #lookup}, and whether the answer is authenticated by DNSSEC: asked with the AD
     * bit, and true only if the server set it in its answer and this resolver trusts it (see the
     * class description). A name error or a failure throws as {@link #lookup} does; an empty
     * answer (NODATA) can be authenticated too, the server having checked the proof of absence.
     *
     * @throws IllegalArgumentException if {@code recordClass} does not belong to {@code type}
     */
    public <T extends DnsRecord> Lookup<T> authenticatedLookup(String name, RecordType type, Class<T> recordClass)
            throws IOException, InterruptedException {
        Lookup<DnsRecord> l = ask(name, type, true);
        return new Lookup<>(cast(l.records(), type, recordClass), l.authenticated());
    }

    /**
     * {@link #lookupMx}, and whether the answer is authenticated ({@link #authenticatedLookup}).
     *
     * @throws DnsException with {@link DnsException#isNameError()} if the domain does not exist
     */
    public Lookup<DnsRecord.Mx> authenticatedLookupMx(String domain) throws IOException, InterruptedException {
        Lookup<DnsRecord.Mx> l = authenticatedLookup(domain, RecordType.MX, DnsRecord.Mx.class);
        return new Lookup<>(byPreference(l.records()), l.authenticated());
    }

    private Lookup<DnsRecord> ask(String name, RecordType type, boolean wantAd) throws IOException, InterruptedException {
        Objects.requireNonNull(type, "type");
        Name qname = toName(name);
        Message query = Exchanger.query(Record.newRecord(qname, type.code(), DClass.IN));
        if (wantAd) {
            // RFC 6840 §5.7: the asker understands the AD bit and wants it in the answer
            query.getHeader().setFlag(Flags.AD);
        }
        Message response = exchanger.exchange(query);
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
        return new Lookup<>(out, wantAd && trustAd && response.getHeader().getFlag(Flags.AD));
    }

    /**
     * The typed records of {@code type} for {@code name}: like {@link #lookup} with the cast done.
     *
     * @throws IllegalArgumentException if {@code recordClass} does not belong to {@code type}
     */
    public <T extends DnsRecord> List<T> lookup(String name, RecordType type, Class<T> recordClass)
            throws IOException, InterruptedException {
        return cast(lookup(name, type), type, recordClass);
    }

    private static <T extends DnsRecord> List<T> cast(List<DnsRecord> records, RecordType type, Class<T> recordClass) {
        List<T> out = new ArrayList<>();
        for (DnsRecord r : records) {
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
        return byPreference(lookup(domain, RecordType.MX, DnsRecord.Mx.class));
    }

    /** Most preferred first; a stable sort, so equal preferences keep the server's order. */
    private static List<DnsRecord.Mx> byPreference(List<DnsRecord.Mx> records) {
        List<DnsRecord.Mx> mx = new ArrayList<>(records);
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
        /** Null: not said, so not trusted. */
        private Boolean trustAd;

        private Builder() {}

        /**
         * Whether to believe the AD bit in these servers' answers ({@link #authenticatedLookup}).
         * Without this call: only if a {@linkplain #serversFrom resolv.conf} read says
         * {@code options trust-ad}. Say yes for a validating resolver on this host, or on a path
         * no one can tamper with.
         */
        public Builder trustAuthenticatedData(boolean trust) {
            this.trustAd = trust;
            return this;
        }

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
         * {@code /etc/resolv.conf}; an {@code options} line with {@code trust-ad} makes this
         * resolver {@linkplain #trustAuthenticatedData trust the AD bit} (unless that was set).
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
                } else if (f[0].equals("options") && List.of(f).contains("trust-ad") && trustAd == null) {
                    trustAd = true;
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
