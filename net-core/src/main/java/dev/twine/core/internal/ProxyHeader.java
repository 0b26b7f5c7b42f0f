package dev.twine.core.internal;

import dev.twine.core.ProxyProtocol;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ProtocolException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;

/**
 * Reads one PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2) from the start
 * of a connection, consuming exactly its bytes, so that whatever the client sent after it stays
 * buffered for the handler.
 */
public final class ProxyHeader {

    /** Version 2's signature (§2.2): {@code \r\n\r\n\0\r\nQUIT\n}. */
    private static final byte[] V2_SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
    /** §2.1: a version 1 line is at most 107 bytes, CRLF included. */
    private static final int V1_MAX = 107;
    /**
     * A version 2 header's variable part may be up to 65535 bytes; balancers send well under 1 KiB
     * even with TLS TLVs, so more is refused rather than buffered.
     */
    private static final int V2_MAX_LENGTH = 4096;

    private ProxyHeader() {
    }

    /**
     * Reads the header.
     *
     * @param in the connection's input, positioned at its first byte
     * @param version which versions are accepted
     * @return the client's address, or empty when the header says to keep the connection's own
     *     (v1 {@code UNKNOWN}, v2 {@code LOCAL}, a family other than TCP over IPv4/IPv6)
     * @throws ProtocolException if the bytes are not an accepted header
     * @throws IOException if reading fails or the stream ends early
     */
    public static Optional<InetSocketAddress> read(InputStream in, ProxyProtocol.Version version) throws IOException {
        int first = in.read();
        if (first < 0) {
            throw new EOFException("connection closed before the PROXY header");
        }
        if (first == 'P' && version != ProxyProtocol.Version.V2) {
            return v1(in);
        }
        if (first == V2_SIGNATURE[0] && version != ProxyProtocol.Version.V1) {
            return v2(in);
        }
        throw new ProtocolException("expected a PROXY protocol " + switch (version) {
            case V1 -> "v1";
            case V2 -> "v2";
            case ANY -> "v1 or v2";
        } + " header");
    }

    private static Optional<InetSocketAddress> v1(InputStream in) throws IOException {
        byte[] line = new byte[V1_MAX];
        line[0] = 'P';
        int n = 1;
        while (true) {
            int b = in.read();
            if (b < 0) {
                throw new EOFException("connection closed inside the PROXY header");
            }
            if (n == V1_MAX) {
                throw new ProtocolException("PROXY v1 header longer than 107 bytes");
            }
            line[n++] = (byte) b;
            if (b == '\n') {
                break;
            }
        }
        if (n < 2 || line[n - 2] != '\r') {
            throw new ProtocolException("PROXY v1 header must end in CRLF");
        }
        String[] f = new String(line, 0, n - 2, StandardCharsets.US_ASCII).split(" ", -1);
        if (!f[0].equals("PROXY") || f.length < 2) {
            throw new ProtocolException("not a PROXY v1 header");
        }
        if (f[1].equals("UNKNOWN")) {
            return Optional.empty(); // §2.1: the receiver ignores the rest of the line
        }
        if (f.length != 6 || !(f[1].equals("TCP4") || f[1].equals("TCP6"))) {
            throw new ProtocolException("malformed PROXY v1 header");
        }
        InetAddress source = literal(f[2], f[1].equals("TCP4") ? 4 : 16);
        literal(f[3], f[1].equals("TCP4") ? 4 : 16);
        int sourcePort = port(f[4]);
        port(f[5]);
        return Optional.of(new InetSocketAddress(source, sourcePort));
    }

    private static Optional<InetSocketAddress> v2(InputStream in) throws IOException {
        byte[] head = new byte[16];
        head[0] = V2_SIGNATURE[0];
        readFully(in, head, 1, 15);
        if (!Arrays.equals(head, 0, 12, V2_SIGNATURE, 0, 12)) {
            throw new ProtocolException("bad PROXY v2 signature");
        }
        int versionCommand = head[12] & 0xFF;
        if (versionCommand >> 4 != 2) {
            throw new ProtocolException("PROXY v2 header with version " + (versionCommand >> 4));
        }
        int command = versionCommand & 0x0F;
        int family = head[13] & 0xFF;
        int length = ((head[14] & 0xFF) << 8) | (head[15] & 0xFF);
        if (length > V2_MAX_LENGTH) {
            throw new ProtocolException("PROXY v2 header of " + length + " bytes is over the " + V2_MAX_LENGTH + "-byte limit");
        }
        byte[] rest = new byte[length];
        readFully(in, rest, 0, length);
        if (command == 0x0) {
            return Optional.empty(); // LOCAL: the balancer's own connection (health checks)
        }
        if (command != 0x1) {
            throw new ProtocolException("PROXY v2 command " + command + " is not LOCAL or PROXY");
        }
        // §2.2: 0x11 TCP over IPv4, 0x21 TCP over IPv6; UDP and Unix sockets keep the real peer
        int addressLength = switch (family) {
            case 0x11 -> 4;
            case 0x21 -> 16;
            default -> 0;
        };
        if (addressLength == 0) {
            return Optional.empty();
        }
        if (length < 2 * addressLength + 4) {
            throw new ProtocolException("PROXY v2 address block too short for its family");
        }
        InetAddress source = InetAddress.getByAddress(Arrays.copyOfRange(rest, 0, addressLength));
        int port = ((rest[2 * addressLength] & 0xFF) << 8) | (rest[2 * addressLength + 1] & 0xFF);
        return Optional.of(new InetSocketAddress(source, port));
    }

    private static void readFully(InputStream in, byte[] b, int off, int len) throws IOException {
        int n = in.readNBytes(b, off, len);
        if (n < len) {
            throw new EOFException("connection closed inside the PROXY header");
        }
    }

    /** An address literal of the given length; never a name lookup. */
    private static InetAddress literal(String text, int bytes) throws ProtocolException {
        boolean ok = bytes == 4
                ? text.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}") && Arrays.stream(text.split("\\.")).allMatch(o -> Integer.parseInt(o) <= 255)
                : text.matches("[0-9a-fA-F:.]*:[0-9a-fA-F:.]*");
        if (ok) {
            try {
                InetAddress a = InetAddress.getByName(text);
                if (a.getAddress().length == bytes || bytes == 16) {
                    return a;
                }
            } catch (IOException e) {
                // falls through to the error below
            }
        }
        throw new ProtocolException("bad address '" + text + "' in PROXY v1 header");
    }

    private static int port(String text) throws ProtocolException {
        if (!text.matches("[0-9]{1,5}") || Integer.parseInt(text) > 65535) {
            throw new ProtocolException("bad port '" + text + "' in PROXY v1 header");
        }
        return Integer.parseInt(text);
    }
}
