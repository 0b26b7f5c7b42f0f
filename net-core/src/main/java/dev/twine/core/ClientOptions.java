package dev.twine.core;

import java.net.InetAddress;
import java.time.Duration;
import java.util.Objects;

/**
 * How {@link Client} connects: timeouts, the TLS configuration for {@code tls:} endpoints, a local
 * address to connect from, and a name for logs. Immutable; build with {@link #builder()}.
 */
public final class ClientOptions {
    private static final ClientOptions DEFAULTS = builder().build();

    private final String name;
    private final Duration connectTimeout;
    private final Duration readTimeout;
    private final Duration writeTimeout;
    private final Tls tls;
    private final InetAddress localAddress;

    private ClientOptions(Builder b) {
        this.name = b.name;
        this.connectTimeout = b.connectTimeout;
        this.readTimeout = b.readTimeout;
        this.writeTimeout = b.writeTimeout;
        this.tls = b.tls;
        this.localAddress = b.localAddress;
    }

    /** The defaults: 30 s to connect, 5 min per read, 60 s per write, the JDK's trust store. */
    public static ClientOptions defaults() {
        return DEFAULTS;
    }

    /** Starts from the defaults. */
    public static Builder builder() {
        return new Builder();
    }

    /** The name used as the connection's service in logs. */
    public String name() {
        return name;
    }

    /** How long connecting (and a TLS handshake) may take; zero means the OS's limit. */
    public Duration connectTimeout() {
        return connectTimeout;
    }

    /** The connection's initial read timeout; zero means none. */
    public Duration readTimeout() {
        return readTimeout;
    }

    /** The connection's initial write timeout; zero means none. */
    public Duration writeTimeout() {
        return writeTimeout;
    }

    /** TLS for {@code tls:} endpoints and STARTTLS, or null for the endpoint's default. */
    public Tls tls() {
        return tls;
    }

    /** The local address to connect from, or null for any. */
    public InetAddress localAddress() {
        return localAddress;
    }

    /** Builds {@link ClientOptions}. */
    public static final class Builder {
        private String name = "client";
        private Duration connectTimeout = Duration.ofSeconds(30);
        private Duration readTimeout = Duration.ofMinutes(5);
        private Duration writeTimeout = Duration.ofSeconds(60);
        private Tls tls;
        private InetAddress localAddress;

        private Builder() {}

        /** Name for logs and thread names; default {@code client}. */
        public Builder name(String name) {
            this.name = Objects.requireNonNull(name, "name");
            return this;
        }

        /** Connect timeout; zero means the OS's limit. */
        public Builder connectTimeout(Duration d) {
            this.connectTimeout = check(d);
            return this;
        }

        /** Read timeout; zero means none. */
        public Builder readTimeout(Duration d) {
            this.readTimeout = check(d);
            return this;
        }

        /** Write timeout; zero means none. */
        public Builder writeTimeout(Duration d) {
            this.writeTimeout = check(d);
            return this;
        }

        /** TLS configuration (must be a client one). */
        public Builder tls(Tls tls) {
            if (!tls.isClient()) {
                throw new IllegalArgumentException("client connections need a client TLS configuration");
            }
            this.tls = tls;
            return this;
        }

        /** Local address to connect from (for example 127.0.0.2, to have more source ports). */
        public Builder localAddress(InetAddress address) {
            this.localAddress = address;
            return this;
        }

        /** The options. */
        public ClientOptions build() {
            return new ClientOptions(this);
        }

        private static Duration check(Duration d) {
            Objects.requireNonNull(d, "duration");
            if (d.isNegative()) {
                throw new IllegalArgumentException("duration must not be negative: " + d);
            }
            return d;
        }
    }
}
