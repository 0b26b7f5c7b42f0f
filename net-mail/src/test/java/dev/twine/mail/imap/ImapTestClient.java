package dev.twine.mail.imap;

import dev.twine.core.Connection;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** A minimal IMAP client for tests: sends raw text, reads responses with their literals inline. */
final class ImapTestClient {
    private final Connection conn;
    private final InputStream in;

    ImapTestClient(Connection conn) {
        this.conn = conn;
        this.in = conn.input();
    }

    void send(String text) throws IOException {
        conn.output().write(text.getBytes(StandardCharsets.UTF_8));
        conn.flush();
    }

    /** One response line with any literals it announces appended (CRLF kept inside literals). */
    String readResponse() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while (true) {
            String line = readLine();
            out.writeBytes(line.getBytes(StandardCharsets.UTF_8));
            if (line.endsWith("}")) {
                int open = line.lastIndexOf('{');
                int n = Integer.parseInt(line.substring(open + 1, line.length() - 1));
                out.write('\r');
                out.write('\n');
                out.writeBytes(in.readNBytes(n));
                continue;
            }
            return out.toString(StandardCharsets.UTF_8);
        }
    }

    private String readLine() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        while (true) {
            int c = in.read();
            if (c < 0) {
                throw new EOFException("closed after: " + b.toString(StandardCharsets.UTF_8));
            }
            if (c == '\n') {
                byte[] bytes = b.toByteArray();
                int len = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
                return new String(bytes, 0, len, StandardCharsets.UTF_8);
            }
            b.write(c);
        }
    }

    /** Sends {@code tag command} and returns every response up to and including the tagged one. */
    List<String> command(String tag, String command) throws IOException {
        send(tag + " " + command + "\r\n");
        return until(tag);
    }

    List<String> until(String tag) throws IOException {
        List<String> out = new ArrayList<>();
        while (true) {
            String r = readResponse();
            out.add(r);
            if (r.startsWith(tag + " ")) {
                return out;
            }
        }
    }

    static String last(List<String> responses) {
        return responses.get(responses.size() - 1);
    }
}
