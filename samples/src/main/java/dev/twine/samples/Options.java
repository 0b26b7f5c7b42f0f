package dev.twine.samples;

import dev.twine.core.ConnectionLimits;
import dev.twine.core.Server;
import dev.twine.core.spi.ServicePlugin;
import dev.twine.core.spi.ServicePlugin.Arguments;
import java.util.List;

/** The options every sample server shares, and the server they describe. */
final class Options {
    private Options() {}

    /**
     * The options every sample server takes: where to listen, how many connections at once, and
     * how long a silent connection may stay.
     */
    static List<ServicePlugin.Option> serverOptions(String listen, String maxConnections, String idleTimeout) {
        return List.of(
                ServicePlugin.Option.value("--listen", "EP",
                                "Endpoint to listen on (repeatable); tcp:PORT without :interface=ADDR listens on every interface.")
                        .asRepeatable().withDefault(listen),
                ServicePlugin.Option.value("--max-connections", "N", "Most connections served at once; more wait in the listen backlog.")
                        .withDefault(maxConnections),
                ServicePlugin.Option.value("--idle-timeout", "DURATION", "Close a connection that sends nothing for this long (0 = never).")
                        .withDefault(idleTimeout),
                ServicePlugin.Option.value("--max-connections-per-address", "N",
                                "Most connections from one client address (an IPv6 /64); more are closed at once; 0 for no cap.")
                        .withDefault(Integer.toString(DEFAULT_PER_ADDRESS)));
    }

    /** One address may hold this many connections of a sample server: a tenth of the default total. */
    static final int DEFAULT_PER_ADDRESS = 1_000;

    /** A server from {@code builder} configured with {@link #serverOptions}'s values. */
    static Server server(Server.Builder builder, Arguments args) {
        args.values("--listen").forEach(builder::listen);
        args.metrics().ifPresent(builder::metrics);
        return builder.maxConnections(args.positive("--max-connections"))
                .readTimeout(args.duration("--idle-timeout"))
                .limits(ConnectionLimits.builder().perAddress(args.count("--max-connections-per-address")).build())
                .build();
    }
}
