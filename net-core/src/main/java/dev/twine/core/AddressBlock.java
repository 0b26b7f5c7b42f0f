package dev.twine.core;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A block of IP addresses in CIDR notation ({@code 192.0.2.0/24}, {@code 2001:db8::/32}, or one
 * address, which is a /32 or /128): who may use a DNS forwarder, which proxies may send a
 * {@link ProxyProtocol} header. IPv4 and IPv6 never match each other; an IPv4-mapped IPv6 address
 * ({@code ::ffff:127.0.0.1}) is the IPv4 address it maps, as the JDK already makes it.
 *
 * <pre>{@code
 * AddressBlock lan = AddressBlock.parse("192.168.0.0/16");
 * lan.contains(InetAddress.getByName("192.168.4.2"));   // true
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 */
public final class AddressBlock {
    private static final List<AddressBlock> LOOPBACK = List.of(parse("127.0.0.0/8"), parse("::1/128"));

    private final byte[] network;
    private final int prefix;
    private final String text;

    private AddressBlock(byte[] network, int prefix, String text) {
        this.network = network;
        this.prefix = prefix;
        this.text = text;
    }

    /**
     * The loopback blocks: {@code 127.0.0.0/8} (RFC 1122 §3.2.1.3) and {@code ::1/128}
     * (RFC 4291 §2.5.3), the safe default wherever a list says who is trusted.
     *
     * @return the two blocks, immutable
     */
    public static List<AddressBlock> loopback() {
        return LOOPBACK;
    }

    /**
     * Parses {@code ADDR[/PREFIX]}; an IPv6 address may be written in brackets. Only literal addresses: a host name is an error, never looked
     * up. Bits below the prefix are ignored ({@code 10.1.2.3/8} is {@code 10.0.0.0/8}).
     *
     * @param cidr the block, e.g. {@code 10.0.0.0/8}, {@code 2001:db8::/32}, {@code [::1]}
     * @return the block
     * @throws IllegalArgumentException if it is not an address block
     */
    public static AddressBlock parse(String cidr) {
        Objects.requireNonNull(cidr, "cidr");
        String s = cidr.strip();
        int slash = s.indexOf('/');
        String addr = slash < 0 ? s : s.substring(0, slash);
        if (addr.startsWith("[") && addr.endsWith("]")) {
            addr = addr.substring(1, addr.length() - 1);
        }
        // a literal only: InetAddress.getByName would otherwise resolve a name through DNS
        if (!addr.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*")) {
            throw new IllegalArgumentException("not an address block (ADDR or ADDR/PREFIX): '" + cidr + "'");
        }
        byte[] bytes;
        try {
            bytes = InetAddress.getByName(addr).getAddress();
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("not an address block (ADDR or ADDR/PREFIX): '" + cidr + "'", e);
        }
        int max = bytes.length * 8;
        int prefix = max;
        if (slash >= 0) {
            String p = s.substring(slash + 1);
            if (!p.matches("[0-9]{1,3}") || Integer.parseInt(p) > max) {
                throw new IllegalArgumentException("bad prefix length in '" + cidr + "' (0 to " + max + ")");
            }
            prefix = Integer.parseInt(p);
        }
        return new AddressBlock(mask(bytes, prefix), prefix, cidr.strip());
    }

    /**
     * Tells whether an address lies in this block.
     *
     * @param address the address to test
     * @return true if it is in the block (never for the other IP version)
     */
    public boolean contains(InetAddress address) {
        byte[] a = address.getAddress();
        return a.length == network.length && Arrays.equals(mask(a, prefix), network);
    }

    private static byte[] mask(byte[] bytes, int prefix) {
        byte[] out = bytes.clone();
        for (int i = 0; i < out.length; i++) {
            int keep = Math.max(0, Math.min(8, prefix - 8 * i));
            out[i] &= (byte) (0xff << (8 - keep));
        }
        return out;
    }

    /**
     * Tells whether an address lies in any of the blocks.
     *
     * @param blocks the blocks
     * @param address the address to test
     * @return true if one of the blocks contains it
     */
    public static boolean anyContains(List<AddressBlock> blocks, InetAddress address) {
        for (AddressBlock b : blocks) {
            if (b.contains(address)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The block as it was written.
     *
     * @return for example {@code 10.0.0.0/8}
     */
    @Override
    public String toString() {
        return text;
    }
}
