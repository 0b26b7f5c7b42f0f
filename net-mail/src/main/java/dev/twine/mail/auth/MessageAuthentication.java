package dev.twine.mail.auth;

import dev.twine.core.AddressBlock;
import dev.twine.mail.smtp.MailDelivery;
import dev.twine.mail.smtp.Reply;
import dev.twine.mail.smtp.SmtpException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The checks made on mail arriving from the Internet (the port 25 role), their record, and the
 * policies they enforce. The record is one {@code Authentication-Results} field (RFC 8601) at the
 * top of every message, naming this server ({@linkplain Builder#authservId the authserv-id}) and
 * each check's result; any {@code Authentication-Results} field already in the message that
 * claims the same authserv-id is a forgery (RFC 8601 §5) and is removed. The checks:
 * <ul>
 * <li>SPF ({@link Spf}, when {@linkplain Builder#spf given}): {@code spf=pass
 * smtp.mailfrom=user@example.net}, or {@code smtp.helo=} for the null sender (RFC 8601 §2.7.2,
 * which makes a {@code Received-SPF} field unnecessary);</li>
 * <li>DKIM ({@link DkimVerifier}): one {@code dkim=} entry per signature, {@code dkim=none}
 * when there is none;</li>
 * <li>DMARC ({@link Dmarc}, when {@linkplain Builder#dmarc given}), from the two above:
 * {@code dmarc=fail (p=reject dis=reject) header.from=example.net}.</li>
 * </ul>
 * SPF and DMARC are not checked for a client that logged in (it sends as a user) nor for one in
 * a {@linkplain Builder#trusted trusted network} (mail from the organisation's own hosts).
 *
 * <pre>{@code
 * MessageAuthentication checks = MessageAuthentication.builder().authservId("mx.example.org")
 *         .dkim(DkimVerifier.builder().resolver(resolver).build())
 *         .spf(Spf.builder().resolver(resolver).build()).rejectSpfFail(true)
 *         .dmarc(Dmarc.builder().resolver(resolver).build()).honourDmarc(true)
 *         .build();
 * SmtpServer mx = SmtpServer.builder().domain("example.org").delivery(checks.over(maildirDelivery))
 *         .listen("tcp:25").build();
 * }</pre>
 *
 * <h2>Policies</h2>
 * By default the checks only record. With {@link Builder#rejectSpfFail}, a {@code RCPT} whose
 * sender SPF says {@code fail} is refused with {@code 550 5.7.23} (RFC 7372) and the domain's
 * explanation, as Postfix's policyd-spf does; {@code softfail} and the rest are recorded. With
 * {@link Builder#honourDmarc}, a DMARC failure whose disposition is {@code reject} is refused at
 * the end of DATA (the first point where {@code From:} is known) with {@code 550 5.7.1}; one
 * whose disposition is {@code quarantine} is delivered with {@code X-Spam-Flag: YES} added (the
 * mark mail clients and Sieve rules take to mean junk; any such field the message had is
 * removed); {@code none} is delivered.
 *
 * <h2>Blocking and errors</h2>
 * {@link #over} reads each message whole into memory (the server's size limit bounds it) and
 * blocks for the DNS lookups the checks make. A DNS failure is a {@code temperror} result, never
 * an exception. Thread-safe.
 */
public final class MessageAuthentication {
    /** SPF results computed at RCPT, kept for the end of DATA; the oldest are dropped past this many. */
    private static final int REMEMBERED = 1024;

    private final String authservId;
    private final DkimVerifier dkim;
    private final Spf spf;
    private final Dmarc dmarc;
    private final boolean rejectSpfFail;
    private final boolean honourDmarc;
    private final List<AddressBlock> trusted;
    private final ReentrantLock lock = new ReentrantLock();
    /** The SPF result of a transaction, by session and sender, from its first RCPT to its DATA. */
    private final Map<Transaction, SpfResult> spfResults = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Transaction, SpfResult> eldest) {
            return size() > REMEMBERED;
        }
    };

    private record Transaction(MailDelivery.Session session, String sender) {}

    /** The results for one message. */
    record Results(SpfResult spf, List<DkimResult> dkim, DmarcResult dmarc) {}

    private MessageAuthentication(Builder b) {
        this.authservId = b.authservId;
        this.dkim = b.dkim;
        this.spf = b.spf;
        this.dmarc = b.dmarc;
        this.rejectSpfFail = b.rejectSpfFail;
        this.honourDmarc = b.honourDmarc;
        this.trusted = List.copyOf(b.trusted);
    }

    /** A builder; {@link Builder#authservId} and {@link Builder#dkim} are required. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * {@code message} as it should be stored after the checks: the new
     * {@code Authentication-Results} field in front, forged ones (our authserv-id) removed, and
     * for a quarantined message {@code X-Spam-Flag: YES}.
     *
     * @param envelope the message's envelope (client address, HELO name, MAIL FROM)
     * @throws SmtpException {@code 550 5.7.1} for a DMARC reject when {@link Builder#honourDmarc}
     * @throws InterruptedException if interrupted during a lookup
     */
    public byte[] apply(MailDelivery.Envelope<?> envelope, byte[] message) throws SmtpException, InterruptedException {
        MessageText text = MessageText.parse(message);
        Results r = results(envelope.session(), envelope.sender(), text, message);
        List<String> entries = new ArrayList<>();
        if (r.spf() != null) {
            entries.add(r.spf().resultsEntry());
        }
        if (r.dkim().isEmpty()) {
            entries.add("dkim=none");
        }
        r.dkim().forEach(d -> entries.add(d.resultsEntry()));
        if (r.dmarc() != null) {
            entries.add(r.dmarc().resultsEntry());
        }
        String field = "Authentication-Results: " + authservId + ";\r\n\t" + String.join(";\r\n\t", entries) + "\r\n";
        Dmarc.Policy disposition = r.dmarc() == null || !honourDmarc ? Dmarc.Policy.NONE : r.dmarc().disposition();
        if (disposition == Dmarc.Policy.REJECT) {
            throw new SmtpException(Reply.of(550, "5.7.1 Message rejected by the DMARC policy of " + r.dmarc().fromDomain()));
        }
        boolean quarantine = disposition == Dmarc.Policy.QUARANTINE;
        return text.rewrite(quarantine ? "X-Spam-Flag: YES\r\n" + field : field,
                f -> f.name().equals("authentication-results") && authservId.equalsIgnoreCase(authservIdOf(f.value()))
                        || quarantine && f.name().equals("x-spam-flag"));
    }

    /** Every check's result for a message; SPF and DMARC null when not checked for this client. */
    Results results(MailDelivery.Session session, String sender, MessageText text, byte[] message) throws InterruptedException {
        List<DkimResult> signatures = dkim.verify(message);
        InetAddress client = checkedClient(session);
        if (client == null) {
            return new Results(null, signatures, null);
        }
        SpfResult s = null;
        if (spf != null) {
            lock.lock();
            try {
                s = spfResults.remove(new Transaction(session, sender));
            } finally {
                lock.unlock();
            }
            if (s == null) {
                s = spf.check(client, session.heloName(), sender);
            }
        }
        DmarcResult d = dmarc == null ? null : dmarc.evaluate(Addresses.fromDomain(text), s, signatures);
        return new Results(s, signatures, d);
    }

    /** The client's address when SPF and DMARC apply to it: not logged in, not trusted; else null. */
    private InetAddress checkedClient(MailDelivery.Session session) {
        if (session.principal().isPresent() || !(session.client() instanceof InetSocketAddress a) || a.getAddress() == null
                || AddressBlock.anyContains(trusted, a.getAddress())) {
            return null;
        }
        return a.getAddress();
    }

    /** RCPT: with {@link Builder#rejectSpfFail}, the SPF check, remembered for the end of DATA. */
    private void checkRecipient(MailDelivery.Session session, String sender) throws SmtpException, InterruptedException {
        InetAddress client = checkedClient(session);
        if (spf == null || !rejectSpfFail || client == null) {
            return;
        }
        Transaction t = new Transaction(session, sender);
        SpfResult r;
        lock.lock();
        try {
            r = spfResults.get(t);
        } finally {
            lock.unlock();
        }
        if (r == null) {
            r = spf.check(client, session.heloName(), sender);
            lock.lock();
            try {
                spfResults.put(t, r);
            } finally {
                lock.unlock();
            }
        }
        if (r.result() == AuthResult.FAIL) {
            throw new SmtpException(Reply.of(550, "5.7.23 SPF fail: " + r.explanation()));
        }
    }

    /** The authserv-id an {@code Authentication-Results} value names: its first token, comments skipped. */
    static String authservIdOf(String value) {
        String v = value.replaceAll("\\([^()]*\\)", " ").strip();
        int end = 0;
        while (end < v.length() && v.charAt(end) != ';' && !Character.isWhitespace(v.charAt(end))) {
            end++;
        }
        return v.substring(0, end).toLowerCase(Locale.ROOT);
    }

    /**
     * A delivery that makes the checks: at each {@code RCPT} the SPF policy (see the class
     * description), then {@code delivery}; at the end of DATA the message {@linkplain #apply
     * checked, recorded and perhaps refused}, then handed to {@code delivery}. Other errors are
     * {@code delivery}'s own.
     */
    public <T> MailDelivery<T> over(MailDelivery<T> delivery) {
        return WrappedDelivery.of(delivery, this::checkRecipient, this::apply);
    }

    /** A configuration. */
    public static final class Builder {
        private String authservId;
        private DkimVerifier dkim;
        private Spf spf;
        private Dmarc dmarc;
        private boolean rejectSpfFail;
        private boolean honourDmarc;
        private final List<AddressBlock> trusted = new ArrayList<>();

        private Builder() {}

        /** The name this server signs its results with (RFC 8601 §2.5): usually its host name. */
        public Builder authservId(String id) {
            String v = Objects.requireNonNull(id, "id").strip();
            if (!v.matches("[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?")) {
                throw new IllegalArgumentException("not a host name for an authserv-id: " + id);
            }
            this.authservId = v.toLowerCase(Locale.ROOT);
            return this;
        }

        /** The DKIM verifier. */
        public Builder dkim(DkimVerifier verifier) {
            this.dkim = Objects.requireNonNull(verifier, "verifier");
            return this;
        }

        /** The SPF check; without one, SPF is not checked (and DMARC can pass only through DKIM). */
        public Builder spf(Spf check) {
            this.spf = Objects.requireNonNull(check, "check");
            return this;
        }

        /** The DMARC evaluation; without one, DMARC is not checked. */
        public Builder dmarc(Dmarc evaluation) {
            this.dmarc = Objects.requireNonNull(evaluation, "evaluation");
            return this;
        }

        /** Whether an SPF {@code fail} refuses each RCPT with {@code 550 5.7.23} (default false: recorded only). */
        public Builder rejectSpfFail(boolean on) {
            this.rejectSpfFail = on;
            return this;
        }

        /**
         * Whether the DMARC disposition is carried out, {@code reject} refused and
         * {@code quarantine} marked (default false: recorded only).
         */
        public Builder honourDmarc(boolean on) {
            this.honourDmarc = on;
            return this;
        }

        /**
         * A network whose clients are not SPF- or DMARC-checked (repeatable; none by default):
         * the organisation's own hosts, as Postfix's {@code mynetworks}.
         */
        public Builder trusted(AddressBlock network) {
            trusted.add(Objects.requireNonNull(network, "network"));
            return this;
        }

        /**
         * The checks.
         *
         * @throws IllegalStateException naming the missing builder method
         */
        public MessageAuthentication build() {
            if (authservId == null) {
                throw new IllegalStateException("authservId(...) is required");
            }
            if (dkim == null) {
                throw new IllegalStateException("dkim(...) is required");
            }
            return new MessageAuthentication(this);
        }
    }
}
