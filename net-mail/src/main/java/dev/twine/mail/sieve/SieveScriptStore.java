package dev.twine.mail.sieve;

import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * Where users' Sieve scripts are kept, as ManageSieve (RFC 5804) manages them: named scripts per
 * user, at most one of them active. {@link SieveScripts} keeps them in each user's Maildir as
 * Dovecot Pigeonhole does; implement this to keep them elsewhere (a database, a directory
 * service) and hand it to {@code ManageSieveServer.Builder.scripts}. Deliveries run the active
 * script through a {@link SieveFilter}, which such a store usually also is.
 *
 * <pre>{@code
 * SieveScriptStore scripts = new SieveScriptStore() {
 *     // each method reads or writes the users' scripts where they live: a table (user, name,
 *     // text, active), say; the ManageSieve command each serves is in its description
 *     ...
 * };
 * ManageSieveServer sieve = ManageSieveServer.builder().portal(portal).scripts(scripts).tls(tls)
 *         .listen("tcp:4190").build();
 * sieve.start();
 * }</pre>
 * A whole one, in memory, is in {@code ManageSieveTranscriptTest} of this module's tests.
 *
 * <p>Methods are called from many connection threads at once and may block. The exceptions named
 * below are how the server tells the client what went wrong ({@code NONEXISTENT},
 * {@code ALREADYEXISTS}, {@code ACTIVE}); an {@link IllegalArgumentException} for a name the
 * store cannot hold counts as no such script. Any other exception is answered
 * {@code NO (TRYLATER)} and logged. The server checks sizes and names, and its own per-user limits
 * (script count and storage), before it calls {@link #put} or {@link #rename}.
 */
public interface SieveScriptStore {
    /**
     * The largest script {@link #put} takes, in octets ({@code MAXSIZE}).
     *
     * @return the limit
     */
    int maxSize();

    /**
     * The names of {@code user}'s scripts, sorted.
     *
     * @param user the user
     * @return the names
     * @throws IllegalArgumentException if {@code user} cannot have scripts here
     * @throws IOException if they cannot be listed
     */
    List<String> names(String user) throws IOException;

    /**
     * The name of {@code user}'s active script.
     *
     * @param user the user
     * @return the name, or empty when none is active
     * @throws IOException if it cannot be read
     */
    Optional<String> active(String user) throws IOException;

    /**
     * A script's text.
     *
     * @param user the user
     * @param name the script
     * @return the text
     * @throws java.nio.file.NoSuchFileException if there is no such script
     * @throws IOException if it cannot be read
     */
    String read(String user, String name) throws IOException;

    /**
     * Checks {@code text} as a script ({@link SieveScript#parse}) and stores it as {@code name},
     * replacing a script of that name, the active one too. Durable when it returns: the server
     * answers {@code OK} after it.
     *
     * @param user the user
     * @param name the script name (checked by {@link SieveScripts#checkName} before the call)
     * @param text the script
     * @throws SieveException naming the line of the first problem; nothing is stored
     * @throws IOException if it cannot be stored
     */
    void put(String user, String name, String text) throws IOException, SieveException;

    /**
     * Makes {@code name} the active script, or with an empty name makes none active (RFC 5804
     * §2.8).
     *
     * @param user the user
     * @param name the script, or {@code ""}
     * @throws java.nio.file.NoSuchFileException if there is no such script
     * @throws IOException if it cannot be changed
     */
    void activate(String user, String name) throws IOException;

    /**
     * Deletes a script that is not the active one (RFC 5804 §2.10).
     *
     * @param user the user
     * @param name the script
     * @throws IllegalStateException if it is the active script
     * @throws java.nio.file.NoSuchFileException if there is no such script
     * @throws IOException if it cannot be deleted
     */
    void delete(String user, String name) throws IOException;

    /**
     * Renames a script; the active one stays active under its new name (RFC 5804 §2.11.1).
     *
     * @param user the user
     * @param from the script
     * @param to its new name (checked by {@link SieveScripts#checkName} before the call)
     * @throws java.nio.file.NoSuchFileException if there is no script {@code from}
     * @throws java.nio.file.FileAlreadyExistsException if there is a script {@code to}
     * @throws IOException if it cannot be renamed
     */
    void rename(String user, String from, String to) throws IOException;

    /**
     * The octets {@code user}'s scripts take, for the storage quota (RFC 5804 §2.3).
     *
     * @param user the user
     * @return the sum of the scripts' sizes in UTF-8
     * @throws IOException if they cannot be listed
     */
    long used(String user) throws IOException;
}
