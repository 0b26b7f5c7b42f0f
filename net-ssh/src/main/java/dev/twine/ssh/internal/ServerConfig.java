package dev.twine.ssh.internal;

import dev.twine.core.ConnectionLimits;
import dev.twine.core.auth.Portal;
import dev.twine.core.auth.Realm;
import dev.twine.ssh.SshCommandHandler;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Everything {@code SshServer.Builder} collected; a null realm means that service is off, a null
 * host certificate none.
 */
public record ServerConfig(
        String name,
        String host,
        int port,
        Portal portal,
        Path hostKey,
        Path hostCertificate,
        Realm<SshCommandHandler> handlers,
        Realm<Path> sftp,
        boolean allowForwarding,
        int maxSessions,
        Duration idleTimeout,
        ConnectionLimits limits) {
}
