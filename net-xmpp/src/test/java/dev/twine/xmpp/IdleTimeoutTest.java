package dev.twine.xmpp;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.MemoryConnections;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@code idleTimeout}: an authenticated stream that sends nothing at all is closed (RFC 6120 §4.9.3.4). */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class IdleTimeoutTest {
    @Test
    void anAuthenticatedStreamSilentPastTheIdleTimeoutGetsConnectionTimeout() throws Exception {
        try (Fixture f = new Fixture(b -> b.idleTimeout(Duration.ofMillis(500)))) {
            MemoryConnections.Served bob = f.served(Chunking.whole());
            SlowRecipientTest.bindRaw(bob.client(), "bob");
            String end = Fixture.readToEnd(bob.client());
            assertTrue(end.contains("<connection-timeout xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"), end);
        }
    }
}
