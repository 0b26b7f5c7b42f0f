package dev.twine.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.twine.core.Binding;
import dev.twine.core.Connection;
import dev.twine.core.LineReader;
import dev.twine.core.LineWriter;
import dev.twine.core.Server;
import dev.twine.core.Tls;
import dev.twine.core.auth.AuthPolicy;
import dev.twine.core.auth.Portal;
import dev.twine.core.auth.StoredSecret;
import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.MemoryConnections;
import dev.twine.core.testing.Transcript;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The key-value protocol written on the public API only: in memory in every chunking (plaintext
 * refusals, then STARTTLS and SASL), and over loopback with Python's ssl module as the client.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class KeyValueServerTest {

    @TempDir
    Path dir;

    private final Portal portal = Portal.builder()
            .users(name -> Optional.ofNullable(Map.of("alice", (StoredSecret) new StoredSecret.Plain("secret")).get(name)))
            .policy(AuthPolicy.builder().failureDelay(Duration.ZERO).maxFailureDelay(Duration.ZERO).build())
            .build();

    private static String plain(String user, String password) {
        return Base64.getEncoder().encodeToString(("\0" + user + "\0" + password).getBytes(StandardCharsets.UTF_8));
    }

    private Tls tls() throws Exception {
        return Tls.selfSigned(dir.resolve("cert.pem"), dir.resolve("key.pem"), List.of("localhost"));
    }

    @Test
    void refusesDataAndLoginBeforeTlsInEveryChunking() throws Exception {
        Transcript.parse("""
                S: * OK kv ready
                C: GET colour
                S: ERR log in first
                C: AUTH PLAIN %s
                S: ERR STARTTLS first
                C: FROB
                S: ERR unknown command
                C: QUIT
                S: BYE
                S: <closed>
                """.formatted(plain("alice", "secret"))).run(new KeyValueServer(portal, tls()).handler());
    }

    @Test
    void storesValuesAfterStartTlsAndSaslInEveryChunking() throws Exception {
        Tls serverTls = tls();
        for (Chunking chunking : Chunking.standard()) {
            try (MemoryConnections.Served served = MemoryConnections.serve(new KeyValueServer(portal, serverTls).handler(), chunking)) {
                Connection c = served.client();
                LineReader in = LineReader.of(c, 4096);
                LineWriter out = LineWriter.of(c);
                assertEquals("* OK kv ready", in.readLine());
                out.writeLine("STARTTLS").flush();
                assertEquals("OK begin TLS", in.readLine());
                c.startTls(Tls.client(dir.resolve("cert.pem")), "localhost");
                out.writeLine("AUTH PLAIN " + plain("alice", "wrong")).flush();
                assertEquals("ERR authentication failed", in.readLine(), chunking.toString());
                // no initial response: the empty challenge, then the credentials
                out.writeLine("AUTH PLAIN").flush();
                assertEquals("+ ", in.readLine());
                out.writeLine(plain("alice", "secret")).flush();
                assertEquals("OK logged in as alice", in.readLine(), chunking.toString());
                out.writeLine("SET colour deep blue").flush();
                assertEquals("OK", in.readLine());
                out.writeLine("GET colour").flush();
                assertEquals("VALUE deep blue", in.readLine());
                out.writeLine("DEL colour").flush();
                assertEquals("OK", in.readLine());
                out.writeLine("GET colour").flush();
                assertEquals("NOTFOUND", in.readLine());
                out.writeLine("QUIT").flush();
                assertEquals("BYE", in.readLine());
                assertEquals(Optional.empty(), served.awaitHandler(Duration.ofSeconds(30)));
            }
        }
    }

    @Test
    void pythonSslClientLogsInAndStores() throws Exception {
        String python = ExamplePeers.require("/usr/bin/python3");
        Server server = KeyValueServer.start(portal, tls(), "tcp:0:interface=127.0.0.1");
        try {
            int port = server.bindings().stream().map(Binding::port).findFirst().orElseThrow();
            Path script = dir.resolve("client.py");
            Files.writeString(script, """
                    import base64, socket, ssl, sys
                    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
                    f = s.makefile("rwb")
                    def say(line):
                        f.write(line.encode() + b"\\r\\n"); f.flush()
                        return f.readline().decode().rstrip("\\r\\n")
                    print(f.readline().decode().strip())
                    print(say("STARTTLS"))
                    ctx = ssl.create_default_context(cafile=sys.argv[2])
                    t = ctx.wrap_socket(s, server_hostname="localhost")
                    f = t.makefile("rwb")
                    print(say("AUTH PLAIN " + base64.b64encode(b"\\0alice\\0secret").decode()))
                    print(say("SET city Ghent"))
                    print(say("GET city"))
                    print(say("QUIT"))
                    """);
            ExamplePeers.Run run = ExamplePeers.run(
                    List.of(python, script.toString(), String.valueOf(port), dir.resolve("cert.pem").toString()),
                    null, Duration.ofSeconds(60));
            assertEquals(0, run.exit(), run.toString());
            assertEquals(List.of("* OK kv ready", "OK begin TLS", "OK logged in as alice", "OK", "VALUE Ghent", "BYE"),
                    run.out().lines().toList(), run.toString());
        } finally {
            server.shutdown(Duration.ofSeconds(5));
        }
    }
}
