package dev.twine.mail.smtp;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Local aliases from a file in the format of Postfix's and sendmail's {@code aliases(5)}, and a
 * {@link MailDelivery} that expands them ({@link #over}); {@code twine mail --aliases FILE}.
 *
 * <pre>
 * # comments start with #
 * postmaster: alice
 * sales:      alice, bob,
 *             carol@partner.example      # a line starting with white space continues the last
 * alice:      alice, alice@home.example  # an alias naming itself: its own mailbox too
 * </pre>
 *
 * <p>A name is matched ignoring case. A target without {@code @} is a local name (an alias again,
 * or a user), one with {@code @} an address; an address in the delivery's domain whose local part
 * is an alias is expanded again. Expansion is recursive, and a loop ({@code a: b}, {@code b: a})
 * is refused when the file is read; an alias that lists its own name stops there, meaning the
 * mailbox of that name. Programs ({@code |cmd}), files ({@code /path}) and {@code :include:} are
 * not supported and refused when the file is read.
 *
 * <p>Instances are immutable; to pick up a changed file, load it again.
 */
public final class Aliases {
    private final Map<String, List<String>> aliases;

    private Aliases(Map<String, List<String>> aliases) {
        this.aliases = aliases;
    }

    /**
     * Reads an aliases file.
     *
     * @throws IOException if it cannot be read, or a line is not an alias this class supports, or
     *     the aliases loop; the message names the file and line: {@code aliases:3: ...}
     */
    public static Aliases load(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        Map<String, List<String>> map = new LinkedHashMap<>();
        Map<String, Integer> lineOf = new LinkedHashMap<>();
        StringBuilder entry = null;
        int entryLine = 0;
        for (int i = 0; i <= lines.size(); i++) {
            String line = i < lines.size() ? lines.get(i) : null;
            if (line != null && line.strip().startsWith("#")) {
                continue;
            }
            if (line != null && !line.isBlank() && Character.isWhitespace(line.charAt(0))) {
                if (entry == null) {
                    throw new IOException(file + ":" + (i + 1) + ": a continuation line with no alias before it");
                }
                entry.append(' ').append(uncomment(line));
                continue;
            }
            if (entry != null) {
                add(file, entryLine, entry.toString(), map, lineOf);
                entry = null;
            }
            if (line != null && !line.isBlank()) {
                entry = new StringBuilder(uncomment(line));
                entryLine = i + 1;
            }
        }
        for (String name : map.keySet()) {
            List<String> path = new ArrayList<>();
            path.add(name);
            checkLoops(file, lineOf, map, path);
        }
        return new Aliases(map);
    }

    private static String uncomment(String line) {
        int hash = line.indexOf('#');
        return hash < 0 ? line : line.substring(0, hash);
    }

    private static void add(Path file, int line, String entry, Map<String, List<String>> map, Map<String, Integer> lineOf)
            throws IOException {
        int colon = entry.indexOf(':');
        String name = colon < 0 ? "" : entry.substring(0, colon).strip().toLowerCase(Locale.ROOT);
        if (colon < 0 || name.isEmpty() || name.contains("@") || name.chars().anyMatch(Character::isWhitespace)) {
            throw new IOException(file + ":" + line + ": expected 'name: target, ...'");
        }
        if (map.containsKey(name)) {
            throw new IOException(file + ":" + line + ": alias '" + name + "' is already defined on line " + lineOf.get(name));
        }
        List<String> targets = new ArrayList<>();
        for (String t : entry.substring(colon + 1).split(",")) {
            String target = t.strip();
            if (target.isEmpty()) {
                continue;
            }
            if (target.startsWith("|") || target.startsWith("/") || target.startsWith(":include:") || target.startsWith("\"")
                    || target.chars().anyMatch(Character::isWhitespace) || target.startsWith("@") || target.endsWith("@")) {
                throw new IOException(file + ":" + line + ": target '" + target + "' of '" + name
                        + "' is not supported: only local names and addresses");
            }
            targets.add(target);
        }
        if (targets.isEmpty()) {
            throw new IOException(file + ":" + line + ": alias '" + name + "' has no target");
        }
        map.put(name, List.copyOf(targets));
        lineOf.put(name, line);
    }

    /** Follows the local names from the last of {@code path}; a name met again on it is a loop. */
    private static void checkLoops(Path file, Map<String, Integer> lineOf, Map<String, List<String>> map, List<String> path)
            throws IOException {
        String name = path.get(path.size() - 1);
        for (String target : map.get(name)) {
            String next = target.contains("@") ? null : target.toLowerCase(Locale.ROOT);
            if (next == null || next.equals(name) || !map.containsKey(next)) {
                continue;
            }
            if (path.contains(next)) {
                throw new IOException(file + ":" + lineOf.get(name) + ": alias loop: " + String.join(" -> ", path) + " -> " + next);
            }
            path.add(next);
            checkLoops(file, lineOf, map, path);
            path.remove(path.size() - 1);
        }
    }

    /** How many aliases the file defines. */
    public int size() {
        return aliases.size();
    }

    /**
     * What mail to {@code name@domain} goes to, fully expanded: addresses, each once, in file
     * order; local names become {@code name@domain}. A name that is no alias is itself.
     *
     * @param name a local part, matched ignoring case
     * @param domain the local domain, for local names and for addresses to expand again
     */
    public List<String> expand(String name, String domain) {
        Set<String> out = new LinkedHashSet<>();
        expand(name, domain.toLowerCase(Locale.ROOT), out);
        return List.copyOf(out);
    }

    private void expand(String name, String domain, Set<String> out) {
        String key = name.toLowerCase(Locale.ROOT);
        List<String> targets = aliases.get(key);
        if (targets == null) {
            out.add(name + "@" + domain);
            return;
        }
        for (String target : targets) {
            int at = target.lastIndexOf('@');
            String local = at < 0 ? target : target.substring(0, at);
            boolean inDomain = at < 0 || target.substring(at + 1).equalsIgnoreCase(domain);
            if (inDomain && local.equalsIgnoreCase(key)) {
                out.add(local + "@" + domain); // the alias's own mailbox (loops are refused at load)
            } else if (inDomain) {
                expand(local, domain, out);
            } else {
                out.add(target);
            }
        }
    }

    /**
     * A delivery that expands these aliases for recipients in {@code domain} and passes every
     * target to {@code delivery}, which sees the expanded addresses only. A recipient that is no
     * alias goes through as it is. An alias is accepted at {@code RCPT} when {@code delivery}
     * accepts at least one of its targets (the others are logged and dropped); when it accepts
     * none, with the first refusal. The message goes to {@code delivery} once, with every target
     * of every recipient, each once.
     *
     * <p>The session's rules still apply to the recipient as the client gave it: an alias in the
     * local domain that points elsewhere forwards mail from anyone, which is what aliases are
     * for; sender ownership is not widened by aliases.
     *
     * <h4>Error handling</h4>
     * When {@code delivery} reports some targets failed ({@link PartialDeliveryException}), each
     * recipient with a failed target fails with that target's reply, so that the client retries
     * rather than a target losing the message (the targets that did get it may see it twice).
     */
    public <T> MailDelivery<?> over(String domain, MailDelivery<T> delivery) {
        return new Expanding<>(domain.toLowerCase(Locale.ROOT), Objects.requireNonNull(delivery, "delivery"));
    }

    /** {@link #over}: the destination of a recipient is its targets with their own destinations. */
    private final class Expanding<T> implements MailDelivery<List<MailDelivery.Recipient<T>>> {
        private static final System.Logger LOG = System.getLogger(Aliases.class.getName());

        private final String domain;
        private final MailDelivery<T> delivery;

        Expanding(String domain, MailDelivery<T> delivery) {
            this.domain = domain;
            this.delivery = delivery;
        }

        @Override
        public void sender(Session session, String sender) throws IOException, InterruptedException {
            delivery.sender(session, sender);
        }

        @Override
        public List<Recipient<T>> recipient(Session session, String sender, String address)
                throws IOException, InterruptedException {
            int at = address.lastIndexOf('@');
            String local = address.substring(0, at);
            if (!address.substring(at + 1).equalsIgnoreCase(domain) || !aliases.containsKey(local.toLowerCase(Locale.ROOT))) {
                return List.of(new Recipient<>(address, delivery.recipient(session, sender, address)));
            }
            List<Recipient<T>> accepted = new ArrayList<>();
            SmtpException refused = null;
            for (String target : expand(local, domain)) {
                try {
                    accepted.add(new Recipient<>(target, delivery.recipient(session, sender, target)));
                } catch (SmtpException e) {
                    LOG.log(System.Logger.Level.WARNING, "alias " + address + ": target " + target + " refused: " + e.reply());
                    refused = refused != null ? refused : e;
                }
            }
            if (accepted.isEmpty()) {
                throw refused;
            }
            return List.copyOf(accepted);
        }

        @Override
        public void deliver(Envelope<List<Recipient<T>>> envelope, InputStream message) throws IOException, InterruptedException {
            List<Recipient<T>> targets = envelope.recipients().stream().flatMap(r -> r.destination().stream()).distinct().toList();
            try {
                delivery.deliver(envelope.withRecipients(targets), message);
            } catch (PartialDeliveryException e) {
                Map<String, Reply> failed = new LinkedHashMap<>();
                for (Recipient<List<Recipient<T>>> r : envelope.recipients()) {
                    r.destination().stream().map(t -> e.failures().get(t.address())).filter(Objects::nonNull).findFirst()
                            .ifPresent(reply -> failed.put(r.address(), reply));
                }
                throw failed.isEmpty() ? e : new PartialDeliveryException(failed);
            }
        }
    }
}
