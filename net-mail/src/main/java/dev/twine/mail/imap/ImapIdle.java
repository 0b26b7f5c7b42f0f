package dev.twine.mail.imap;

import static dev.twine.mail.imap.ImapArgs.bad;

import dev.twine.core.Handle;
import dev.twine.mail.imap.ImapArgs.Reply;
import dev.twine.mail.imap.ImapSession.State;
import dev.twine.mail.store.Mailbox;
import java.io.EOFException;
import java.io.IOException;

/**
 * IDLE (RFC 2177, RFC 9051 §6.3.13) for one {@link ImapSession}: while the client idles, a child
 * of the connection's scope waits on the selected mailbox's watch and tells the client of changes.
 */
final class ImapIdle {
    private static final System.Logger LOG = System.getLogger(ImapSession.class.getName());

    private final ImapSession s;

    ImapIdle(ImapSession s) {
        this.s = s;
    }

    void idle(String tag) throws IOException, Reply {
        s.authenticated();
        // watch first, then look: a delivery between the two is not missed
        Mailbox.Watch watch = s.state == State.SELECTED ? s.folder.watch() : null;
        if (watch != null) {
            s.sync(true);
        }
        s.send("+ idling\r\n");
        s.conn.flush();
        Handle<Void> pusher = null;
        if (watch != null) {
            pusher = s.conn.scope().fork("imap-idle", () -> {
                while (true) {
                    try {
                        watch.awaitChange(s.config.idleRecheck());
                    } catch (IllegalStateException e) {
                        return; // the watch was closed
                    }
                    // interruptibly: once IDLE ends, the pusher is cancelled while the session holds
                    // this lock, so it can never write after the tagged OK, nor be interrupted while
                    // writing (it writes only with the lock)
                    s.outLock.lockInterruptibly();
                    try {
                        s.sync(true);
                        s.conn.flush();
                    } finally {
                        s.outLock.unlock();
                    }
                }
            });
        }
        String line;
        try {
            line = s.lines.readLine();
        } finally {
            if (pusher != null) {
                s.outLock.lock();
                try {
                    pusher.cancel();
                } finally {
                    s.outLock.unlock();
                }
                watch.close();
                try {
                    pusher.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.DEBUG, "IMAP IDLE watcher ended", e);
                }
            }
        }
        if (line == null) {
            throw new EOFException("connection closed during IDLE");
        }
        if (!line.strip().equalsIgnoreCase("DONE")) {
            throw bad("expected DONE");
        }
        s.ok(tag, "IDLE terminated");
    }
}
