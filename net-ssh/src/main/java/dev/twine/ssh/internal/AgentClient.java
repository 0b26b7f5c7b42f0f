package dev.twine.ssh.internal;

import java.io.EOFException;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import org.apache.sshd.agent.SshAgent;
import org.apache.sshd.agent.SshAgentFactory;
import org.apache.sshd.agent.SshAgentServer;
import org.apache.sshd.agent.common.AbstractAgentProxy;
import org.apache.sshd.common.FactoryManager;
import org.apache.sshd.common.channel.ChannelFactory;
import org.apache.sshd.common.session.ConnectionService;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.common.util.buffer.ByteArrayBuffer;

/**
 * A client of a running {@code ssh-agent} over its Unix-domain socket ({@code SSH_AUTH_SOCK}),
 * through the JDK's own Unix-domain channels (MINA's agent client needs the Tomcat native
 * library). MINA's proxy encodes the agent protocol (draft-miller-ssh-agent §4.4 and §4.5: list
 * the identities, sign with one); this class carries its messages, one request and one reply at a
 * time, each framed by a four-byte length (§3).
 */
public final class AgentClient extends AbstractAgentProxy {

    /** Replies larger than this are refused: an agent lists keys and returns signatures. */
    private static final int MAX_REPLY = 256 * 1024;

    private final SocketChannel socket;
    private final ReentrantLock lock = new ReentrantLock();

    private AgentClient(SocketChannel socket) {
        super(null);
        this.socket = socket;
    }

    /**
     * Connects to the agent at {@code socket}.
     *
     * @throws IOException if nothing listens there
     */
    public static AgentClient connect(Path socket) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.connect(UnixDomainSocketAddress.of(socket));
        } catch (IOException e) {
            ch.close();
            throw new IOException("cannot reach the ssh agent at " + socket + ": " + e.getMessage(), e);
        }
        return new AgentClient(ch);
    }

    /** The factory MINA's public-key authentication asks for an agent, one connection per login. */
    public static SshAgentFactory factory(Path socket) {
        return new SshAgentFactory() {
            @Override
            public List<ChannelFactory> getChannelForwardingFactories(FactoryManager manager) {
                return List.of(); // no agent forwarding (ssh -A)
            }

            @Override
            public SshAgent createClient(Session session, FactoryManager manager) throws IOException {
                return connect(socket);
            }

            @Override
            public SshAgentServer createServer(ConnectionService service) throws IOException {
                throw new IOException("agent forwarding is not offered");
            }
        };
    }

    @Override
    protected Buffer request(Buffer buffer) throws IOException {
        lock.lock();
        try {
            ByteBuffer out = ByteBuffer.wrap(buffer.array(), buffer.rpos(), buffer.available());
            while (out.hasRemaining()) {
                socket.write(out);
            }
            ByteBuffer length = readFully(4);
            int n = length.getInt();
            if (n <= 0 || n > MAX_REPLY) {
                throw new IOException("ssh agent sent a reply of " + Integer.toUnsignedString(n) + " bytes");
            }
            return new ByteArrayBuffer(readFully(n).array());
        } finally {
            lock.unlock();
        }
    }

    private ByteBuffer readFully(int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            if (socket.read(b) < 0) {
                throw new EOFException("the ssh agent closed the connection");
            }
        }
        return b.flip();
    }

    @Override
    public boolean isOpen() {
        return socket.isOpen();
    }

    @Override
    public void close() throws IOException {
        try {
            super.close();
        } finally {
            socket.close();
        }
    }
}
