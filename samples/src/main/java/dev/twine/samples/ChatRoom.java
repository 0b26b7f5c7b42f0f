package dev.twine.samples;

import dev.twine.core.Connection;
import dev.twine.core.ConnectionHandler;
import dev.twine.core.DrainingException;
import dev.twine.core.Handle;
import dev.twine.core.LineReader;
import dev.twine.core.LineTooLongException;
import dev.twine.core.LineWriter;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;

/**
 * A multi-user line chat: each user picks a name, then every line they send goes to everyone.
 * Commands: {@code /who}, {@code /me ACTION}, {@code /nick NAME}, {@code /quit}, {@code /help}.
 *
 * <p>Each connection's thread reads; a child in the connection's scope writes from a bounded
 * outbox. A user whose outbox fills (a peer that stopped reading) is disconnected rather than
 * letting the room's memory grow or slowing everyone else down.
 */
final class ChatRoom implements ConnectionHandler {
    static final int MAX_LINE = 512;
    static final int OUTBOX = 256;
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-]{1,24}");
    private static final String CLOSE = new String("close"); // identity sentinel, never sent

    private final Map<String, Member> members = new ConcurrentSkipListMap<>(String.CASE_INSENSITIVE_ORDER);
    /** Orders joins, leaves and renames with their announcements; held only for non-blocking work. */
    private final ReentrantLock membership = new ReentrantLock();

    private static final class Member {
        final Connection conn;
        final BlockingQueue<String> outbox = new ArrayBlockingQueue<>(OUTBOX);
        volatile String name;

        Member(Connection conn) {
            this.conn = conn;
        }

        /** Queues a line; a member that cannot keep up is disconnected. */
        void send(String line) {
            if (!outbox.offer(line)) {
                conn.close();
            }
        }
    }

    @Override
    public void handle(Connection conn) throws Exception {
        Member me = new Member(conn);
        Handle<Void> writer = conn.scope().fork("writer", () -> write(me));
        LineReader in = LineReader.of(conn, MAX_LINE);
        try {
            me.send("Welcome to Twine chat. What is your name?");
            if (!join(me, in)) {
                return;
            }
            while (true) {
                String line;
                try {
                    line = in.readLine();
                } catch (LineTooLongException e) {
                    me.send("* line too long (at most " + MAX_LINE + " bytes)");
                    continue;
                }
                if (line == null || !command(me, line.strip())) {
                    break;
                }
            }
            me.send("Bye.");
        } catch (DrainingException e) {
            me.send("* the server is shutting down. Bye.");
        } finally {
            membership.lock();
            try {
                if (me.name != null && members.remove(me.name, me)) {
                    broadcast(me, "* " + me.name + " left");
                }
            } finally {
                membership.unlock();
            }
            if (!me.outbox.offer(CLOSE)) {
                conn.close();
                writer.cancel();
            }
            writer.await();
        }
    }

    private boolean join(Member me, LineReader in) throws IOException {
        while (true) {
            String name;
            try {
                name = in.readLine();
            } catch (LineTooLongException e) {
                me.send("That name is too long. What is your name?");
                continue;
            }
            if (name == null) {
                return false;
            }
            name = name.strip();
            if (!NAME.matcher(name).matches()) {
                me.send("A name is 1-24 letters, digits, '_' or '-'. What is your name?");
                continue;
            }
            // joining and announcing it are one step: someone joining at the same moment sees
            // this user either in the "Here:" list or as "joined", never both
            membership.lock();
            try {
                if (members.putIfAbsent(name, me) != null) {
                    me.send("'" + name + "' is taken. What is your name?");
                    continue;
                }
                me.name = name;
                me.send("Hello " + name + ". " + others(me) + " Type /help for commands.");
                broadcast(me, "* " + name + " joined");
                return true;
            } finally {
                membership.unlock();
            }
        }
    }

    /** Runs one line from a member; false when the member leaves. */
    private boolean command(Member me, String line) {
        if (line.isEmpty()) {
            return true;
        }
        if (!line.startsWith("/")) {
            broadcast(null, "<" + me.name + "> " + line);
            return true;
        }
        String[] parts = line.split("\\s+", 2);
        String arg = parts.length > 1 ? parts[1] : "";
        switch (parts[0]) {
            case "/quit" -> {
                return false;
            }
            case "/who" -> me.send("* here: " + String.join(", ", members.keySet()));
            case "/me" -> broadcast(null, "* " + me.name + " " + arg);
            case "/nick" -> rename(me, arg.strip());
            case "/help" -> me.send("* commands: /who, /me ACTION, /nick NAME, /quit; anything else is said to everyone");
            default -> me.send("* unknown command " + parts[0] + "; try /help");
        }
        return true;
    }

    private void rename(Member me, String name) {
        if (!NAME.matcher(name).matches()) {
            me.send("* a name is 1-24 letters, digits, '_' or '-'");
            return;
        }
        membership.lock();
        try {
            if (members.putIfAbsent(name, me) != null) {
                me.send("* '" + name + "' is taken");
                return;
            }
            String old = me.name;
            me.name = name;
            members.remove(old, me);
            broadcast(null, "* " + old + " is now " + name);
        } finally {
            membership.unlock();
        }
    }

    private String others(Member me) {
        List<String> names = new ArrayList<>(members.keySet());
        names.remove(me.name);
        return names.isEmpty() ? "You are the first one here." : "Here: " + String.join(", ", names) + ".";
    }

    private void broadcast(Member except, String line) {
        for (Member m : members.values()) {
            if (m != except) {
                m.send(line);
            }
        }
    }

    /**
     * The writer child: drains the outbox, flushing when it runs empty. A failed write (the peer
     * vanished, or stopped reading until the write timeout) closes the connection, which ends the
     * reader too.
     */
    private static void write(Member me) throws InterruptedException {
        LineWriter out = LineWriter.of(me.conn);
        try {
            while (true) {
                String line = me.outbox.take();
                if (line == CLOSE) {
                    out.flush();
                    return;
                }
                out.writeLine(line);
                if (me.outbox.isEmpty()) {
                    out.flush();
                }
            }
        } catch (IOException e) {
            me.conn.close();
        }
    }
}
