package dev.twine.xmpp.internal;

import dev.twine.core.Connection;
import dev.twine.core.DurableFiles;
import dev.twine.core.LineReader;
import dev.twine.core.LineTooLongException;
import dev.twine.core.LineWriter;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketTimeoutException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The HTTP side of {@link Upload} (XEP-0363 §5), one HTTP/1.1 request per connection
 * ({@code Connection: close}): {@code PUT} of a slot's bytes, {@code GET} and {@code HEAD} of a
 * stored file, {@code OPTIONS} for a web client's CORS preflight. The request line and headers
 * are bounded (8 KiB each, 100 headers) and must arrive within 30 seconds; a PUT body must arrive
 * within one minute plus one second per 64 KiB, and is streamed to disk, never held in memory.
 */
final class UploadHttp {
    private static final int MAX_LINE = 8192;
    private static final int MAX_HEADERS = 100;
    private static final Duration HEAD_TIME = Duration.ofSeconds(30);
    private static final String CORS = "Access-Control-Allow-Origin: *\r\n";
    private static final String PREFLIGHT = "Access-Control-Allow-Methods: GET, HEAD, PUT, OPTIONS\r\n"
            + "Access-Control-Allow-Headers: Authorization, Content-Type\r\nAccess-Control-Max-Age: 86400\r\n";
    private static final System.Logger LOG = System.getLogger(UploadHttp.class.getName());

    private final Upload upload;

    UploadHttp(Upload upload) {
        this.upload = upload;
    }

    /** Serves one request on {@code conn}, on its thread. */
    void serve(Connection conn) throws IOException {
        conn.readDeadline(conn.clock().instant().plus(HEAD_TIME));
        LineReader in = LineReader.of(conn, MAX_LINE, StandardCharsets.ISO_8859_1);
        String request;
        Map<String, String> headers = new HashMap<>();
        try {
            request = in.readLine();
            if (request == null) {
                return;
            }
            for (int i = 0; ; i++) {
                String h = in.readLine();
                if (h == null) {
                    return;
                }
                if (h.isEmpty()) {
                    break;
                }
                int colon = h.indexOf(':');
                if (i == MAX_HEADERS || colon <= 0) {
                    respond(conn, 431, i == MAX_HEADERS ? "too many headers" : "a malformed header", true);
                    return;
                }
                String name = h.substring(0, colon).strip().toLowerCase(Locale.ROOT);
                String value = h.substring(colon + 1).strip();
                String before = headers.putIfAbsent(name, value);
                if (before != null && !before.equals(value)) {
                    headers.put(name, name.equals("content-length") ? "conflict" : before + ", " + value);
                }
            }
        } catch (LineTooLongException e) {
            respond(conn, 431, "the request line or a header is too long", true);
            return;
        } catch (SocketTimeoutException | EOFException e) {
            return; // a client that never finished its request gets nothing
        }
        String[] parts = request.split(" ");
        if (parts.length != 3 || !parts[2].startsWith("HTTP/1.")) {
            respond(conn, 400, "expected METHOD /PATH HTTP/1.1", true);
            return;
        }
        boolean head = parts[0].equals("HEAD");
        if (parts[0].equals("OPTIONS")) {
            LineWriter.of(conn).write("HTTP/1.1 204 No Content\r\n" + CORS + PREFLIGHT + "Connection: close\r\n\r\n").flush();
            return;
        }
        if (!head && !parts[0].equals("GET") && !parts[0].equals("PUT")) {
            respond(conn, 405, "only GET, HEAD, PUT and OPTIONS", true, "Allow: GET, HEAD, PUT, OPTIONS\r\n");
            return;
        }
        String target = parts[1].indexOf('?') >= 0 ? parts[1].substring(0, parts[1].indexOf('?')) : parts[1];
        String prefix = upload.basePath() + "/";
        String id = null;
        String name = null;
        if (target.startsWith(prefix)) {
            String rest = target.substring(prefix.length());
            int slash = rest.indexOf('/');
            if (slash > 0 && rest.indexOf('/', slash + 1) < 0) {
                id = rest.substring(0, slash);
                name = decode(rest.substring(slash + 1));
            }
        }
        if (parts[0].equals("PUT")) {
            put(conn, headers, id, name);
        } else {
            get(conn, id, name, head);
        }
    }

    /** §5: the slot's bytes, exactly its size, on disk before 201. */
    private void put(Connection conn, Map<String, String> headers, String id, String name) throws IOException {
        if (headers.containsKey("transfer-encoding")) {
            respond(conn, 411, "send the body with a Content-Length, not chunked", true);
            return;
        }
        String lengthHeader = headers.get("content-length");
        if (lengthHeader == null) {
            respond(conn, 411, "a Content-Length is required", true);
            return;
        }
        long length;
        try {
            length = Long.parseLong(lengthHeader);
        } catch (NumberFormatException e) {
            respond(conn, 400, "a malformed Content-Length", true);
            return;
        }
        Upload.Slot slot;
        try {
            if (id == null || name == null) {
                throw new Upload.Refusal(403, "no such upload slot");
            }
            slot = upload.claim(id, name, headers.get("authorization"), length);
        } catch (Upload.Refusal r) {
            respond(conn, r.status, r.getMessage(), true);
            return;
        }
        String type = slot.type;
        String given = headers.getOrDefault("content-type", "");
        if (!type.isEmpty() && !given.isEmpty() && !given.equalsIgnoreCase(type)) {
            upload.release(slot);
            respond(conn, 400, "Content-Type must be the slot's, " + type, true);
            return;
        }
        if (type.isEmpty()) {
            type = given.isEmpty() || given.indexOf('/') < 0 || given.chars().anyMatch(c -> c < 0x20 || c > 0x7e)
                    ? "application/octet-stream" : given;
        }
        boolean done = false;
        try {
            if (headers.getOrDefault("expect", "").equalsIgnoreCase("100-continue")) {
                LineWriter.of(conn).write("HTTP/1.1 100 Continue\r\n\r\n").flush();
            }
            conn.readDeadline(conn.clock().instant().plus(Duration.ofMinutes(1)).plusSeconds(slot.size / 65536));
            InputStream body = conn.input();
            DurableFiles.replace(upload.content(slot.id), out -> copy(body, out, slot.size));
            upload.stored(slot, type);
            done = true;
        } catch (SocketTimeoutException e) {
            respond(conn, 408, "the upload was too slow", true);
            return;
        } catch (EOFException e) {
            return; // the client went away mid-body; nobody to answer
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot store upload " + slot.id + ": " + e.getMessage());
            respond(conn, 500, "the file could not be stored", true);
            return;
        } finally {
            if (!done) {
                upload.release(slot);
            }
        }
        respond(conn, 201, "stored", true);
    }

    private static void copy(InputStream in, OutputStream out, long size) throws IOException {
        byte[] buf = new byte[65536];
        for (long left = size; left > 0; ) {
            int n = in.read(buf, 0, (int) Math.min(buf.length, left));
            if (n < 0) {
                throw new EOFException("the body ended " + left + " bytes early");
            }
            out.write(buf, 0, n);
            left -= n;
        }
    }

    /** The stored file, with the headers XEP-0363's security considerations ask for, so a browser does not run it. */
    private void get(Connection conn, String id, String name, boolean head) throws IOException {
        Upload.Stored f = id == null || name == null ? null : upload.find(id, name);
        if (f == null) {
            respond(conn, 404, "no such file, or it expired", !head);
            return;
        }
        InputStream file;
        try {
            file = Files.newInputStream(upload.content(f.id()));
        } catch (IOException e) {
            respond(conn, 404, "no such file", !head);
            return;
        }
        try (file) {
            String disposition = inline(f.type()) ? "inline" : "attachment";
            LineWriter.of(conn).write("HTTP/1.1 200 OK\r\nContent-Type: " + f.type() + "\r\nContent-Length: " + f.size()
                    + "\r\nContent-Disposition: " + disposition + "; filename*=UTF-8''" + encode(f.name())
                    + "\r\nX-Content-Type-Options: nosniff\r\nContent-Security-Policy: default-src 'none'; frame-ancestors 'none'; sandbox"
                    + "\r\nCache-Control: private, immutable\r\n" + CORS + "Connection: close\r\n\r\n");
            if (!head) {
                file.transferTo(conn.output());
            }
            conn.flush();
        }
    }

    /** Images (but not SVG, which may hold script), audio and video are shown; anything else is downloaded. */
    static boolean inline(String type) {
        String t = type.toLowerCase(Locale.ROOT);
        return t.startsWith("image/") && !t.startsWith("image/svg") || t.startsWith("audio/") || t.startsWith("video/");
    }

    private static void respond(Connection conn, int status, String text, boolean body) throws IOException {
        respond(conn, status, text, body, "");
    }

    private static void respond(Connection conn, int status, String text, boolean body, String extra) throws IOException {
        byte[] b = (text + "\n").getBytes(StandardCharsets.UTF_8);
        LineWriter.of(conn).write("HTTP/1.1 " + status + " " + reason(status) + "\r\nContent-Type: text/plain; charset=utf-8\r\n"
                + "Content-Length: " + b.length + "\r\n" + extra + CORS + "Connection: close\r\n\r\n");
        if (body) {
            conn.output().write(b);
        }
        conn.flush();
    }

    private static String reason(int status) {
        return switch (status) {
            case 201 -> "Created";
            case 400 -> "Bad Request";
            case 403 -> "Forbidden";
            case 404 -> "Not Found";
            case 405 -> "Method Not Allowed";
            case 408 -> "Request Timeout";
            case 409 -> "Conflict";
            case 411 -> "Length Required";
            case 413 -> "Content Too Large";
            case 431 -> "Request Header Fields Too Large";
            default -> "Internal Server Error";
        };
    }

    /** Percent-encodes all but RFC 3986's unreserved characters, for a path segment. */
    static String encode(String s) {
        StringBuilder b = new StringBuilder();
        for (byte x : s.getBytes(StandardCharsets.UTF_8)) {
            int c = x & 0xff;
            if (c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
                b.append((char) c);
            } else {
                b.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 15, 16)));
            }
        }
        return b.toString();
    }

    /** Percent-decodes a path segment as UTF-8, or null if it is malformed. */
    static String decode(String s) {
        if (s == null) {
            return null;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '%') {
                if (i + 2 >= s.length()) {
                    return null;
                }
                int hi = Character.digit(s.charAt(i + 1), 16);
                int lo = Character.digit(s.charAt(i + 2), 16);
                if (hi < 0 || lo < 0) {
                    return null;
                }
                out.write(hi << 4 | lo);
                i += 2;
            } else if (c < 0x100) {
                out.write(c); // the request line is read as ISO-8859-1: one char per byte
            } else {
                return null;
            }
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(out.toByteArray())).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }
}
