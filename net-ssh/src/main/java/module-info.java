/**
 * Twine's SSH: a server ({@link dev.twine.ssh.SshServer}, the {@code twine ssh} subcommand) whose
 * exec and shell sessions run a {@link dev.twine.ssh.SshCommandHandler} as plain blocking code on
 * its own virtual thread, with an SFTP subsystem and authentication through the core
 * {@link dev.twine.core.auth.Portal}; and a blocking client ({@link dev.twine.ssh.SshClient}).
 * The protocol is Apache MINA SSHD's, which stays behind this module's API: no MINA type appears
 * in an exported signature.
 */
module dev.twine.ssh {
    requires transitive dev.twine.core; // Portal, Principal, Service, Binding appear in the API
    // MINA SSHD: sshd-osgi is sshd-common and sshd-core in one jar (the two split packages)
    requires org.apache.sshd.osgi;
    requires org.apache.sshd.sftp;
    // Ed25519 for MINA, found by MINA reflectively: required so that it is in the module graph
    requires net.i2p.crypto.eddsa;
    requires org.slf4j;
    // BouncyCastle: MINA (an automatic module, reading whatever is in the graph) finds it by
    // class name for the post-quantum key exchanges; required so that it is in the module graph
    requires org.bouncycastle.provider;
    // sun.misc.Signal: `twine conch` forwards the terminal's SIGWINCH as a window change
    requires jdk.unsupported;

    // the Manhole's JShell sessions, and SourceVersion to check its names: only a process that
    // builds a manhole needs them (./twine adds --add-modules jdk.jshell)
    requires static jdk.jshell;
    requires static java.compiler;

    exports dev.twine.ssh;

    provides dev.twine.core.spi.ServicePlugin with dev.twine.ssh.internal.SshPlugin;
    provides dev.twine.core.spi.CommandPlugin with dev.twine.ssh.internal.ConchCommand,
            dev.twine.ssh.internal.ConchSftpCommand;
}
