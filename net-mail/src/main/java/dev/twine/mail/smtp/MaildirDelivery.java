package dev.twine.mail.smtp;

import dev.twine.core.auth.UserStore;
import dev.twine.mail.maildir.Maildir;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Local delivery: mail for {@code user@domain}, in any of the local domains, goes into that
 * user's Maildir++ inbox (one user store serves every domain, as Postfix's local domains do); the
 * destination of each recipient is the local user name. What {@code twine mail} delivers with.
 *
 * <pre>{@code
 * MailDelivery<String> local = MaildirDelivery.builder()
 *         .domain("example.org").maildir(Maildir.open(Path.of("/var/mail"))).users(usersFile)
 *         .postmaster("alice").build();
 * SmtpServer mx = SmtpServer.builder().domain("example.org").delivery(local)
 *         .listen("tcp:25").build();
 * }</pre>
 *
 * <h2>Recipients</h2>
 * A recipient is accepted when its domain is one of this delivery's and its local part names a
 * user of the user store: as written, else in lower case (RFC 5321 §2.4 leaves the case of a
 * local part to its domain; here {@code Alice} reaches {@code alice}, while a user whose name has
 * capitals gets mail written either exactly so or in lower case); otherwise
 * {@code 550 5.1.1 User unknown}. A tag after {@code +} ({@code alice+lists@}, plus-addressing)
 * reaches the user before it, and the message stored for that user begins with
 * {@code Delivered-To: alice+lists@example.org} after {@code Return-Path:}, so the tag stays for
 * the user's filters (a user whose own name holds a {@code +} is found first).
 * {@code postmaster} (in any case, RFC 5321 §4.5.1) is always accepted: for the user of that name,
 * else the {@linkplain Builder#postmaster configured} user, else the Maildir mailbox
 * {@code postmaster}. An address in another domain is refused with {@code 550 5.7.1}: combine this
 * delivery with a {@link RelayQueue} through {@link MailDelivery#byDomain} to relay.
 *
 * <h2>What returning promises</h2>
 * {@link #deliver} writes {@code Return-Path:} (RFC 5321 §4.4) and the message once into each
 * distinct user's {@code tmp/}, forces it to disk, renames it into {@code new/} and forces the
 * directory ({@link Maildir#deliver(String, byte[]...)}); it returns only when every copy is there.
 * With a {@linkplain Builder#sieve Sieve filter}, each user's copy goes where the filter says
 * (folders, flags, nowhere), and what the filter sends (redirects, vacation replies, rejections)
 * is stored or {@linkplain Builder#outbound queued} durably before it returns too; a reject for
 * a message with one recipient is {@code 550 5.7.1} instead, nothing stored.
 *
 * <h2>Error handling</h2>
 * A user whose copy cannot be written gets {@code 451 4.3.0}: when others got theirs, through a
 * {@link PartialDeliveryException}, else as the {@link IOException} itself.
 */
public final class MaildirDelivery implements MailDelivery<String> {
    private static final System.Logger LOG = System.getLogger(MaildirDelivery.class.getName());

    private final Set<String> domains;
    private final Maildir maildir;
    private final UserStore users;
    private final String postmaster;
    /** Runs each user's Sieve filter and carries out its actions; null when there is no filter. */
    private final SieveRun sieve;

    private MaildirDelivery(Builder b) {
        this.domains = Set.copyOf(b.domains);
        this.maildir = b.maildir;
        this.users = b.users;
        this.postmaster = b.postmaster;
        this.sieve = b.sieve == null ? null : new SieveRun(maildir, domains, this::user, b.sieve, b.outbound, b.clock);
    }

    /** A builder; {@link Builder#domain}, {@link Builder#maildir} and {@link Builder#users} are required. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Accepts {@code address} if it names a local user or postmaster; see the class description.
     *
     * @return the local user (the Maildir mailbox) mail to it goes to
     * @throws SmtpException {@code 550 5.1.1} for an unknown user, {@code 550 5.7.1} for another domain
     */
    @Override
    public String recipient(Session session, String sender, String address) throws SmtpException {
        int at = address.lastIndexOf('@');
        if (at < 0 || !domains.contains(address.substring(at + 1).toLowerCase(Locale.ROOT))) {
            throw new SmtpException(Reply.of(550, "5.7.1 <" + address + ">: Relaying is not configured here"));
        }
        String user = user(address.substring(0, at));
        if (user == null) {
            throw new SmtpException(Reply.of(550, "5.1.1 <" + address + ">: Recipient address rejected: User unknown"));
        }
        return user;
    }

    /**
     * The local user mail to {@code local@domain} goes to, or null if there is none. RFC 5321
     * §4.5.1: postmaster is always accepted, in any case: the user of that name, else the
     * configured one, else the mailbox named postmaster.
     */
    String user(String local) {
        String user = exactUser(local);
        int plus = local.indexOf(Aliases.TAG);
        return user != null || plus <= 0 ? user : exactUser(local.substring(0, plus));
    }

    /** {@link #user} for a local part taken whole. */
    private String exactUser(String local) {
        // RFC 5321 §4.5.1: "postmaster" is matched without regard to case
        for (String candidate : List.of(local, local.toLowerCase(Locale.ROOT))) {
            if (candidate.isEmpty() || candidate.startsWith(".") || candidate.contains("/") || candidate.contains("\\")) {
                return null;
            }
            if (users.find(candidate).isPresent()) {
                return candidate;
            }
        }
        if (local.equalsIgnoreCase("postmaster")) {
            return postmaster != null ? postmaster : "postmaster";
        }
        return null;
    }

    /**
     * Stores the message once in each recipient user's inbox; see the class description for
     * what returning promises.
     *
     * @throws PartialDeliveryException naming the recipients whose copy could not be written,
     *     when others were
     * @throws IOException if no copy could be written
     */
    @Override
    public void deliver(Envelope<String> envelope, InputStream message) throws IOException, InterruptedException {
        byte[] returnPath = ("Return-Path: <" + envelope.sender() + ">\r\n").getBytes(StandardCharsets.UTF_8);
        byte[] text = message.readAllBytes();
        Map<String, IOException> failed = new LinkedHashMap<>();
        int stored = 0;
        Map<String, byte[]> deliveredTo = new LinkedHashMap<>();
        Map<String, String> addresses = new LinkedHashMap<>();
        for (Recipient<String> r : envelope.recipients()) {
            deliveredTo.computeIfAbsent(r.destination(), user -> deliveredTo(r.address(), user));
            addresses.putIfAbsent(r.destination(), r.address());
        }
        Map<String, List<dev.twine.mail.sieve.SieveAction>> filtered = sieve == null ? Map.of()
                : sieve.decide(envelope, addresses, deliveredTo, text);
        for (Map.Entry<String, byte[]> copy : deliveredTo.entrySet()) {
            String user = copy.getKey();
            try {
                if (sieve == null) {
                    maildir.deliver(user, returnPath, copy.getValue(), text);
                } else {
                    sieve.carryOut(envelope.sender(), user, addresses.get(user), copy.getValue(), text, filtered.get(user), 0);
                }
                stored++;
            } catch (IOException e) {
                failed.put(user, e);
            }
        }
        if (failed.isEmpty()) {
            return;
        }
        if (stored == 0) {
            throw failed.values().iterator().next(); // the session logs it
        }
        failed.forEach((user, e) -> LOG.log(System.Logger.Level.WARNING,
                "cannot store message " + envelope.id() + " for " + user + ": " + e));
        Map<String, Reply> replies = new LinkedHashMap<>();
        for (Recipient<String> r : envelope.recipients()) {
            if (failed.containsKey(r.destination())) {
                replies.put(r.address(), Reply.of(451, "4.3.0 Local error in processing; try again later"));
            }
        }
        throw new PartialDeliveryException(replies);
    }

    /**
     * The {@code Delivered-To:} field for mail to {@code address} stored for {@code user}: the
     * address when it carries a tag the user name does not (plus-addressing), else nothing.
     */
    static byte[] deliveredTo(String address, String user) {
        int at = address.lastIndexOf('@');
        int plus = address.indexOf(Aliases.TAG);
        if (plus <= 0 || plus > at || address.substring(0, at).equalsIgnoreCase(user)) {
            return new byte[0];
        }
        return ("Delivered-To: " + address + "\r\n").getBytes(StandardCharsets.UTF_8);
    }

    /** Configuration for a {@link MaildirDelivery}. */
    public static final class Builder {
        private final Set<String> domains = new LinkedHashSet<>();
        private Maildir maildir;
        private UserStore users;
        private String postmaster;
        private dev.twine.mail.sieve.SieveFilter sieve;
        private RelayQueue outbound;
        private java.time.Clock clock = java.time.Clock.systemUTC();

        private Builder() {}

        /**
         * Runs {@code filter} (usually {@link dev.twine.mail.sieve.SieveScripts}, the users'
         * Sieve scripts) for each user a message is for, before storing it, and carries out what
         * it decides: keep and fileinto with their flags, discard, redirect, reject and vacation
         * (the module README's "Sieve at delivery" says how each is done). A filter's failure,
         * or a failing action, puts the message in INBOX. Without a filter every message goes to
         * INBOX.
         *
         * @param filter the filter
         * @return this builder
         */
        public Builder sieve(dev.twine.mail.sieve.SieveFilter filter) {
            this.sieve = Objects.requireNonNull(filter, "filter");
            return this;
        }

        /**
         * Where mail a filter sends to other domains goes (redirects, vacation replies,
         * rejections): queued durably before the message counts as delivered. Without it such
         * mail can go to local users only, and the rest is logged and dropped (the original is
         * then kept).
         *
         * @param queue the relay queue
         * @return this builder
         */
        public Builder outbound(RelayQueue queue) {
            this.outbound = Objects.requireNonNull(queue, "queue");
            return this;
        }

        /**
         * The clock for the vacation records ({@code :days}); the system clock by default.
         *
         * @param clock the clock
         * @return this builder
         */
        public Builder clock(java.time.Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /**
         * Adds a local mail domain: mail to {@code user@domain} goes to the Maildir; repeatable,
         * for a server that takes mail for several domains.
         */
        public Builder domain(String domain) {
            this.domains.add(Objects.requireNonNull(domain, "domain").toLowerCase(Locale.ROOT));
            return this;
        }

        /** Where local mail is delivered. */
        public Builder maildir(Maildir maildir) {
            this.maildir = Objects.requireNonNull(maildir, "maildir");
            return this;
        }

        /** Who the local users are (a name absent here gets 550 at RCPT). */
        public Builder users(UserStore users) {
            this.users = Objects.requireNonNull(users, "users");
            return this;
        }

        /**
         * The local user who gets mail for {@code postmaster} when the user store has no user of
         * that name. Without either, such mail is still accepted and kept in the Maildir mailbox
         * {@code postmaster}, for a user of that name added later.
         *
         * @throws IllegalArgumentException if it cannot be a local user name
         */
        public Builder postmaster(String localUser) {
            Objects.requireNonNull(localUser, "localUser");
            if (localUser.isEmpty() || localUser.startsWith(".") || localUser.contains("/") || localUser.contains("\\")
                    || localUser.contains("@")) {
                throw new IllegalArgumentException("not a local user name: " + localUser);
            }
            this.postmaster = localUser;
            return this;
        }

        /**
         * Builds the delivery.
         *
         * @throws IllegalStateException naming the first of domain, maildir and users that is missing
         */
        public MaildirDelivery build() {
            if (domains.isEmpty()) {
                throw new IllegalStateException("domain(...) is required");
            }
            if (maildir == null) {
                throw new IllegalStateException("maildir(...) is required");
            }
            if (users == null) {
                throw new IllegalStateException("users(...) is required");
            }
            return new MaildirDelivery(this);
        }
    }
}
