package dev.twine.mail.maildir;

import dev.twine.mail.store.MailStore;
import dev.twine.mail.store.Mailbox;
import dev.twine.mail.store.Quota;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * One user's Maildir++ folders as a {@link MailStore.Account}: {@code INBOX} is the user's
 * Maildir, {@code A.B} the folder {@code .A.B}, subscriptions the {@code subscriptions} file.
 * Special uses given by {@code CREATE ... (USE ...)} are kept in {@link SpecialUseFile}.
 * Changes are durable when a method returns (renames and the subscription file are forced).
 */
final class MaildirAccount implements MailStore.Account {
    private final Maildir maildir;
    private final String user;

    MaildirAccount(Maildir maildir, String user) {
        this.maildir = maildir;
        this.user = user;
    }

    @Override
    public String user() {
        return user;
    }

    @Override
    public Optional<Quota> quota() throws IOException {
        return maildir.quota(user);
    }

    @Override
    public List<String> mailboxes() throws IOException {
        return maildir.folders(user);
    }

    /** The folder, if it exists; the inbox always does (its directories are made here). */
    @Override
    public Optional<Mailbox> mailbox(String name) throws IOException {
        boolean inbox = name.equalsIgnoreCase("INBOX");
        if (!inbox && !maildir.exists(user, name)) {
            return Optional.empty();
        }
        return Optional.of(maildir.mailbox(user, inbox ? "" : name).mailbox());
    }

    @Override
    public boolean create(String name) throws IOException {
        return maildir.createFolder(user, name);
    }

    @Override
    public boolean create(String name, Set<String> uses) throws IOException {
        if (!create(name)) {
            return false;
        }
        if (!uses.isEmpty()) {
            try {
                SpecialUseFile.update(maildir.inbox(user), record -> record.put(name, Set.copyOf(uses)));
            } catch (IOException e) {
                // RFC 6154 §3: a mailbox whose use cannot be kept must not be created
                try {
                    maildir.deleteFolder(user, name);
                } catch (IOException again) {
                    e.addSuppressed(again);
                }
                throw e;
            }
        }
        return true;
    }

    @Override
    public Map<String, Set<String>> specialUses() throws IOException {
        Map<String, Set<String>> uses = new LinkedHashMap<>(MailStore.Account.super.specialUses());
        uses.putAll(SpecialUseFile.read(maildir.inbox(user)));
        return uses;
    }

    @Override
    public boolean delete(String name) throws IOException {
        if (!maildir.deleteFolder(user, name)) {
            return false;
        }
        SpecialUseFile.update(maildir.inbox(user), record -> record.remove(name));
        return true;
    }

    @Override
    public boolean rename(String from, String to) throws IOException {
        if (!maildir.renameFolder(user, from, to)) {
            return false;
        }
        SpecialUseFile.update(maildir.inbox(user), record -> SpecialUseFile.renamed(record, from, to));
        return true;
    }

    @Override
    public List<String> subscriptions() throws IOException {
        return maildir.subscriptions(user);
    }

    @Override
    public void subscribe(String name, boolean subscribed) throws IOException {
        maildir.subscribe(user, name, subscribed);
    }

    @Override
    public String toString() {
        return "MaildirAccount[" + maildir.inbox(user) + "]";
    }
}
