package dev.twine.core.internal;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Arrays;

/**
 * A client address as abuse limits count it: an IPv4 address, or the /64 prefix of an IPv6 address
 * (one customer usually holds a whole /64, so single IPv6 addresses would be no limit at all);
 * IPv4-mapped IPv6 addresses count as IPv4.
 */
public final class AddressKey {
    private final byte[] bytes;
    private final int hash;

    private AddressKey(byte[] bytes) {
        this.bytes = bytes;
        this.hash = Arrays.hashCode(bytes);
    }

    /** The key of a peer's address, or null if it has no IP address (Unix domain, in-memory). */
    public static AddressKey of(SocketAddress peer) {
        if (!(peer instanceof InetSocketAddress isa) || isa.getAddress() == null) {
            return null;
        }
        return of(isa.getAddress());
    }

    /** The key of an IP address. */
    public static AddressKey of(InetAddress a) {
        byte[] b = a.getAddress();
        if (a instanceof Inet6Address) {
            return isV4Mapped(b) ? new AddressKey(Arrays.copyOfRange(b, 12, 16)) : new AddressKey(Arrays.copyOf(b, 8));
        }
        return new AddressKey(b);
    }

    private static boolean isV4Mapped(byte[] b) {
        for (int i = 0; i < 10; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return b[10] == (byte) 0xff && b[11] == (byte) 0xff;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AddressKey k && hash == k.hash && Arrays.equals(bytes, k.bytes);
    }

    @Override
    public int hashCode() {
        return hash;
    }

    /** {@code 192.0.2.1}, or {@code 2001:db8:0:1::/64}. */
    @Override
    public String toString() {
        if (bytes.length == 4) {
            return (bytes[0] & 0xff) + "." + (bytes[1] & 0xff) + "." + (bytes[2] & 0xff) + "." + (bytes[3] & 0xff);
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 8; i += 2) {
            sb.append(Integer.toHexString(((bytes[i] & 0xff) << 8) | (bytes[i + 1] & 0xff))).append(':');
        }
        return sb.append(":/64").toString();
    }
}
