package dev.twine.xmpp.internal;

import dev.twine.core.Connection;
import dev.twine.core.LineReader;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The server end of one WebSocket connection (RFC 6455), as small as XMPP over WebSocket (RFC
 * 7395) needs: the HTTP/1.1 upgrade of §4.2 on one path with one subprotocol, then text
 * messages, reassembled from fragments (§5.4), masked by the client as §5.3 requires, bounded in
 * size, with pings answered (§5.5.2) and the closing handshake (§5.5.1, §7). No extensions.
 * Reads happen on the connection's thread; {@link #send} may be called from any thread.
 */
final class WebSocket {
    /** RFC 6455 §1.3: the GUID appended to the key. */
    private static final String GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    static final int NORMAL = 1000;
    static final int PROTOCOL_ERROR = 1002;
    static final int UNSUPPORTED_DATA = 1003;
    static final int INVALID_DATA = 1007;
    static final int TOO_BIG = 1009;

    /** A violation of RFC 6455 by the client: the connection is closed with {@code code}. */
    static final class ProtocolException extends IOException {
        final int code;

        ProtocolException(int code, String message) {
            super(message);
            this.code = code;
        }
    }

    private final Connection conn;
    private final InputStream in;
    private final int maxMessage;
    private final ReentrantLock writeLock = new ReentrantLock();
    private boolean closeSent;

    private WebSocket(Connection conn, int maxMessage) {
        this.conn = conn;
        this.in = conn.input();
        this.maxMessage = maxMessage;
    }

    /**
     * RFC 6455 §4.2: reads the client's opening handshake and answers it: 101 with
     * {@code Sec-WebSocket-Protocol: protocol}, or an HTTP error (400 for a malformed or
     * incomplete request or one without the subprotocol, 403 for an origin not allowed, 404 for
     * another path, 405 for another method, 426 with the supported version for another version).
     *
     * @param origins the allowed {@code Origin} values; empty allows any
     * @return the WebSocket, or null if the request was refused (the answer is written)
     * @throws IOException if the connection fails
     */
    static WebSocket accept(Connection conn, String path, String protocol, Set<String> origins, int maxMessage) throws IOException {
        LineReader lines = LineReader.of(conn, 8192);
        String request = lines.readLine();
        if (request == null) {
            return null;
        }
        Map<String, String> headers = new HashMap<>();
        for (int i = 0; i < 100; i++) {
            String h = lines.readLine();
            if (h == null) {
                return null;
            }
            if (h.isEmpty()) {
                break;
            }
            int colon = h.indexOf(':');
            if (colon <= 0) {
                return refuse(conn, 400, "Bad Request", "");
            }
            // repeated headers are joined with commas (RFC 9110 §5.3)
            headers.merge(h.substring(0, colon).strip().toLowerCase(Locale.ROOT), h.substring(colon + 1).strip(), (a, b) -> a + ", " + b);
        }
        String[] parts = request.split(" ");
        if (parts.length != 3 || !parts[2].startsWith("HTTP/1.")) {
            return refuse(conn, 400, "Bad Request", "");
        }
        if (!parts[0].equals("GET")) {
            return refuse(conn, 405, "Method Not Allowed", "Allow: GET\r\n");
        }
        String target = parts[1].contains("?") ? parts[1].substring(0, parts[1].indexOf('?')) : parts[1];
        if (!target.equals(path)) {
            return refuse(conn, 404, "Not Found", "");
        }
        if (!hasToken(headers.get("upgrade"), "websocket") || !hasToken(headers.get("connection"), "upgrade")) {
            return refuse(conn, 426, "Upgrade Required", "Upgrade: websocket\r\nConnection: Upgrade\r\n");
        }
        if (!"13".equals(headers.get("sec-websocket-version"))) {
            return refuse(conn, 426, "Upgrade Required", "Sec-WebSocket-Version: 13\r\n"); // §4.4
        }
        String key = headers.getOrDefault("sec-websocket-key", "");
        byte[] nonce;
        try {
            nonce = Base64.getDecoder().decode(key);
        } catch (IllegalArgumentException e) {
            nonce = new byte[0];
        }
        if (nonce.length != 16 || !headers.containsKey("host")) {
            return refuse(conn, 400, "Bad Request", ""); // §4.2.1 items 2 and 5
        }
        if (!hasToken(headers.get("sec-websocket-protocol"), protocol)) {
            return refuse(conn, 400, "Bad Request", ""); // RFC 7395 §3.1: the xmpp subprotocol is required
        }
        if (!origins.isEmpty() && !origins.contains(headers.getOrDefault("origin", ""))) {
            return refuse(conn, 403, "Forbidden", ""); // §4.2.2, §10.2
        }
        write(conn, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "
                + accept(key) + "\r\nSec-WebSocket-Protocol: " + protocol + "\r\n\r\n");
        return new WebSocket(conn, maxMessage);
    }

    /** RFC 6455 §4.2.2 item 5.4: base64 of the SHA-1 of the key and the GUID. */
    static String accept(String key) {
        try {
            return Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-1")
                    .digest((key + GUID).getBytes(StandardCharsets.US_ASCII)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static boolean hasToken(String header, String token) {
        if (header == null) {
            return false;
        }
        for (String t : header.split(",")) {
            if (t.strip().equalsIgnoreCase(token)) {
                return true;
            }
        }
        return false;
    }

    private static WebSocket refuse(Connection conn, int status, String reason, String extra) throws IOException {
        write(conn, "HTTP/1.1 " + status + " " + reason + "\r\n" + extra + "Content-Length: 0\r\nConnection: close\r\n\r\n");
        return null;
    }

    private static void write(Connection conn, String s) throws IOException {
        conn.output().write(s.getBytes(StandardCharsets.US_ASCII));
        conn.flush();
    }

    /**
     * The next text message, whole (§5.4: fragments joined), answering pings meanwhile; null
     * once the client closed (its close frame is answered) or the connection ended.
     *
     * @throws ProtocolException for a frame RFC 6455 forbids (unmasked, reserved bits or opcodes,
     *     a bad control frame or continuation), a message past the size limit, binary data or
     *     text that is not UTF-8; the caller closes with its code
     * @throws IOException if the connection fails
     */
    String receive() throws IOException {
        ByteArrayOutputStream message = null;
        while (true) {
            int b0 = in.read();
            if (b0 < 0) {
                return null;
            }
            int b1 = readByte();
            boolean fin = (b0 & 0x80) != 0;
            int opcode = b0 & 0x0f;
            if ((b0 & 0x70) != 0) {
                throw new ProtocolException(PROTOCOL_ERROR, "reserved bits set"); // §5.2: no extension was agreed
            }
            if ((b1 & 0x80) == 0) {
                throw new ProtocolException(PROTOCOL_ERROR, "unmasked frame from a client"); // §5.1
            }
            long len = b1 & 0x7f;
            if (len == 126) {
                len = (readByte() << 8) | readByte();
            } else if (len == 127) {
                len = 0;
                for (int i = 0; i < 8; i++) {
                    len = (len << 8) | readByte();
                }
                if (len < 0) {
                    throw new ProtocolException(PROTOCOL_ERROR, "frame length out of range");
                }
            }
            boolean control = (opcode & 0x08) != 0;
            if (control && (!fin || len > 125)) {
                throw new ProtocolException(PROTOCOL_ERROR, "fragmented or long control frame"); // §5.5
            }
            long sofar = message == null ? 0 : message.size();
            if (!control && sofar + len > maxMessage) {
                throw new ProtocolException(TOO_BIG, "message larger than " + maxMessage + " bytes");
            }
            byte[] mask = readFully(4);
            byte[] payload = readFully((int) len);
            for (int i = 0; i < payload.length; i++) {
                payload[i] ^= mask[i & 3];
            }
            switch (opcode) {
                case 0x9 -> frame(0xA, payload); // ping: pong with the same data (§5.5.2)
                case 0xA -> { } // an unsolicited pong is allowed (§5.5.3)
                case 0x8 -> {
                    int code = payload.length >= 2 ? ((payload[0] & 0xff) << 8) | (payload[1] & 0xff) : NORMAL;
                    close(code == 1005 || code == 1006 || code == 1015 || code < 1000 ? PROTOCOL_ERROR : NORMAL, "");
                    return null;
                }
                case 0x1, 0x2 -> {
                    if (message != null) {
                        throw new ProtocolException(PROTOCOL_ERROR, "a new message inside a fragmented one");
                    }
                    if (opcode == 0x2) {
                        throw new ProtocolException(UNSUPPORTED_DATA, "binary messages are not XMPP (RFC 7395 §3.2)");
                    }
                    message = new ByteArrayOutputStream();
                    message.write(payload);
                }
                case 0x0 -> {
                    if (message == null) {
                        throw new ProtocolException(PROTOCOL_ERROR, "a continuation outside a message");
                    }
                    message.write(payload);
                }
                default -> throw new ProtocolException(PROTOCOL_ERROR, "reserved opcode " + opcode);
            }
            if (fin && !control && message != null) {
                try {
                    return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                            .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(message.toByteArray())).toString();
                } catch (CharacterCodingException e) {
                    throw new ProtocolException(INVALID_DATA, "text that is not UTF-8"); // §8.1
                }
            }
        }
    }

    /** Sends one text message in one frame. */
    void send(String text) throws IOException {
        frame(0x1, text.getBytes(StandardCharsets.UTF_8));
    }

    /** Sends a close frame with {@code code}, once (§5.5.1); the caller then closes the connection. */
    void close(int code, String reason) throws IOException {
        writeLock.lock();
        try {
            if (closeSent) {
                return;
            }
            closeSent = true;
            byte[] r = reason.getBytes(StandardCharsets.UTF_8);
            byte[] p = new byte[2 + Math.min(r.length, 123)];
            p[0] = (byte) (code >> 8);
            p[1] = (byte) code;
            System.arraycopy(r, 0, p, 2, p.length - 2);
            frameLocked(0x8, p);
        } finally {
            writeLock.unlock();
        }
    }

    private void frame(int opcode, byte[] payload) throws IOException {
        writeLock.lock();
        try {
            if (closeSent) {
                throw new IOException("the WebSocket is closing");
            }
            frameLocked(opcode, payload);
        } finally {
            writeLock.unlock();
        }
    }

    /** §5.2: a final frame, unmasked (servers never mask, §5.1). */
    private void frameLocked(int opcode, byte[] payload) throws IOException {
        OutputStream out = conn.output();
        out.write(0x80 | opcode);
        if (payload.length < 126) {
            out.write(payload.length);
        } else if (payload.length < 65536) {
            out.write(126);
            out.write(payload.length >> 8);
            out.write(payload.length);
        } else {
            out.write(127);
            for (int i = 7; i >= 0; i--) {
                out.write((int) ((long) payload.length >> (8 * i)));
            }
        }
        out.write(payload);
        conn.flush();
    }

    private int readByte() throws IOException {
        int b = in.read();
        if (b < 0) {
            throw new EOFException("the connection ended inside a frame");
        }
        return b;
    }

    private byte[] readFully(int n) throws IOException {
        byte[] b = in.readNBytes(n);
        if (b.length != n) {
            throw new EOFException("the connection ended inside a frame");
        }
        return b;
    }

    @Override
    public String toString() {
        return "websocket " + conn;
    }
}
