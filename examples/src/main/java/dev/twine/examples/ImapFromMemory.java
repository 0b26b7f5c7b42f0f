// ImapFromMemory: an IMAP server over the in-memory mail store. The store is the interface
// IMAP and POP3 speak to (dev.twine.mail.store.MailStore); this one keeps mail in memory, with
// one user, alice, and two messages put in at start. Write your own MailStore to serve mail from
// anywhere (a database, a ticket system) the same way.
//
// Run:  ./twine run examples/src/main/java/dev/twine/examples/ImapFromMemory.java [PORT [PASSWORD]]
//       (default port 1143; the password is printed at start unless given)
// Try:  curl -u alice:PASSWORD 'imap://127.0.0.1:1143/INBOX;UID=1'
//       or Python: imaplib.IMAP4('127.0.0.1', 1143).login('alice', 'PASSWORD')
package dev.twine.examples;

import dev.twine.core.Service;
import dev.twine.core.auth.Portal;
import dev.twine.core.auth.StoredSecret;
import dev.twine.core.auth.UserStore;
import dev.twine.mail.imap.ImapServer;
import dev.twine.mail.store.Mailbox;
import dev.twine.mail.store.MemoryMailStore;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Optional;
import java.util.Set;

public final class ImapFromMemory {
    private ImapFromMemory() {}

    public static void main(String[] args) throws Exception {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 1143;
        byte[] random = new byte[6];
        new SecureRandom().nextBytes(random);
        String password = args.length > 1 ? args[1] : HexFormat.of().formatHex(random);
        Service imap = start("tcp:" + port + ":interface=127.0.0.1", password);
        System.out.println("IMAP on 127.0.0.1:" + port + ": log in as alice, password " + password);
        imap.awaitTermination();
    }

    /** Starts the server on {@code endpoint} with alice's {@code password}; returns it running. */
    static Service start(String endpoint, String password) throws Exception {
        MemoryMailStore store = MemoryMailStore.create();
        Mailbox inbox = store.account("alice").mailbox("INBOX").orElseThrow();
        inbox.append(message("Welcome", "Everything here lives in memory."), Set.of(), null);
        inbox.append(message("Try APPEND", "Messages you append are seen by every session."), Set.of(), null);

        // who may log in: alice only (a users file, UsersFile.load, works the same way)
        UserStore users = name -> name.equals("alice") ? Optional.of(new StoredSecret.Plain(password)) : Optional.empty();
        ImapServer imap = ImapServer.builder()
                .portal(Portal.builder().users(users).build())
                .store(store)                 // each user who logs in gets store.account(name)
                .listen(endpoint)
                .build();
        imap.start();
        return imap;
    }

    private static ByteArrayInputStream message(String subject, String text) {
        String m = "From: Twine <postmaster@example.org>\r\nTo: alice@example.org\r\nSubject: " + subject
                + "\r\n\r\n" + text + "\r\n";
        return new ByteArrayInputStream(m.getBytes(StandardCharsets.UTF_8));
    }
}
