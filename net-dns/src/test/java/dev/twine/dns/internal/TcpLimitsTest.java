package dev.twine.dns.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.twine.dns.DnsServer;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Type;
import org.xbill.DNS.DClass;

/**
 * If one address holds all the TCP connections it may (RFC 7766 §6.2.2), then its next one is
 * closed at once, while a query over TCP from another address is still answered.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TcpLimitsTest {
    @TempDir
    Path dir;

    private static Socket connect(String from, int port) throws IOException {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(InetAddress.getByName(from), 0));
        s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        s.setSoTimeout(10_000);
        return s;
    }

    private static Message ask(Socket s, String name) throws IOException {
        byte[] q = Message.newQuery(Record.newRecord(Name.fromString(name), Type.A, DClass.IN)).toWire();
        DataOutputStream out = new DataOutputStream(s.getOutputStream());
        out.writeShort(q.length);
        out.write(q);
        out.flush();
        DataInputStream in = new DataInputStream(s.getInputStream());
        byte[] a = new byte[in.readUnsignedShort()];
        in.readFully(a);
        return new Message(a);
    }

    @Test
    void oneAddressCannotHoldMoreThanItsShareOfTcpConnections() throws Exception {
        TestZones.copyTo(dir);
        DnsServer dns = DnsServer.builder().zone(dir.resolve("example.test.zone"))
                .listen("tcp:0:interface=127.0.0.1").build();
        dns.start();
        List<Socket> held = new ArrayList<>();
        try {
            for (int i = 0; i < DnsListener.TCP_PER_ADDRESS; i++) {
                Socket s = connect("127.0.0.1", dns.port());
                held.add(s);
                assertEquals(Rcode.NOERROR, ask(s, "www.example.test.").getRcode(), "connection " + i + " is served");
            }
            try (Socket over = connect("127.0.0.1", dns.port())) {
                assertEquals(-1, over.getInputStream().read(), "the connection over the cap is closed");
            }
            try (Socket other = connect("127.0.0.2", dns.port())) {
                assertEquals(Rcode.NOERROR, ask(other, "www.example.test.").getRcode(), "another address is served");
            }
        } finally {
            for (Socket s : held) {
                s.close();
            }
            dns.close();
        }
    }
}
