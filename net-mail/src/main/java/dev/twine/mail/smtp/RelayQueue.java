package dev.twine.mail.smtp;

import dev.twine.core.Binding;
import dev.twine.core.DurableFiles;
import dev.twine.core.Scope;
import dev.twine.core.Service;
import dev.twine.core.Tls;
import dev.twine.mail.maildir.Maildir;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Collectors;

/**
 * A persistent outbound mail queue: messages accepted for other domains wait on disk until an
 * SMTP next hop (the domain's MX hosts from an {@link MxResolver}, or a smarthost) takes them.
 *
 * <h2>On disk</h2>
 * Each message is two files in the queue directory: {@code ID.msg} (the message bytes) and
 * {@code ID.env} (the envelope: sender, recipients still to deliver, attempts, next attempt
 * time). Both are written to {@code tmp/}, forced, renamed into place, and the directory is
 * forced; the envelope is written last, so it is the commit point. {@link #enqueue} returns only
 * after that, and the queue survives restarts: {@link #start()} picks up every envelope it finds.
 *
 * <h2>Delivery</h2>
 * A worker thread tries the due messages, several at a time. For each recipient a 2xx reply ends its journey, a 5xx
 * reply makes it fail at once, and a 4xx reply or a connection failure makes it wait for the next
 * retry ({@link Builder#retryDelays}: the n-th retry waits the n-th delay). When the delays run
 * out, the recipient fails. Failed recipients are reported to the sender in one delivery status
 * notification (RFC 3464) per attempt, which goes to the local Maildir when the sender is a local
 * user and through this queue otherwise; a message with the null sender {@code <>} (itself a
 * bounce) is never bounced (RFC 5321 §4.5.5).
 *
 * <h2>As a delivery</h2>
 * The queue is a {@link MailDelivery} for remote recipients (an {@link SmtpServer} asks for those
 * only for authenticated clients): every address is accepted, its destination being the address
 * itself, and {@link #deliver} {@linkplain #enqueue enqueues} the message for all of them at once,
 * returning when it is on disk. Combine it with local delivery through {@link MailDelivery#byDomain}.
 *
 * <p>STARTTLS is used whenever the next hop offers it (opportunistic, RFC 7435); AUTH when
 * credentials are configured and the hop offers it. A message sent with REQUIRETLS (RFC 8689)
 * goes only to a hop that offers it over TLS with a certificate valid for the MX host's name
 * ({@link Builder#verifiedTls}), and bounces with {@code 5.7.30} when every host answered and
 * none does. Its MX hosts must be vouched for first (RFC 8689 §4.2.1): authenticated by DNSSEC
 * ({@link MxResolver#hops}) or named by the domain's MTA-STS policy in enforce mode; else it
 * bounces with {@code 5.7.30} at once, no host connected to.
 *
 * <h2>Delivery status notifications</h2>
 * The DSN parameters (RFC 3461) of the envelope and of each recipient are kept with the message:
 * a recipient is reported on failure unless its NOTIFY excludes it, on delay (once, after
 * {@link Builder#delayWarning}) and on success when it asks; the parameters go on to a hop that
 * offers DSN. {@link #notifyingSuccess} reports local deliveries.
 */
public final class RelayQueue implements Service, MailDelivery<String> {
    private static final System.Logger LOG = System.getLogger(RelayQueue.class.getName());

    private final Path dir;
    private final MxResolver resolver;
    private final String heloName;
    private final String localDomain;
    private final Set<String> localDomains;
    private final Maildir localMaildir;
    private final List<Duration> retryDelays;
    private final Clock clock;
    private final Tls tls;
    private final String authUser;
    private final String authPassword;
    private final Duration timeout;
    private final int concurrency;
    private final Duration delayWarning;
    private final Tls verifiedTls;
    private final MtaSts mtaSts;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition wake = lock.newCondition();
    /** A message arrived (or stop was asked) since the worker last looked; guarded by {@link #lock}. */
    private boolean signalled;
    private final ReentrantLock deliveryLock = new ReentrantLock();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile boolean running;
    private Scope scope;

    private RelayQueue(Builder b) {
        this.dir = b.dir.toAbsolutePath();
        this.resolver = b.resolver;
        this.heloName = b.heloName;
        this.localDomains = Set.copyOf(b.localDomains);
        this.localDomain = b.localDomains.isEmpty() ? null : b.localDomains.iterator().next();
        this.localMaildir = b.localMaildir;
        this.retryDelays = List.copyOf(b.retryDelays);
        this.clock = b.clock;
        this.tls = b.tls;
        this.authUser = b.authUser;
        this.authPassword = b.authPassword;
        this.timeout = b.timeout;
        this.concurrency = b.concurrency;
        this.delayWarning = b.delayWarning;
        this.verifiedTls = b.verifiedTls;
        this.mtaSts = b.mtaSts;
    }

    /** A builder; {@link Builder#directory}, {@link Builder#resolver} and {@link Builder#heloName} are required. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Stores a message for delivery and returns once it is durably on disk.
     *
     * @param from the reverse path, empty for a bounce
     * @param recipients the forward paths (at least one)
     * @return the queue id
     * @throws IOException if it cannot be stored; then nothing is queued
     */
    public String enqueue(String from, List<String> recipients, byte[] message) throws IOException {
        return store(from, MailParameters.none(), recipients.stream().map(r -> new Queued(r, RcptParameters.none(), false))
                .toList(), message);
    }

    private String store(String from, MailParameters parameters, List<Queued> recipients, byte[] message) throws IOException {
        if (recipients.isEmpty()) {
            throw new IllegalArgumentException("no recipients");
        }
        String id = clock.millis() + "-" + UUID.randomUUID().toString().replace("-", "");
        Files.createDirectories(dir.resolve("tmp"));
        writeDurably(dir.resolve(id + ".msg"), message);
        Envelope env = new Envelope(id, from, parameters, List.copyOf(recipients), 0, clock.instant(), clock.instant());
        writeDurably(dir.resolve(id + ".env"), env.encode());
        Maildir.forceDirectory(dir);
        signal();
        return id;
    }

    /**
     * Accepts any remote recipient for relaying.
     *
     * @return {@code address}, which {@link #deliver} queues for
     */
    @Override
    public String recipient(Session session, String sender, String address) {
        return address;
    }

    /**
     * Queues the message for every recipient, each once; returns once it is durably on disk
     * ({@link #enqueue}). The message is queued as given, with the server's {@code Received:} field
     * and without {@code Return-Path:}, which the final hop adds. The envelope's
     * {@linkplain MailDelivery.Envelope#parameters() parameters} and each recipient's are stored
     * with it: the notifications the queue sends follow them, and a next hop that offers DSN gets
     * them (a recipient given twice keeps its first parameters).
     *
     * @throws IOException if it cannot be stored; nothing is then queued
     */
    @Override
    public void deliver(MailDelivery.Envelope<String> envelope, java.io.InputStream message) throws IOException {
        Map<String, Queued> rcpts = new LinkedHashMap<>();
        for (MailDelivery.Recipient<String> r : envelope.recipients()) {
            rcpts.putIfAbsent(r.destination(), new Queued(r.destination(), r.parameters(), false));
        }
        store(envelope.sender(), envelope.parameters(), List.copyOf(rcpts.values()), message.readAllBytes());
    }

    /**
     * Wraps a final delivery (local mailboxes, {@link MaildirDelivery}) so that its sender hears of
     * each delivery that asked for it: once {@code local} has taken the message, every recipient
     * whose {@code NOTIFY} includes SUCCESS is reported in one notification with
     * {@code Action: delivered} (RFC 3461 §6.2.1, RFC 3464), sent as this queue sends bounces
     * (into the local Maildir for a local sender, queued otherwise). Recipients a
     * {@link PartialDeliveryException} names are not reported; their failure is the client's to
     * hear. Everything else passes through unchanged.
     *
     * <h4>Error handling</h4>
     * The message is delivered before the notification is made, so a notification that cannot be
     * stored is logged and the delivery still succeeds; the delivery's own exceptions pass
     * through.
     *
     * @param local the delivery to wrap
     * @return a delivery with {@code local}'s destinations
     */
    public <T> MailDelivery<T> notifyingSuccess(MailDelivery<T> local) {
        Objects.requireNonNull(local, "local");
        return new MailDelivery<>() {
            @Override
            public void sender(Session session, String sender) throws IOException, InterruptedException {
                local.sender(session, sender);
            }

            @Override
            public T recipient(Session session, String sender, String address) throws IOException, InterruptedException {
                return local.recipient(session, sender, address);
            }

            @Override
            public boolean reload() throws IOException {
                return local.reload();
            }

            @Override
            public void deliver(MailDelivery.Envelope<T> envelope, java.io.InputStream message)
                    throws IOException, InterruptedException {
                if (envelope.recipients().stream().noneMatch(r -> r.parameters().wants(RcptParameters.Notify.SUCCESS))) {
                    local.deliver(envelope, message);
                    return;
                }
                byte[] text = message.readAllBytes();
                Set<String> failed = Set.of();
                PartialDeliveryException partial = null;
                try {
                    local.deliver(envelope, new ByteArrayInputStream(text));
                } catch (PartialDeliveryException e) {
                    partial = e;
                    failed = e.failures().keySet();
                }
                List<Report> delivered = new ArrayList<>();
                for (MailDelivery.Recipient<T> r : envelope.recipients()) {
                    if (!failed.contains(r.address())) {
                        delivered.add(new Report(new Queued(r.address(), r.parameters(), false), "2.0.0", null, null));
                    }
                }
                Instant now = clock.instant();
                try {
                    report(new RelayQueue.Envelope(envelope.id(), envelope.sender(), envelope.parameters(), List.of(), 0, now, now),
                            Dsn.Action.DELIVERED, delivered, text);
                } catch (IOException e) {
                    LOG.log(System.Logger.Level.WARNING, "message " + envelope.id() + ": delivered, but its success notice failed: " + e);
                }
                if (partial != null) {
                    throw partial;
                }
            }
        };
    }

    /** How many messages are waiting. */
    public int size() throws IOException {
        return envelopes().size();
    }

    /** The recipients still waiting, by queue id, for tests and status displays. */
    public Map<String, List<String>> pending() throws IOException {
        Map<String, List<String>> m = new LinkedHashMap<>();
        for (Envelope e : envelopes()) {
            m.put(e.id, e.recipients.stream().map(Queued::address).toList());
        }
        return m;
    }

    /**
     * Tries every message whose next attempt is due now (several at once, see
     * {@link Builder#concurrency}) and returns when all attempts are done. The worker calls it; tests call it directly with a manual clock.
     *
     * @return how many messages were tried
     * @throws InterruptedException if interrupted between messages
     */
    public int deliverDue() throws IOException, InterruptedException {
        deliveryLock.lock();
        try {
            Instant now = clock.instant();
            List<Envelope> due = new ArrayList<>();
            for (Envelope e : envelopes()) {
                if (!e.nextAttempt.isAfter(now)) {
                    due.add(e);
                }
            }
            // up to `concurrency` messages at once, so one slow next hop does not hold up the rest
            Semaphore permits = new Semaphore(concurrency);
            try (Scope attempts = Scope.open("smtp-queue-attempts")) {
                for (Envelope e : due) {
                    try {
                        permits.acquire();
                    } catch (InterruptedException stop) {
                        attempts.cancel(); // shutting down: stop the attempts in flight too
                        throw stop;
                    }
                    attempts.fork("queue-" + e.id, () -> {
                        try {
                            attempt(e);
                        } catch (IOException | RuntimeException failure) {
                            LOG.log(System.Logger.Level.ERROR, "queue " + e.id + ": " + failure);
                        } finally {
                            permits.release();
                        }
                    });
                }
                attempts.join();
            }
            return due.size();
        } finally {
            deliveryLock.unlock();
        }
    }

    private void attempt(Envelope env) throws IOException {
        byte[] message;
        try {
            message = Files.readAllBytes(dir.resolve(env.id + ".msg"));
        } catch (IOException e) {
            LOG.log(System.Logger.Level.ERROR, "queue " + env.id + ": message file unreadable, dropping: " + e);
            Files.deleteIfExists(dir.resolve(env.id + ".env"));
            return;
        }
        Map<String, List<Queued>> byDomain = new LinkedHashMap<>();
        for (Queued r : env.recipients) {
            byDomain.computeIfAbsent(domainOf(r.address()), k -> new ArrayList<>()).add(r);
        }
        Outcome outcome = new Outcome();
        for (Map.Entry<String, List<Queued>> group : byDomain.entrySet()) {
            deliverGroup(env, group.getKey(), group.getValue(), message, outcome);
        }
        List<Queued> retry = outcome.retry;
        int attempts = env.attempts + 1;
        if (!retry.isEmpty() && attempts > retryDelays.size()) {
            // out of retries: RFC 3463 4.4.7, delivery time expired
            for (Queued r : retry) {
                outcome.failed.add(new Report(r, "4.4.7", outcome.lastTransient.getOrDefault(r.address(), "no answer from the next hop"), null));
            }
            retry = List.of();
        }
        report(env, Dsn.Action.FAILED, outcome.failed, message);
        report(env, Dsn.Action.RELAYED, outcome.relayed, message);
        if (delayWarning.isPositive() && !retry.isEmpty() && !clock.instant().isBefore(env.arrived.plus(delayWarning))) {
            // RFC 3461 §4.1 DELAY: told once, after the delay warning time (Postfix's delay_warning_time)
            List<Report> delayed = new ArrayList<>();
            for (Queued r : retry) {
                if (!r.warned()) {
                    String why = outcome.lastTransient.getOrDefault(r.address(), "no answer from the next hop");
                    delayed.add(new Report(r, status(why, "4.0.0"), why, null));
                }
            }
            report(env, Dsn.Action.DELAYED, delayed, message);
            retry = retry.stream().map(r -> new Queued(r.address(), r.parameters(), true)).toList();
        }
        Path envFile = dir.resolve(env.id + ".env");
        if (retry.isEmpty()) {
            Files.deleteIfExists(envFile);
            Files.deleteIfExists(dir.resolve(env.id + ".msg"));
            Maildir.forceDirectory(dir);
        } else {
            Instant next = clock.instant().plus(retryDelays.get(attempts - 1));
            Envelope updated = new Envelope(env.id, env.from, env.parameters, retry, attempts, env.arrived, next);
            writeDurably(envFile, updated.encode());
            Maildir.forceDirectory(dir);
        }
    }

    /** A recipient's outcome for a notification. */
    private record Report(Queued recipient, String status, String diagnostic, String remoteMta) {}

    /** What one attempt came to: recipients to retry, and those to report on. */
    private static final class Outcome {
        final List<Queued> retry = new ArrayList<>();
        final List<Report> failed = new ArrayList<>();
        final List<Report> relayed = new ArrayList<>();
        final Map<String, String> lastTransient = new LinkedHashMap<>();

        /** A refusal: permanent fails the recipient, anything else retries it. */
        void refused(Queued r, Reply reply, String host) {
            if (reply.isPermanent()) {
                failed.add(new Report(r, status(reply.toString(), (reply.code() / 100) + ".0.0"), reply.toString(), host));
            } else {
                lastTransient.put(r.address(), reply.toString());
                retry.add(r);
            }
        }

        void retry(List<Queued> rcpts, String why) {
            rcpts.forEach(r -> lastTransient.put(r.address(), why));
            retry.addAll(rcpts);
        }
    }

    private void deliverGroup(Envelope env, String domain, List<Queued> rcpts, byte[] message, Outcome outcome) {
        List<MxResolver.Host> hosts;
        boolean authenticated;
        try {
            MxResolver.Hops hops = resolver.hops(domain);
            hosts = hops.hosts();
            authenticated = hops.authenticated();
        } catch (IOException e) {
            outcome.retry(rcpts, "MX lookup for " + domain + " failed: " + e.getMessage());
            return;
        }
        if (hosts.isEmpty()) {
            // RFC 7505: a null MX means the domain takes no mail
            rcpts.forEach(r -> outcome.failed.add(new Report(r, "5.1.10", "domain " + domain + " accepts no mail", null)));
            return;
        }
        Map<String, RcptParameters> byAddress = new LinkedHashMap<>();
        rcpts.forEach(r -> byAddress.put(r.address(), r.parameters()));
        Optional<MtaSts.Policy> policy = stsPolicy(env, domain, message);
        boolean enforce = policy.isPresent() && policy.get().mode() == MtaSts.Mode.ENFORCE;
        if (env.parameters.requireTls() && !authenticated && !enforce) {
            // RFC 8689 §4.2.1: the MX hosts must be vouched for, by DNSSEC or by an MTA-STS policy
            // in enforce mode; else a forged MX answer could name a host with a valid certificate
            // of its own. Nothing is sent: bounced with 5.7.30, as when no host will do.
            String why = "REQUIRETLS: the MX lookup for " + domain + " is not DNSSEC-authenticated and "
                    + domain + " has no MTA-STS policy in enforce mode";
            LOG.log(System.Logger.Level.INFO, "queue " + env.id + ": " + why);
            rcpts.forEach(r -> outcome.failed.add(new Report(r, "5.7.30", why, null)));
            return;
        }
        String lastError = "no next hop";
        String refusedTls = null;
        String refusedSts = null;
        boolean unreachable = false;
        for (MxResolver.Host hop : hosts) {
            String host = hop.address();
            if (policy.isPresent() && !policy.get().matches(hop.name())) {
                // RFC 8461 §4.1: only the MX hosts the policy names; testing mode only tells
                String why = "MTA-STS: MX " + hop.name() + " is not in the policy of " + domain;
                LOG.log(System.Logger.Level.INFO, "queue " + env.id + ": " + why + (enforce ? "" : " (testing mode: used)"));
                if (enforce) {
                    refusedSts = why;
                    continue;
                }
            }
            try (SmtpClient c = SmtpClient.connect(host, timeout)) {
                c.ehlo(heloName);
                if (enforce && !env.parameters.requireTls()) {
                    String why = verifiedTls(c, hop);
                    if (why != null) {
                        // RFC 8461 §4.2: a certificate valid for the MX name, or no delivery
                        refusedSts = "MTA-STS: " + host + ": " + why;
                        LOG.log(System.Logger.Level.INFO, "queue " + env.id + ": " + refusedSts);
                        quietQuit(c);
                        continue;
                    }
                } else if (env.parameters.requireTls()) {
                    String why = requireTls(c, hop);
                    if (why != null) {
                        // RFC 8689 §4.2.1: not to this host; perhaps to another MX
                        refusedTls = host + ": " + why;
                        LOG.log(System.Logger.Level.INFO, "queue " + env.id + ": REQUIRETLS: " + refusedTls);
                        quietQuit(c);
                        continue;
                    }
                } else if (tls != null && c.supports("STARTTLS")) {
                    c.startTls(tls);
                }
                if (authUser != null && c.supports("AUTH")) {
                    c.auth(authUser, authPassword);
                }
                Map<String, Reply> refused;
                try {
                    refused = c.send(env.from, env.parameters, byAddress, message);
                } catch (SmtpException e) {
                    rcpts.forEach(r -> outcome.refused(r, e.reply(), host));
                    quietQuit(c);
                    return;
                }
                for (Queued r : rcpts) {
                    Reply reply = refused.get(r.address());
                    if (reply != null) {
                        outcome.refused(r, reply, host);
                    } else if (!c.supports("DSN") && r.parameters().wants(RcptParameters.Notify.SUCCESS)) {
                        // RFC 3461 §6.2.1: the next hop will not tell, so we do
                        outcome.relayed.add(new Report(r, "2.0.0", null, host));
                    }
                }
                quietQuit(c);
                return;
            } catch (IOException | IllegalArgumentException e) {
                // a connection failure, a refused EHLO/STARTTLS/AUTH, or a host the client
                // cannot parse: try the next host
                lastError = host + ": " + e.getMessage();
                unreachable = true;
                LOG.log(System.Logger.Level.INFO, "queue " + env.id + ": " + lastError);
            }
        }
        if (refusedTls != null && !unreachable && refusedSts == null) {
            // every host answered, none as REQUIRETLS needs: bounced with 5.7.30, "REQUIRETLS support
            // required" (RFC 8689)
            String why = "REQUIRETLS: " + refusedTls;
            rcpts.forEach(r -> outcome.failed.add(new Report(r, "5.7.30", why, null)));
            return;
        }
        // an enforced MTA-STS policy's refusal is temporary (RFC 8461 §5.1: the policy may change)
        outcome.retry(rcpts, refusedTls != null ? "REQUIRETLS: " + refusedTls : refusedSts != null ? refusedSts : lastError);
    }

    /**
     * The MTA-STS policy for mail to {@code domain}, if the queue checks them: none for a message
     * whose {@code TLS-Required: No} field asks that such policies be ignored (RFC 8689 §5), unless
     * it came with REQUIRETLS, which takes precedence.
     */
    private Optional<MtaSts.Policy> stsPolicy(Envelope env, String domain, byte[] message) {
        if (mtaSts == null) {
            return Optional.empty();
        }
        if (!env.parameters.requireTls() && Headers.scan(message, 0, message.length).values("tls-required").stream()
                .anyMatch(v -> v.strip().equalsIgnoreCase("No"))) {
            LOG.log(System.Logger.Level.INFO, "queue " + env.id + ": TLS-Required: No, MTA-STS not applied");
            return Optional.empty();
        }
        try {
            return mtaSts.policy(domain);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    /**
     * STARTTLS with a certificate valid for the MX host's name that {@link Builder#verifiedTls}
     * trusts.
     *
     * @return null if that is what the hop gave, else why not
     */
    private String verifiedTls(SmtpClient c, MxResolver.Host hop) {
        if (!c.supports("STARTTLS")) {
            return "no STARTTLS offered";
        }
        try {
            c.startTls(verifiedTls, hop.name());
        } catch (SmtpException e) {
            return "STARTTLS refused: " + e.reply();
        } catch (IOException e) {
            return "no verified TLS for " + hop.name() + ": " + e.getMessage();
        }
        return null;
    }

    /**
     * What RFC 8689 §4.2.1 asks of a next hop for a REQUIRETLS message: STARTTLS, a certificate
     * valid for the MX host's name that {@link Builder#verifiedTls} trusts (there is no DNSSEC
     * here, so the name comes from an unsigned MX lookup; MTA-STS or DANE would vouch for it), and
     * REQUIRETLS offered once TLS is on.
     *
     * @return null if the hop will do, else why not
     */
    private String requireTls(SmtpClient c, MxResolver.Host hop) {
        String why = verifiedTls(c, hop);
        return why != null ? why : c.supports("REQUIRETLS") ? null : "no REQUIRETLS offered";
    }

    private static void quietQuit(SmtpClient c) {
        try {
            c.quit();
        } catch (IOException ignored) {
            // the message is already accepted or refused; the session's end does not matter
        }
    }

    /** The enhanced status code (RFC 3463) in a reply's text {@code "451 4.3.0 ..."}, else {@code fallback}. */
    private static String status(String reply, String fallback) {
        String[] words = reply.split(" ", 3);
        if (words.length > 1 && words[1].matches("[245]\\.\\d{1,3}\\.\\d{1,3}")) {
            return words[1];
        }
        return fallback;
    }

    /**
     * Tells the sender about {@code reports} (those whose NOTIFY asks for {@code action}, RFC 3461
     * §4.1) in one notification, straight into the local Maildir for a local sender and through
     * this queue otherwise.
     */
    private void report(Envelope env, Dsn.Action action, List<Report> reports, byte[] original) throws IOException {
        RcptParameters.Notify condition = switch (action) {
            case FAILED -> RcptParameters.Notify.FAILURE;
            case DELAYED -> RcptParameters.Notify.DELAY;
            case DELIVERED, RELAYED -> RcptParameters.Notify.SUCCESS;
        };
        List<Dsn.Recipient> told = reports.stream().filter(r -> r.recipient().parameters().wants(condition))
                .map(r -> new Dsn.Recipient(r.recipient().address(), r.recipient().parameters().originalRecipient(), r.status(),
                        r.diagnostic(), r.remoteMta()))
                .toList();
        if (told.isEmpty()) {
            return;
        }
        if (env.from.isEmpty()) {
            if (action == Dsn.Action.FAILED) {
                LOG.log(System.Logger.Level.WARNING, "queue " + env.id + ": a bounce could not be delivered; dropped (RFC 5321 §4.5.5)");
            }
            return;
        }
        // a REQUIRETLS message's notice returns only its header section and travels under
        // REQUIRETLS itself, so that the body never goes where the sender forbade
        MailParameters asked = env.parameters.requireTls()
                ? new MailParameters(Optional.of(MailParameters.Ret.HDRS), env.parameters.envelopeId(), true) : env.parameters;
        byte[] dsn = Dsn.build(localDomain != null ? localDomain : heloName, env.from, env.arrived, asked, action,
                told, original);
        String senderDomain = domainOf(env.from);
        if (localMaildir != null && localDomains.contains(senderDomain)) {
            String user = env.from.substring(0, env.from.lastIndexOf('@'));
            int plus = user.indexOf(Aliases.TAG);
            if (plus > 0) {
                user = user.substring(0, plus); // alice+tag@ is alice's, as MaildirDelivery has it
            }
            try {
                localMaildir.deliver(user, new ByteArrayInputStream(dsn));
                return;
            } catch (IOException | IllegalArgumentException e) {
                LOG.log(System.Logger.Level.WARNING, "queue " + env.id + ": cannot deliver the bounce locally: " + e);
            }
        }
        store("", new MailParameters(Optional.empty(), Optional.empty(), env.parameters.requireTls()),
                List.of(new Queued(env.from, RcptParameters.none(), false)), dsn);
    }

    private static String domainOf(String address) {
        int at = address.lastIndexOf('@');
        return at < 0 ? "" : address.substring(at + 1).toLowerCase(Locale.ROOT);
    }

    private List<Envelope> envelopes() throws IOException {
        List<Envelope> list = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return list;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.env")) {
            for (Path p : ds) {
                try {
                    list.add(Envelope.decode(p, Files.readAllBytes(p)));
                } catch (IOException | RuntimeException e) {
                    LOG.log(System.Logger.Level.ERROR, "queue: unreadable envelope " + p + ": " + e);
                }
            }
        }
        list.sort((a, b) -> a.id.compareTo(b.id));
        return list;
    }

    /**
     * Writes a queue file the one durable way (net-core's {@link DurableFiles}: temporary, fsync,
     * rename, directory fsync), owner-only since it holds someone's mail. Before, the rename was
     * not forced, so a message acknowledged with 250 could vanish in a crash.
     */
    private static void writeDurably(Path target, byte[] data) throws IOException {
        DurableFiles.replacePrivate(target, data);
    }

    private void signal() {
        lock.lock();
        try {
            signalled = true;
            wake.signalAll();
        } finally {
            lock.unlock();
        }
    }

    // Service

    @Override
    public String name() {
        return "smtp-queue";
    }

    /** Starts the delivery worker; messages already on disk are tried at once. */
    @Override
    public void start() throws IOException {
        Files.createDirectories(dir.resolve("tmp"));
        // leftovers of a crash before a commit: a .msg without its .env, DurableFiles' hidden
        // temporaries, and tmp/ files of older versions
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir.resolve("tmp"))) {
            for (Path p : ds) {
                Files.deleteIfExists(p);
            }
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, ".*.tmp")) {
            for (Path p : ds) {
                Files.deleteIfExists(p);
            }
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.msg")) {
            for (Path p : ds) {
                String name = p.getFileName().toString();
                if (!Files.exists(dir.resolve(name.substring(0, name.length() - 4) + ".env"))) {
                    Files.deleteIfExists(p);
                }
            }
        }
        running = true;
        scope = Scope.open("smtp-queue");
        scope.fork("smtp-queue-worker", this::work);
    }

    private void work() throws InterruptedException {
        while (running) {
            try {
                deliverDue();
            } catch (IOException e) {
                LOG.log(System.Logger.Level.ERROR, "queue " + dir + ": " + e);
            }
            Duration wait = Duration.ofSeconds(30);
            try {
                Instant now = clock.instant();
                for (Envelope e : envelopes()) {
                    Duration d = Duration.between(now, e.nextAttempt);
                    if (d.compareTo(wait) < 0) {
                        wait = d.isNegative() ? Duration.ZERO : d;
                    }
                }
            } catch (IOException e) {
                LOG.log(System.Logger.Level.ERROR, "queue " + dir + ": " + e);
            }
            lock.lock();
            try {
                // a message enqueued while the worker was delivering signalled nobody: it must
                // not wait for the next timed pass (up to 30 s) to go out
                if (running && !wait.isZero() && !signalled) {
                    wake.await(Math.max(1, wait.toMillis()), TimeUnit.MILLISECONDS);
                }
                signalled = false;
            } finally {
                lock.unlock();
            }
        }
    }

    @Override
    public List<Binding> bindings() {
        return List.of();
    }

    /** Stops the worker after the message at hand (bounded by {@code grace}); the queue stays on disk. */
    @Override
    public void shutdown(Duration grace) throws InterruptedException {
        running = false;
        signal();
        Scope s = scope;
        try {
            if (s != null) {
                s.join(grace); // false after the grace: close() below cancels the worker
            }
        } catch (RuntimeException workerFailed) {
            LOG.log(System.Logger.Level.DEBUG, "queue worker ended: " + workerFailed);
        } finally {
            close();
        }
    }

    /**
     * Nothing to reload, as a service or as a delivery: the queue's settings are fixed when it is
     * built.
     *
     * @return false
     */
    @Override
    public boolean reload() {
        return false;
    }

    @Override
    public void close() {
        running = false;
        signal();
        Scope s = scope;
        if (s != null) {
            s.cancel();
            try {
                s.close();
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.DEBUG, "queue worker ended: " + e);
            }
        }
        stopped.countDown();
    }

    @Override
    public void awaitTermination() throws InterruptedException {
        stopped.await();
    }

    /** A recipient waiting in the queue: its DSN parameters, and whether it was told of a delay. */
    private record Queued(String address, RcptParameters parameters, boolean warned) {}

    /**
     * The envelope file: one {@code key value} per line. The DSN lines ({@code ret}, {@code envid},
     * {@code requiretls}, and after a {@code rcpt} line its {@code notify}, {@code orcpt} and
     * {@code warned}) are left out when not given, so files from before them read as they did,
     * and older versions skip them. Values that may hold spaces are written as xtext.
     */
    private record Envelope(String id, String from, MailParameters parameters, List<Queued> recipients, int attempts,
            Instant arrived, Instant nextAttempt) {
        byte[] encode() {
            StringBuilder sb = new StringBuilder();
            sb.append("from ").append(from).append('\n');
            parameters.ret().ifPresent(r -> sb.append("ret ").append(r).append('\n'));
            parameters.envelopeId().ifPresent(e -> sb.append("envid ").append(DsnSyntax.encode(e)).append('\n'));
            if (parameters.requireTls()) {
                sb.append("requiretls\n");
            }
            sb.append("attempts ").append(attempts).append('\n');
            sb.append("arrived ").append(arrived.toEpochMilli()).append('\n');
            sb.append("next ").append(nextAttempt.toEpochMilli()).append('\n');
            for (Queued r : recipients) {
                sb.append("rcpt ").append(r.address()).append('\n');
                if (!r.parameters().notifyOn().isEmpty()) {
                    sb.append("notify ").append(String.join(",", r.parameters().notifyOn().stream().sorted().map(Enum::name).toList()))
                            .append('\n');
                }
                r.parameters().originalRecipient().ifPresent(o -> sb.append("orcpt ").append(DsnSyntax.encode(o)).append('\n'));
                if (r.warned()) {
                    sb.append("warned\n");
                }
            }
            return sb.toString().getBytes(StandardCharsets.UTF_8);
        }

        static Envelope decode(Path file, byte[] bytes) throws SmtpException {
            String name = file.getFileName().toString();
            String id = name.substring(0, name.length() - 4);
            String from = null;
            int attempts = 0;
            Instant arrived = Instant.EPOCH;
            Instant next = Instant.EPOCH;
            Optional<MailParameters.Ret> ret = Optional.empty();
            Optional<String> envid = Optional.empty();
            boolean requireTls = false;
            List<Queued> rcpts = new ArrayList<>();
            for (String line : new String(bytes, StandardCharsets.UTF_8).split("\n")) {
                int sp = line.indexOf(' ');
                String key = sp < 0 ? line : line.substring(0, sp);
                String value = sp < 0 ? "" : line.substring(sp + 1);
                Queued last = rcpts.isEmpty() ? null : rcpts.getLast();
                switch (key) {
                    case "from" -> from = value;
                    case "attempts" -> attempts = Integer.parseInt(value);
                    case "arrived" -> arrived = Instant.ofEpochMilli(Long.parseLong(value));
                    case "next" -> next = Instant.ofEpochMilli(Long.parseLong(value));
                    case "ret" -> ret = Optional.of(MailParameters.Ret.valueOf(value));
                    case "envid" -> envid = Optional.of(DsnSyntax.decode(value, "ENVID"));
                    case "requiretls" -> requireTls = true;
                    case "rcpt" -> rcpts.add(new Queued(value, RcptParameters.none(), false));
                    case "notify", "orcpt", "warned" -> {
                        if (last == null) {
                            throw new IllegalArgumentException(key + " before any rcpt");
                        }
                        RcptParameters p = last.parameters();
                        Queued changed = switch (key) {
                            case "notify" -> new Queued(last.address(), new RcptParameters(Arrays.stream(value.split(","))
                                    .map(RcptParameters.Notify::valueOf).collect(Collectors.toSet()), p.originalRecipient()),
                                    last.warned());
                            case "orcpt" -> new Queued(last.address(),
                                    new RcptParameters(p.notifyOn(), Optional.of(DsnSyntax.decode(value, "ORCPT"))), last.warned());
                            default -> new Queued(last.address(), p, true);
                        };
                        rcpts.set(rcpts.size() - 1, changed);
                    }
                    default -> { }
                }
            }
            if (from == null || rcpts.isEmpty()) {
                throw new IllegalArgumentException("envelope without sender or recipients");
            }
            return new Envelope(id, from, new MailParameters(ret, envid, requireTls), rcpts, attempts, arrived, next);
        }
    }

    /** Configuration for a {@link RelayQueue}. */
    public static final class Builder {
        private Path dir;
        private MxResolver resolver;
        private String heloName;
        private final Set<String> localDomains = new LinkedHashSet<>();
        private Maildir localMaildir;
        private List<Duration> retryDelays = List.of(Duration.ofMinutes(1), Duration.ofMinutes(5), Duration.ofMinutes(15),
                Duration.ofMinutes(30), Duration.ofHours(1), Duration.ofHours(2), Duration.ofHours(4), Duration.ofHours(8),
                Duration.ofHours(16), Duration.ofHours(24));
        private Clock clock = Clock.systemUTC();
        private Tls tls = SmtpClient.opportunisticTls();
        private String authUser;
        private String authPassword;
        private Duration timeout = Duration.ofMinutes(2);
        private int concurrency = 8;
        private Duration delayWarning = Duration.ZERO;
        private Tls verifiedTls;
        private MtaSts mtaSts;

        private Builder() {}

        /**
         * Checks each recipient domain's MTA-STS policy (RFC 8461) before delivering to it: under
         * an {@code enforce} policy only the MX hosts it names are used, and only over STARTTLS
         * with a certificate valid for the MX name ({@link #verifiedTls}); a domain no host of
         * which will do keeps its mail queued (retried, then bounced as any undelivered mail). A
         * {@code testing} policy only logs what enforcing would refuse. A message with
         * {@code TLS-Required: No} (RFC 8689 §5) is sent as without a policy. Off by default.
         */
        public Builder mtaSts(MtaSts policies) {
            this.mtaSts = Objects.requireNonNull(policies, "policies");
            return this;
        }

        /**
         * The client TLS configuration for next hops whose certificate must be verified: those of
         * a REQUIRETLS message (RFC 8689) and those under an enforced MTA-STS policy (RFC 8461).
         * Its trust decides which certificates count (the name is
         * checked against the MX host's, {@link MxResolver#hosts}); {@link Tls#client()}, the
         * JDK's trust store, by default, or {@link Tls#client(Path)} for a private CA.
         */
        public Builder verifiedTls(Tls tls) {
            this.verifiedTls = Objects.requireNonNull(tls, "tls");
            return this;
        }

        /**
         * How long a message may wait before its sender is told, once, that it is delayed (an
         * RFC 3464 report with {@code Action: delayed}, for the recipients whose NOTIFY asks for
         * DELAY, as they do without a NOTIFY); checked at each retry. Zero, the default, never
         * tells, as Postfix's {@code delay_warning_time} is off by default.
         */
        public Builder delayWarning(Duration delay) {
            if (delay.isNegative()) {
                throw new IllegalArgumentException("delay warning must not be negative: " + delay);
            }
            this.delayWarning = delay;
            return this;
        }

        /** How many messages are tried at the same time; 8 by default. */
        public Builder concurrency(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("concurrency must be positive: " + n);
            }
            this.concurrency = n;
            return this;
        }

        /** The queue directory (created if missing). */
        public Builder directory(Path dir) {
            this.dir = Objects.requireNonNull(dir, "dir");
            return this;
        }

        /** Where each domain's mail goes. */
        public Builder resolver(MxResolver resolver) {
            this.resolver = Objects.requireNonNull(resolver, "resolver");
            return this;
        }

        /** The name this MTA gives in EHLO and in bounces. */
        public Builder heloName(String name) {
            this.heloName = Objects.requireNonNull(name, "name");
            return this;
        }

        /**
         * Bounces for senders in {@code domain} (a {@code +tag} taken off the user) go straight
         * into {@code maildir}; repeatable, one call per local domain, with the same Maildir. The
         * first domain names this MTA in the bounces.
         */
        public Builder localDelivery(String domain, Maildir maildir) {
            this.localDomains.add(domain.toLowerCase(Locale.ROOT));
            this.localMaildir = Objects.requireNonNull(maildir, "maildir");
            return this;
        }

        /**
         * The waits before each retry; a recipient still failing temporarily after the last one
         * fails for good. Ten steps from 1 minute to 24 hours (about 2.5 days) by default.
         */
        public Builder retryDelays(List<Duration> delays) {
            this.retryDelays = List.copyOf(delays);
            return this;
        }

        /** The clock for retry times; the system clock by default. */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** TLS for STARTTLS with next hops ({@link SmtpClient#opportunisticTls()} by default); empty disables it. */
        public Builder tls(Optional<Tls> tls) {
            this.tls = tls.orElse(null);
            return this;
        }

        /** Credentials for next hops that offer AUTH (a smarthost). */
        public Builder auth(String user, String password) {
            this.authUser = Objects.requireNonNull(user, "user");
            this.authPassword = Objects.requireNonNull(password, "password");
            return this;
        }

        /** Bounds connecting and each read from a next hop; 2 minutes by default. */
        public Builder timeout(Duration timeout) {
            this.timeout = Objects.requireNonNull(timeout, "timeout");
            return this;
        }

        /**
         * Builds the queue (it is not started).
         *
         * @throws IllegalStateException if the directory, resolver or HELO name is missing
         */
        public RelayQueue build() {
            if (dir == null || resolver == null || heloName == null) {
                throw new IllegalStateException("a relay queue needs a directory, a resolver and a HELO name");
            }
            if (verifiedTls == null) {
                verifiedTls = Tls.client();
            }
            return new RelayQueue(this);
        }
    }
}
