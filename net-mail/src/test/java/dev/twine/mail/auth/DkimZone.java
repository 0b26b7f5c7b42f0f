package dev.twine.mail.auth;

import dev.twine.dns.DnsServer;
import dev.twine.dns.Resolver;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** A zone for the auth tests, served in-process by Twine's own DnsServer on a UDP port of 127.0.0.1. */
final class DkimZone implements AutoCloseable {
    final DnsServer server;
    final Resolver resolver;

    private DkimZone(DnsServer server) {
        this.server = server;
        this.resolver = Resolver.builder().server("127.0.0.1", server.port()).timeout(Duration.ofSeconds(2)).build();
    }

    /** Serves {@code example.org.} (and whatever else {@code records} name, fully qualified) with {@code records}. */
    static DkimZone serve(Path dir, List<String> records) throws Exception {
        return serve(dir, records, List.of());
    }

    /** {@link #serve(Path, List)} with more zone files beside it, and no response rate limit. */
    static DkimZone serve(Path dir, List<String> records, List<Path> moreZones) throws Exception {
        List<String> lines = new ArrayList<>(List.of("$ORIGIN example.org.", "$TTL 300",
                "@ IN SOA ns.example.org. hostmaster.example.org. 1 3600 600 86400 300", "@ IN NS ns", "ns IN A 127.0.0.1"));
        lines.addAll(records);
        Path zone = dir.resolve("example.org.zone");
        Files.write(zone, lines, StandardCharsets.US_ASCII);
        DnsServer.Builder b = DnsServer.builder().zone(zone).rateLimit(0).listen("udp:0:interface=127.0.0.1");
        moreZones.forEach(b::zone);
        DnsServer s = b.build();
        s.start();
        return new DkimZone(s);
    }

    /** A TXT record line for a long text, split in strings of at most 250 characters. */
    static String txt(String name, String text) {
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < text.length(); i += 250) {
            parts.add("\"" + text.substring(i, Math.min(text.length(), i + 250)) + "\"");
        }
        return name + " IN TXT ( " + String.join(" ", parts) + " )";
    }

    int port() {
        return server.port();
    }

    @Override
    public void close() {
        server.close();
    }
}
