package dev.twine.xmpp.internal;

import dev.twine.core.Connection;
import java.io.IOException;

/** Entry points the public server class uses to run a connection. */
public final class Sessions {
    private Sessions() {}

    /** Runs a client stream on the calling (connection) thread until it ends. */
    public static void client(Hub hub, Connection conn) throws IOException {
        new C2sSession(hub, conn).run();
    }

    /** Runs an XEP-0114 component stream on the calling thread until it ends. */
    public static void component(Hub hub, Connection conn) {
        new ComponentSession(hub, conn).run();
    }
}
