package dev.twine.mail.smtp;

import dev.twine.core.auth.AuthenticationException;
import dev.twine.mail.maildir.Maildir;
import dev.twine.mail.sieve.SieveAction;
import dev.twine.mail.sieve.SieveFilter;
import dev.twine.mail.sieve.SieveMessage;
import dev.twine.mail.store.MailStore;
import dev.twine.mail.store.Mailbox;
import jakarta.mail.internet.AddressException;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeUtility;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.io.UnsupportedEncodingException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;

/**
 * Sieve at delivery for {@link MaildirDelivery}: asks the user's {@link SieveFilter} what to do
 * and does it. Every failure short of the inbox itself failing ends with the message in INBOX
 * (RFC 5228 §2.10.6); each is logged.
 */
final class SieveRun {
    private static final System.Logger LOG = System.getLogger(SieveRun.class.getName());
    /** Redirects one run may make, as Pigeonhole's {@code sieve_max_redirects}; more are ignored. */
    static final int MAX_REDIRECTS = 4;
    /** {@code Delivered-To:} fields a message may carry before a redirect is taken for a loop. */
    static final int MAX_HOPS = 16;
    /** How deep local redirects and replies may nest before one is dropped as a loop. */
    static final int MAX_DEPTH = 8;
    /** RFC 2369 and RFC 2919: a message carrying one of these came through a list (RFC 5230 §4.5). */
    private static final List<String> LIST_FIELDS = List.of("List-Id", "List-Help", "List-Subscribe", "List-Unsubscribe",
            "List-Post", "List-Owner", "List-Archive");

    private final Maildir maildir;
    private final Set<String> domains;
    private final Function<String, String> users;
    private final SieveFilter filter;
    private final RelayQueue outbound;
    private final VacationLog vacations;

    SieveRun(Maildir maildir, Set<String> domains, Function<String, String> users, SieveFilter filter, RelayQueue outbound,
            Clock clock) {
        this.maildir = maildir;
        this.domains = domains;
        this.users = users;
        this.filter = filter;
        this.outbound = outbound;
        this.vacations = new VacationLog(clock);
    }

    /**
     * Each user's actions for one message. With one recipient, a reject is answered in the
     * protocol, as Pigeonhole does in LMTP: {@code 550 5.7.1} and the reason, before anything is
     * stored (RFC 5429 §2.1.1). With several, the others must still get the message, so the
     * sender is sent a rejection instead, when the actions are carried out.
     *
     * @throws SmtpException the protocol-level rejection
     */
    Map<String, List<SieveAction>> decide(MailDelivery.Envelope<String> envelope, Map<String, String> addresses,
            Map<String, byte[]> deliveredTo, byte[] text) throws SmtpException, InterruptedException {
        Map<String, List<SieveAction>> out = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : addresses.entrySet()) {
            out.put(e.getKey(), actions(envelope.sender(), e.getKey(), e.getValue(), concat(deliveredTo.get(e.getKey()), text)));
        }
        if (envelope.recipients().size() == 1) {
            for (SieveAction a : out.values().iterator().next()) {
                if (a instanceof SieveAction.Reject r) {
                    LOG.log(System.Logger.Level.INFO, "sieve: " + envelope.id() + " rejected for " + addresses.values());
                    throw new SmtpException(Reply.of(550, "5.7.1 " + oneLine(r.reason())));
                }
            }
        }
        return out;
    }

    /** The filter's decision; whatever goes wrong, the implicit keep. */
    private List<SieveAction> actions(String sender, String user, String address, byte[] message) throws InterruptedException {
        try {
            List<SieveAction> actions = filter.filter(user, SieveMessage.of(sender, address, message));
            return actions == null || actions.isEmpty() ? SieveFilter.KEEP : actions;
        } catch (InterruptedException e) {
            throw e;
        } catch (Exception e) {
            LOG.log(System.Logger.Level.WARNING, "sieve: user " + user + ": filter failed, message kept in INBOX: " + e);
            return SieveFilter.KEEP;
        }
    }

    /**
     * Does what {@code actions} say for one user. Returns once every copy is stored and every
     * message it sends is queued (or stored, for a local user).
     *
     * @param depth how many local redirects or replies led here
     * @throws IOException if the message could go nowhere, not even INBOX
     */
    void carryOut(String sender, String user, String address, byte[] deliveredTo, byte[] text, List<SieveAction> actions,
            int depth) throws IOException, InterruptedException {
        boolean inInbox = false;
        boolean keepAnyway = false;
        int redirects = 0;
        SieveMessage original = SieveMessage.of(sender, address, text);
        for (SieveAction action : actions) {
            switch (action) {
                case SieveAction.Keep k -> {
                    store(sender, user, "INBOX", k.flags(), deliveredTo, text);
                    inInbox = true;
                }
                case SieveAction.FileInto f -> {
                    if (!fileInto(sender, user, f, deliveredTo, text)) {
                        keepAnyway = true;
                    }
                }
                case SieveAction.Discard d -> LOG.log(System.Logger.Level.DEBUG, "sieve: user " + user + ": discarded");
                case SieveAction.Redirect r -> {
                    if (++redirects > MAX_REDIRECTS) {
                        LOG.log(System.Logger.Level.WARNING, "sieve: user " + user + ": more than " + MAX_REDIRECTS
                                + " redirects; not to " + r.address());
                    } else if (!redirect(sender, user, address, r.address(), original, deliveredTo, text, depth)) {
                        keepAnyway = true;
                    }
                }
                case SieveAction.Reject j -> reject(sender, user, address, j.reason(), text, depth);
                case SieveAction.Vacation v -> vacation(user, address, original, v, depth);
            }
        }
        if (keepAnyway && !inInbox) {
            store(sender, user, "INBOX", Set.of(), deliveredTo, text);
        }
    }

    /**
     * Stores into one (existing) mailbox: without flags into {@code new/}, as without Sieve, so
     * the message is new (\Recent) there; with flags through the store, into {@code cur/} with
     * the flags and keywords set.
     */
    private void store(String sender, String user, String mailbox, Set<String> flags, byte[] deliveredTo, byte[] text)
            throws IOException {
        byte[] returnPath = ("Return-Path: <" + sender + ">\r\n").getBytes(StandardCharsets.UTF_8);
        if (mailbox.equals("INBOX") && flags.isEmpty()) {
            maildir.deliver(user, returnPath, deliveredTo, text);
            return;
        }
        InputStream in = new SequenceInputStream(Collections.enumeration(List.of(new ByteArrayInputStream(returnPath),
                new ByteArrayInputStream(deliveredTo), new ByteArrayInputStream(text))));
        if (flags.isEmpty()) {
            Maildir.deliver(maildir.folder(user, mailbox), in);
            return;
        }
        Mailbox box = account(user).mailbox(mailbox).orElseThrow(() -> new IOException("no mailbox " + mailbox));
        box.append(in, flags, null);
    }

    private MailStore.Account account(String user) throws IOException {
        try {
            return maildir.account(user);
        } catch (AuthenticationException e) {
            throw new IOException("no mailbox for " + user, e);
        }
    }

    /**
     * RFC 5228 §4.1 with RFC 5490's {@code :create}: {@code /} and {@code .} both separate levels
     * (the store's delimiter is {@code .}), and an {@code INBOX.} prefix (Dovecot's namespace) is
     * dropped. A mailbox that does not exist, and is not to be made, is an error: false, and the
     * message goes to INBOX.
     */
    private boolean fileInto(String sender, String user, SieveAction.FileInto f, byte[] deliveredTo, byte[] text)
            throws IOException {
        String name = f.mailbox().replace('/', '.');
        if (name.regionMatches(true, 0, "INBOX.", 0, 6)) {
            name = name.substring(6);
        }
        try {
            MailStore.Account account = account(user);
            if (account.mailbox(name).isEmpty()) {
                if (!f.create()) {
                    LOG.log(System.Logger.Level.INFO, "sieve: user " + user + ": fileinto \"" + f.mailbox()
                            + "\": no such folder (fileinto :create makes it); kept in INBOX");
                    return false;
                }
                account.create(name);
            }
            store(sender, user, name, f.flags(), deliveredTo, text);
            return true;
        } catch (IllegalArgumentException | IOException e) {
            LOG.log(System.Logger.Level.WARNING, "sieve: user " + user + ": fileinto \"" + f.mailbox() + "\" failed; kept in"
                    + " INBOX: " + e.getMessage());
            return false;
        }
    }

    /**
     * RFC 5228 §4.2, the message unchanged but for a {@code Delivered-To:} naming this user's
     * address first. It is a loop, and the message is kept instead, when it has already been
     * delivered to the target or to this address (a {@code Delivered-To:} for either), or has
     * passed {@link #MAX_HOPS} such deliveries.
     *
     * @return whether it was sent
     */
    private boolean redirect(String sender, String user, String address, String target, SieveMessage original,
            byte[] deliveredTo, byte[] text, int depth) throws InterruptedException {
        List<String> seen = original.header("Delivered-To");
        if (seen.size() >= MAX_HOPS || seen.stream().anyMatch(s -> s.equalsIgnoreCase(target) || s.equalsIgnoreCase(address))) {
            LOG.log(System.Logger.Level.WARNING, "sieve: user " + user + ": redirect to " + target
                    + " would loop (Delivered-To); kept in INBOX");
            return false;
        }
        byte[] trace = deliveredTo.length > 0 ? deliveredTo
                : ("Delivered-To: " + address + "\r\n").getBytes(StandardCharsets.UTF_8);
        try {
            send(sender, target, concat(trace, text), depth);
            return true;
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "sieve: user " + user + ": redirect to " + target + " failed; kept in INBOX: "
                    + e.getMessage());
            return false;
        }
    }

    /** RFC 5429 §2.1.1 when the protocol could not refuse: a delivery status notification to the sender. */
    private void reject(String sender, String user, String address, String reason, byte[] text, int depth)
            throws InterruptedException {
        if (sender.isEmpty()) {
            return; // RFC 5321 §4.5.5: nothing is ever sent to <>
        }
        byte[] dsn = Dsn.build(domains.iterator().next(), sender, vacations.now(), MailParameters.none(), Dsn.Action.FAILED,
                List.of(new Dsn.Recipient(address, Optional.empty(), "5.7.1", "550 5.7.1 " + oneLine(reason), null)), text);
        try {
            send("", sender, dsn, depth);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "sieve: user " + user + ": cannot send the rejection to " + sender + ": "
                    + e.getMessage());
        }
    }

    /**
     * RFC 5230: a reply, unless §4.5 (and RFC 3834 §2) says not to answer this message or the
     * sender was answered for this handle within the period (§4.2). The reply goes from
     * {@code <>} (§5.1); one that cannot be sent is logged and not retried.
     */
    private void vacation(String user, String address, SieveMessage m, SieveAction.Vacation v, int depth)
            throws InterruptedException {
        String sender = m.envelopeFrom();
        String why = noReply(user, address, m, v);
        if (why != null) {
            LOG.log(System.Logger.Level.DEBUG, "sieve: user " + user + ": no vacation reply: " + why);
            return;
        }
        try {
            if (!vacations.claim(maildir.inbox(user), sender, v.handle(), v.period())) {
                LOG.log(System.Logger.Level.DEBUG, "sieve: user " + user + ": " + sender + " was answered already");
                return;
            }
            send("", sender, reply(address, m, v), depth);
            LOG.log(System.Logger.Level.INFO, "sieve: user " + user + ": vacation reply sent to " + sender);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "sieve: user " + user + ": vacation reply to " + sender + " failed: "
                    + e.getMessage());
        }
    }

    /** Why no reply is due (RFC 5230 §4.5, RFC 3834 §2), or null when one may be. */
    private String noReply(String user, String address, SieveMessage m, SieveAction.Vacation v) {
        String sender = m.envelopeFrom();
        if (sender.isEmpty()) {
            return "null sender";
        }
        String local = sender.substring(0, Math.max(0, sender.lastIndexOf('@'))).toLowerCase(Locale.ROOT);
        if (local.equals("mailer-daemon") || local.startsWith("owner-") || local.endsWith("-request")
                || local.equals("listserv") || local.equals("majordomo")) {
            return "a list or daemon sender";
        }
        for (String a : m.header("Auto-Submitted")) {
            if (!a.split(";", 2)[0].strip().equalsIgnoreCase("no")) {
                return "Auto-Submitted: " + a;
            }
        }
        for (String field : LIST_FIELDS) {
            if (!m.header(field).isEmpty()) {
                return field;
            }
        }
        for (String p : m.header("Precedence")) {
            if (Set.of("bulk", "list", "junk").contains(p.strip().toLowerCase(Locale.ROOT))) {
                return "Precedence: " + p;
            }
        }
        Set<String> own = own(user, address, v.addresses());
        if (own.contains(plain(sender))) {
            return "from the user's own address";
        }
        for (String field : List.of("To", "Cc", "Bcc", "Resent-To", "Resent-Cc", "Resent-Bcc")) {
            for (String value : m.header(field)) {
                for (String a : addresses(value)) {
                    if (own.contains(plain(a))) {
                        return null;
                    }
                }
            }
        }
        return "the user's address is not in To, Cc or Bcc";
    }

    /** The user's own addresses, compared without a {@code +tag} and in lower case (RFC 5230 §4.5). */
    private Set<String> own(String user, String address, Set<String> more) {
        Set<String> own = new LinkedHashSet<>();
        for (String d : domains) {
            own.add(plain(user + "@" + d));
        }
        own.add(plain(address));
        more.forEach(a -> own.add(plain(a)));
        return own;
    }

    private static String plain(String address) {
        String a = address.strip().toLowerCase(Locale.ROOT);
        int at = a.lastIndexOf('@');
        int plus = a.indexOf(Aliases.TAG);
        return plus > 0 && at > plus ? a.substring(0, plus) + a.substring(at) : a;
    }

    private static List<String> addresses(String value) {
        List<String> out = new ArrayList<>();
        try {
            for (InternetAddress a : InternetAddress.parseHeader(value, false)) {
                if (a.getAddress() != null) {
                    out.add(a.getAddress());
                }
            }
        } catch (AddressException e) {
            // an unreadable field names nobody
        }
        return out;
    }

    /** RFC 5230 §5: the reply's fields and text. */
    private byte[] reply(String address, SieveMessage m, SieveAction.Vacation v) throws IOException {
        String domain = domains.iterator().next();
        String from = v.from().isEmpty() ? address : v.from();
        List<String> subjects = m.header("Subject");
        String subject = !v.subject().isEmpty() ? v.subject() : "Auto: " + (subjects.isEmpty() ? "" : subjects.get(0));
        StringBuilder sb = new StringBuilder();
        sb.append("From: ").append(headerSafe(from)).append("\r\n");
        sb.append("To: <").append(m.envelopeFrom()).append(">\r\n");
        sb.append("Subject: ").append(encode(subject)).append("\r\n");
        sb.append("Date: ").append(Rfc5322.format(vacations.now().atZone(ZoneOffset.UTC))).append("\r\n");
        sb.append("Message-ID: <").append(UUID.randomUUID()).append('@').append(domain).append(">\r\n");
        Optional<String> id = m.header("Message-ID").stream().findFirst().map(String::strip);
        if (id.isPresent()) {
            sb.append("In-Reply-To: ").append(headerSafe(id.get())).append("\r\n"); // §5.5, RFC 5322 §3.6.4
            String refs = m.header("References").stream().findFirst().map(r -> headerSafe(r) + " ").orElse("");
            sb.append("References: ").append(refs).append(headerSafe(id.get())).append("\r\n");
        }
        sb.append("Auto-Submitted: auto-replied (vacation)\r\n"); // RFC 3834 §5, RFC 5230 §5.6
        sb.append("MIME-Version: 1.0\r\n");
        String reason = v.reason().replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n");
        if (v.mime()) {
            sb.append(reason); // §4.4: a MIME entity, its own header then its body
        } else {
            sb.append("Content-Type: text/plain; charset=utf-8\r\n");
            sb.append("Content-Transfer-Encoding: 8bit\r\n\r\n");
            sb.append(reason);
        }
        if (!reason.endsWith("\r\n")) {
            sb.append("\r\n");
        }
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static String headerSafe(String s) {
        return s.replaceAll("[\\r\\n]+", " ");
    }

    private static String encode(String text) {
        try {
            return MimeUtility.encodeText(headerSafe(text), "utf-8", "Q");
        } catch (UnsupportedEncodingException e) {
            return headerSafe(text);
        }
    }

    /**
     * Sends mail a script made: straight into a local user's Maildir (through their own filter,
     * {@link #MAX_DEPTH} deep at most), else durably into the relay queue.
     *
     * @throws IOException if it could not be stored or queued, or there is no queue for it
     */
    private void send(String from, String to, byte[] message, int depth) throws IOException, InterruptedException {
        int at = to.lastIndexOf('@');
        String user = at > 0 && domains.contains(to.substring(at + 1).toLowerCase(Locale.ROOT)) ? users.apply(to.substring(0, at))
                : null;
        if (user != null) {
            if (depth >= MAX_DEPTH) {
                throw new IOException("local redirects nested " + MAX_DEPTH + " deep: a loop");
            }
            byte[] deliveredTo = MaildirDelivery.deliveredTo(to, user);
            List<SieveAction> actions = actions(from, user, to, concat(deliveredTo, message));
            carryOut(from, user, to, deliveredTo, message, actions, depth + 1);
            return;
        }
        if (outbound == null) {
            throw new IOException("no relay queue for mail to " + to);
        }
        outbound.enqueue(from, List.of(to), message);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        if (a.length == 0) {
            return b;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(a.length + b.length);
        out.writeBytes(a);
        out.writeBytes(b);
        return out.toByteArray();
    }

    private static String oneLine(String s) {
        return s.replaceAll("[\\r\\n\\t]+", " ").strip();
    }
}
