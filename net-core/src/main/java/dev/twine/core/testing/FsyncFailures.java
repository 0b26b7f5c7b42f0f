package dev.twine.core.testing;

import dev.twine.core.internal.Durable;
import java.nio.file.Path;
import java.util.Objects;

/**
 * A failing {@code fsync}, for tests of what a server acknowledges when its disk reports a write
 * error (issue 16's fault injection where {@code kill -9} cannot reach): while one is open, every
 * force that Twine's durable writes make of a file or directory at or under its directory
 * ({@link dev.twine.core.DurableFiles#force}, {@link dev.twine.core.DurableFiles#forceDirectory},
 * {@link dev.twine.core.DurableFiles#replace}, and through them the Maildir writer, the relay
 * queue, the UID lists and the XMPP data store) throws an {@link java.io.IOException} instead, as
 * {@code fsync} does with {@code EIO} after a failed write-back.
 *
 * <pre>{@code
 * try (FsyncFailures failing = FsyncFailures.under(maildirRoot)) {
 *     // an SMTP delivery now answers 451 4.3.0, an IMAP APPEND NO
 *     assertTrue(failing.failures() > 0);
 * }
 * }</pre>
 *
 * <p>It acts in this JVM only, and only under its directory, so tests running at the same time
 * in other directories are not affected; several may be open at once. Production code never
 * opens one: with none open, a force costs one check of an empty list.
 */
public final class FsyncFailures implements AutoCloseable {
    private final Durable.Fault fault;

    private FsyncFailures(Durable.Fault fault) {
        this.fault = fault;
    }

    /**
     * Makes every force of {@code dir} and of anything under it fail until {@link #close()}.
     *
     * @param dir the directory (made absolute and normalized; it need not exist yet)
     * @return the open injection
     */
    public static FsyncFailures under(Path dir) {
        Objects.requireNonNull(dir, "dir");
        return new FsyncFailures(Durable.inject(dir));
    }

    /** How many forces have failed because of this injection so far. */
    public int failures() {
        return fault.failures();
    }

    /** Ends the injection: forces under the directory work again. Idempotent. */
    @Override
    public void close() {
        Durable.remove(fault);
    }
}
