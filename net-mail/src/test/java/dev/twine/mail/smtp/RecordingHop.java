package dev.twine.mail.smtp;

import dev.twine.core.Connection;
import dev.twine.core.LineReader;
import dev.twine.core.LineWriter;
import dev.twine.core.Server;
import dev.twine.core.Tls;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A next hop for relay tests that records every command line and message it gets: it offers the
 * EHLO keywords it is given (and STARTTLS when it has a certificate), accepts every MAIL and every
 * RCPT except those for {@code ghost@...} (550), and every message.
 */
final class RecordingHop implements AutoCloseable {
    final List<String> commands = new CopyOnWriteArrayList<>();
    final List<String> messages = new CopyOnWriteArrayList<>();
    /** Whether each message came over TLS, in order. */
    final List<Boolean> secure = new CopyOnWriteArrayList<>();
    private final Server server;

    private RecordingHop(List<String> keywords, Tls tls) throws IOException {
        server = Server.builder("recording-hop").listen("tcp:0:interface=127.0.0.1").handler(c -> serve(c, keywords, tls)).start();
    }

    /** A hop offering {@code keywords} (e.g. {@code DSN}), without TLS. */
    static RecordingHop offering(String... keywords) throws IOException {
        return new RecordingHop(List.of(keywords), null);
    }

    /** A hop offering STARTTLS with {@code tls} and {@code keywords} (REQUIRETLS only once TLS is on). */
    static RecordingHop withTls(Tls tls, String... keywords) throws IOException {
        return new RecordingHop(List.of(keywords), tls);
    }

    String hostPort() {
        return "127.0.0.1:" + server.port();
    }

    private void serve(Connection conn, List<String> keywords, Tls tls) throws IOException {
        LineReader in = LineReader.of(conn, 4096);
        LineWriter out = LineWriter.of(conn);
        out.writeLine("220 hop.test ESMTP").flush();
        for (String l; (l = in.readLine()) != null; ) {
            commands.add(l);
            String verb = (l.length() >= 4 ? l.substring(0, 4) : l).toUpperCase(Locale.ROOT);
            switch (verb) {
                case "EHLO" -> {
                    List<String> lines = new ArrayList<>();
                    lines.add("hop.test");
                    for (String k : keywords) {
                        if (!k.equals("REQUIRETLS") || conn.isSecure()) {
                            lines.add(k);
                        }
                    }
                    if (tls != null && !conn.isSecure()) {
                        lines.add("STARTTLS");
                    }
                    for (int i = 0; i < lines.size(); i++) {
                        out.writeLine("250" + (i == lines.size() - 1 ? " " : "-") + lines.get(i));
                    }
                }
                case "STAR" -> {
                    out.writeLine("220 2.0.0 go ahead").flush();
                    conn.startTls(tls);
                    in = LineReader.of(conn, 4096);
                    out = LineWriter.of(conn);
                    continue;
                }
                case "RCPT" -> out.writeLine(l.toLowerCase(Locale.ROOT).contains("<ghost@") ? "550 5.1.1 no such user" : "250 2.1.5 ok");
                case "DATA" -> {
                    out.writeLine("354 go ahead").flush();
                    StringBuilder m = new StringBuilder();
                    for (String t; (t = in.readLine()) != null && !t.equals("."); ) {
                        m.append(t).append("\r\n");
                    }
                    messages.add(m.toString());
                    secure.add(conn.isSecure());
                    out.writeLine("250 2.0.0 queued");
                }
                case "QUIT" -> {
                    out.writeLine("221 bye").flush();
                    return;
                }
                default -> out.writeLine("250 ok");
            }
            out.flush();
        }
    }

    @Override
    public void close() {
        server.close();
    }
}
