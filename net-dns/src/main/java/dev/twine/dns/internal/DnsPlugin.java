package dev.twine.dns.internal;

import dev.twine.core.Service;
import dev.twine.core.spi.ServicePlugin;
import dev.twine.dns.DnsServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** {@code twine dns}: the authoritative server (and forwarder) as a launcher subcommand. */
public final class DnsPlugin implements ServicePlugin {
    /** The endpoints when no {@code --listen} is given: UDP and TCP on one port. */
    static final List<String> DEFAULT_LISTEN = List.of("udp:5300:interface=127.0.0.1", "tcp:5300:interface=127.0.0.1");

    /** Called by {@link java.util.ServiceLoader}. */
    public DnsPlugin() {}

    @Override
    public String name() {
        return "dns";
    }

    @Override
    public String summary() {
        return "an authoritative DNS server for master-file zones, with an optional caching forwarder";
    }

    @Override
    public List<Option> options() {
        return List.of(
                Option.value("--zone", "FILE", "a zone in RFC 1035 master-file (BIND) syntax; its SOA gives the origin "
                        + "(at least one --zone or --secondary)").asRepeatable(),
                Option.value("--listen", "EP", "an endpoint (udp:PORT[:receivers=N], tcp:PORT, with :interface=ADDR; "
                        + "tls:PORT:cert=FILE:key=FILE for DNS over TLS); default udp:5300 and tcp:5300 on 127.0.0.1")
                        .asRepeatable(),
                Option.value("--forward", "HOST:PORT", "forward names outside the zones to this resolver, with a cache"),
                Option.value("--forward-allow", "CIDR", "clients that may use --forward (ADDR or ADDR/PREFIX); "
                        + "default loopback only (127.0.0.0/8, ::1); others get REFUSED").asRepeatable(),
                Option.value("--allow-transfer", "ADDR", "allow zone transfers (AXFR) to this client address")
                        .asRepeatable(),
                Option.value("--tsig-keys", "FILE", "require transfers to be signed (TSIG, hmac-sha256) with a key "
                        + "in FILE (BIND key clauses, as tsig-keygen writes); NOTIFY is signed with its first key"),
                Option.value("--notify", "HOST:PORT", "send NOTIFY to this secondary when a reload changes a zone's "
                        + "serial (it must be allowed to transfer: --allow-transfer)").asRepeatable(),
                Option.value("--secondary", "ZONE", "serve ZONE as a secondary of the --primary at the same position: "
                        + "AXFR at start, then IXFR when the primary's serial grows (SOA refresh/retry, at once on its "
                        + "NOTIFY); SERVFAIL once the SOA expire passes without contact").asRepeatable(),
                Option.value("--primary", "HOST:PORT[:key=NAME]", "the primary of the --secondary at the same position; "
                        + "key=NAME signs the SOA checks and transfers with that --tsig-keys key and requires it on NOTIFY")
                        .asRepeatable(),
                Option.value("--secondary-dir", "DIR", "where secondary zones are stored (ZONE.zone, replaced atomically "
                        + "after each transfer) so a restart serves them at once; required with --secondary"),
                Option.value("--sign", "KEYDIR", "sign the zone files online (DNSSEC) with the BIND key files "
                        + "K<zone>+<alg>+<id>.key/.private in KEYDIR (dnssec-keygen; ECDSAP256SHA256 or ED25519): "
                        + "DNSKEY, NSEC and RRSIGs made at load and reload and every 7 days"),
                Option.flag("--sign-nsec3", "with --sign: NSEC3 (RFC 9276: no iterations, no salt) instead of NSEC"),
                Option.flag("--watch", "reload zone files when they change (polled every second); SIGHUP reloads too"),
                Option.value("--rrl-rate", "N", "UDP response rate limit: responses per second to one client prefix "
                        + "(/24, /56) for one answer; default 200, 0 = off; TCP and clients with a valid DNS cookie are exempt"),
                Option.value("--rrl-slip", "N", "of the responses over the rate limit, send every N-th truncated "
                        + "(TC, so real clients retry over TCP) and drop the rest; default 2, 0 = drop all"));
    }

    /** {@code twine dns keygen}: a DNSSEC key pair in BIND's format, for {@code --sign}. */
    @Override
    public List<Tool> tools() {
        return List.of(new Tool("keygen", "make a DNSSEC key pair for --sign in BIND's format (K<zone>+<alg>+<id>.key/.private) "
                + "and print the DS record for the parent",
                List.of(Option.value("--zone", "ZONE", "the zone the key is for").asRequired(),
                        Option.value("--algorithm", "ALG", "ecdsap256sha256 or ed25519").withDefault("ecdsap256sha256"),
                        Option.flag("--ksk", "a key-signing key (flags 257) rather than a zone-signing key (256); "
                                + "with one key only, either signs everything"),
                        Option.value("--dir", "DIR", "where to write the two files").asRequired()),
                DnsPlugin::keygen));
    }

    private static int keygen(Arguments args, java.io.PrintStream out) throws IOException {
        KeyFiles.Made made;
        try {
            made = KeyFiles.generate(args.directory("--dir"), args.require("--zone"), args.require("--algorithm"),
                    args.flag("--ksk"), java.time.Instant.now());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException((e.getMessage().startsWith("algorithm") ? "--algorithm: " : "--zone: ")
                    + e.getMessage(), e);
        }
        out.println(made.key());
        out.println(made.privateKey());
        out.println(made.ds());
        return 0;
    }

    @Override
    public Service create(Arguments args) {
        DnsServer.Builder b = DnsServer.builder();
        args.metrics().ifPresent(b::metrics);
        for (Path z : args.readableFiles("--zone")) {
            b.zone(z);
        }
        secondaries(args, b);
        List<String> listen = args.values("--listen");
        for (String ep : listen.isEmpty() ? DEFAULT_LISTEN : listen) {
            try {
                b.listen(ep);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--listen: " + e.getMessage(), e);
            }
        }
        // HOST:PORT in the endpoint grammar; the host must be an IP address, never looked up
        args.hostPort("--forward").ifPresent(f -> b.forward(new InetSocketAddress(ip("--forward", f.getHostString()), f.getPort())));
        for (String cidr : args.values("--forward-allow")) {
            try {
                b.forwardAllow(cidr);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--forward-allow: " + e.getMessage(), e);
            }
        }
        for (String a : args.values("--allow-transfer")) {
            b.allowTransfer(ip("--allow-transfer", a));
        }
        args.value("--tsig-keys").ifPresent(f -> {
            if (!Files.isReadable(Path.of(f))) {
                throw new IllegalArgumentException("--tsig-keys: cannot read " + f);
            }
            b.transferKeys(Path.of(f));
        });
        for (String n : args.values("--notify")) {
            b.notifySecondary(address("--notify", n));
        }
        if (args.value("--sign").isPresent()) {
            Path keys = Path.of(args.value("--sign").get());
            if (!Files.isDirectory(keys)) {
                throw new IllegalArgumentException("--sign: not a directory: " + keys);
            }
            b.sign(keys).signWithNsec3(args.flag("--sign-nsec3"));
        } else if (args.flag("--sign-nsec3")) {
            throw new IllegalArgumentException("--sign-nsec3 needs --sign KEYDIR");
        }
        if (args.flag("--watch")) {
            b.watch(Duration.ofSeconds(1));
        }
        if (args.value("--rrl-rate").isPresent()) {
            b.rateLimit(args.count("--rrl-rate"));
        }
        if (args.value("--rrl-slip").isPresent()) {
            b.rateLimitSlip(args.count("--rrl-slip"));
        }
        return b.build();
    }

    /** {@code --secondary ZONE --primary HOST:PORT[:key=NAME]}, paired by position, and {@code --secondary-dir}. */
    private static void secondaries(Arguments args, DnsServer.Builder b) {
        List<String> zones = args.values("--secondary");
        List<String> primaries = args.values("--primary");
        if (zones.size() != primaries.size()) {
            throw new IllegalArgumentException("--secondary and --primary go in pairs: " + zones.size() + " --secondary, "
                    + primaries.size() + " --primary");
        }
        if (zones.isEmpty()) {
            if (args.values("--zone").isEmpty()) {
                throw new IllegalArgumentException("--zone or --secondary is required");
            }
            return;
        }
        if (args.value("--secondary-dir").isEmpty()) {
            throw new IllegalArgumentException("--secondary needs --secondary-dir DIR, where the zones are stored");
        }
        b.secondaryDirectory(args.directory("--secondary-dir"));
        for (int i = 0; i < zones.size(); i++) {
            String p = primaries.get(i);
            int k = p.indexOf(":key=");
            String key = k < 0 ? null : p.substring(k + 5);
            if (key != null && args.value("--tsig-keys").isEmpty()) {
                throw new IllegalArgumentException("--primary " + p + ": key=" + key + " needs --tsig-keys FILE holding it");
            }
            try {
                b.secondary(zones.get(i), address("--primary", k < 0 ? p : p.substring(0, k)), key);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--secondary " + zones.get(i) + ": " + e.getMessage(), e);
            }
        }
    }

    /** HOST:PORT in the client endpoint grammar ({@code [IPV6]:PORT}), the host an IP address. */
    private static InetSocketAddress address(String option, String text) {
        dev.twine.core.Endpoint.Tcp hp;
        try {
            hp = (dev.twine.core.Endpoint.Tcp) dev.twine.core.Endpoint.parseClient("tcp:" + text);
        } catch (IllegalArgumentException | ClassCastException e) {
            throw new IllegalArgumentException(option + ": not HOST:PORT: '" + text + "'", e);
        }
        return new InetSocketAddress(ip(option, hp.host()), hp.port());
    }

    static InetAddress ip(String option, String text) {
        if (!text.matches("[0-9.]+|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*")) {
            throw new IllegalArgumentException(option + ": not an IP address: '" + text + "'");
        }
        try {
            return InetAddress.getByName(text);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(option + ": not an IP address: '" + text + "'", e);
        }
    }

    @Override
    public Optional<Demo> demo(Path dataDir, DemoPorts ports) throws IOException {
        Path dir = dataDir;
        Files.createDirectories(dir);
        Path zone = dir.resolve("demo.test.zone");
        if (!Files.exists(zone)) {
            Files.writeString(zone, DEMO_ZONE);
        }
        int port = ports.port(5300); // UDP and TCP on one port, as DNS clients expect
        DnsServer s = DnsServer.builder().zone(zone).listen("udp:" + port + ":interface=127.0.0.1")
                .listen("tcp:" + port + ":interface=127.0.0.1").watch(Duration.ofSeconds(1)).build();
        return Optional.of(new Demo(s, started -> {
            int bound = started.bindings().get(0).port();
            return "dns: dig @127.0.0.1 -p " + bound + " www.demo.test A   (zone " + zone + ", reloaded when edited;"
                    + " also try MX demo.test, +tcp)";
        }));
    }

    static final String DEMO_ZONE = """
            $ORIGIN demo.test.
            $TTL 300
            @       IN SOA ns1.demo.test. hostmaster.demo.test. (
                            2026112701 ; serial
                            3600       ; refresh
                            600        ; retry
                            604800     ; expire
                            60 )       ; negative TTL
                    IN NS   ns1
                    IN MX   10 mail
                    IN MX   20 mail2
                    IN TXT  "v=spf1 mx -all"
            ns1     IN A    127.0.0.1
            www     IN A    127.0.0.1
                    IN AAAA ::1
            mail    IN A    127.0.0.1
            mail2   IN A    127.0.0.2
            web     IN CNAME www
            *.apps  IN A    127.0.0.3
            _xmpp-client._tcp IN SRV 5 0 5222 www
            """;
}
