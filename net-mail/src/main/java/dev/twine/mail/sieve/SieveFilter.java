package dev.twine.mail.sieve;

import java.io.IOException;
import java.util.List;
import java.util.Set;

/**
 * Decides what becomes of a message delivered to a local user: the hook a local delivery calls
 * once per user and message, before it stores anything ({@link dev.twine.mail.smtp.MaildirDelivery
 * .Builder#sieve}). The shipped implementation is {@link SieveScripts}, which runs the user's active
 * Sieve script; a filter of one's own may decide in code.
 *
 * <pre>{@code
 * SieveFilter lists = (user, message) -> {
 *     for (String id : message.header("List-Id")) {
 *         if (id.contains("<dev.lists.example.org>")) {
 *             return List.of(new SieveAction.FileInto("Lists.dev", Set.of(), true));
 *         }
 *     }
 *     return SieveFilter.KEEP;
 * };
 * MaildirDelivery local = MaildirDelivery.builder().domain("example.org").maildir(maildir)
 *         .users(users).sieve(lists).build();
 * }</pre>
 *
 * <h2>Error handling</h2>
 * It runs on the delivering connection's virtual thread and may block (reading a script, say).
 * Whatever it throws, the deliverer logs it and keeps the message in INBOX (RFC 5228 §2.10.6): a
 * filter that fails never loses mail. {@link InterruptedException} means the server is stopping;
 * the delivery then fails with a temporary error and the client tries again.
 */
@FunctionalInterface
public interface SieveFilter {
    /** The implicit keep alone: the message goes to INBOX without flags. */
    List<SieveAction> KEEP = List.of(new SieveAction.Keep(Set.of()));

    /**
     * The actions to take for one message to one user.
     *
     * @param user the local user (the Maildir mailbox) the message is for
     * @param message the message and its envelope
     * @return the actions, in order, never empty ({@link #KEEP} when nothing is to be done)
     * @throws IOException if what the decision needs cannot be read; the message is then kept
     * @throws InterruptedException if the server is stopping
     */
    List<SieveAction> filter(String user, SieveMessage message) throws IOException, InterruptedException;

    /**
     * This filter, with a message marked as spam ({@code X-Spam-Flag: YES}, which a DMARC
     * {@code p=quarantine} disposition adds, see {@link dev.twine.mail.auth.MessageAuthentication})
     * filed into {@code folder} when this filter would only keep it: what Dovecot setups do with a
     * global script run before the user's. A user's own decision (a {@code fileinto}, a discard, a
     * keep with flags) stands. A folder that does not exist means INBOX, as for any
     * {@code fileinto} without {@code :create}.
     *
     * <pre>{@code
     * MaildirDelivery.builder()...sieve(SieveScripts.builder().maildir(maildir).build().withSpamTo("Junk"))
     * }</pre>
     *
     * @param folder the folder, in Sieve's terms ({@code "Junk"}, the folder IMAP logins make)
     * @return the filter
     */
    default SieveFilter withSpamTo(String folder) {
        SieveAction junk = new SieveAction.FileInto(folder, Set.of(), false);
        return (user, message) -> {
            List<SieveAction> actions = filter(user, message);
            if (!KEEP.equals(actions)) {
                return actions;
            }
            for (String flag : message.header("X-Spam-Flag")) {
                if (flag.strip().equalsIgnoreCase("YES")) {
                    return List.of(junk);
                }
            }
            return actions;
        };
    }
}
