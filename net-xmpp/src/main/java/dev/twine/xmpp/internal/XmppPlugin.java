package dev.twine.xmpp.internal;

import dev.twine.core.spi.LimitOptions;
import dev.twine.core.Service;
import dev.twine.core.spi.ServicePlugin;
import dev.twine.core.Tls;
import dev.twine.core.auth.UsersFile;
import dev.twine.xmpp.XmppServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** The {@code twine xmpp} subcommand and its demo. */
public final class XmppPlugin implements ServicePlugin {
    /** For {@link java.util.ServiceLoader}. */
    public XmppPlugin() {}

    @Override
    public String name() {
        return "xmpp";
    }

    @Override
    public String summary() {
        return "XMPP server: client streams (STARTTLS, SASL, roster, presence, offline messages), group chat, archives and XEP-0114 components";
    }

    @Override
    public List<Option> options() {
        List<Option> all = new ArrayList<>(List.of(
                Option.value("--domain", "D", "The XMPP domain served (the part after @ in JIDs).").asRequired(),
                Option.value("--users", "FILE", "Users and passwords (Dovecot passwd-file; see `twine user`).").asRequired(),
                Option.value("--data", "DIR", "Where rosters and offline messages are kept.").asRequired(),
                Option.value("--listen", "EP", "Client endpoint (STARTTLS on tcp:; tls:PORT alone is direct TLS with --tls-cert, ALPN xmpp-client, XEP-0368).").asRepeatable()
                        .withDefault("tcp:5222:interface=127.0.0.1"),
                Option.value("--websocket-listen", "EP", "XMPP over WebSocket (RFC 7395) at /xmpp-websocket: tls:PORT for wss with --tls-cert, tcp:PORT for plain ws (logins there need --allow-plaintext).")
                        .asRepeatable(),
                Option.value("--websocket-origin", "URL", "An Origin allowed to open WebSocket sessions, e.g. https://chat.example.org (default: any).")
                        .asRepeatable(),
                Option.value("--component-listen", "EP", "XEP-0114 component endpoint (needs --component-secret).").asRepeatable(),
                Option.value("--component-secret", "S", "Shared secret for XEP-0114 components."),
                Option.value("--tls-cert", "PEM", "Certificate chain for STARTTLS (default: a self-signed one kept in DATA/tls/)."),
                Option.value("--tls-key", "PEM", "PKCS#8 private key for STARTTLS."),
                Option.flag("--allow-plaintext", "Without a certificate, allow SASL over unencrypted streams (testing only)."),
                Option.flag("--no-scram-sha1", "Do not offer SCRAM-SHA-1 (for users files whose users have only SCRAM-SHA-256 keys)."),
                Option.value("--resume-timeout", "D", "XEP-0198: how long a dropped session waits to be resumed (30s, 5m; 0: no resumption).")
                        .withDefault("5m"),
                Option.value("--resume-location", "HOST[:PORT]", "XEP-0198: where clients should reconnect to resume (this node's own address; default: none given)."),
                Option.value("--idle-timeout", "D", "Close a client stream that sends nothing, not even a keepalive, for this long; 0: never.")
                        .withDefault("0"),
                Option.value("--roster-limit", "N", "Most items in one user's roster, pending subscription requests included.")
                        .withDefault("1000"),
                Option.value("--archive-limit", "N", "Most messages one user's or room's archive (XEP-0313) keeps; the oldest go.")
                        .withDefault("10000"),
                Option.value("--pep-max-items", "N", "Most items one PEP node (XEP-0163: avatars, OMEMO keys, bookmarks) keeps; what max_items=max means.")
                        .withDefault("256"),
                Option.value("--pep-max-item-bytes", "N", "Most bytes of XML in one PEP item's payload.").withDefault("131072"),
                Option.value("--pep-max-nodes", "N", "Most PEP nodes one user may have.").withDefault("100"),
                Option.value("--vcard-max-bytes", "N", "Most bytes of XML in one user's vCard (XEP-0054 vcard-temp).").withDefault("131072"),
                Option.value("--blocklist-limit", "N", "Most addresses one user may block (XEP-0191).")
                        .withDefault("1000"),
                Option.value("--muc-domain", "D", "Where group chat (XEP-0045) lives (default: conference.DOMAIN)."),
                Option.flag("--no-muc", "Serve no group chat."),
                Option.value("--muc-max-rooms", "N", "Most group chat rooms in all.").withDefault("1000"),
                Option.value("--muc-max-occupants", "N", "Most occupants in one room (owners and admins still get in).")
                        .withDefault("200"),
                Option.value("--muc-history", "N", "Messages of discussion history a room keeps for newcomers (in memory); 0: none.")
                        .withDefault("50"),
                Option.value("--muc-max-affiliations", "N", "Most owners, admins, members and outcasts one room lists.")
                        .withDefault("10000"),
                Option.value("--upload-listen", "EP", "Serve HTTP File Upload (XEP-0363) over HTTP on EP (tcp:5280; tls:5443 uses the STARTTLS certificate).")
                        .asRepeatable(),
                Option.value("--upload-url", "URL", "The upload's public base URL, https://HOST:PORT[/PATH] (default: from the first --upload-listen and --domain)."),
                Option.value("--upload-domain", "D", "Where file upload lives (default: upload.DOMAIN)."),
                Option.value("--upload-max-size", "N", "Largest file one upload may be (512k, 25m).").withDefault("100m"),
                Option.value("--upload-quota", "N", "Most bytes one user's uploads may hold until they expire.").withDefault("1g"),
                Option.value("--upload-max-total", "N", "Most bytes all uploads may hold.").withDefault("10g"),
                Option.value("--upload-rate", "N", "Most upload slots one user gets per minute.").withDefault("30"),
                Option.value("--upload-expire", "D", "How long an uploaded file is kept (24h, 168h).").withDefault("168h"),
                Option.value("--s2s-listen", "EP", "Server-to-server endpoint (federation, conventionally tcp:5269; tcp:PORT alone binds every interface).")
                        .asRepeatable(),
                Option.value("--s2s-route", "DOMAIN=HOST:PORT", "Reach DOMAIN's server there instead of looking it up (private federations, tests); DOMAIN=tls:HOST:PORT for direct TLS.")
                        .asRepeatable(),
                Option.value("--dns", "HOST:PORT", "DNS server for _xmpp-server._tcp SRV look-ups (default: the first nameserver in /etc/resolv.conf)."),
                Option.value("--s2s-secret", "S", "Server Dialback secret (XEP-0185); the same on every node of the domain (default: random per start)."),
                Option.flag("--s2s-require-valid-cert", "Refuse peers whose certificate is not valid for their domain, but for --s2s-dialback-allow ones."),
                Option.value("--s2s-dialback-allow", "DOMAIN", "With --s2s-require-valid-cert, still accept DOMAIN on dialback alone.").asRepeatable(),
                Option.value("--s2s-trust", "PEM", "Certificates peers' certificates must chain to (default: the JDK's trust store); a peer whose certificate does may log in by SASL EXTERNAL.")));
        all.addAll(LimitOptions.connectionOptions(XmppServer.defaultLimits()));
        all.addAll(LimitOptions.authOptions());
        return List.copyOf(all);
    }

    @Override
    public Service create(Arguments args) throws Exception {
        String domain = args.require("--domain");
        XmppServer.Builder b;
        try {
            b = XmppServer.builder().domain(domain);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--domain: " + e.getMessage(), e);
        }
        b.users(args.usersFile("--users"));
        args.metrics().ifPresent(b::metrics);
        Path data = args.directory("--data");
        b.dataDirectory(data);
        Optional<Tls> given = args.serverTls("--tls-cert", "--tls-key");
        if (given.isPresent()) {
            b.tls(given.get());
        } else if (!args.flag("--allow-plaintext")) {
            // STARTTLS stays required: without a certificate, make (or reuse) a self-signed one
            Path selfCert = data.resolve("tls/cert.pem");
            try {
                b.tls(Tls.selfSigned(selfCert, data.resolve("tls/key.pem"), List.of(domain)));
            } catch (IOException e) {
                throw new IllegalArgumentException("--data: cannot keep a self-signed certificate there: " + e.getMessage(), e);
            }
            System.err.println("xmpp: no --tls-cert given: STARTTLS uses the self-signed certificate " + selfCert
                    + " for " + domain + "; clients must be told to trust it");
        }
        b.scramSha1(!args.flag("--no-scram-sha1"));
        b.resumeTimeout(args.duration("--resume-timeout"));
        try {
            args.value("--resume-location").ifPresent(b::resumeLocation);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--resume-location: expected HOST or HOST:PORT", e);
        }
        b.idleTimeout(args.duration("--idle-timeout"));
        b.rosterLimit(args.positive("--roster-limit"));
        b.archiveLimit(args.positive("--archive-limit"));
        b.pepLimits(args.positive("--pep-max-items"), args.positive("--pep-max-item-bytes"), args.positive("--pep-max-nodes"));
        b.vcardLimit(args.positive("--vcard-max-bytes"));
        b.blocklistLimit(args.positive("--blocklist-limit"));
        if (args.flag("--no-muc")) {
            b.withoutGroupChat();
        } else if (args.value("--muc-domain").isPresent()) {
            try {
                b.groupChat(args.require("--muc-domain"));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--muc-domain: " + e.getMessage(), e);
            }
        }
        b.groupChatLimits(args.positive("--muc-max-rooms"), args.positive("--muc-max-occupants"), args.count("--muc-history"));
        b.groupChatAffiliationLimit(args.positive("--muc-max-affiliations"));
        upload(b, args);
        b.limits(LimitOptions.connectionLimits(args));
        b.authPolicy(LimitOptions.authPolicy(args));
        for (String ep : args.values("--listen")) {
            b.listen(ep);
        }
        for (String ep : args.values("--websocket-listen")) {
            b.websocketListen(ep);
        }
        for (String origin : args.values("--websocket-origin")) {
            b.websocketOrigin(origin);
        }
        List<String> comp = args.values("--component-listen");
        if (!comp.isEmpty()) {
            String secret = args.value("--component-secret")
                    .orElseThrow(() -> new IllegalArgumentException("--component-listen needs --component-secret"));
            for (String ep : comp) {
                b.componentListen(ep, secret);
            }
        }
        federation(b, args);
        try {
            return b.build();
        } catch (IllegalStateException e) {
            if (e.getMessage().startsWith("fileUploadUrl")) {
                throw new IllegalArgumentException("--upload-url is required when --upload-listen is not tcp: or tls:", e);
            } else if (e.getMessage().startsWith("fileUploadDomain")) {
                throw new IllegalArgumentException("--upload-domain must differ from --domain and --muc-domain", e);
            }
            throw new IllegalArgumentException("--muc-domain must differ from --domain", e);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--listen: " + e.getMessage(), e);
        }
    }

    /** File upload is on with --upload-listen (or --upload-url, for an HTTP side served elsewhere). */
    private static void upload(XmppServer.Builder b, Arguments args) {
        List<String> listen = args.values("--upload-listen");
        if (listen.isEmpty() && args.value("--upload-url").isEmpty()) {
            return;
        }
        for (String ep : listen) {
            try {
                b.fileUploadListen(ep);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--upload-listen: " + e.getMessage(), e);
            }
        }
        try {
            args.value("--upload-url").ifPresent(b::fileUploadUrl);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--upload-url: " + e.getMessage(), e);
        }
        try {
            args.value("--upload-domain").ifPresent(b::fileUploadDomain);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--upload-domain: " + e.getMessage(), e);
        }
        java.time.Duration expire = args.duration("--upload-expire");
        if (expire.isZero()) {
            throw new IllegalArgumentException("--upload-expire must be positive");
        }
        b.fileUploadLimits(args.byteSize("--upload-max-size"), args.byteSize("--upload-quota"), args.byteSize("--upload-max-total"),
                args.positive("--upload-rate"), java.time.Duration.ofMinutes(1), expire);
    }

    /** Federation is on with --s2s-listen or --s2s-route: static routes first, then DNS. */
    private static void federation(XmppServer.Builder b, Arguments args) throws IOException {
        List<String> listen = args.values("--s2s-listen");
        List<String> routes = args.values("--s2s-route");
        if (listen.isEmpty() && routes.isEmpty()) {
            return;
        }
        java.util.Map<String, String> table = new java.util.LinkedHashMap<>();
        for (String r : routes) {
            int eq = r.indexOf('=');
            if (eq <= 0 || !r.substring(eq + 1).matches(".+:\\d{1,5}")) {
                throw new IllegalArgumentException("--s2s-route: expected DOMAIN=HOST:PORT, got '" + r + "'");
            }
            String target = r.substring(eq + 1);
            table.put(r.substring(0, eq), target.startsWith("tls:") ? target : "tcp:" + target); // tls: is direct TLS (XEP-0368)
        }
        b.s2sConnector(dev.twine.xmpp.S2sConnector.routes(table).orElse(dev.twine.xmpp.S2sConnector.dns(dnsResolver(args))));
        for (String ep : listen) {
            b.s2sListen(ep);
        }
        args.value("--s2s-secret").ifPresent(b::dialbackSecret);
        b.requireValidCertificates(args.flag("--s2s-require-valid-cert"));
        for (String d : args.values("--s2s-dialback-allow")) {
            b.dialbackAllowed(d);
        }
        if (args.value("--s2s-trust").isPresent()) {
            Path trust = Path.of(args.require("--s2s-trust"));
            if (!Files.isReadable(trust)) {
                throw new IllegalArgumentException("--s2s-trust: cannot read " + trust);
            }
            b.s2sTrust(trust);
        }
    }

    /** The resolver for SRV look-ups: {@code --dns}, or the nameservers in /etc/resolv.conf, or 127.0.0.1:53. */
    private static dev.twine.dns.Resolver dnsResolver(Arguments args) {
        return args.hostPort("--dns").map(a -> {
            try {
                return dev.twine.dns.Resolver.builder().server(a.getHostString(), a.getPort()).build();
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--dns: " + e.getMessage(), e);
            }
        }).orElseGet(dev.twine.dns.Resolver::system);
    }

    @Override
    public Optional<Demo> demo(Path dataDir, DemoPorts ports) throws Exception {
        Files.createDirectories(dataDir);
        Path users = dataDir.resolve("users");
        List<String> lines = new ArrayList<>();
        if (!Files.exists(users)) {
            Files.createFile(users);
            for (String u : List.of("alice", "bob")) {
                String pw = password();
                UsersFile.addUser(users, u, pw.toCharArray());
                lines.add(u + "@localhost  password " + pw);
            }
            Files.write(dataDir.resolve("passwords.txt"), lines);
        } else if (Files.exists(dataDir.resolve("passwords.txt"))) {
            lines.addAll(Files.readAllLines(dataDir.resolve("passwords.txt")));
        }
        Path cert = dataDir.resolve("cert.pem");
        XmppServer server = XmppServer.builder().domain("localhost").users(UsersFile.load(users))
                .dataDirectory(dataDir.resolve("data")).listen("tcp:" + ports.port(5222) + ":interface=127.0.0.1")
                .componentListen("tcp:" + ports.port(5347) + ":interface=127.0.0.1", "demo-secret")
                .tls(Tls.selfSigned(cert, dataDir.resolve("key.pem"), List.of("localhost", "127.0.0.1")))
                .build();
        return Optional.of(new Demo(server, started -> {
            XmppServer s = (XmppServer) started;
            StringBuilder sb = new StringBuilder("xmpp: domain localhost on 127.0.0.1:" + s.port()
                    + " (STARTTLS required, self-signed certificate " + cert + ")\n");
            for (String l : lines) {
                sb.append("      ").append(l).append('\n');
            }
            sb.append("      any XMPP client (Gajim, Dino, Profanity) with JID alice@localhost, server 127.0.0.1 port ")
                    .append(s.port()).append(", accepting the self-signed certificate; or slixmpp:\n")
                    .append("      /usr/bin/python3 -c \"import slixmpp, pathlib; c=slixmpp.ClientXMPP('alice@localhost','PASSWORD'); ")
                    .append("c.ca_certs=pathlib.Path('" + cert.toAbsolutePath() + "'); ")
                    .append("c.add_event_handler('session_start', lambda e: (c.send_presence(), c.send_message(mto='bob@localhost', mbody='hi'), c.disconnect())); ")
                    .append("c.connect(address=('127.0.0.1', " + s.port() + ")); c.process(forever=False)\"\n")
                    .append("      group chat (XEP-0045): join any room@conference.localhost\n")
                    .append("      components (XEP-0114): 127.0.0.1:").append(s.componentPort()).append(" secret demo-secret");
            return sb.toString();
        }));
    }

    private static String password() {
        SecureRandom r = new SecureRandom();
        String alphabet = "abcdefghijkmnpqrstuvwxyz23456789";
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 12; i++) {
            sb.append(alphabet.charAt(r.nextInt(alphabet.length())));
        }
        return sb.toString();
    }
}
