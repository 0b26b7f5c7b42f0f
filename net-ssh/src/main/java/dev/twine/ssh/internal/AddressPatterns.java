package dev.twine.ssh.internal;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Locale;

/**
 * The pattern lists of OpenSSH's {@code from="..."} key option (sshd(8) AUTHORIZED_KEYS FILE
 * FORMAT, ssh_config(5) PATTERNS), matched against the client's address: comma-separated
 * patterns with {@code *} and {@code ?} wildcards, {@code addr/bits} CIDR blocks, and {@code !}
 * to negate. A negated pattern that matches refuses the client whatever else matches; otherwise
 * one positive match admits it. Host name patterns never match: as sshd with its default
 * {@code UseDNS no}, no reverse lookup is done.
 */
public final class AddressPatterns {
    private AddressPatterns() {
    }

    /** Whether {@code client} is admitted by {@code patternList}; a null client never is. */
    public static boolean admits(String patternList, InetAddress client) {
        if (client == null) {
            return false;
        }
        String text = client instanceof Inet6Address ? rfc5952(client.getAddress()) : client.getHostAddress();
        boolean admitted = false;
        for (String raw : patternList.split(",")) {
            String p = raw.strip();
            boolean negated = p.startsWith("!");
            if (negated) {
                p = p.substring(1);
            }
            if (p.isEmpty()) {
                continue;
            }
            boolean match = p.indexOf('/') >= 0 ? inBlock(p, client)
                    : wildcard(p.toLowerCase(Locale.ROOT), 0, text, 0);
            if (match && negated) {
                return false;
            }
            admitted |= match;
        }
        return admitted;
    }

    /**
     * The text form sshd matches IPv6 patterns against (RFC 5952: lower-case hex, no leading
     * zeros, the longest run of two or more zero groups as {@code ::}); Java's own is not compressed.
     */
    static String rfc5952(byte[] a) {
        int[] g = new int[8];
        for (int i = 0; i < 8; i++) {
            g[i] = ((a[2 * i] & 0xff) << 8) | (a[2 * i + 1] & 0xff);
        }
        int bestStart = -1;
        int bestLen = 1;
        for (int i = 0; i < 8; ) {
            int j = i;
            while (j < 8 && g[j] == 0) {
                j++;
            }
            if (j - i > bestLen) {
                bestStart = i;
                bestLen = j - i;
            }
            i = j == i ? i + 1 : j;
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                sb.append("::");
                i += bestLen - 1;
                continue;
            }
            if (sb.length() > 0 && sb.charAt(sb.length() - 1) != ':') {
                sb.append(':');
            }
            sb.append(Integer.toHexString(g[i]));
        }
        return sb.toString();
    }

    /** {@code addr/bits}; a malformed block matches nothing (sshd refuses the key then, too). */
    private static boolean inBlock(String cidr, InetAddress client) {
        int slash = cidr.indexOf('/');
        String addr = cidr.substring(0, slash);
        if (!addr.matches("[0-9A-Fa-f:.]+")) {
            return false; // a literal address only: never a DNS lookup
        }
        int bits;
        byte[] net;
        try {
            bits = Integer.parseInt(cidr.substring(slash + 1));
            net = InetAddress.getByName(addr).getAddress();
        } catch (NumberFormatException | UnknownHostException e) {
            return false;
        }
        byte[] c = client.getAddress();
        if (net.length != c.length || bits < 0 || bits > 8 * net.length) {
            return false;
        }
        for (int i = 0; i < bits; i++) {
            int mask = 0x80 >>> (i % 8);
            if ((net[i / 8] & mask) != (c[i / 8] & mask)) {
                return false;
            }
        }
        return true;
    }

    /** OpenSSH's pattern match (match.c's shape): {@code *} any run, {@code ?} one character; also for known_hosts. */
    static boolean wildcard(String p, int pi, String s, int si) {
        while (pi < p.length()) {
            char c = p.charAt(pi);
            if (c == '*') {
                for (int k = si; k <= s.length(); k++) {
                    if (wildcard(p, pi + 1, s, k)) {
                        return true;
                    }
                }
                return false;
            }
            if (si >= s.length() || (c != '?' && c != s.charAt(si))) {
                return false;
            }
            pi++;
            si++;
        }
        return si == s.length();
    }
}
