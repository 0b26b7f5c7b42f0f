package dev.twine.xmpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.twine.core.Tls;
import dev.twine.core.auth.UsersFile;
import dev.twine.dns.DnsServer;
import dev.twine.dns.Resolver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Federation with a real second server: {@code example.test} on Twine, {@code other.test} on
 * Prosody (run unprivileged with its own config), each finding the other by
 * {@code _xmpp-server._tcp} SRV records served by a Twine {@link DnsServer} (Twine) or the A
 * record of a hosts file of its own at port 5269 (Prosody: libunbound refuses loopback
 * forwarders). A slixmpp user on each side
 * subscribes, sees presence, messages both ways and pings across: once with certificates from a
 * CA both servers trust (Twine requiring valid ones, Prosody with {@code s2s_secure_auth = true}),
 * each authenticating to the other by SASL EXTERNAL (RFC 6120 §6.4, XEP-0178), once with
 * self-signed ones on dialback alone.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ProsodyS2sInteropTest {
    @TempDir
    Path dir;
    private final List<AutoCloseable> open = new ArrayList<>();
    private Process prosody;

    @AfterEach
    void stop() throws Exception {
        if (prosody != null) {
            prosody.destroy(); // SIGTERM: Prosody shuts down cleanly
            if (!prosody.waitFor(10, TimeUnit.SECONDS)) {
                prosody.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    @Test
    void federatesWithProsodyOnCertificatesBothTrust() throws Exception {
        // one CA signs both servers' certificates; each server trusts it and requires valid ones
        Path ca = dir.resolve("ca");
        Files.createDirectories(ca);
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Test CA",
                "-keyout", ca.resolve("ca.key").toString(), "-out", ca.resolve("ca.pem").toString());
        for (String d : List.of("example.test", "other.test")) {
            Path p = Files.createDirectories(dir.resolve(d));
            openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + d, "-keyout", p.resolve("key.pem").toString(),
                    "-out", p.resolve("req.pem").toString());
            Files.writeString(p.resolve("ext.cnf"), "subjectAltName=DNS:" + d + "\n");
            openssl("x509", "-req", "-in", p.resolve("req.pem").toString(), "-CA", ca.resolve("ca.pem").toString(),
                    "-CAkey", ca.resolve("ca.key").toString(), "-CAcreateserial", "-days", "2",
                    "-extfile", p.resolve("ext.cnf").toString(), "-out", p.resolve("cert.pem").toString());
        }
        federate(b -> b.requireValidCertificates(true).s2sTrust(ca.resolve("ca.pem")), ca.resolve("ca.pem"));
    }

    @Test
    void federatesWithProsodyOnDialbackWithSelfSignedCertificates() throws Exception {
        for (String d : List.of("example.test", "other.test")) {
            Path p = Files.createDirectories(dir.resolve(d));
            openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=" + d,
                    "-addext", "subjectAltName=DNS:" + d, "-keyout", p.resolve("key.pem").toString(), "-out", p.resolve("cert.pem").toString());
        }
        federate(b -> b, null);
    }

    private void federate(UnaryOperator<XmppServer.Builder> settings, Path caFile) throws Exception {
        String prosodyBin = "/usr/bin/prosody";
        Interop.requirePeer(Files.isExecutable(Path.of(prosodyBin)), "prosody");
        Interop.requirePeer(Interop.slixmppPresent(), "slixmpp");
        int prosodyC2s = freePort();
        int prosodyS2s = freePort();
        Resolver[] resolver = new Resolver[1];
        Path users = dir.resolve("users");
        UsersFile.addUser(users, "alice", "alice-pw".toCharArray());
        Path a = dir.resolve("example.test");
        XmppServer twine = settings.apply(XmppServer.builder().domain("example.test").users(UsersFile.load(users))
                .dataDirectory(dir.resolve("twine-data")).tls(Tls.server(a.resolve("cert.pem"), a.resolve("key.pem")))
                .listen("tcp:0:interface=127.0.0.1").s2sListen("tcp:5269:interface=127.0.0.1")
                .s2sConnector(domain -> S2sConnector.dns(resolver[0]).connect(domain))).build();
        twine.start();
        open.add(twine);
        Path zone = dir.resolve("test.zone");
        Files.writeString(zone, """
                $ORIGIN test.
                $TTL 300
                @        IN SOA ns.test. hostmaster.test. 1 3600 600 86400 300
                @        IN NS  ns
                ns       IN A   127.0.0.1
                _xmpp-server._tcp.example IN SRV 0 5 %d xmpp.example
                _xmpp-server._tcp.other   IN SRV 0 5 %d xmpp.other
                xmpp.example IN A 127.0.0.1
                xmpp.other   IN A 127.0.0.1
                """.formatted(twine.serverPort(), prosodyS2s), StandardCharsets.US_ASCII);
        DnsServer dns = DnsServer.builder().zone(zone).listen("udp:0:interface=127.0.0.1").listen("tcp:0:interface=127.0.0.1").build();
        dns.start();
        open.add(dns);
        resolver[0] = Resolver.builder().server("127.0.0.1", dns.port()).timeout(Duration.ofSeconds(2)).build();
        startProsody(prosodyC2s, prosodyS2s, caFile);

        Path b = dir.resolve("other.test");
        Interop.Result r = Interop.exec(Interop.python(Interop.script(dir, "slixmpp_s2s.py"),
                "alice@example.test", "alice-pw", "127.0.0.1", twine.port(), caFile != null ? caFile : a.resolve("cert.pem"),
                "bob@other.test", "bob-pw", "127.0.0.1", prosodyC2s, caFile != null ? caFile : b.resolve("cert.pem")), 120);
        String log = r.output() + "\n--- prosody ---\n" + prosodyLog();
        for (String step : List.of("login", "rosters-both", "presence-seen", "message-a-to-b", "message-b-to-a", "ping-a-to-b", "ping-b-to-a", "all")) {
            assertTrue(r.ok(step), step + " failed:\n" + log);
        }
        assertEquals(0, r.exit(), log);
        if (caFile != null) {
            // each direction by certificate: Prosody accepted Twine's EXTERNAL, and Twine Prosody's
            assertTrue(log.contains("Accepting SASL EXTERNAL identity from example.test"), log);
            assertTrue(log.contains("SASL EXTERNAL with example.test succeeded"), log);
        }
    }

    private void startProsody(int c2s, int s2s, Path caFile) throws Exception {
        Path p = dir.resolve("prosody");
        Path b = dir.resolve("other.test");
        // libunbound will not forward to a loopback DNS server (its do-not-query-localhost, which
        // lua-unbound cannot change), so Prosody finds example.test by its own hosts file, falling
        // back from SRV to the A record at 5269 (RFC 6120 §3.2.2)
        Path hosts = Files.createDirectories(p).resolve("hosts");
        Files.writeString(hosts, "127.0.0.1 example.test\n");
        Path accounts = Files.createDirectories(p.resolve("data").resolve("other%2etest").resolve("accounts"));
        Files.writeString(accounts.resolve("bob.dat"), "return {\n\t[\"password\"] = \"bob-pw\";\n};\n");
        Files.writeString(p.resolve("prosody.cfg.lua"), """
                pidfile = %1$s
                data_path = %2$s
                plugin_paths = { }
                modules_enabled = { "roster"; "saslauth"; "tls"; "dialback"; "disco"; "ping"; "presence"; "message"; "posix" }
                modules_disabled = { "limits"; "c2s_limits" }
                log = { debug = %3$s }
                c2s_ports = { %4$d }
                c2s_interfaces = { "127.0.0.1" }
                s2s_ports = { %5$d }
                s2s_interfaces = { "127.0.0.1" }
                http_ports = { }
                https_ports = { }
                component_ports = { }
                c2s_direct_tls_ports = { }
                s2s_direct_tls_ports = { }
                authentication = "internal_plain"
                s2s_require_encryption = true
                s2s_secure_auth = %10$s
                use_dane = false
                unbound = { hoststxt = %6$s }
                %7$s
                VirtualHost "other.test"
                    ssl = { certificate = %8$s; key = %9$s }
                """.formatted(lua(p.resolve("prosody.pid").toString()), lua(p.resolve("data").toString()),
                lua(p.resolve("prosody.log").toString()), c2s, s2s, lua(hosts.toString()),
                caFile == null ? "" : "ssl = { cafile = " + lua(caFile.toString()) + " }",
                lua(b.resolve("cert.pem").toString()), lua(b.resolve("key.pem").toString()), caFile != null));
        List<String> command = new ArrayList<>();
        if ("root".equals(System.getProperty("user.name"))) {
            // Prosody refuses to run as root: as its own user, on files it can read
            Process chown = new ProcessBuilder("chown", "-R", "prosody:prosody", dir.toString()).inheritIO().start();
            assertEquals(0, chown.waitFor());
            command.addAll(List.of("/usr/bin/setpriv", "--reuid=prosody", "--regid=prosody", "--init-groups"));
        }
        command.addAll(List.of("/usr/bin/prosody", "--config", p.resolve("prosody.cfg.lua").toString(), "-F"));
        prosody = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(p.resolve("stdout.log").toFile()).start();
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < until) {
            if (!prosody.isAlive()) {
                fail("prosody exited with " + prosody.exitValue() + ":\n" + prosodyLog());
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", c2s), 1000);
                return;
            } catch (IOException notYet) {
                Thread.sleep(50); // an external process: nothing to wait on but its port
            }
        }
        fail("prosody did not listen within 20 s:\n" + prosodyLog());
    }

    private String prosodyLog() {
        Path p = dir.resolve("prosody");
        try {
            return Files.readString(p.resolve("stdout.log")) + (Files.exists(p.resolve("prosody.log")) ? Files.readString(p.resolve("prosody.log")) : "");
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    private static void openssl(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl"));
        cmd.addAll(List.of(args));
        Interop.Result r = Interop.exec(cmd, 60);
        assertEquals(0, r.exit(), "openssl " + String.join(" ", args) + ":\n" + r.output());
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static String lua(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
}
