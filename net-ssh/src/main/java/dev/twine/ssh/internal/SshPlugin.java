package dev.twine.ssh.internal;

import dev.twine.core.spi.LimitOptions;
import dev.twine.core.Service;
import dev.twine.core.spi.ServicePlugin;
import dev.twine.core.auth.Portal;
import dev.twine.core.auth.UsersFile;
import dev.twine.ssh.AuthorizedKeysDirectory;
import dev.twine.ssh.SampleShell;
import dev.twine.ssh.SftpDirectory;
import dev.twine.ssh.SshServer;
import dev.twine.ssh.UserCertificateAuthorities;
import dev.twine.core.auth.PublicKeyStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** {@code twine ssh}: the SSH server with the sample shell and SFTP. */
public final class SshPlugin implements ServicePlugin {

    /** The default listening endpoint. */
    static final String DEFAULT_LISTEN = "tcp:2222:interface=127.0.0.1";

    @Override
    public String name() {
        return "ssh";
    }

    @Override
    public String summary() {
        return "SSH server (MINA SSHD) with a sample shell, SFTP, certificates and optional forwarding";
    }

    @Override
    public List<Option> options() {
        List<Option> options = new ArrayList<>(List.of(
                Option.value("--users", "FILE", "users file (Dovecot passwd-file) for password logins").asRequired(),
                Option.value("--authorized-keys", "DIR", "directory of OpenSSH authorized_keys files, one per user (DIR/<user>); from= and expiry-time= are honoured, keys with command= or other unenforced restrictions refused"),
                Option.value("--trusted-user-ca-keys", "FILE", "CA public keys (one per line) whose OpenSSH user"
                        + " certificates log in users named in their principals; force-command and source-address are enforced"),
                Option.value("--host-cert", "FILE", "OpenSSH host certificate for the host key (ssh-keygen -s CA -h), for"
                        + " clients with @cert-authority in known_hosts"),
                Option.value("--host-key", "FILE", "Ed25519 host key in OpenSSH format (RSA at FILE-rsa); generated if missing").withDefault("ssh_host_key"),
                Option.value("--sftp-root", "DIR", "enable SFTP, confined to DIR; %u in it is the user name (one directory each)"),
                Option.value("--listen", "EP", "endpoint to listen on (tcp only)").withDefault(DEFAULT_LISTEN),
                Option.value("--allow-forwarding", "KINDS", "port forwarding to allow: local (ssh -L and -D), remote"
                        + " (ssh -R, listening on loopback only) or local,remote; authorized_keys permitopen=, permitlisten="
                        + " and no-port-forwarding limit each key"),
                Option.value("--max-sessions", "N", "most logged-in sessions at once (0: no limit); connections not"
                        + " logged in yet are counted by --max-preauth and --max-preauth-per-address").withDefault("100"),
                Option.value("--idle-timeout", "D", "close connections idle this long (ISO-8601 like PT10M, or 30s/10m; 0: never)").withDefault("10m")));
        // --max-connections-per-address, --max-preauth, --max-preauth-per-address, --preauth-timeout
        // (OpenSSH's PerSourceMaxStartups, MaxStartups, LoginGraceTime) and the --auth-* options
        options.addAll(LimitOptions.connectionOptions(SshServer.Builder.defaultLimits()));
        options.add(Option.value("--preauth-early-drop", "START:RATE", "from START connections not logged in yet"
                + " (all addresses), refuse new ones at random, RATE% at START rising to 100% at --max-preauth"
                + " (OpenSSH's MaxStartups start:rate:full; START above --max-preauth-per-address, so that one address"
                + " alone cannot get others dropped); 0 turns it off").withDefault("50:30"));
        options.addAll(LimitOptions.authOptions());
        return List.copyOf(options);
    }

    @Override
    public Service create(Arguments a) throws Exception {
        // a missing or malformed users file is a bad argument (exit 2), named with its line
        Portal.Builder portal = Portal.builder().users(a.usersFile("--users")).policy(LimitOptions.authPolicy(a));
        Optional<AuthorizedKeysDirectory> keys = a.value("--authorized-keys").map(d -> AuthorizedKeysDirectory.of(Path.of(d)));
        Optional<String> authorities = a.value("--trusted-user-ca-keys");
        if (authorities.isPresent()) {
            UserCertificateAuthorities cas = caKeys(authorities.get());
            portal.publicKeys(keys.<PublicKeyStore>map(cas::or).orElse(cas));
        } else {
            keys.ifPresent(portal::publicKeys);
        }
        SshServer.Builder b = SshServer.builder().portal(portal.build());
        a.value("--host-cert").ifPresent(f -> b.hostCertificate(Path.of(f)));
        keys.ifPresent(b::forwardingPermits);
        a.value("--allow-forwarding").ifPresent(k -> b.allowForwarding(forwardingKinds(k)));
        a.metrics().ifPresent(b::metrics);
        b.handler(SampleShell.handler())
                .hostKey(Path.of(a.value("--host-key").orElse("ssh_host_key")))
                .maxSessions(a.count("--max-sessions"))
                .idleTimeout(a.duration("--idle-timeout"))
                .limits(LimitOptions.connectionLimits(a));
        option("--listen", () -> b.listen(a.require("--listen")));
        earlyDrop(b, a.value("--preauth-early-drop").orElse("50:30"));
        a.value("--sftp-root").ifPresent(d -> option("--sftp-root", () -> b.sftp(SftpDirectory.of(Path.of(d)))));
        return b.build();
    }

    /** {@code START:RATE} or {@code 0}. */
    private static void earlyDrop(SshServer.Builder b, String value) {
        String[] parts = value.strip().split(":");
        try {
            if (parts.length == 1 && Integer.parseInt(parts[0]) == 0) {
                b.earlyDrop(0, 0);
                return;
            }
            if (parts.length == 2) {
                b.earlyDrop(Integer.parseInt(parts[0]), Integer.parseInt(parts[1]));
                return;
            }
        } catch (IllegalArgumentException e) {
            // reported below
        }
        throw new IllegalArgumentException("--preauth-early-drop: '" + value + "' is not START:RATE (a count and a"
                + " percentage 0-100) or 0");
    }

    /** {@code local}, {@code remote} or both, comma-separated. */
    private static SshServer.Forwarding[] forwardingKinds(String value) {
        List<SshServer.Forwarding> kinds = new ArrayList<>();
        for (String k : value.split(",")) {
            kinds.add(switch (k.strip()) {
                case "local" -> SshServer.Forwarding.LOCAL;
                case "remote" -> SshServer.Forwarding.REMOTE;
                default -> throw new IllegalArgumentException("--allow-forwarding: '" + k.strip()
                        + "' is not local or remote");
            });
        }
        return kinds.toArray(SshServer.Forwarding[]::new);
    }

    /** The trusted CA file; a missing, unreadable or empty one is a bad argument naming it. */
    private static UserCertificateAuthorities caKeys(String file) {
        try {
            return UserCertificateAuthorities.of(Path.of(file));
        } catch (IOException e) {
            throw new IllegalArgumentException("--trusted-user-ca-keys " + file + ": cannot read: " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--trusted-user-ca-keys " + e.getMessage(), e);
        }
    }

    /** Runs a builder call on an option's value; its complaint about the value gets the option's name. */
    private static void option(String name, Runnable set) {
        try {
            set.run();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(name + " " + e.getMessage(), e);
        }
    }

    @Override
    public Optional<Demo> demo(Path dataDir, DemoPorts ports) throws Exception {
        Path dir = dataDir;
        Files.createDirectories(dir);
        Path users = dir.resolve("users");
        String password;
        Path pwFile = dir.resolve("demo-password");
        if (Files.exists(pwFile) && Files.exists(users)) {
            password = Files.readString(pwFile).strip();
        } else {
            password = randomPassword();
            Files.deleteIfExists(users);
            UsersFile.addUser(users, "demo", password.toCharArray());
            Keys.writeAtomically(pwFile, (password + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8), true);
        }
        Path keys = dir.resolve("authorized_keys");
        Files.createDirectories(keys);
        SshServer server = SshServer.builder()
                .listen("tcp:" + ports.port(2222) + ":interface=127.0.0.1")
                .portal(Portal.builder().users(UsersFile.load(users)).publicKeys(AuthorizedKeysDirectory.of(keys)).build())
                .hostKey(dir.resolve("ssh_host_key"))
                .handler(SampleShell.handler())
                .sftp(SftpDirectory.of(dir.resolve("sftp")))
                .build();
        String pw = password;
        return Optional.of(new Demo(server, started -> {
            int port = started.bindings().getFirst().port();
            return "ssh: user demo, password " + pw + " (keys: put an authorized_keys file at " + keys.resolve("demo") + ")\n"
                    + "  ssh -p " + port + " demo@127.0.0.1\n"
                    + "  ssh -p " + port + " demo@127.0.0.1 echo hello\n"
                    + "  sftp -P " + port + " demo@127.0.0.1";
        }));
    }

    private static String randomPassword() {
        String alphabet = "abcdefghijkmnpqrstuvwxyz23456789";
        SecureRandom r = new SecureRandom();
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 12; i++) {
            sb.append(alphabet.charAt(r.nextInt(alphabet.length())));
        }
        return sb.toString();
    }
}
