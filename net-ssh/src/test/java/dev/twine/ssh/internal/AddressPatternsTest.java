package dev.twine.ssh.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

class AddressPatternsTest {

    private static boolean admits(String patterns, String address) throws Exception {
        return AddressPatterns.admits(patterns, InetAddress.getByName(address));
    }

    @Test
    void wildcardsBlocksAndNegation() throws Exception {
        assertTrue(admits("127.0.0.1", "127.0.0.1"));
        assertFalse(admits("127.0.0.1", "127.0.0.10"));
        assertTrue(admits("127.0.0.*", "127.0.0.10"));
        assertTrue(admits("10.?.1.1", "10.7.1.1"));
        assertFalse(admits("10.?.1.1", "10.77.1.1"));
        assertTrue(admits(" 192.168.0.0/16 , 10.0.0.1", "192.168.200.3"));
        assertFalse(admits("192.168.0.0/16", "192.169.0.1"));
        assertTrue(admits("0.0.0.0/0", "8.8.8.8"));
        assertFalse(admits("!8.8.8.8,0.0.0.0/0", "8.8.8.8"), "a matching negation wins");
        assertFalse(admits("!8.8.8.8", "1.1.1.1"), "a negation alone admits nobody");
        assertFalse(admits("10.0.0.0/33,10.0.0.0/x,host.example/8", "10.0.0.1"), "malformed blocks match nothing");
        assertFalse(admits("localhost,*.example.com", "127.0.0.1"), "no DNS: names never match");
        assertFalse(AddressPatterns.admits("*", null), "an unknown address is never admitted");
    }

    @Test
    void ipv6IsMatchedInItsCompressedFormAndByBlock() throws Exception {
        assertTrue(admits("::1", "::1"));
        assertTrue(admits("2001:db8::*", "2001:db8:0:0:0:0:0:42"));
        assertTrue(admits("2001:db8::/32", "2001:db8:ffff::1"));
        assertFalse(admits("2001:db8::/32", "2001:db9::1"));
        assertFalse(admits("127.0.0.0/8", "::1"), "families do not mix");
        assertEquals("2001:db8::1:0:0:1", AddressPatterns.rfc5952(InetAddress.getByName("2001:db8:0:0:1:0:0:1").getAddress()));
        assertEquals("2001:0:0:1::", AddressPatterns.rfc5952(InetAddress.getByName("2001:0:0:1:0:0:0:0").getAddress()));
        assertEquals("::", AddressPatterns.rfc5952(new byte[16]));
        assertEquals("1:2:3:4:5:6:7:8", AddressPatterns.rfc5952(InetAddress.getByName("1:2:3:4:5:6:7:8").getAddress()));
    }
}
