package dev.twine.core.internal;

import dev.twine.core.Connection;

/**
 * Lets this module's non-exported and test packages make connections over their own transports
 * without a public constructor on {@link Connection}.
 */
public final class CoreAccess {
    private static volatile Factory factory;

    private CoreAccess() {}

    /** What {@link Connection} offers to the rest of the module. */
    public interface Factory {
        /** A connection over {@code transport}. */
        Connection connection(String service, Transport transport, boolean clientSide);

        /** The transport under a connection. */
        Transport transport(Connection connection);

        /** What a server does when a handler returns: close, then cancel and join its scope. */
        void end(Connection connection);
    }

    /** Called once by {@link Connection}'s static initializer. */
    public static void install(Factory f) {
        factory = f;
    }

    /** The factory, initializing {@link Connection} if needed. */
    public static Factory get() {
        if (factory == null) {
            try {
                Class.forName(Connection.class.getName(), true, Connection.class.getClassLoader());
            } catch (ClassNotFoundException e) {
                throw new IllegalStateException(e);
            }
        }
        return factory;
    }
}
