package dev.twine.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** If connections are admitted through {@link ConnectionLimits}, then each cap holds exactly. */
class ConnectionLimitsTest {
    private static InetSocketAddress at(String ip) {
        return new InetSocketAddress(ip, 40000);
    }

    @Test
    void capsConnectionsPerAddressAndGivesPlacesBack() {
        ConnectionLimits limits = ConnectionLimits.builder().perAddress(2).build();
        ConnectionLimits.Permit a = limits.tryAdmit(at("192.0.2.1")).orElseThrow();
        ConnectionLimits.Permit b = limits.tryAdmit(at("192.0.2.1")).orElseThrow();
        assertTrue(limits.tryAdmit(at("192.0.2.1")).isEmpty());
        assertTrue(limits.tryAdmit(at("192.0.2.2")).isPresent(), "another address has its own count");
        a.close();
        a.close(); // idempotent: gives back one place only
        assertTrue(limits.tryAdmit(at("192.0.2.1")).isPresent());
        assertTrue(limits.tryAdmit(at("192.0.2.1")).isEmpty());
        b.authenticated();
        assertTrue(limits.tryAdmit(at("192.0.2.1")).isEmpty(), "authenticated connections still count per address");
    }

    @Test
    void countsAnIpv6Slash64AsOneAddressAndMappedIpv4AsIpv4() throws Exception {
        ConnectionLimits limits = ConnectionLimits.builder().perAddress(1).build();
        assertTrue(limits.tryAdmit(at("2001:db8:0:1::1")).isPresent());
        assertTrue(limits.tryAdmit(at("2001:db8:0:1:ffff::2")).isEmpty(), "same /64");
        assertTrue(limits.tryAdmit(at("2001:db8:0:2::1")).isPresent(), "another /64");
        assertTrue(limits.tryAdmit(at("198.51.100.7")).isPresent());
        byte[] mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff, (byte) 198, 51, 100, 7};
        assertTrue(limits.tryAdmit(new InetSocketAddress(java.net.Inet6Address.getByAddress(null, mapped, -1), 1)).isEmpty(),
                "v4-mapped is the same address");
    }

    @Test
    void capsUnauthenticatedConnectionsInAllAndPerAddress() {
        ConnectionLimits limits = ConnectionLimits.builder().preauth(3).preauthPerAddress(2).build();
        List<ConnectionLimits.Permit> permits = new ArrayList<>();
        permits.add(limits.tryAdmit(at("192.0.2.1")).orElseThrow());
        permits.add(limits.tryAdmit(at("192.0.2.1")).orElseThrow());
        assertTrue(limits.tryAdmit(at("192.0.2.1")).isEmpty(), "per-address pre-auth cap");
        permits.add(limits.tryAdmit(at("192.0.2.2")).orElseThrow());
        assertTrue(limits.tryAdmit(at("192.0.2.3")).isEmpty(), "global pre-auth cap");
        assertEquals(3, limits.preauthConnections());
        permits.get(0).authenticated();
        permits.get(0).authenticated(); // idempotent
        assertEquals(2, limits.preauthConnections());
        assertTrue(limits.tryAdmit(at("192.0.2.3")).isPresent(), "a login makes room");
        permits.get(0).close();
        assertEquals(3, limits.preauthConnections(), "closing an authenticated permit leaves the pre-auth count alone");
    }

    @Test
    void addressesWithoutIpCountOnlyTowardsTheGlobalPreauthCap() {
        ConnectionLimits limits = ConnectionLimits.builder().perAddress(1).preauth(2).build();
        UnixDomainSocketAddress unix = UnixDomainSocketAddress.of("/tmp/x.sock");
        Optional<ConnectionLimits.Permit> a = limits.tryAdmit(unix);
        assertTrue(a.isPresent());
        assertTrue(limits.tryAdmit(unix).isPresent());
        assertTrue(limits.tryAdmit(unix).isEmpty());
        assertEquals(0, limits.connectionsFrom(unix));
    }

    @Test
    void defaultsAreTheLoginServersLimitsAndEachCallCountsAlone() {
        ConnectionLimits a = ConnectionLimits.defaults();
        assertEquals(50, a.perAddress());
        assertEquals(10, a.preauthPerAddress());
        assertEquals(1_000, a.preauth());
        assertEquals(java.time.Duration.ofSeconds(60), a.preauthTimeout());
        a.tryAdmit(at("192.0.2.1")).orElseThrow();
        assertEquals(1, a.connectionsFrom(at("192.0.2.1")));
        assertEquals(0, ConnectionLimits.defaults().connectionsFrom(at("192.0.2.1")), "a fresh instance");
    }

    @Test
    void noneAdmitsEverything() {
        ConnectionLimits none = ConnectionLimits.none();
        for (int i = 0; i < 1000; i++) {
            assertTrue(none.tryAdmit(at("192.0.2.1")).isPresent());
        }
        assertEquals(0, none.connectionsFrom(at("192.0.2.1")));
        assertFalse(none.preauthTimeout().isNegative());
    }

    @Test
    void rejectsNegativeCaps() {
        assertThrows(IllegalArgumentException.class, () -> ConnectionLimits.builder().perAddress(-1));
        assertThrows(IllegalArgumentException.class, () -> ConnectionLimits.builder().preauthTimeout(java.time.Duration.ofSeconds(-1)));
    }
}
