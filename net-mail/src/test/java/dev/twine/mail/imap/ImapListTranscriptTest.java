package dev.twine.mail.imap;

import static dev.twine.mail.imap.ImapTranscriptTest.GREETING;
import static dev.twine.mail.imap.ImapTranscriptTest.LOGIN;

import dev.twine.core.testing.Chunking;
import dev.twine.core.testing.Transcript;
import dev.twine.mail.maildir.MailFixture;
import dev.twine.mail.store.MailStore;
import dev.twine.mail.store.Mailbox;
import dev.twine.mail.store.MemoryMailStore;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819), SPECIAL-USE and CREATE-SPECIAL-USE
 * (RFC 6154), after the RFCs' examples with {@code .} as the delimiter, replayed whole, byte by
 * byte and in random chunks on a Maildir and in memory.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ImapListTranscriptTest {
    @TempDir
    Path tmp;

    private void replay(String script) throws Exception {
        ImapTranscriptTest.replay(tmp, script, MailFixture.HELLO);
    }

    /** Fruit.Apple and Fruit.Banana (Fruit made as their superior), Banana and a missing Peaches subscribed. */
    private static final String FRUIT = """
            C: a2 CREATE Fruit.Apple
            S: a2 OK CREATE completed
            C: a3 CREATE Fruit.Banana
            S: a3 OK CREATE completed
            C: a4 SUBSCRIBE Fruit.Banana
            S: a4 OK SUBSCRIBE completed
            C: a5 SUBSCRIBE Peaches
            S: a5 OK SUBSCRIBE completed
            """;

    @Test
    void subscribedSelectionTellsSubscriptionsAndTheMissingAsNonExistent() throws Exception {
        replay(GREETING + LOGIN + FRUIT + """
                C: a6 LIST (SUBSCRIBED) "" "*"
                S: * LIST (\\Subscribed) "." "Sent"
                S: * LIST (\\Subscribed) "." "Drafts"
                S: * LIST (\\Subscribed) "." "Trash"
                S: * LIST (\\Subscribed) "." "Junk"
                S: * LIST (\\Subscribed) "." "Fruit.Banana"
                S: * LIST (\\Subscribed \\NonExistent) "." "Peaches"
                S: a6 OK LIST completed
                C: a7 LIST (SUBSCRIBED) "" "F%"
                S: a7 OK LIST completed
                C: a8 LIST (SUBSCRIBED RECURSIVEMATCH) "" "F%"
                S: * LIST () "." "Fruit" ("CHILDINFO" ("SUBSCRIBED"))
                S: a8 OK LIST completed
                C: a9 LIST (SUBSCRIBED RECURSIVEMATCH) "" "Fruit*" RETURN (CHILDREN)
                S: * LIST (\\Subscribed \\HasNoChildren) "." "Fruit.Banana"
                S: a9 OK LIST completed
                C: b0 SUBSCRIBE Fruit
                S: b0 OK SUBSCRIBE completed
                C: c1 LIST (SUBSCRIBED RECURSIVEMATCH) "" "Fruit*" RETURN (CHILDREN)
                S: * LIST (\\Subscribed \\HasChildren) "." "Fruit" ("CHILDINFO" ("SUBSCRIBED"))
                S: * LIST (\\Subscribed \\HasNoChildren) "." "Fruit.Banana"
                S: c1 OK LIST completed
                C: c2 UNSUBSCRIBE Fruit
                S: c2 OK UNSUBSCRIBE completed
                C: b1 LIST (REMOTE) "" "F%" RETURN (CHILDREN SUBSCRIBED)
                S: * LIST (\\HasChildren) "." "Fruit"
                S: b1 OK LIST completed
                C: b2 LSUB "" "*"
                S: * LSUB (\\HasNoChildren \\Sent) "." "Sent"
                S: * LSUB (\\HasNoChildren \\Drafts) "." "Drafts"
                S: * LSUB (\\HasNoChildren \\Trash) "." "Trash"
                S: * LSUB (\\HasNoChildren \\Junk) "." "Junk"
                S: * LSUB (\\HasNoChildren) "." "Fruit.Banana"
                S: * LSUB (\\Noselect) "." "Peaches"
                S: b2 OK LSUB completed
                """);
    }

    @Test
    void severalPatternsEachMailboxOnceWithItsStatusRightAfterIt() throws Exception {
        replay(GREETING + LOGIN + FRUIT + """
                C: a6 LIST "" ("INBOX" "Fruit.%" "Fruit.Apple") RETURN (SUBSCRIBED STATUS (MESSAGES UNSEEN))
                S: * LIST () "." "INBOX"
                S: * STATUS "INBOX" (MESSAGES 1 UNSEEN 1)
                S: * LIST () "." "Fruit.Apple"
                S: * STATUS "Fruit.Apple" (MESSAGES 0 UNSEEN 0)
                S: * LIST (\\Subscribed) "." "Fruit.Banana"
                S: * STATUS "Fruit.Banana" (MESSAGES 0 UNSEEN 0)
                S: a6 OK LIST completed
                C: a7 LIST (SUBSCRIBED) "" "P*" RETURN (STATUS (MESSAGES))
                S: * LIST (\\Subscribed \\NonExistent) "." "Peaches"
                S: a7 OK LIST completed
                C: a8 LIST Fruit. ("A*" "B*") RETURN (CHILDREN)
                S: * LIST (\\HasNoChildren) "." "Fruit.Apple"
                S: * LIST (\\HasNoChildren) "." "Fruit.Banana"
                S: a8 OK LIST completed
                C: a9 LIST "" "%"
                S: * LIST (\\HasNoChildren) "." "INBOX"
                S: * LIST (\\HasNoChildren \\Drafts) "." "Drafts"
                S: * LIST (\\HasChildren) "." "Fruit"
                S: * LIST (\\HasNoChildren \\Junk) "." "Junk"
                S: * LIST (\\HasNoChildren \\Sent) "." "Sent"
                S: * LIST (\\HasNoChildren \\Trash) "." "Trash"
                S: a9 OK LIST completed
                C: b1 LIST "" ""
                S: * LIST (\\Noselect) "." ""
                S: b1 OK LIST completed
                """);
    }

    @Test
    void badOptionsAreRefusedBeforeAnythingIsListed() throws Exception {
        replay(GREETING + LOGIN + """
                C: a2 LIST (RECURSIVEMATCH) "" "*"
                S: a2 BAD RECURSIVEMATCH needs another selection option
                C: a3 LIST (REMOTE RECURSIVEMATCH) "" "*"
                S: a3 BAD RECURSIVEMATCH needs another selection option
                C: a4 LIST (BOGUS) "" "*"
                S: a4 BAD unknown LIST selection option BOGUS
                C: a5 LIST "" "*" RETURN (BOGUS)
                S: a5 BAD unknown LIST return option BOGUS
                C: a6 LIST "" "*" RETURN (STATUS (MESSAGES BOGUS))
                S: a6 BAD unknown STATUS item BOGUS
                C: a7 LIST "" () RETURN ()
                S: a7 BAD LIST needs a pattern
                C: a8 LIST "" "*" RETURN (CHILDREN) extra
                S: a8 BAD unexpected LIST arguments
                C: a9 LIST "" "*" NOTRETURN (CHILDREN)
                S: a9 BAD unexpected LIST arguments
                """);
    }

    @Test
    void specialUseSelectionAndCreateWithUsesThatFollowRenameAndDelete() throws Exception {
        // RFC 6154 §5.2 and §5.3, with this server's folders
        replay(GREETING + LOGIN + """
                C: a2 CREATE "Important Messages" (USE (\\Flagged))
                S: a2 OK CREATE completed
                C: a3 CREATE Other (USE (\\Flagged \\Nonsense))
                S: a3 NO [USEATTR] \\Nonsense is not a special use
                C: a4 CREATE Archive (USE (\\archive \\All))
                S: a4 OK CREATE completed
                C: a5 LIST (SPECIAL-USE) "" "*"
                S: * LIST (\\All \\Archive) "." "Archive"
                S: * LIST (\\Drafts) "." "Drafts"
                S: * LIST (\\Flagged) "." "Important Messages"
                S: * LIST (\\Junk) "." "Junk"
                S: * LIST (\\Sent) "." "Sent"
                S: * LIST (\\Trash) "." "Trash"
                S: a5 OK LIST completed
                C: a6 RENAME "Important Messages" Starred
                S: a6 OK RENAME completed
                C: a7 LIST "" "*" RETURN (SPECIAL-USE)
                S: * LIST () "." "INBOX"
                S: * LIST (\\All \\Archive) "." "Archive"
                S: * LIST (\\Drafts) "." "Drafts"
                S: * LIST (\\Junk) "." "Junk"
                S: * LIST (\\Sent) "." "Sent"
                S: * LIST (\\Flagged) "." "Starred"
                S: * LIST (\\Trash) "." "Trash"
                S: a7 OK LIST completed
                C: a8 DELETE Starred
                S: a8 OK DELETE completed
                C: a9 CREATE Starred
                S: a9 OK CREATE completed
                C: b1 LIST "" "St*"
                S: * LIST (\\HasNoChildren) "." "Starred"
                S: b1 OK LIST completed
                C: b2 CREATE Sent (USE (\\Sent))
                S: b2 NO [ALREADYEXISTS] mailbox exists
                C: b3 CREATE INBOX (USE (\\Junk))
                S: b3 NO [ALREADYEXISTS] mailbox exists
                C: b4 CREATE Other (KEEP (\\Junk))
                S: b4 BAD unknown CREATE parameter KEEP
                C: b5 LIST (SPECIAL-USE SUBSCRIBED) "" "*"
                S: * LIST (\\Subscribed \\Sent) "." "Sent"
                S: * LIST (\\Subscribed \\Drafts) "." "Drafts"
                S: * LIST (\\Subscribed \\Trash) "." "Trash"
                S: * LIST (\\Subscribed \\Junk) "." "Junk"
                S: b5 OK LIST completed
                """);
    }

    /** An account of one's own that keeps no special uses: only the interface's defaults. */
    private record PlainAccount(MailStore.Account a) implements MailStore.Account {
        public String user() {
            return a.user();
        }

        public List<String> mailboxes() throws IOException {
            return a.mailboxes();
        }

        public Optional<Mailbox> mailbox(String name) throws IOException {
            return a.mailbox(name);
        }

        public boolean create(String name) throws IOException {
            return a.create(name);
        }

        public boolean delete(String name) throws IOException {
            return a.delete(name);
        }

        public boolean rename(String from, String to) throws IOException {
            return a.rename(from, to);
        }

        public List<String> subscriptions() throws IOException {
            return a.subscriptions();
        }

        public void subscribe(String name, boolean subscribed) throws IOException {
            a.subscribe(name, subscribed);
        }
    }

    @Test
    void aStoreThatKeepsNoUsesRefusesCreateWithUseAndNamesGiveTheUses() throws Exception {
        String script = GREETING + LOGIN + """
                C: a2 CREATE Starred (USE (\\Flagged))
                S: a2 NO [USEATTR] this server keeps no special uses here
                C: a3 CREATE Archive
                S: a3 OK CREATE completed
                C: a4 LIST (SPECIAL-USE) "" "*"
                S: * LIST (\\Archive) "." "Archive"
                S: * LIST (\\Drafts) "." "Drafts"
                S: * LIST (\\Junk) "." "Junk"
                S: * LIST (\\Sent) "." "Sent"
                S: * LIST (\\Trash) "." "Trash"
                S: a4 OK LIST completed
                C: a5 LIST "" "St*"
                S: a5 OK LIST completed
                """;
        for (Chunking c : Chunking.standard()) {
            MailFixture f = MailFixture.memory(tmp.resolve("run" + c.hashCode()));
            MemoryMailStore memory = MemoryMailStore.create(1000);
            MailStore plain = user -> new PlainAccount(memory.account(user));
            Transcript.parse(script).run(ImapServer.builder().store(plain).portal(f.portal).build().handler(), c);
        }
    }
}
