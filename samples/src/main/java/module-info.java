/**
 * The {@code twine} launcher and the sample services: {@code echo} and a multi-user line
 * {@code chat}. Protocol modules add their subcommands as {@link dev.twine.core.spi.ServicePlugin}s.
 */
module dev.twine.samples {
    requires dev.twine.core;
    requires info.picocli;
    requires dev.twine.ssh; // --manhole
    requires java.logging; // the launcher sets the log format and quiets chatty libraries
    requires jdk.unsupported; // sun.misc.Signal: SIGINT/SIGTERM end in a graceful shutdown and exit 0

    opens dev.twine.samples to info.picocli;

    uses dev.twine.core.spi.ServicePlugin;
    uses dev.twine.core.spi.CommandPlugin; // client commands such as `twine conch`

    provides dev.twine.core.spi.ServicePlugin with
            dev.twine.samples.EchoPlugin,
            dev.twine.samples.ChatPlugin;
}
