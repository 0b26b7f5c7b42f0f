package dev.twine.ssh.internal;

import dev.twine.core.ConnectionLimits;
import dev.twine.core.auth.Portal;
import dev.twine.core.auth.Realm;
import dev.twine.ssh.AuthorizedKeysDirectory;
import dev.twine.ssh.SshCommandHandler;
import dev.twine.ssh.SshServer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;

/**
 * Everything {@code SshServer.Builder} collected; a null realm means that service is off, a null
 * host certificate none, null forwarding permits no per-key limits.
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
        Set<SshServer.Forwarding> forwarding,
        AuthorizedKeysDirectory forwardingPermits,
        int maxSessions,
        int earlyDropStart,
        int earlyDropRate,
        Duration idleTimeout,
        ConnectionLimits limits) {
}
