package dev.twine.core;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The PROXY protocol (HAProxy's specification, versions 1 and 2) on a listening endpoint: a load
 * balancer in front of the server (HAProxy, nginx's stream module, AWS NLB, ...) sends one header
 * with the real client's address before the client's own bytes, and the server then sees that
 * address everywhere: {@link Connection#remoteAddress()}, the {@link ConnectionLimits} per
 * address, the {@code AuthPolicy} penalties and every log line.
 *
 * <p>Given on the endpoint: {@code tcp:25:proxy=v2} (or {@code v1}, or {@code any} for either),
 * with {@code proxy-from=CIDR,CIDR...} naming the load balancers (loopback only by default):
 *
 * <pre>
 * ./twine mail ... --smtp tcp:2525:proxy=v2:proxy-from=10.0.0.0/8
 * </pre>
 *
 * or in code, {@code Server.builder("smtp").listen(new Endpoint.Proxied(tcp, ProxyProtocol.builder()
 * .version(ProxyProtocol.Version.V2).trust(AddressBlock.parse("10.0.0.0/8")).build()))}.
 *
 * <h2>What is accepted</h2>
 * <ul>
 *   <li>A connection from an address outside {@code proxy-from} is closed at once, unanswered:
 *       a client must not be able to claim an address by sending the header itself.</li>
 *   <li>From a trusted proxy the header is required (spec §2: a receiver must not guess) and
 *       must arrive within {@link #headerTimeout()} (10 s by default); anything else closes the
 *       connection before the handler runs.</li>
 *   <li>Version 1 {@code PROXY TCP4|TCP6 ...} and version 2 {@code PROXY} commands for TCP over
 *       IPv4 and IPv6 set the client address; version 1 {@code UNKNOWN}, version 2 {@code LOCAL}
 *       (a balancer's health check) and other address families keep the proxy's own address.
 *       Version 2 TLVs are read past and ignored.</li>
 *   <li>For a {@code tls:} endpoint the header comes first, in the clear, then the handshake, as
 *       balancers send it.</li>
 * </ul>
 *
 * <p>Immutable and thread-safe.
 */
public final class ProxyProtocol {

    /** Which header versions a listener accepts. */
    public enum Version {
        /** The text header ({@code PROXY TCP4 ...\r\n}). */
        V1,
        /** The binary header (the 12-byte signature, then addresses and TLVs). */
        V2,
        /** Either, told apart by the first bytes. */
        ANY
    }

    private final Version version;
    private final List<AddressBlock> trusted;
    private final Duration headerTimeout;

    private ProxyProtocol(Builder b) {
        this.version = b.version;
        this.trusted = b.trusted.isEmpty() ? AddressBlock.loopback() : List.copyOf(b.trusted);
        this.headerTimeout = b.headerTimeout;
    }

    /**
     * Starts a configuration: version 2, loopback proxies only, a 10 s header timeout.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The versions accepted.
     *
     * @return the version setting
     */
    public Version version() {
        return version;
    }

    /**
     * The addresses allowed to send a header.
     *
     * @return the trusted proxies' blocks, never empty
     */
    public List<AddressBlock> trusted() {
        return trusted;
    }

    /**
     * How long a trusted proxy has to send the whole header.
     *
     * @return a positive duration
     */
    public Duration headerTimeout() {
        return headerTimeout;
    }

    /**
     * Describes the configuration as the endpoint option it came from.
     *
     * @return for example {@code proxy=v2:proxy-from=10.0.0.0/8}
     */
    @Override
    public String toString() {
        return "proxy=" + version.name().toLowerCase(java.util.Locale.ROOT) + ":proxy-from="
                + String.join(",", trusted.stream().map(AddressBlock::toString).toList());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ProxyProtocol p && p.version == version && p.trusted.toString().equals(trusted.toString())
                && p.headerTimeout.equals(headerTimeout);
    }

    @Override
    public int hashCode() {
        return Objects.hash(version, trusted.toString(), headerTimeout);
    }

    /** Builds a {@link ProxyProtocol}; not thread-safe. */
    public static final class Builder {
        private Version version = Version.V2;
        private final List<AddressBlock> trusted = new ArrayList<>();
        private Duration headerTimeout = Duration.ofSeconds(10);

        private Builder() {
        }

        /**
         * Which header versions to accept.
         *
         * @param version {@code V1}, {@code V2} (the default) or {@code ANY}
         * @return this builder
         */
        public Builder version(Version version) {
            this.version = Objects.requireNonNull(version, "version");
            return this;
        }

        /**
         * Adds a block of trusted proxy addresses; with none, loopback only.
         *
         * @param block the proxies' addresses
         * @return this builder
         */
        public Builder trust(AddressBlock block) {
            trusted.add(Objects.requireNonNull(block, "block"));
            return this;
        }

        /**
         * How long a trusted proxy has to send the whole header.
         *
         * @param timeout positive
         * @return this builder
         * @throws IllegalArgumentException if not positive
         */
        public Builder headerTimeout(Duration timeout) {
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("headerTimeout must be positive: " + timeout);
            }
            this.headerTimeout = timeout;
            return this;
        }

        /**
         * Builds the configuration.
         *
         * @return the configuration
         */
        public ProxyProtocol build() {
            return new ProxyProtocol(this);
        }
    }
}
