package dev.twine.dns.internal;

import java.net.InetAddress;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Arrays;

/**
 * DNS cookies (RFC 7873) with server cookies in the interoperable layout of RFC 9018 §4:
 * version 1, three reserved zero bytes, a 32-bit timestamp in seconds, and an 8-byte
 * SipHash-2-4 of the client cookie, those 8 bytes and the client's address, keyed by a server
 * secret. A cookie is read from a query's wire form in place ({@link #find}) and written into
 * the response's OPT record ({@link #attach}), so answers from the answer cache get theirs too.
 * Immutable and safe for concurrent use.
 */
final class Cookies {
    /** The COOKIE option code (RFC 7873 §4). */
    static final int OPTION = 10;
    /** What the COOKIE option of a response takes: code, length, 8-byte client and 16-byte server cookie. */
    static final int RESPONSE_ROOM = 4 + 8 + 16;
    /** RFC 9018 §4.3: a server cookie is accepted up to an hour old and five minutes ahead. */
    private static final long MAX_AGE = 3600;
    private static final long MAX_AHEAD = 300;
    /** RFC 9018 §4.3: a cookie older than half an hour is replaced by a fresh one in the answer. */
    private static final long REFRESH_AGE = 1800;

    private final long k0;
    private final long k1;
    private final Clock clock;

    /** A cookie found in a query: the client's 8 bytes and the server cookie it sent, if any (empty array). */
    record Found(byte[] client, byte[] server) {}

    /** Cookies keyed by a fresh random secret. */
    Cookies(Clock clock) {
        this(randomSecret(), clock);
    }

    /**
     * @param secret 16 bytes, the SipHash key (servers answering for one address share it, RFC 9018 §5)
     */
    Cookies(byte[] secret, Clock clock) {
        if (secret.length != 16) {
            throw new IllegalArgumentException("a cookie secret is 16 bytes: " + secret.length);
        }
        this.k0 = le64(secret, 0);
        this.k1 = le64(secret, 8);
        this.clock = clock;
    }

    private static byte[] randomSecret() {
        byte[] s = new byte[16];
        new SecureRandom().nextBytes(s);
        return s;
    }

    /**
     * The COOKIE option of a query, or null if it has none or its records cannot be walked (the
     * parser then judges the query). Reads the wire in place; never throws.
     */
    static Found find(byte[] q) {
        int data = optionAt(q, OPTION);
        if (data < 0) {
            return null;
        }
        int len = u16(q, data - 2);
        // RFC 7873 §4: 8 bytes of client cookie, then none or 8 to 32 of server cookie
        if (len != 8 && (len < 16 || len > 40)) {
            return null;
        }
        return new Found(Arrays.copyOfRange(q, data, data + 8), Arrays.copyOfRange(q, data + 8, data + len));
    }

    /**
     * Where the data of EDNS option {@code code} starts in message {@code m} (its length is the
     * two bytes before), or -1 if it has no such option or its records cannot be walked. Reads
     * the wire in place; never throws.
     */
    static int optionAt(byte[] m, int code) {
        int at = optStart(m);
        if (at < 0) {
            return -1;
        }
        int p = skipName(m, at);
        int data = p + 10;
        int end = data + u16(m, p + 8);
        for (int o = data; o + 4 <= end; ) {
            int len = u16(m, o + 2);
            if (o + 4 + len > end) {
                return -1;
            }
            if (u16(m, o) == code) {
                return o + 4;
            }
            o += 4 + len;
        }
        return -1;
    }

    /** Where the (first) OPT record of {@code m} starts, or -1 if it has none or its records cannot be walked. */
    private static int optStart(byte[] m) {
        int n = m.length;
        if (n < 12) {
            return -1;
        }
        int p = 12;
        for (int i = u16(m, 4); i > 0; i--) {
            p = skipName(m, p);
            if (p < 0) {
                return -1;
            }
            p += 4;
        }
        int records = u16(m, 6) + u16(m, 8) + u16(m, 10);
        for (int i = 0; i < records; i++) {
            int start = p;
            p = skipName(m, p);
            if (p < 0 || p + 10 > n) {
                return -1;
            }
            int type = u16(m, p);
            p += 10 + u16(m, p + 8);
            if (p > n) {
                return -1;
            }
            if (type == 41) {
                return start;
            }
        }
        return -1;
    }

    private static int skipName(byte[] q, int p) {
        while (p < q.length) {
            int len = q[p] & 0xFF;
            if (len == 0) {
                return p + 1;
            }
            if ((len & 0xC0) == 0xC0) {
                return p + 2; // a compression pointer ends the name (RFC 1035 §4.1.4)
            }
            if (len > 63) {
                return -1;
            }
            p += 1 + len;
        }
        return -1;
    }

    /**
     * Whether {@code found} carries a server cookie this server made for this client within the
     * last hour (RFC 9018 §4.3).
     */
    boolean valid(Found found, InetAddress client) {
        byte[] s = found.server();
        if (s.length != 16 || s[0] != 1 || client == null) {
            return false;
        }
        long age = clock.instant().getEpochSecond() - (u32(s, 4));
        if (age > MAX_AGE || age < -MAX_AHEAD) {
            return false;
        }
        byte[] expected = serverCookie(found.client(), u32(s, 4), client);
        return java.security.MessageDigest.isEqual(expected, s);
    }

    /**
     * The COOKIE option to answer {@code found} with: the client cookie and a server cookie,
     * the one it sent if that is valid and younger than half an hour, else a fresh one.
     */
    byte[] responseOption(Found found, InetAddress client) {
        long now = clock.instant().getEpochSecond();
        byte[] server;
        if (valid(found, client) && now - u32(found.server(), 4) < REFRESH_AGE) {
            server = found.server();
        } else {
            server = serverCookie(found.client(), now, client == null ? InetAddress.getLoopbackAddress() : client);
        }
        byte[] out = new byte[RESPONSE_ROOM];
        out[1] = OPTION;
        out[3] = 24;
        System.arraycopy(found.client(), 0, out, 4, 8);
        System.arraycopy(server, 0, out, 12, 16);
        return out;
    }

    /** RFC 9018 §4.2: version 1, reserved, timestamp, then the hash over all that and the client address. */
    private byte[] serverCookie(byte[] clientCookie, long timestamp, InetAddress client) {
        byte[] ip = client.getAddress();
        byte[] msg = new byte[16 + ip.length];
        System.arraycopy(clientCookie, 0, msg, 0, 8);
        msg[8] = 1;
        msg[12] = (byte) (timestamp >>> 24);
        msg[13] = (byte) (timestamp >>> 16);
        msg[14] = (byte) (timestamp >>> 8);
        msg[15] = (byte) timestamp;
        System.arraycopy(ip, 0, msg, 16, ip.length);
        long h = sipHash24(k0, k1, msg);
        byte[] out = Arrays.copyOfRange(msg, 8, 24);
        for (int i = 0; i < 8; i++) {
            out[8 + i] = (byte) (h >>> 8 * i); // the hash's bytes in SipHash's own (little-endian) order
        }
        return out;
    }

    /**
     * {@code message} with {@code option} (code, length, data) appended to its OPT record, which
     * the request path always writes last; unchanged if it has none there (a bare error header).
     */
    static byte[] attach(byte[] message, byte[] option) {
        int at = optStart(message);
        int p = at < 0 ? -1 : skipName(message, at);
        if (p < 0 || p + 10 + u16(message, p + 8) != message.length) {
            return message;
        }
        int rdlen = u16(message, p + 8) + option.length;
        byte[] out = Arrays.copyOf(message, message.length + option.length);
        out[p + 8] = (byte) (rdlen >>> 8);
        out[p + 9] = (byte) rdlen;
        System.arraycopy(option, 0, out, message.length, option.length);
        return out;
    }

    /** SipHash-2-4 (Aumasson and Bernstein, 2012) of {@code m} under the key (k0, k1). */
    static long sipHash24(long k0, long k1, byte[] m) {
        long[] v = {k0 ^ 0x736f6d6570736575L, k1 ^ 0x646f72616e646f6dL, k0 ^ 0x6c7967656e657261L, k1 ^ 0x7465646279746573L};
        int whole = m.length & ~7;
        for (int i = 0; i < whole; i += 8) {
            compress(v, le64(m, i));
        }
        long last = (long) (m.length & 0xFF) << 56;
        for (int i = whole; i < m.length; i++) {
            last |= (m[i] & 0xFFL) << 8 * (i - whole);
        }
        compress(v, last);
        v[2] ^= 0xFF;
        for (int r = 0; r < 4; r++) {
            round(v);
        }
        return v[0] ^ v[1] ^ v[2] ^ v[3];
    }

    private static void compress(long[] v, long word) {
        v[3] ^= word;
        round(v);
        round(v);
        v[0] ^= word;
    }

    private static void round(long[] v) {
        v[0] += v[1];
        v[1] = Long.rotateLeft(v[1], 13) ^ v[0];
        v[0] = Long.rotateLeft(v[0], 32);
        v[2] += v[3];
        v[3] = Long.rotateLeft(v[3], 16) ^ v[2];
        v[0] += v[3];
        v[3] = Long.rotateLeft(v[3], 21) ^ v[0];
        v[2] += v[1];
        v[1] = Long.rotateLeft(v[1], 17) ^ v[2];
        v[2] = Long.rotateLeft(v[2], 32);
    }

    private static long le64(byte[] b, int i) {
        long out = 0;
        for (int k = 7; k >= 0; k--) {
            out = out << 8 | b[i + k] & 0xFF;
        }
        return out;
    }

    private static long u32(byte[] b, int i) {
        return (b[i] & 0xFFL) << 24 | (b[i + 1] & 0xFFL) << 16 | (b[i + 2] & 0xFFL) << 8 | b[i + 3] & 0xFFL;
    }

    private static int u16(byte[] b, int i) {
        return (b[i] & 0xFF) << 8 | b[i + 1] & 0xFF;
    }
}
