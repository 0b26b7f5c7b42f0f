package dev.twine.mail.imap;

import dev.twine.mail.store.Mailbox;
import dev.twine.mail.store.StoredMessage;
import java.io.IOException;

/** A message of the selected mailbox whose bytes and MIME tree are read on first use (FETCH, SEARCH). */
final class LoadedMessage {
    final StoredMessage meta;
    private final Mailbox folder;
    private byte[] data;
    private MimeTree tree;

    LoadedMessage(Mailbox folder, StoredMessage meta) {
    this.folder = folder;
    this.meta = meta;
    }

    byte[] data() throws IOException {
        if (data == null) {
            data = folder.read(meta.uid());
        }
        return data;
    }

    MimeTree tree() throws IOException {
        if (tree == null) {
            tree = MimeTree.parse(data());
        }
        return tree;
    }
}
