package dev.twine.core.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.twine.core.Endpoint;
import java.nio.charset.StandardCharsets;

/**
 * The endpoint grammar on arbitrary strings (issue 16). If a string is not an endpoint, then the
 * only escape is {@link IllegalArgumentException} (the documented one); if a client endpoint
 * parses, then writing its host and port back in the grammar parses to the same value.
 */
class EndpointFuzzTest {
    @FuzzTest(maxDuration = "10m")
    void parsesOrRefusesWithIllegalArgument(byte[] input) {
        String spec = new String(input, StandardCharsets.UTF_8);
        Endpoint server = parse(spec, true);
        if (server != null) {
            assertEquals(server, parse(spec, true), "parsing is deterministic");
        }
        Endpoint client = parse(spec, false);
        if (client instanceof Endpoint.Tcp tcp) {
            assertEquals(client, Endpoint.parseClient("tcp:" + write(tcp.host()) + ":" + tcp.port()), spec);
        } else if (client instanceof Endpoint.Udp udp) {
            assertEquals(client, Endpoint.parseClient("udp:" + write(udp.host()) + ":" + udp.port()), spec);
        }
    }

    private static Endpoint parse(String spec, boolean server) {
        try {
            return server ? Endpoint.parseServer(spec) : Endpoint.parseClient(spec);
        } catch (IllegalArgumentException refused) {
            return null;
        }
    }

    /**
     * A host in the grammar's own escaping: always in brackets (so neither a colon nor an equals
     * sign in it is syntax), with backslash, '[' and ']' escaped.
     */
    private static String write(String host) {
        StringBuilder b = new StringBuilder("[");
        for (char c : host.toCharArray()) {
            if (c == '\\' || c == '[' || c == ']') {
                b.append('\\');
            }
            b.append(c);
        }
        return b.append(']').toString();
    }
}
