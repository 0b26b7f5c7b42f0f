package dev.twine.mail.imap;

import static dev.twine.mail.imap.ImapArgs.arg;
import static dev.twine.mail.imap.ImapArgs.atom;
import static dev.twine.mail.imap.ImapArgs.bad;
import static dev.twine.mail.imap.ImapArgs.no;

import dev.twine.mail.imap.ImapArgs.Reply;
import dev.twine.mail.imap.ImapParser.Arg;
import java.io.IOException;
import java.util.List;
import java.util.zip.Deflater;

/**
 * COMPRESS DEFLATE (RFC 4978): after the tagged OK, both directions are raw DEFLATE, over TLS
 * when there is TLS. Each response the session flushes ends with a sync flush (§4), so nothing
 * is held in the compressor while the client waits; IDLE's pushed responses too.
 */
final class ImapCompress {
    private ImapCompress() {}

    static void compress(ImapSession s, String tag, List<Arg> args) throws IOException, Reply {
        // after login only, as Dovecot: compression before authentication helps nobody and
        // would only let a stranger hold a compressor's memory
        s.authenticated();
        String mechanism = atom(arg(args, 0));
        if (!mechanism.equalsIgnoreCase("DEFLATE") || args.size() != 1) {
            throw bad("unknown compression mechanism " + mechanism);
        }
        if (s.conn.isCompressed()) {
            throw no("[COMPRESSIONACTIVE] DEFLATE active via COMPRESS"); // §3
        }
        s.ok(tag, "DEFLATE active");
        s.outLock.lock();
        try {
            // the OK goes out uncompressed; what the client pipelined behind the command is inflated
            s.conn.startCompression(Deflater.DEFAULT_COMPRESSION);
        } finally {
            s.outLock.unlock();
        }
    }
}
