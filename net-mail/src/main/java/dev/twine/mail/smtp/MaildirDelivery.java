package dev.twine.mail.smtp;

import dev.twine.core.auth.UserStore;
import dev.twine.mail.maildir.Maildir;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Local delivery: mail for {@code user@domain} goes into that user's Maildir++ inbox; the
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
 * A recipient is accepted when its domain is this delivery's and its local part names a user of
 * the user store (as written, else in lower case); otherwise {@code 550 5.1.1 User unknown}.
 * {@code postmaster} (in any case, RFC 5321 §4.5.1) is always accepted: for the user of that name,
 * else the {@linkplain Builder#postmaster configured} user, else the Maildir mailbox
 * {@code postmaster}. An address in another domain is refused with {@code 550 5.7.1}: combine this
 * delivery with a {@link RelayQueue} through {@link MailDelivery#byDomain} to relay.
 *
 * <h2>What returning promises</h2>
 * {@link #deliver} writes {@code Return-Path:} (RFC 5321 §4.4) and the message once into each
 * distinct user's {@code tmp/}, forces it to disk, renames it into {@code new/} and forces the
 * directory ({@link Maildir#deliver(String, byte[]...)}); it returns only when every copy is there.
 *
 * <h2>Error handling</h2>
 * A user whose copy cannot be written gets {@code 451 4.3.0}: when others got theirs, through a
 * {@link PartialDeliveryException}, else as the {@link IOException} itself.
 */
public final class MaildirDelivery implements MailDelivery<String> {
    private static final System.Logger LOG = System.getLogger(MaildirDelivery.class.getName());

    private final String domain;
    private final Maildir maildir;
    private final UserStore users;
    private final String postmaster;

    private MaildirDelivery(Builder b) {
        this.domain = b.domain;
        this.maildir = b.maildir;
        this.users = b.users;
        this.postmaster = b.postmaster;
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
        if (at < 0 || !address.substring(at + 1).equalsIgnoreCase(domain)) {
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
    private String user(String local) {
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
    public void deliver(Envelope<String> envelope, InputStream message) throws IOException {
        byte[] returnPath = ("Return-Path: <" + envelope.sender() + ">\r\n").getBytes(StandardCharsets.UTF_8);
        byte[] text = message.readAllBytes();
        Map<String, IOException> failed = new LinkedHashMap<>();
        int stored = 0;
        for (String user : envelope.recipients().stream().map(Recipient::destination).distinct().toList()) {
            try {
                maildir.deliver(user, returnPath, text);
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

    /** Configuration for a {@link MaildirDelivery}. */
    public static final class Builder {
        private String domain;
        private Maildir maildir;
        private UserStore users;
        private String postmaster;

        private Builder() {}

        /** The local mail domain: mail to {@code user@domain} goes to the Maildir. */
        public Builder domain(String domain) {
            this.domain = Objects.requireNonNull(domain, "domain").toLowerCase(Locale.ROOT);
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
            if (domain == null) {
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
