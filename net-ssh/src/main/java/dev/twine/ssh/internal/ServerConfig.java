package dev.twine.ssh.internal;

import dev.twine.core.ConnectionLimits;
import dev.twine.core.auth.Portal;
import dev.twine.ssh.SshCommandHandler;
import java.nio.file.Path;
import java.time.Duration;

/** Everything {@code SshServer.Builder} collected; nulls mean "off". */
public record ServerConfig(
        String name,
        String host,
        int port,
        Portal portal,
        Path hostKey,
        SshCommandHandler handler,
        Path sftpRoot,
        boolean allowForwarding,
        int maxSessions,
        Duration idleTimeout,
        ConnectionLimits limits) {
}
