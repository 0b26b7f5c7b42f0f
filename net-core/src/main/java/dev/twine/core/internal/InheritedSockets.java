package dev.twine.core.internal;

import java.io.FileDescriptor;
import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.net.StandardProtocolFamily;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.spi.SelectorProvider;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Listening sockets handed over by a service manager, in systemd's protocol (sd_listen_fds(3)):
 * {@code LISTEN_PID} is this process, {@code LISTEN_FDS} sockets start at file descriptor 3, and
 * {@code LISTEN_FDNAMES} names them (colon-separated, from {@code FileDescriptorName=} in the
 * socket unit).
 *
 * <p>The JDK can adopt only file descriptor 0 ({@link System#inheritedChannel()}); for the others
 * it is asked, through {@code sun.nio.ch}, to wrap the descriptor the same way. That needs
 * {@code --add-exports java.base/sun.nio.ch=dev.twine.core} and
 * {@code --add-opens java.base/sun.nio.ch=dev.twine.core} (the {@code twine} launcher passes them);
 * without them the error says so.
 */
public final class InheritedSockets {
    private static final int FIRST = 3;

    private InheritedSockets() {
    }

    /**
     * Adopts one inherited listening socket.
     *
     * @param env the environment ({@link System#getenv()})
     * @param name the socket's {@code FileDescriptorName}, or null to pick by index
     * @param index the socket's position among those passed, when {@code name} is null
     * @return the listening channel, in blocking mode
     * @throws IOException if no such socket was passed, or the JDK refuses to adopt it
     */
    public static ServerSocketChannel adopt(Map<String, String> env, String name, int index) throws IOException {
        String pid = env.get("LISTEN_PID");
        String fds = env.get("LISTEN_FDS");
        if (pid == null || fds == null) {
            throw new IOException("no sockets were passed by a service manager (LISTEN_PID and LISTEN_FDS are not set)");
        }
        if (!pid.strip().equals(Long.toString(ProcessHandle.current().pid()))) {
            throw new IOException("LISTEN_PID is " + pid + ", not this process (" + ProcessHandle.current().pid()
                    + "): the sockets were meant for another process");
        }
        int count;
        try {
            count = Integer.parseInt(fds.strip());
        } catch (NumberFormatException e) {
            throw new IOException("LISTEN_FDS is not a number: " + fds);
        }
        int position = index;
        if (name != null) {
            List<String> names = Arrays.asList(env.getOrDefault("LISTEN_FDNAMES", "").split(":", -1));
            position = names.indexOf(name);
            if (position < 0) {
                throw new IOException("no passed socket is named '" + name + "' (LISTEN_FDNAMES=" + env.getOrDefault("LISTEN_FDNAMES", "") + ")");
            }
        }
        if (position < 0 || position >= count) {
            throw new IOException("socket " + position + " was not passed: LISTEN_FDS is " + count);
        }
        return wrap(FIRST + position);
    }

    private static IOException needsOptions(int fd, Exception e) {
        return new IOException("adopting inherited socket " + fd + " needs the JVM options --add-exports"
                + " java.base/sun.nio.ch=dev.twine.core --add-opens java.base/sun.nio.ch=dev.twine.core", e);
    }

    private static ServerSocketChannel wrap(int fd) throws IOException {
        try {
            Class<?> ioUtil = Class.forName("sun.nio.ch.IOUtil");
            Method newFd = ioUtil.getMethod("newFD", int.class);
            FileDescriptor descriptor = (FileDescriptor) newFd.invoke(null, fd);
            Class<?> impl = Class.forName("sun.nio.ch.ServerSocketChannelImpl");
            Constructor<?> c = impl.getDeclaredConstructor(SelectorProvider.class, java.net.ProtocolFamily.class,
                    FileDescriptor.class, boolean.class);
            c.setAccessible(true);
            // INET6 covers both: the kernel reports the socket's real addresses either way
            ServerSocketChannel ch = (ServerSocketChannel) c.newInstance(SelectorProvider.provider(), StandardProtocolFamily.INET6,
                    descriptor, true);
            ch.configureBlocking(true);
            if (ch.getLocalAddress() == null) {
                throw new IOException("file descriptor " + fd + " is not a bound socket");
            }
            return ch;
        } catch (IllegalAccessException e) {
            throw needsOptions(fd, e);
        } catch (RuntimeException e) {
            if (e.getClass().getName().equals("java.lang.reflect.InaccessibleObjectException")) {
                throw needsOptions(fd, e);
            }
            throw e;
        } catch (ReflectiveOperationException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw new IOException("cannot adopt inherited socket " + fd + ": " + cause, cause);
        }
    }
}
