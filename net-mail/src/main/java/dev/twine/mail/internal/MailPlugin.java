package dev.twine.mail.internal;

import dev.twine.core.spi.LimitOptions;
import dev.twine.core.AddressBlock;
import dev.twine.core.Service;
import dev.twine.core.spi.ServicePlugin;
import dev.twine.core.Services;
import dev.twine.core.Tls;
import dev.twine.core.auth.Portal;
import dev.twine.core.auth.UsersFile;
import dev.twine.mail.imap.ImapServer;
import dev.twine.mail.maildir.Maildir;
import dev.twine.mail.managesieve.ManageSieveServer;
import dev.twine.mail.sieve.SieveScripts;
import dev.twine.mail.pop3.Pop3Server;
import dev.twine.dns.Resolver;
import dev.twine.mail.auth.DkimAlgorithm;
import dev.twine.mail.auth.Dmarc;
import dev.twine.mail.auth.DkimKeys;
import dev.twine.mail.auth.DkimSigner;
import dev.twine.mail.auth.DkimVerifier;
import dev.twine.mail.auth.Dnsbl;
import dev.twine.mail.auth.MessageAuthentication;
import dev.twine.mail.auth.Spf;
import dev.twine.mail.smtp.Aliases;
import dev.twine.mail.smtp.DnsMxResolver;
import dev.twine.mail.smtp.MailDelivery;
import dev.twine.mail.smtp.MaildirDelivery;
import dev.twine.mail.smtp.MtaSts;
import dev.twine.mail.smtp.MxResolver;
import dev.twine.mail.smtp.RelayQueue;
import dev.twine.mail.smtp.SenderLogins;
import dev.twine.mail.smtp.SendingLimits;
import dev.twine.mail.smtp.SmtpServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * {@code twine mail}: an ESMTP server on the SMTP port (mail for local users), a submission server
 * (RFC 6409, AUTH required, relays anywhere), optionally an LMTP server, and the persistent relay
 * queue behind them, over one Maildir++ store and one Dovecot-style users file; local aliases
 * from an {@code aliases(5)} file. POP3, IMAP and ManageSieve options are declared here and
 * served by their own packages' servers; local delivery runs each user's Sieve script.
 */
public final class MailPlugin implements ServicePlugin {
    /** Makes the plugin (the launcher finds it with {@link java.util.ServiceLoader}). */
    public MailPlugin() {}

    @Override
    public String name() {
        return "mail";
    }

    @Override
    public String summary() {
        return "Mail server: ESMTP (RFC 5321), submission (RFC 6409) and LMTP into a Maildir++ store, with a relay queue; IMAP and POP3 over the same store; Sieve filters at delivery, managed over ManageSieve.";
    }

    @Override
    public List<Option> options() {
        List<Option> options = new ArrayList<>(List.of(
                Option.value("--domain", "DOMAIN", "A local mail domain whose users get mail here; the first is the server's"
                        + " name (repeatable: every user has an address in each).").asRequired().asRepeatable(),
                Option.value("--domains", "FILE", "More local domains, one a line ('#' comments)."),
                Option.value("--users", "FILE", "Users file (Dovecot passwd-file): local mailboxes and AUTH logins.").asRequired(),
                Option.value("--maildir", "DIR", "Maildir++ root: mail for USER goes to DIR/USER/{tmp,new,cur}.").asRequired(),
                Option.value("--smtp", "EP", "Endpoint for SMTP (port 25 role) (repeatable).")
                        .asRepeatable().withDefault("tcp:2525:interface=127.0.0.1"),
                Option.value("--submission", "EP", "Endpoint for message submission (port 587 role, AUTH required) (repeatable).")
                        .asRepeatable().withDefault("tcp:2587:interface=127.0.0.1"),
                Option.value("--lmtp", "EP", "Endpoint for LMTP (RFC 2033) local delivery from another MTA (repeatable).")
                        .asRepeatable(),
                Option.value("--aliases", "FILE", "Aliases file: aliases(5) lines ('name: user, user@remote.example', every"
                        + " local domain) and virtual(5) lines ('info@example.org alice, bob', '@example.org catchall');"
                        + " reread on SIGHUP."),
                Option.value("--sender-logins", "FILE", "Who may send as which address beyond their own and their aliases,"
                        + " as Postfix's smtpd_sender_login_maps: 'sales@example.org alice, bob', '@example.net carol'."),
                Option.value("--user-hourly-limit", "M/R", "Each logged-in user may send M messages to R recipients an hour,"
                        + " e.g. 200/1000 (0 = no limit)."),
                Option.value("--address-hourly-limit", "M/R", "The same for each client address (IPv6: /64), on the SMTP and"
                        + " submission ports (0 = no limit)."),
                Option.value("--pop3", "EP", "Endpoint for POP3 (repeatable).").asRepeatable(),
                Option.value("--imap", "EP", "Endpoint for IMAP (repeatable).").asRepeatable(),
                Option.value("--managesieve", "EP", "Endpoint for ManageSieve (RFC 5804; port 4190 by convention), where users"
                        + " upload the Sieve scripts local delivery runs (kept as Dovecot Pigeonhole keeps them: DIR/USER/sieve/,"
                        + " the active one linked from DIR/USER/.dovecot.sieve) (repeatable).").asRepeatable(),
                Option.value("--tls-cert", "PEM", "Certificate chain for STARTTLS (with --tls-key)."),
                Option.value("--tls-key", "PEM", "PKCS#8 private key for STARTTLS (with --tls-cert)."),
                Option.value("--smarthost", "HOST:PORT", "Relay all outbound mail through this host instead of MX lookups."),
                Option.value("--smarthost-user", "NAME", "AUTH user name for the smarthost (with --smarthost-password-file)."),
                Option.value("--smarthost-password-file", "FILE", "File whose first line is the smarthost AUTH password."),
                Option.value("--dns", "HOST:PORT", "DNS server for MX, DKIM, SPF and DMARC lookups (default: the first nameserver in"
                        + " /etc/resolv.conf)."),
                Option.flag("--dns-trust-ad", "Believe the AD bit (DNSSEC-validated) in the DNS server's answers: say so for"
                        + " a validating resolver on this host such as Unbound. REQUIRETLS mail goes only to MX hosts DNSSEC or"
                        + " an enforced MTA-STS policy vouches for (default: not believed, unless /etc/resolv.conf says"
                        + " 'options trust-ad')."),
                Option.value("--dkim-key", "[DOMAIN:]FILE", "PEM PKCS#8 key (RSA or Ed25519) that DKIM-signs what logged-in users"
                        + " relay from DOMAIN, or from every local domain without DOMAIN: (repeatable, one per domain);"
                        + " make one with 'twine mail dkim-keygen'.").asRepeatable(),
                Option.value("--dnsbl", "ZONE", "DNS blocklist for client addresses on the SMTP port, e.g."
                        + " zen.spamhaus.org: a listed client's RCPT gets 554 5.7.1 (repeatable; default: none).").asRepeatable(),
                Option.value("--spf-policy", "reject|record", "SPF on the SMTP port: reject refuses each RCPT whose sender's"
                        + " SPF result is fail with 550 5.7.23, as Postfix's policyd-spf; record only writes spf= in"
                        + " Authentication-Results (softfail is always only recorded).").withDefault("reject"),
                Option.value("--dmarc-policy", "honour|record", "DMARC on the SMTP port: honour refuses a failing message"
                        + " whose domain asks p=reject with 550 5.7.1 at the end of DATA and marks one asking"
                        + " p=quarantine with X-Spam-Flag: YES and files it into the user's Junk folder (unless the"
                        + " user's Sieve script decides otherwise); record only writes dmarc= in Authentication-Results.")
                        .withDefault("honour"),
                Option.value("--public-suffix-list", "FILE", "Public Suffix List file (publicsuffix.org format) for DMARC's"
                        + " organizational domains (default: a built-in list of every TLD and the common second-level"
                        + " suffixes such as co.uk)."),
                Option.value("--trusted-network", "CIDR", "Clients whose mail is not SPF- or DMARC-checked, as Postfix's"
                        + " mynetworks (repeatable; default: 127.0.0.0/8 and ::1; 'none' checks every client).").asRepeatable(),
                Option.value("--dkim-selector", "[DOMAIN:]S", "DKIM selector of DOMAIN's key, or of every key without DOMAIN:"
                        + " (repeatable); required with --dkim-key.").asRepeatable(),
                Option.flag("--allow-plain-auth", "Offer AUTH without TLS (loopback testing only)."),
                Option.value("--queue", "DIR", "Relay queue directory (default: the maildir's sibling DIR-queue)."),
                Option.value("--relay-trust", "PEM", "CA certificates trusted when relayed mail needs a verified"
                        + " next hop (REQUIRETLS, MTA-STS) and for MTA-STS policy hosts; default: the JDK's trust store."),
                Option.value("--mta-sts", "on|off", "Honour the MTA-STS policies (RFC 8461) of the domains mail is"
                        + " relayed to: under an enforced one only the MX hosts it names, over verified TLS; policies"
                        + " are fetched over HTTPS and kept in QUEUE/mta-sts (not with --smarthost).").withDefault("on"),
                Option.value("--delay-warning", "DURATION", "Tell a sender once when mail still waits in the relay queue"
                        + " this long, e.g. 4h (a DSN with Action: delayed, RFC 3464; 0 = never, as Postfix's"
                        + " delay_warning_time).").withDefault("0s"),
                Option.value("--max-message-size", "BYTES", "Largest message accepted (SIZE), e.g. 25m.").withDefault("25m"),
                Option.value("--quota", "BYTES", "Storage quota per user, e.g. 1g: IMAP APPEND and COPY past it are"
                        + " refused (NO [OVERQUOTA]) and GETQUOTA tells it (default: none)."),
                Option.value("--idle-timeout", "DURATION", "Close an SMTP session idle this long, e.g. 5m (0 = never); it also"
                        + " bounds the time for one whole command line.").withDefault("5m"),
                Option.value("--error-delay", "DURATION", "After 3 refused commands in a session, wait this long before each"
                        + " further refusal (tarpit; 0 = never).").withDefault("1s"),
                Option.value("--greet-delay", "DURATION", "Pre-greeting test on the SMTP port, as Postfix's postscreen: send"
                        + " '220-' at once and the greeting's last line after this long; a client talking in between gets"
                        + " 554 and is closed; an address that passed is greeted at once for a day (0 = off;"
                        + " postscreen waits 6s).").withDefault("0s"),
                Option.value("--max-connection-rate", "N/min", "Connections one client address (IPv6: /64) may open a"
                        + " minute on the SMTP port, as Postfix's smtpd_client_connection_rate_limit; past it 421 and close"
                        + " (0 = no limit).").withDefault("0/min"),
                Option.value("--postmaster", "USER", "Local user who gets mail for postmaster when there is no user of that name"
                        + " (default: the first user in the users file).")));
        // the shared abuse limits: connection limits for every mail server, one failed-login
        // policy for the users file that all of them share
        options.addAll(LimitOptions.connectionOptions(SmtpServer.defaultLimits()));
        options.addAll(LimitOptions.authOptions());
        return List.copyOf(options);
    }

    @Override
    public List<Tool> tools() {
        return List.of(new Tool("dkim-keygen", "Make a DKIM key pair: writes the private key (PEM PKCS#8) for --dkim-key and"
                + " prints the DNS TXT record to publish.", List.of(
                        Option.value("--domain", "DOMAIN", "The signing domain (d=).").asRequired(),
                        Option.value("--selector", "S", "The selector (s=): the record goes at S._domainkey.DOMAIN.").asRequired(),
                        Option.value("--algorithm", "rsa|ed25519", "rsa: 2048 bits, verified everywhere; ed25519 (RFC 8463):"
                                + " small, not yet verified by every receiver, so publish it beside an rsa key.").withDefault("rsa"),
                        Option.value("--out", "FILE", "Where the private key goes (made mode 0600; an existing file is not"
                                + " replaced).").asRequired()),
                MailPlugin::dkimKeygen));
    }

    /** {@code twine mail dkim-keygen}: the key to {@code --out}, the record to {@code out}. */
    private static int dkimKeygen(Arguments args, java.io.PrintStream out) throws IOException {
        String domain = domainName("--domain", args.require("--domain"));
        String selector = args.require("--selector").strip();
        try {
            DkimSigner.builder().selector(selector);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--selector: " + e.getMessage(), e);
        }
        DkimAlgorithm algorithm = switch (args.require("--algorithm").strip().toLowerCase(Locale.ROOT)) {
            case "rsa" -> DkimAlgorithm.RSA_SHA256;
            case "ed25519" -> DkimAlgorithm.ED25519_SHA256;
            default -> throw new IllegalArgumentException("--algorithm: rsa or ed25519, not '" + args.require("--algorithm") + "'");
        };
        Path file = Path.of(args.require("--out"));
        if (Files.exists(file)) {
            throw new IllegalArgumentException("--out: " + file + " exists; not replacing a key");
        }
        java.security.KeyPair pair = DkimKeys.generate(algorithm);
        try {
            DkimKeys.write(pair.getPrivate(), file);
        } catch (java.nio.file.FileAlreadyExistsException e) {
            throw new IllegalArgumentException("--out: " + file + " exists; not replacing a key", e);
        }
        out.println("; " + algorithm.keyType() + " DKIM key for " + domain + " written to " + file + "; publish this record, then");
        out.println("; run twine mail with --dkim-key " + domain + ":" + file + " --dkim-selector " + domain + ":" + selector);
        out.println(DkimKeys.zoneLine(domain, selector, pair.getPublic()));
        return 0;
    }

    /** The store with {@code --quota} applied, if given. */
    private static Maildir quota(Arguments args, Maildir maildir) {
        if (args.value("--quota").isEmpty()) {
            return maildir;
        }
        long quota = args.byteSize("--quota");
        if (quota < 1024) {
            throw new IllegalArgumentException("--quota: at least 1024 bytes, got '" + args.require("--quota") + "'");
        }
        return maildir.withQuota(quota);
    }

    @Override
    public Service create(Arguments args) throws IOException {
        Set<String> domains = domains(args);
        String domain = domains.iterator().next();
        Path usersPath = Path.of(args.require("--users"));
        UsersFile users = args.usersFile("--users");
        // checked (and made) now: a maildir that cannot be written would 451 every message later
        Path maildirPath = args.directory("--maildir");
        Maildir maildir = quota(args, Maildir.open(maildirPath));
        Tls tls = args.serverTls("--tls-cert", "--tls-key").orElse(null);
        Path queueDir = args.directory("--queue", maildirPath.resolveSibling(maildirPath.getFileName() + "-queue"));
        // HOST:PORT checked in the endpoint grammar; MxResolver takes the text as given
        Resolver dns = dnsResolver(args);
        MxResolver resolver = args.hostPort("--smarthost").isPresent()
                ? MxResolver.fixed(args.require("--smarthost").strip())
                : DnsMxResolver.over(dns);
        // port 25 mail gets one Authentication-Results field (RFC 8601) with the DKIM results
        MessageAuthentication inbound = inboundChecks(args, domain, dns);
        Dnsbl dnsbl = null;
        if (!args.values("--dnsbl").isEmpty()) {
            Dnsbl.Builder lists = Dnsbl.builder().resolver(dns);
            try {
                args.values("--dnsbl").forEach(lists::zone);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--dnsbl: " + e.getMessage(), e);
            }
            dnsbl = lists.build();
        }
        RelayQueue.Builder qb = RelayQueue.builder()
                .directory(queueDir)
                .resolver(resolver)
                .heloName(domain)
                .delayWarning(args.duration("--delay-warning"));
        Optional<String> relayTrust = args.value("--relay-trust");
        Tls verified = Tls.client();
        if (relayTrust.isPresent()) {
            try {
                verified = Tls.client(Path.of(relayTrust.get()));
            } catch (IOException e) {
                throw new IllegalArgumentException("--relay-trust: " + e.getMessage(), e);
            }
        }
        qb.verifiedTls(verified);
        String mtaSts = args.require("--mta-sts");
        if (!mtaSts.equals("on") && !mtaSts.equals("off")) {
            throw new IllegalArgumentException("--mta-sts: on or off, got '" + mtaSts + "'");
        }
        if (mtaSts.equals("on") && args.value("--smarthost").isEmpty()) {
            // a smarthost is not the recipient domain's MX: its policy does not apply there
            qb.mtaSts(MtaSts.builder().resolver(dns).cache(queueDir.resolve("mta-sts")).tls(verified).build());
        }
        domains.forEach(d -> qb.localDelivery(d, maildir));
        Optional<String> relayUser = args.value("--smarthost-user");
        Optional<String> relayPasswordFile = args.value("--smarthost-password-file");
        if (relayUser.isPresent() != relayPasswordFile.isPresent()) {
            throw new IllegalArgumentException("--smarthost-user and --smarthost-password-file go together");
        }
        if (relayUser.isPresent()) {
            String password;
            try {
                password = Files.readAllLines(Path.of(relayPasswordFile.get()), StandardCharsets.UTF_8).stream()
                        .findFirst().orElse("");
            } catch (IOException e) {
                throw new IllegalArgumentException("--smarthost-password-file: cannot read " + relayPasswordFile.get(), e);
            }
            qb.auth(relayUser.get(), password);
        }
        RelayQueue queue = qb.build();
        Portal portal = Portal.builder().users(users).policy(LimitOptions.authPolicy(args)).build();
        String postmaster = postmaster(args.value("--postmaster"), usersPath, users);
        // validated once here so that a bad value names its option; each server below gets limits
        // of its own, so that one service's connections do not use up another's
        LimitOptions.connectionLimits(args);
        long maxSize = args.byteSize("--max-message-size");
        if (maxSize < 1024) {
            throw new IllegalArgumentException("--max-message-size: at least 1024 bytes, got '" + args.require("--max-message-size") + "'");
        }
        Duration idle = args.duration("--idle-timeout");
        Duration errorDelay = args.duration("--error-delay");
        Duration greetDelay = args.duration("--greet-delay");
        int connectionRate = perMinute(args, "--max-connection-rate");
        MaildirDelivery.Builder local = MaildirDelivery.builder().maildir(maildir).users(users);
        domains.forEach(local::domain);
        if (postmaster != null) {
            local.postmaster(postmaster);
        }
        // each user's active Sieve script runs at local delivery; what it sends goes out by the queue
        SieveScripts scripts = SieveScripts.builder().maildir(maildir).userLog(true).build();
        // a message DMARC quarantined goes to Junk unless the user's own script says otherwise
        local.sieve(scripts.withSpamTo("Junk")).outbound(queue);
        // NOTIFY=SUCCESS on local mail is told by the queue, which sends the notices (RFC 3461)
        MailDelivery<?> delivery = MailDelivery.byDomain(domains, queue.notifyingSuccess(local.build()),
                dkimSigning(args, domains, queue));
        Optional<String> aliasesFile = args.value("--aliases");
        SenderLogins senders = SenderLogins.byName(domains);
        if (aliasesFile.isPresent()) {
            try {
                Aliases aliases = Aliases.load(Path.of(aliasesFile.get()));
                delivery = aliases.over(domains, delivery);
                senders = senders.or(aliases.senderLogins(domains));
            } catch (IOException e) {
                // a bad file is a bad argument: the message names the file and line
                throw new IllegalArgumentException("--aliases: " + e.getMessage(), e);
            }
        }
        Optional<String> loginsFile = args.value("--sender-logins");
        if (loginsFile.isPresent()) {
            try {
                senders = senders.or(SenderLogins.load(Path.of(loginsFile.get())));
            } catch (IOException e) {
                throw new IllegalArgumentException("--sender-logins: " + e.getMessage(), e);
            }
        }
        int[] perUser = hourly(args, "--user-hourly-limit");
        int[] perAddress = hourly(args, "--address-hourly-limit");
        // one count for smtp and submission together
        SendingLimits sending = SendingLimits.builder().perUser(perUser[0], perUser[1])
                .perAddress(perAddress[0], perAddress[1]).build();
        List<Service> services = new ArrayList<>();
        services.add(queue);
        for (SmtpServer.Role role : SmtpServer.Role.values()) {
            String option = switch (role) {
                case MX -> "--smtp";
                case SUBMISSION -> "--submission";
                case LMTP -> "--lmtp";
            };
            List<String> endpoints = args.values(option);
            if (endpoints.isEmpty()) {
                continue;
            }
            SmtpServer.Builder b = SmtpServer.builder().role(role)
                    .delivery(role == SmtpServer.Role.MX ? port25(inbound, dnsbl, delivery) : delivery).errorDelay(3, errorDelay)
                    .allowPlainAuth(args.flag("--allow-plain-auth"))
                    .maxMessageSize(maxSize).idleTimeout(idle).limits(LimitOptions.connectionLimits(args));
            domains.forEach(b::domain);
            if (role == SmtpServer.Role.MX) {
                // the inbound defences are for port 25's strangers; submission's users log in
                b.greetDelay(greetDelay).maxConnectionRate(connectionRate);
            }
            if (role != SmtpServer.Role.LMTP) {
                // LMTP serves the MTA in front, which does not log in and is not counted
                b.portal(portal).senderLogins(senders).sendingLimits(sending);
            }
            if (tls != null) {
                b.tls(tls);
            }
            args.metrics().ifPresent(b::metrics);
            services.add(checked(option, () -> {
                endpoints.forEach(b::listen);
                return b.build();
            }));
        }
        // POP3 and IMAP read the same Maildir with the same users
        Tls accessTls = tls;
        boolean plain = args.flag("--allow-plain-auth");
        List<String> pop3 = args.values("--pop3");
        if (!pop3.isEmpty()) {
            Pop3Server.Builder p = Pop3Server.builder().portal(portal).store(maildir).allowPlainLogin(plain)
                    .limits(LimitOptions.connectionLimits(args));
            if (accessTls != null) {
                p.tls(accessTls);
            }
            args.metrics().ifPresent(p::metrics);
            pop3.forEach(p::listen);
            services.add(checked("--pop3", p::build));
        }
        List<String> imap = args.values("--imap");
        if (!imap.isEmpty()) {
            ImapServer.Builder i = ImapServer.builder().portal(portal).store(maildir).allowPlainLogin(plain)
                    .limits(LimitOptions.connectionLimits(args));
            if (accessTls != null) {
                i.tls(accessTls);
            }
            args.metrics().ifPresent(i::metrics);
            imap.forEach(i::listen);
            services.add(checked("--imap", i::build));
        }
        List<String> managesieve = args.values("--managesieve");
        if (!managesieve.isEmpty()) {
            ManageSieveServer.Builder m = ManageSieveServer.builder().portal(portal).scripts(scripts).allowPlainLogin(plain)
                    .limits(LimitOptions.connectionLimits(args));
            if (accessTls != null) {
                m.tls(accessTls);
            }
            args.metrics().ifPresent(m::metrics);
            managesieve.forEach(m::listen);
            services.add(checked("--managesieve", m::build));
        }
        return Services.group("mail", services);
    }

    /** What the SMTP port does before {@code delivery}: the blocklists at RCPT, the results field at DATA. */
    /**
     * The port 25 checks: DKIM, SPF and DMARC recorded in Authentication-Results, with the
     * {@code --spf-policy} and {@code --dmarc-policy} choices and the trusted networks.
     */
    private static MessageAuthentication inboundChecks(Arguments args, String domain, Resolver dns) {
        MessageAuthentication.Builder b = MessageAuthentication.builder().authservId(domain)
                .dkim(DkimVerifier.builder().resolver(dns).build()).spf(Spf.builder().resolver(dns).build());
        b.rejectSpfFail(switch (args.require("--spf-policy").strip().toLowerCase(Locale.ROOT)) {
            case "reject" -> true;
            case "record" -> false;
            default -> throw new IllegalArgumentException("--spf-policy: reject or record, not '" + args.require("--spf-policy") + "'");
        });
        b.honourDmarc(switch (args.require("--dmarc-policy").strip().toLowerCase(Locale.ROOT)) {
            case "honour", "honor" -> true;
            case "record" -> false;
            default -> throw new IllegalArgumentException("--dmarc-policy: honour or record, not '"
                    + args.require("--dmarc-policy") + "'");
        });
        Dmarc.Builder dmarc = Dmarc.builder().resolver(dns);
        Optional<String> psl = args.value("--public-suffix-list");
        if (psl.isPresent()) {
            try {
                dmarc.publicSuffixList(Path.of(psl.get()));
            } catch (IOException e) {
                throw new IllegalArgumentException("--public-suffix-list: " + e.getMessage(), e);
            }
        }
        b.dmarc(dmarc.build());
        List<String> trusted = args.values("--trusted-network");
        if (trusted.isEmpty()) {
            AddressBlock.loopback().forEach(b::trusted);
        }
        for (String cidr : trusted) {
            if (cidr.strip().equalsIgnoreCase("none")) {
                continue;
            }
            try {
                b.trusted(AddressBlock.parse(cidr.strip()));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--trusted-network: " + e.getMessage(), e);
            }
        }
        return b.build();
    }

    private static MailDelivery<?> port25(MessageAuthentication inbound, Dnsbl dnsbl, MailDelivery<?> delivery) {
        MailDelivery<?> checked = inbound.over(delivery);
        return dnsbl == null ? checked : dnsbl.over(checked);
    }

    /**
     * {@code remote} behind DKIM signing with the {@code --dkim-key}s, or {@code remote} itself
     * without any. A key without {@code DOMAIN:} signs for every local domain; a selector without
     * it is every key's.
     */
    private static MailDelivery<?> dkimSigning(Arguments args, Set<String> domains, MailDelivery<?> remote) {
        List<String> keys = args.values("--dkim-key");
        if (keys.isEmpty()) {
            if (!args.values("--dkim-selector").isEmpty()) {
                throw new IllegalArgumentException("--dkim-selector needs --dkim-key");
            }
            return remote;
        }
        java.util.Map<String, String> selectors = new java.util.HashMap<>();
        for (String v : args.values("--dkim-selector")) {
            String[] ds = byDomain(v, domains, "--dkim-selector");
            if (selectors.put(ds[0], ds[1]) != null) {
                throw new IllegalArgumentException("--dkim-selector: two selectors for " + (ds[0].isEmpty() ? "every domain" : ds[0]));
            }
        }
        // keys for a named domain first, so that they win over a key for every domain
        List<String[]> given = keys.stream().map(v -> byDomain(v, domains, "--dkim-key"))
                .sorted(java.util.Comparator.comparing((String[] df) -> df[0].isEmpty())).toList();
        java.util.Map<String, DkimSigner> signers = new java.util.LinkedHashMap<>();
        boolean everyDomain = false;
        for (String[] df : given) {
            if (df[0].isEmpty() && everyDomain) {
                throw new IllegalArgumentException("--dkim-key: two keys without DOMAIN:");
            }
            everyDomain |= df[0].isEmpty();
            for (String d : df[0].isEmpty() ? domains : Set.of(df[0])) {
                if (signers.containsKey(d)) {
                    if (df[0].isEmpty()) {
                        continue;
                    }
                    throw new IllegalArgumentException("--dkim-key: two keys for " + d);
                }
                String selector = selectors.getOrDefault(d, selectors.get(""));
                if (selector == null) {
                    throw new IllegalArgumentException("--dkim-selector is required for the --dkim-key of " + d);
                }
                try {
                    signers.put(d, DkimSigner.load(d, selector, Path.of(df[1])));
                } catch (IOException | IllegalArgumentException e) {
                    throw new IllegalArgumentException("--dkim-key: " + e.getMessage(), e);
                }
            }
        }
        return DkimSigner.signing(signers.values(), remote);
    }

    /** {@code DOMAIN:VALUE} split when DOMAIN is a local domain, else {@code ["", VALUE]}. */
    private static String[] byDomain(String v, Set<String> domains, String option) {
        int colon = v.indexOf(':');
        if (colon > 0 && domains.contains(v.substring(0, colon).toLowerCase(Locale.ROOT))) {
            return new String[] {v.substring(0, colon).toLowerCase(Locale.ROOT), v.substring(colon + 1)};
        }
        if (colon > 0 && v.substring(0, colon).matches("[A-Za-z0-9.-]+\\.[A-Za-z0-9-]+")) {
            throw new IllegalArgumentException(option + ": " + v.substring(0, colon) + " is not a local domain (--domain)");
        }
        return new String[] {"", v};
    }

    /**
     * The local domains, lower case, in order: each {@code --domain}, then the lines of the
     * {@code --domains} file.
     */
    private static Set<String> domains(Arguments args) {
        Set<String> domains = new LinkedHashSet<>();
        for (String d : args.values("--domain")) {
            domains.add(domainName("--domain", d));
        }
        Optional<String> file = args.value("--domains");
        if (file.isPresent()) {
            List<String> lines;
            try {
                lines = Files.readAllLines(Path.of(file.get()), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new IllegalArgumentException("--domains: cannot read " + file.get() + ": " + e.getMessage(), e);
            }
            for (int i = 0; i < lines.size(); i++) {
                String d = lines.get(i).replaceFirst("#.*", "").strip();
                if (!d.isEmpty()) {
                    domains.add(domainName("--domains: " + file.get() + ":" + (i + 1), d));
                }
            }
        }
        if (domains.isEmpty()) {
            throw new IllegalArgumentException("--domain is required");
        }
        return domains;
    }

    /** {@code M/R} from {@code option}: messages and recipients an hour; {@code 0/0} when absent. */
    private static int[] hourly(Arguments args, String option) {
        Optional<String> v = args.value(option);
        if (v.isEmpty()) {
            return new int[] {0, 0};
        }
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d{1,9})/(\\d{1,9})").matcher(v.get().strip());
        if (!m.matches()) {
            throw new IllegalArgumentException(option + ": expected MESSAGES/RECIPIENTS, e.g. 200/1000, got '" + v.get() + "'");
        }
        return new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))};
    }

    /** {@code N/min} (or {@code N}) from {@code option}. */
    private static int perMinute(Arguments args, String option) {
        String v = args.require(option).strip();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d{1,9})(/min)?").matcher(v);
        if (!m.matches()) {
            throw new IllegalArgumentException(option + ": expected CONNECTIONS/min, e.g. 30/min, got '" + v + "'");
        }
        return Integer.parseInt(m.group(1));
    }

    private static String domainName(String where, String given) {
        String d = given.strip().toLowerCase(Locale.ROOT);
        if (!d.matches("[a-z0-9]([a-z0-9.-]*[a-z0-9])?")) {
            throw new IllegalArgumentException(where + ": not a domain name: " + given);
        }
        return d;
    }

    /**
     * The user who gets postmaster's mail: {@code --postmaster}, which must be a user of the
     * file, else the file's first user; null if the file has no users (the mail is then kept in
     * the mailbox named postmaster).
     */
    private static String postmaster(Optional<String> option, Path usersPath, UsersFile users) throws IOException {
        if (option.isPresent()) {
            String name = option.get();
            if (users.find(name).isEmpty()) {
                throw new IllegalArgumentException("--postmaster: no user '" + name + "' in " + usersPath);
            }
            return name;
        }
        for (String line : Files.readAllLines(usersPath, StandardCharsets.UTF_8)) {
            String l = line.strip();
            int colon = l.indexOf(':');
            if (l.isEmpty() || l.startsWith("#") || colon <= 0) {
                continue;
            }
            String name = l.substring(0, colon);
            // a name that cannot be a local mailbox (user@domain style) is passed over
            if (!name.startsWith(".") && !name.contains("/") && !name.contains("\\") && !name.contains("@")
                    && users.find(name).isPresent()) {
                return name;
            }
        }
        return null;
    }

    /**
     * The resolver for MX lookups: {@code --dns}, or the nameservers in /etc/resolv.conf, or
     * 127.0.0.1:53; its AD bit believed with {@code --dns-trust-ad} (or resolv.conf's
     * {@code options trust-ad}).
     */
    private static Resolver dnsResolver(Arguments args) {
        Resolver.Builder b = Resolver.builder().trustAuthenticatedData(args.flag("--dns-trust-ad"));
        Optional<java.net.InetSocketAddress> given = args.hostPort("--dns");
        try {
            if (given.isPresent()) {
                b.server(given.get().getHostString(), given.get().getPort());
            } else {
                Resolver system = Resolver.system();
                if (system.trustsAuthenticatedData()) {
                    b.trustAuthenticatedData(true); // resolv.conf's options trust-ad
                }
                system.servers().forEach(b::server);
            }
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--dns: " + e.getMessage(), e);
        }
        return b.build();
    }

    private interface ServerMaker {
        Service make();
    }

    private static Service checked(String option, ServerMaker m) {
        try {
            return m.make();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(option + ": " + e.getMessage(), e);
        }
    }

    @Override
    public Optional<Demo> demo(Path dataDir, DemoPorts ports) throws Exception {
        Path dir = dataDir;
        Files.createDirectories(dir);
        String domain = "twine.test";
        Path users = dir.resolve("users");
        Path passwordFile = dir.resolve("demo-password");
        String password;
        if (Files.exists(users) && Files.exists(passwordFile)) {
            password = Files.readString(passwordFile, StandardCharsets.UTF_8).strip();
        } else {
            password = randomPassword();
            Files.deleteIfExists(users);
            UsersFile.addUser(users, "demo", password.toCharArray());
            Files.writeString(passwordFile, password + "\n", StandardCharsets.UTF_8);
        }
        Path cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        Tls.selfSigned(cert, key, List.of("localhost", "127.0.0.1")); // made once, then reused
        Path sample = dir.resolve("hello.eml");
        Files.writeString(sample, "From: demo@" + domain + "\r\nTo: demo@" + domain + "\r\nSubject: hello from curl\r\n\r\nHello, Twine.\r\n",
                StandardCharsets.UTF_8);
        Service service = create(new DemoArguments(List.of(
                "--domain", domain, "--users", users.toString(), "--maildir", dir.resolve("maildir").toString(),
                "--tls-cert", cert.toString(), "--tls-key", key.toString(),
                "--smtp", "tcp:" + ports.port(2525) + ":interface=127.0.0.1",
                "--submission", "tcp:" + ports.port(2587) + ":interface=127.0.0.1",
                "--imap", "tcp:" + ports.port(2143) + ":interface=127.0.0.1",
                "--pop3", "tcp:" + ports.port(2110) + ":interface=127.0.0.1")));
        String pw = password;
        return Optional.of(new Demo(service, started -> {
            int smtp = port(started, "smtp", 2525);
            int sub = port(started, "submission", 2587);
            return "mail: user demo@" + domain + " password " + pw + "; mail lands in " + dir.resolve("maildir/demo/new") + "\n"
                    + "  swaks --server 127.0.0.1:" + sub + " --tls --auth PLAIN --auth-user demo --auth-password " + pw
                    + " --from demo@" + domain + " --to demo@" + domain + " --attach @" + sample + "\n"
                    + "  curl smtp://127.0.0.1:" + smtp + " --mail-from someone@example.org --mail-rcpt demo@" + domain
                    + " --upload-file " + sample + "\n"
                    + "  curl --ssl-reqd -k imap://127.0.0.1:" + port(started, "imap", 2143) + "/INBOX -u demo:" + pw
                    + " -X 'FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])'\n"
                    + "  curl --ssl-reqd -k pop3://127.0.0.1:" + port(started, "pop3", 2110) + "/1 -u demo:" + pw;
        }));
    }

    private static int port(Service s, String name, int fallback) {
        return s.bindings().stream().filter(b -> b.service().equals(name)).findFirst()
                .map(b -> b.port()).orElse(fallback);
    }

    private static String randomPassword() {
        SecureRandom r = new SecureRandom();
        String alphabet = "abcdefghjkmnpqrstuvwxyz23456789";
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 12; i++) {
            sb.append(alphabet.charAt(r.nextInt(alphabet.length())));
        }
        return sb.toString();
    }

    /** Arguments for the demo, parsed from a flat list against {@link #options()}. */
    private final class DemoArguments implements Arguments {
        private final List<String> given;

        DemoArguments(List<String> given) {
            this.given = given;
        }

        @Override
        public List<String> values(String option) {
            List<String> v = new ArrayList<>();
            for (int i = 0; i + 1 < given.size(); i += 2) {
                if (given.get(i).equals(option)) {
                    v.add(given.get(i + 1));
                }
            }
            if (v.isEmpty()) {
                options().stream().filter(o -> o.name().equals(option) && o.defaultValue() != null)
                        .findFirst().ifPresent(o -> v.add(o.defaultValue()));
            }
            return v;
        }

        @Override
        public Optional<String> value(String option) {
            List<String> v = values(option);
            return v.isEmpty() ? Optional.empty() : Optional.of(v.get(0));
        }

        @Override
        public boolean flag(String option) {
            return given.contains(option);
        }
    }
}
