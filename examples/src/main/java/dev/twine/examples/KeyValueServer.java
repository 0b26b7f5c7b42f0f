package dev.twine.examples;

import dev.twine.core.Connection;
import dev.twine.core.ConnectionHandler;
import dev.twine.core.ConnectionLimits;
import dev.twine.core.LineReader;
import dev.twine.core.LineTooLongException;
import dev.twine.core.LineWriter;
import dev.twine.core.Server;
import dev.twine.core.Tls;
import dev.twine.core.auth.LoginAttempts;
import dev.twine.core.auth.LoginResult;
import dev.twine.core.auth.Portal;
import dev.twine.core.auth.SaslExchange;
import dev.twine.core.auth.UsersFile;
import java.io.EOFException;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A whole new protocol on Twine's public API: a line-based key-value store with STARTTLS, SASL
 * login through the {@link Portal} (PLAIN and SCRAM, with the portal's failure delays and
 * penalties), per-address and pre-login limits, and timeouts. Nothing here is copied from the
 * mail or XMPP servers: the pieces they share are in net-core.
 *
 * <pre>
 * S: * OK kv ready                C: STARTTLS         S: OK begin TLS
 * C: AUTH PLAIN AGFsaWNlAHNlY3JldA==                  S: OK logged in as alice
 * C: SET colour blue              S: OK               C: GET colour       S: VALUE blue
 * C: DEL colour                   S: OK               C: QUIT             S: BYE
 * </pre>
 *
 * <p>Run: {@code ./twine user add --users users.txt alice}, then
 * {@code ./twine run examples/src/main/java/dev/twine/examples/KeyValueServer.java users.txt [PORT]}
 * (port 7070 by default); {@code nc 127.0.0.1 7070} shows the greeting and the refusal of
 * {@code AUTH} before STARTTLS. {@code KeyValueServerTest} drives it with Python's {@code ssl}.
 */
public final class KeyValueServer {

    private final Map<String, String> values = new ConcurrentHashMap<>();
    private final Portal portal;
    private final Tls tls;

    KeyValueServer(Portal portal, Tls tls) {
        this.portal = portal;
        this.tls = tls;
    }

    /** The handler: one call per connection, on its own virtual thread. */
    ConnectionHandler handler() {
        return this::serve;
    }

    private void serve(Connection conn) throws IOException, InterruptedException {
        LineReader in = LineReader.of(conn, 4096);
        LineWriter out = LineWriter.of(conn);
        LoginAttempts attempts = portal.policy().open("kv", conn.remoteAddress());
        out.writeLine("* OK kv ready").flush();
        while (true) {
            String line;
            try {
                line = in.readLine();
            } catch (LineTooLongException e) {
                out.writeLine("ERR line too long").flush();
                continue;
            } catch (SocketTimeoutException e) {
                out.writeLine("BYE idle too long").flush();
                return;
            }
            if (line == null) {
                return;
            }
            String[] words = line.split(" ", 3);
            String verb = words[0].toUpperCase(Locale.ROOT);
            switch (verb) {
                case "QUIT" -> {
                    out.writeLine("BYE").flush();
                    return;
                }
                case "STARTTLS" -> {
                    if (conn.isSecure()) {
                        out.writeLine("ERR already secure").flush();
                    } else {
                        out.writeLine("OK begin TLS").flush();
                        conn.startTls(tls); // drops anything the client pipelined in plaintext
                    }
                }
                case "AUTH" -> {
                    if (!conn.isSecure()) {
                        out.writeLine("ERR STARTTLS first").flush();
                    } else if (conn.isAuthenticated()) {
                        out.writeLine("ERR already logged in").flush();
                    } else if (words.length < 2 || !portal.saslMechanisms().contains(words[1].toUpperCase(Locale.ROOT))) {
                        out.writeLine("ERR mechanisms: " + String.join(" ", portal.saslMechanisms())).flush();
                    } else if (!login(conn, in, out, attempts, words)) {
                        return;
                    }
                }
                case "GET", "SET", "DEL" -> {
                    if (!conn.isAuthenticated()) {
                        out.writeLine("ERR log in first").flush();
                    } else if (words.length != (verb.equals("SET") ? 3 : 2)) {
                        out.writeLine("ERR usage: GET key | SET key value | DEL key").flush();
                    } else {
                        out.writeLine(switch (verb) {
                            case "SET" -> { values.put(words[1], words[2]); yield "OK"; }
                            case "DEL" -> values.remove(words[1]) != null ? "OK" : "NOTFOUND";
                            default -> Optional.ofNullable(values.get(words[1])).map(v -> "VALUE " + v).orElse("NOTFOUND");
                        }).flush();
                    }
                }
                default -> out.writeLine("ERR unknown command").flush();
            }
        }
    }

    /** One SASL login; false when the connection must close (too many failures). */
    private boolean login(Connection conn, LineReader in, LineWriter out, LoginAttempts attempts, String[] words)
            throws IOException, InterruptedException {
        // the protocol's SASL profile (RFC 4422 §4): "+ base64" challenges, "*" cancels
        SaslExchange.Profile profile = challenge -> {
            out.writeLine("+ " + Base64.getEncoder().encodeToString(challenge)).flush();
            String answer = in.readLine();
            if (answer == null) {
                throw new EOFException("closed during AUTH");
            }
            try {
                return answer.equals("*") ? cancelled(out) : Optional.of(Base64.getDecoder().decode(answer));
            } catch (IllegalArgumentException e) {
                out.writeLine("ERR bad base64").flush();
                return Optional.empty();
            }
        };
        Optional<byte[]> initial;
        try {
            // RFC 4422 §3.3 as SMTP writes it: "=" is an empty initial response
            initial = words.length < 3 ? Optional.empty()
                    : Optional.of(words[2].equals("=") ? new byte[0] : Base64.getDecoder().decode(words[2]));
        } catch (IllegalArgumentException e) {
            out.writeLine("ERR bad base64").flush();
            return true;
        }
        switch (portal.sasl(words[1]).run(initial, profile, attempts)) {
            case LoginResult.LoggedIn ok -> {
                conn.markAuthenticated(); // out of the pre-login limits and deadline
                out.writeLine("OK logged in as " + ok.principal().name()).flush();
            }
            case LoginResult.Failed f -> {
                out.writeLine(f.mayRetry() ? "ERR authentication failed" : "BYE too many failures").flush();
                return f.mayRetry();
            }
            case LoginResult.Refused r -> {
                out.writeLine("ERR try again later").flush();
                return r.mayRetry();
            }
            case LoginResult.Abandoned a -> { }
        }
        return true;
    }

    private static Optional<byte[]> cancelled(LineWriter out) throws IOException {
        out.writeLine("ERR AUTH cancelled").flush();
        return Optional.empty();
    }

    /** Starts the server on {@code endpoint}; the caller stops it. */
    static Server start(Portal portal, Tls tls, String endpoint) throws IOException {
        return Server.builder("kv").listen(endpoint)
                .readTimeout(Duration.ofMinutes(5))
                .limits(ConnectionLimits.defaults())
                .overLimit(c -> LineWriter.of(c).writeLine("BYE too many connections").flush())
                .handler(new KeyValueServer(portal, tls).handler())
                .start();
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: KeyValueServer USERS_FILE [PORT]");
            System.exit(2);
        }
        Portal portal = Portal.builder().users(UsersFile.load(Path.of(args[0]))).build();
        Path dir = Path.of(System.getProperty("java.io.tmpdir"), "twine-kv");
        Tls tls = Tls.selfSigned(dir.resolve("cert.pem"), dir.resolve("key.pem"), java.util.List.of("localhost"));
        Server server = start(portal, tls, "tcp:" + (args.length > 1 ? args[1] : "7070") + ":interface=127.0.0.1");
        server.awaitTermination();
    }
}
