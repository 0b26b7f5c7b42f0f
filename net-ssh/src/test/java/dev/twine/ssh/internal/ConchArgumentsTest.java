package dev.twine.ssh.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.ssh.SshClient.HostKeyChecking;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** conch's command line reads as OpenSSH's ssh and sftp read theirs. */
class ConchArgumentsTest {

    private static ConchArguments ssh(String... args) throws Exception {
        return ConchArguments.ssh(List.of(args));
    }

    @Test
    void clusteredFlagsAttachedValuesAndTheRestAsCommand() throws Exception {
        ConchArguments a = ssh("-tt", "-p2222", "-l", "bob", "-i", "k1", "-ik2", "alice@h.example", "ls", "-l", "/tmp");
        assertEquals(2, a.ttyRequests);
        assertEquals(2222, a.port);
        assertEquals("bob", a.user, "-l wins over user@");
        assertEquals(List.of(Path.of("k1"), Path.of("k2")), a.identities);
        assertEquals("h.example", a.host);
        assertEquals(Optional.of("ls -l /tmp"), a.commandLine());
    }

    @Test
    void optionsAfterTheHostAreStillOptions() throws Exception {
        ConchArguments a = ssh("carol@h", "-NT", "-p", "22");
        assertEquals("carol", a.user);
        assertTrue(a.noCommand);
        assertTrue(a.noTty);
        assertEquals(22, a.port);
        assertEquals(Optional.empty(), a.commandLine());
        assertEquals(Optional.of("-p 1"), ssh("h", "--", "-p", "1").commandLine().map(s -> s), "after --: all words");
    }

    @Test
    void dashOInBothFormsCaseInsensitively() throws Exception {
        ConchArguments a = ssh("-o", "StrictHostKeyChecking=accept-new", "-ouserknownhostsfile /tmp/kh", "-o", "Port = 2200", "h");
        assertEquals(HostKeyChecking.ACCEPT_NEW, a.checking);
        assertEquals(Path.of("/tmp/kh"), a.knownHosts);
        assertEquals(2200, a.port);
        assertEquals(HostKeyChecking.STRICT, ssh("-oStrictHostKeyChecking=yes", "h").checking);
        assertEquals(HostKeyChecking.ACCEPT_ANY, ssh("-oStrictHostKeyChecking=no", "h").checking);
    }

    @Test
    void forwardingSpecs() throws Exception {
        ConchArguments a = ssh("-L", "8080:web:80", "-L", "0.0.0.0:8081:[::1]:81", "-R", "0:localhost:22", "-D", "1080",
                "-D", "[::1]:1081", "-L*:8082:h:82", "h");
        assertEquals(new ConchArguments.Forward(InetSocketAddress.createUnresolved("localhost", 8080),
                InetSocketAddress.createUnresolved("web", 80)), a.local.get(0));
        assertEquals(InetSocketAddress.createUnresolved("::1", 81), a.local.get(1).target());
        assertEquals("0.0.0.0", a.local.get(1).listen().getHostString());
        assertEquals("0.0.0.0", a.local.get(2).listen().getHostString(), "* is every interface");
        assertEquals(0, a.remote.get(0).listen().getPort());
        assertEquals(InetSocketAddress.createUnresolved("localhost", 1080), a.dynamic.get(0).listen());
        assertEquals(InetSocketAddress.createUnresolved("::1", 1081), a.dynamic.get(1).listen());
    }

    @Test
    void badCommandLinesNameTheirFault() {
        assertEquals("unknown option -- Z", assertThrows(ConchArguments.BadArguments.class, () -> ssh("-Z", "h")).getMessage());
        assertEquals("option requires an argument -- p",
                assertThrows(ConchArguments.BadArguments.class, () -> ssh("h", "-p")).getMessage());
        assertTrue(assertThrows(ConchArguments.BadArguments.class, () -> ssh("-p", "70000", "h")).getMessage().contains("bad port"));
        assertTrue(assertThrows(ConchArguments.BadArguments.class, () -> ssh("-L", "80:web", "h")).getMessage()
                .contains("[bind_address:]port:host:hostport"));
        assertTrue(assertThrows(ConchArguments.BadArguments.class, () -> ssh("-o", "Compression=yes", "h")).getMessage()
                .contains("not an option conch knows"));
        assertTrue(assertThrows(ConchArguments.BadArguments.class,
                () -> ssh("-o", "StrictHostKeyChecking=maybe", "h")).getMessage().contains("yes, no or accept-new"));
        assertTrue(assertThrows(ConchArguments.BadArguments.class, () -> ssh("-N")).getMessage().contains("destination"));
        assertTrue(assertThrows(ConchArguments.BadArguments.class, () -> ssh("bob@")).getMessage().contains("no host"));
    }

    @Test
    void sftpHasCapitalPAndABatchFileAndNoCommand() throws Exception {
        ConchArguments a = ConchArguments.sftp(List.of("-P", "2222", "-b", "cmds", "-i", "k", "u@h"));
        assertEquals(2222, a.port);
        assertEquals(Path.of("cmds"), a.batchFile);
        assertEquals("u", a.user);
        assertThrows(ConchArguments.BadArguments.class, () -> ConchArguments.sftp(List.of("h", "ls")));
        assertThrows(ConchArguments.BadArguments.class, () -> ConchArguments.sftp(List.of("-L", "1:h:2", "h")));
    }
}
