package dev.twine.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** If an endpoint string follows the grammar, then it parses to the right record; if not, the error names the bad part. */
@Timeout(value = 10, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class EndpointTest {
    private static final int B = Endpoint.DEFAULT_BACKLOG;

    static Stream<Arguments> serverForms() {
        return Stream.of(
                Arguments.of("tcp:7000", new Endpoint.Tcp("", 7000, B)),
                Arguments.of("tcp:0", new Endpoint.Tcp("", 0, B)),
                Arguments.of("TCP:7000", new Endpoint.Tcp("", 7000, B)),
                Arguments.of("tcp:0:interface=127.0.0.1", new Endpoint.Tcp("127.0.0.1", 0, B)),
                Arguments.of("tcp:7000:interface=127.0.0.1:backlog=50", new Endpoint.Tcp("127.0.0.1", 7000, 50)),
                Arguments.of("tcp:7000:backlog=50:interface=127.0.0.1", new Endpoint.Tcp("127.0.0.1", 7000, 50)),
                Arguments.of("tcp:53:interface=[::1]", new Endpoint.Tcp("::1", 53, B)),
                Arguments.of("tcp:53:interface=fe80\\:\\:1", new Endpoint.Tcp("fe80::1", 53, B)),
                Arguments.of("tcp:53:INTERFACE=[::1]", new Endpoint.Tcp("::1", 53, B)),
                // no cert= and key=: the server's own TLS configuration (Server.Builder.tls)
                Arguments.of("tls:993", new Endpoint.Tls("", 993, B, null, null, null)),
                Arguments.of("tls:993:cert=/etc/twine/cert.pem:key=/etc/twine/key.pem",
                        new Endpoint.Tls("", 993, B, Path.of("/etc/twine/cert.pem"), Path.of("/etc/twine/key.pem"), null)),
                Arguments.of("tls:993:key=k.pem:cert=c.pem:interface=127.0.0.1",
                        new Endpoint.Tls("127.0.0.1", 993, B, Path.of("c.pem"), Path.of("k.pem"), null)),
                Arguments.of("tls:993:cert=c.pem:key=k.pem:backlog=7",
                        new Endpoint.Tls("", 993, 7, Path.of("c.pem"), Path.of("k.pem"), null)),
                Arguments.of("tls:993:cert=C\\:/certs/c.pem:key=k.pem",
                        new Endpoint.Tls("", 993, B, Path.of("C:/certs/c.pem"), Path.of("k.pem"), null)),
                Arguments.of("udp:53", new Endpoint.Udp("", 53)),
                Arguments.of("udp:0:interface=127.0.0.1", new Endpoint.Udp("127.0.0.1", 0)),
                Arguments.of("udp:53:interface=[::1]", new Endpoint.Udp("::1", 53)),
                Arguments.of("udp:53:receivers=4", new Endpoint.Udp("", 53, 4)),
                Arguments.of("udp:53:interface=127.0.0.1:RECEIVERS=1", new Endpoint.Udp("127.0.0.1", 53, 1)),
                Arguments.of("unix:/run/twine.sock", new Endpoint.Unix(Path.of("/run/twine.sock"))),
                Arguments.of("unix:relative/echo.sock", new Endpoint.Unix(Path.of("relative/echo.sock"))),
                Arguments.of("unix:/tmp/a\\:b.sock", new Endpoint.Unix(Path.of("/tmp/a:b.sock"))),
                Arguments.of("unix:/tmp/a:b.sock", new Endpoint.Unix(Path.of("/tmp/a:b.sock"))),
                Arguments.of("unix:/tmp/[x].sock", new Endpoint.Unix(Path.of("/tmp/[x].sock"))),
                Arguments.of("unix:/tmp/a[.sock", new Endpoint.Unix(Path.of("/tmp/a[.sock"))));
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("serverForms")
    void parsesEveryServerForm(String spec, Endpoint expected) {
        assertEquals(expected, Endpoint.parseServer(spec));
    }

    static Stream<Arguments> clientForms() {
        return Stream.of(
                Arguments.of("tcp:example.org:25", new Endpoint.Tcp("example.org", 25, B)),
                Arguments.of("tcp:127.0.0.1:7000", new Endpoint.Tcp("127.0.0.1", 7000, B)),
                Arguments.of("tcp:[::1]:53", new Endpoint.Tcp("::1", 53, B)),
                Arguments.of("tcp:[2001:db8::1]:53", new Endpoint.Tcp("2001:db8::1", 53, B)),
                Arguments.of("tcp:\\:\\:1:53", new Endpoint.Tcp("::1", 53, B)),
                Arguments.of("tls:example.org:993", new Endpoint.Tls("example.org", 993, B, null, null, null)),
                Arguments.of("tls:example.org:993:trust=/etc/ca.pem",
                        new Endpoint.Tls("example.org", 993, B, null, null, Path.of("/etc/ca.pem"))),
                Arguments.of("tls:[::1]:993:trust=ca.pem", new Endpoint.Tls("::1", 993, B, null, null, Path.of("ca.pem"))),
                Arguments.of("udp:127.0.0.1:53", new Endpoint.Udp("127.0.0.1", 53)),
                Arguments.of("udp:[::1]:53", new Endpoint.Udp("::1", 53)),
                Arguments.of("unix:/run/twine.sock", new Endpoint.Unix(Path.of("/run/twine.sock"))));
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("clientForms")
    void parsesEveryClientForm(String spec, Endpoint expected) {
        assertEquals(expected, Endpoint.parseClient(spec));
    }

    static Stream<Arguments> badServerEndpoints() {
        return Stream.of(
                Arguments.of("tcp:70000", "port 70000 is out of range"),
                Arguments.of("tcp:-1", "port -1 is out of range"),
                Arguments.of("tcp:http", "port 'http' is not a number"),
                Arguments.of("tcp:", "port '' is not a number"),
                Arguments.of("sctp:7000", "unknown endpoint type 'sctp'"),
                Arguments.of("tcp:7000:color=blue", "unknown option 'color'"),
                Arguments.of("udp:53:backlog=5", "unknown option 'backlog'"),
                Arguments.of("udp:53:receivers=0", "receivers 0 is out of range 1-64"),
                Arguments.of("udp:53:receivers=65", "receivers 65 is out of range 1-64"),
                Arguments.of("udp:53:receivers=two", "receivers 'two' is not a number"),
                Arguments.of("tcp:53:receivers=2", "unknown option 'receivers'"),
                Arguments.of("tcp:7000:trust=ca.pem", "unknown option 'trust'"),
                Arguments.of("tls:993:key=k.pem", "tls needs cert=FILE"),
                Arguments.of("tls:993:cert=c.pem", "tls needs key=FILE"),
                Arguments.of("tls:993:cert=:key=k.pem", "tls needs cert=FILE"),
                Arguments.of("tcp:7000:interface=127.0.0.1:interface=127.0.0.2", "option 'interface' is given twice"),
                Arguments.of("tcp:7000:backlog=1:BACKLOG=2", "option 'backlog' is given twice"),
                Arguments.of("tcp:interface=127.0.0.1:7000", "'7000' comes after options"),
                Arguments.of("tcp:7000:8000", "expected tcp:PORT"),
                Arguments.of("tcp:7000:backlog=0", "backlog 0 is out of range"),
                Arguments.of("tcp:7000:backlog=many", "backlog 'many' is not a number"),
                Arguments.of("tcp:53:interface=[::1", "unbalanced brackets"),
                Arguments.of("tcp:53:interface=a b", "address 'a b' contains ' '"),
                Arguments.of("tcp:53:interface=", "interface"),
                Arguments.of("tcp", "missing ':' after the type"),
                Arguments.of("", "endpoint is empty"),
                Arguments.of("tcp:7000\\", "trailing backslash"),
                Arguments.of("unix:", "unix endpoint needs a path"));
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("badServerEndpoints")
    void rejectsBadServerEndpointNamingTheBadPart(String spec, String named) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Endpoint.parseServer(spec));
        assertTrue(e.getMessage().startsWith("bad endpoint '" + spec + "'"), e.getMessage());
        assertTrue(e.getMessage().contains(named), "'" + e.getMessage() + "' should mention " + named);
    }

    static Stream<Arguments> badClientEndpoints() {
        return Stream.of(
                Arguments.of("tcp:example.org", "expected tcp:HOST:PORT"),
                Arguments.of("tcp:example.org:0", "port 0 cannot be connected to"),
                Arguments.of("tcp:example.org:99999", "port 99999 is out of range"),
                Arguments.of("tcp:example.org:smtp", "port 'smtp' is not a number"),
                Arguments.of("tcp::25", "host is empty"),
                Arguments.of("tcp:example.org:25:interface=127.0.0.1", "unknown option 'interface'"),
                Arguments.of("tls:example.org:993:cert=c.pem", "unknown option 'cert'"),
                Arguments.of("tls:example.org:993:trust=a.pem:trust=b.pem", "option 'trust' is given twice"),
                Arguments.of("tls:example.org:trust=ca.pem:993", "'993' comes after options"),
                Arguments.of("tcp:exa mple.org:25", "contains ' '"),
                Arguments.of("tcp:example.org/x:25", "contains '/'"),
                Arguments.of("gopher:example.org:70", "unknown endpoint type 'gopher'"));
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("badClientEndpoints")
    void rejectsBadClientEndpointNamingTheBadPart(String spec, String named) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Endpoint.parseClient(spec));
        assertTrue(e.getMessage().startsWith("bad endpoint '" + spec + "'"), e.getMessage());
        assertTrue(e.getMessage().contains(named), "'" + e.getMessage() + "' should mention " + named);
    }

    @Test
    void unknownOptionErrorListsTheKnownOptionsAndUsage() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Endpoint.parseServer("tcp:7000:colour=red"));
        assertTrue(e.getMessage().contains("known: backlog, interface"), e.getMessage());
        assertTrue(e.getMessage().contains("usage: tcp:PORT[:interface=ADDR]"), e.getMessage());
    }

    @Test
    void printsEndpointsWithBracketsForIpv6AndStarForAllInterfaces() {
        assertEquals("tcp:*:7000", Endpoint.parseServer("tcp:7000").toString());
        assertEquals("tcp:[::1]:53", Endpoint.parseClient("tcp:[::1]:53").toString());
        assertEquals("udp:127.0.0.1:53", Endpoint.parseClient("udp:127.0.0.1:53").toString());
        assertEquals("tls:example.org:993", Endpoint.parseClient("tls:example.org:993").toString());
        assertEquals("unix:/run/t.sock", Endpoint.parseServer("unix:/run/t.sock").toString());
    }

    @Test
    void recordsRejectPortsOutOfRange() {
        assertThrows(IllegalArgumentException.class, () -> new Endpoint.Tcp("", 65536, B));
        assertThrows(IllegalArgumentException.class, () -> new Endpoint.Udp("", -1));
    }

    @Test
    void udpReceiversDefaultToTwoWithTwoProcessorsAndMustBeOneToSixtyFour() {
        int expected = Runtime.getRuntime().availableProcessors() >= 2 ? 2 : 1;
        assertEquals(expected, Endpoint.Udp.DEFAULT_RECEIVERS);
        assertEquals(expected, ((Endpoint.Udp) Endpoint.parseServer("udp:53")).receivers());
        assertEquals(expected, new Endpoint.Udp("", 53).receivers());
        assertThrows(IllegalArgumentException.class, () -> new Endpoint.Udp("", 53, 0));
        assertThrows(IllegalArgumentException.class, () -> new Endpoint.Udp("", 53, 65));
        IllegalArgumentException client = assertThrows(IllegalArgumentException.class,
                () -> Endpoint.parseClient("udp:127.0.0.1:53:receivers=2"));
        assertTrue(client.getMessage().contains("unknown option 'receivers'"), client.getMessage());
    }
}
