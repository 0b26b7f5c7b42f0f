package dev.twine.core.spi;

import java.io.InputStream;
import java.io.PrintStream;
import java.util.List;

/**
 * A {@code twine} subcommand that runs to completion instead of serving: a client such as
 * {@code twine conch}, found with {@link java.util.ServiceLoader} like a {@link ServicePlugin}
 * ({@code provides dev.twine.core.spi.CommandPlugin with ...} in {@code module-info}).
 *
 * <p>The launcher does not parse its arguments: a client often keeps the option grammar of the tool
 * it stands in for ({@code ssh -p 22 -L 8080:web:80 host ls -l}), so it gets them as they were
 * typed, after its own name, and parses them itself. {@code twine help NAME} and
 * {@code twine NAME --help} print {@link #usage()}.
 *
 * <pre>{@code
 * public final class HelloCommand implements CommandPlugin {
 *     public String name() { return "hello"; }
 *     public String summary() { return "Say hello"; }
 *     public String usage() { return "Usage: twine hello [NAME]\n"; }
 *     public int run(List<String> args, InputStream in, PrintStream out, PrintStream err) {
 *         out.println("hello " + (args.isEmpty() ? "world" : args.getFirst()));
 *         return 0;
 *     }
 * }
 * }</pre>
 */
public interface CommandPlugin {
    /**
     * The subcommand's name.
     *
     * @return the word after {@code twine}, such as {@code conch}
     */
    String name();

    /**
     * One line for {@code twine help}.
     *
     * @return the summary
     */
    String summary();

    /**
     * The whole {@code --help} text: the synopsis, then one line or more per option.
     *
     * @return the text, ending with a newline
     */
    String usage();

    /**
     * Runs the command on the calling thread and returns its exit status. Blocks as long as the
     * command runs.
     *
     * <p>Error handling: bad arguments are the command's to report (on {@code err}, returning its
     * own status for them, 2 for Twine's commands unless the tool it stands in for says otherwise);
     * an exception that escapes is printed in one line by the launcher, which then exits 1.
     *
     * @param args the arguments after the command's name, as given
     * @param in the standard input
     * @param out the standard output
     * @param err the standard error
     * @return the exit status
     * @throws Exception for a failure the command does not report itself
     */
    int run(List<String> args, InputStream in, PrintStream out, PrintStream err) throws Exception;
}
