package dev.twine.mail.smtp;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Aliases and virtual addresses from one file, in the formats mail administrators know: Postfix's
 * and sendmail's {@code aliases(5)} lines ({@code name: targets}) and Postfix's {@code virtual(5)}
 * lines ({@code address targets}); and a {@link MailDelivery} that expands them ({@link #over});
 * {@code twine mail --aliases FILE}.
 *
 * <pre>
 * # comments start with #
 * postmaster: alice                          # aliases(5): the name in every local domain
 * sales:      alice, bob,
 *             carol@partner.example          # a line starting with white space continues the last
 * alice:      alice, alice@home.example      # an alias naming itself: its own mailbox too
 * info@example.org   alice, bob              # virtual(5): this address only
 * &#64;example.net       catchall                # any address of example.net that nothing else takes
 * </pre>
 *
 * <h2>Matching</h2>
 * Names and addresses are matched ignoring case. For {@code local@domain} in a local domain the
 * address key {@code local@domain} is tried first, then the name {@code local}; then, if the local
 * part has a tag ({@code alice+tag}), the same for the part before the {@code +}, and the tag is
 * carried on to each local target ({@code info+tag} to {@code alice+tag}, which the local delivery
 * stores for alice, keeping the tag in {@code Delivered-To:}); remote targets get the address as
 * written. A target without {@code @} is a local name in the domain of the address being expanded
 * (an alias again, or a user); one with {@code @} an address, expanded again when its domain is
 * local. A loop ({@code a: b}, {@code b: a}) is refused when the file is read; an alias that lists
 * its own name stops there, meaning the mailbox of that name. A catch-all ({@code @domain}) takes
 * only addresses that are no alias and that the wrapped delivery refuses (an unknown user), so it
 * never hides a real mailbox (unlike Postfix, where a catch-all also takes existing users unless
 * they are listed). Programs ({@code |cmd}), files ({@code /path}) and {@code :include:} are not
 * supported and refused when the file is read.
 *
 * <h2>Reloading</h2>
 * {@link #reload()} reads the file again (what {@code twine mail} does on SIGHUP, through
 * {@link SmtpServer#reload()}); a file now bad is reported and the aliases in use are kept. Each
 * {@code RCPT} sees either the old or the new aliases, never a mixture. The class is safe for use
 * by many sessions at once.
 */
public final class Aliases {
    private static final System.Logger LOG = System.getLogger(Aliases.class.getName());
    /** What separates a local part from its tag ({@code alice+tag}), as Postfix's recipient_delimiter. */
    static final char TAG = '+';

    private final Path file;
    private final ReentrantLock reloading = new ReentrantLock();
    private volatile Table table;

    /** One reading of the file: the aliases(5) names, the virtual(5) addresses and catch-alls. */
    private record Table(Map<String, List<String>> names, Map<String, List<String>> addresses,
            Map<String, List<String>> catchAlls) {
        int size() {
            return names.size() + addresses.size() + catchAlls.size();
        }
    }

    private Aliases(Path file, Table table) {
        this.file = file;
        this.table = table;
    }

    /**
     * Reads an aliases file.
     *
     * @throws IOException if it cannot be read, or a line is not an alias this class supports, or
     *     the aliases loop; the message names the file and line: {@code aliases:3: ...}
     */
    public static Aliases load(Path file) throws IOException {
        return new Aliases(file, read(file));
    }

    /**
     * Reads the file again and uses what it says from now on; blocks while another reload runs.
     *
     * @return whether the aliases changed
     * @throws IOException as {@link #load}; the aliases in use are kept then
     */
    public boolean reload() throws IOException {
        reloading.lock();
        try {
            Table fresh = read(file);
            boolean changed = !fresh.equals(table);
            table = fresh;
            if (changed) {
                LOG.log(System.Logger.Level.INFO, "aliases reloaded from " + file + ": " + fresh.size() + " entries");
            }
            return changed;
        } finally {
            reloading.unlock();
        }
    }

    private static Table read(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        Table t = new Table(new LinkedHashMap<>(), new LinkedHashMap<>(), new LinkedHashMap<>());
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
                add(file, entryLine, entry.toString(), t, lineOf);
                entry = null;
            }
            if (line != null && !line.isBlank()) {
                entry = new StringBuilder(uncomment(line));
                entryLine = i + 1;
            }
        }
        for (String key : lineOf.keySet()) {
            List<String> path = new ArrayList<>();
            path.add(key);
            checkLoops(file, lineOf, t, path);
        }
        return new Table(Map.copyOf(t.names()), Map.copyOf(t.addresses()), Map.copyOf(t.catchAlls()));
    }

    private static String uncomment(String line) {
        int hash = line.indexOf('#');
        return hash < 0 ? line : line.substring(0, hash);
    }

    /**
     * Adds one entry: {@code name: targets} (aliases(5)), or {@code local@domain targets} or
     * {@code @domain targets} (virtual(5)). The key of a catch-all is kept as {@code @domain}.
     */
    private static void add(Path file, int line, String entry, Table t, Map<String, Integer> lineOf) throws IOException {
        String e = entry.strip();
        int ws = 0;
        while (ws < e.length() && !Character.isWhitespace(e.charAt(ws))) {
            ws++;
        }
        String token = e.substring(0, ws);
        String key;
        String rest;
        Map<String, List<String>> into;
        if (token.contains("@")) {
            key = (token.endsWith(":") ? token.substring(0, token.length() - 1) : token).toLowerCase(Locale.ROOT);
            rest = e.substring(ws);
            int at = key.lastIndexOf('@');
            if (at == key.length() - 1 || key.indexOf('@') != at || key.contains(":")) {
                throw new IOException(file + ":" + line + ": '" + token + "' is not an address or @domain");
            }
            into = at == 0 ? t.catchAlls() : t.addresses();
        } else {
            int colon = e.indexOf(':');
            key = colon < 0 ? "" : e.substring(0, colon).strip().toLowerCase(Locale.ROOT);
            if (colon < 0 || key.isEmpty() || key.chars().anyMatch(Character::isWhitespace)) {
                throw new IOException(file + ":" + line + ": expected 'name: target, ...' or 'user@domain target, ...'");
            }
            rest = e.substring(colon + 1);
            into = t.names();
        }
        if (lineOf.containsKey(key)) {
            throw new IOException(file + ":" + line + ": alias '" + key + "' is already defined on line " + lineOf.get(key));
        }
        List<String> targets = new ArrayList<>();
        for (String part : rest.split(",")) {
            String target = part.strip();
            if (target.isEmpty()) {
                continue;
            }
            if (target.startsWith("|") || target.startsWith("/") || target.startsWith(":include:") || target.startsWith("\"")
                    || target.chars().anyMatch(Character::isWhitespace) || target.startsWith("@") || target.endsWith("@")) {
                throw new IOException(file + ":" + line + ": target '" + target + "' of '" + key
                        + "' is not supported: only local names and addresses");
            }
            targets.add(target);
        }
        if (targets.isEmpty()) {
            throw new IOException(file + ":" + line + ": alias '" + key + "' has no target");
        }
        into.put(key, List.copyOf(targets));
        lineOf.put(key, line);
    }

    /**
     * The entry a target of entry {@code from} leads to, for the loop check: a local name within
     * the domain of {@code from} (its address entry, else the name), an address to its own entry.
     */
    private static String next(Table t, String from, String target) {
        String lower = target.toLowerCase(Locale.ROOT);
        if (lower.contains("@")) {
            return t.addresses().containsKey(lower) ? lower : null;
        }
        int at = from.lastIndexOf('@');
        if (at >= 0 && t.addresses().containsKey(lower + from.substring(at))) {
            return lower + from.substring(at);
        }
        return t.names().containsKey(lower) ? lower : null;
    }

    private static List<String> entry(Table t, String key) {
        List<String> l = t.names().get(key);
        l = l != null ? l : t.addresses().get(key);
        return l != null ? l : t.catchAlls().get(key);
    }

    /** Follows the entries from the last of {@code path}; one met again on it is a loop. */
    private static void checkLoops(Path file, Map<String, Integer> lineOf, Table t, List<String> path) throws IOException {
        String key = path.get(path.size() - 1);
        for (String target : entry(t, key)) {
            String next = next(t, key, target);
            if (next == null || next.equals(key)) {
                continue; // no entry, or the entry's own mailbox
            }
            if (path.contains(next)) {
                throw new IOException(file + ":" + lineOf.get(key) + ": alias loop: " + String.join(" -> ", path) + " -> " + next);
            }
            path.add(next);
            checkLoops(file, lineOf, t, path);
            path.remove(path.size() - 1);
        }
    }

    /** How many entries the file defines: names, addresses and catch-alls. */
    public int size() {
        return table.size();
    }

    /**
     * What mail to {@code name@domain} goes to, fully expanded, with {@code domain} the only local
     * domain: addresses, each once, in file order; local names become {@code name@domain}. A name
     * that is no alias is itself. Catch-alls are not consulted: whether they apply depends on the
     * delivery ({@link #over}).
     *
     * @param name a local part, matched ignoring case
     * @param domain the local domain, for local names and for addresses to expand again
     */
    public List<String> expand(String name, String domain) {
        String address = name + "@" + domain.toLowerCase(Locale.ROOT);
        return lookup(table, address, Set.of(domain.toLowerCase(Locale.ROOT))).orElse(List.of(address));
    }

    /** The expansion of {@code address} in {@code t}; empty when it is no alias. */
    private static Optional<List<String>> lookup(Table t, String address, Set<String> domains) {
        Set<String> out = new LinkedHashSet<>();
        if (!expand(t, address, domains, out, new ArrayList<>())) {
            return Optional.empty();
        }
        return Optional.of(List.copyOf(out));
    }

    /**
     * Adds what {@code address} expands to; false (adding nothing) when it is no alias. An address
     * met again on {@code path} (which the load-time check cannot always see, as it knows no
     * domains) is its own mailbox.
     */
    private static boolean expand(Table t, String address, Set<String> domains, Set<String> out, List<String> path) {
        int at = address.lastIndexOf('@');
        String local = address.substring(0, at);
        String domain = address.substring(at + 1).toLowerCase(Locale.ROOT);
        if (!domains.contains(domain) || path.contains(address.toLowerCase(Locale.ROOT))) {
            return false;
        }
        String base = local;
        String tag = "";
        List<String> targets = entryFor(t, local, domain);
        int plus = local.indexOf(TAG);
        if (targets == null && plus > 0) {
            base = local.substring(0, plus);
            tag = local.substring(plus);
            targets = entryFor(t, base, domain);
        }
        if (targets == null) {
            return false;
        }
        path.add(address.toLowerCase(Locale.ROOT));
        for (String target : targets) {
            int tat = target.lastIndexOf('@');
            String tlocal = tat < 0 ? target : target.substring(0, tat);
            String tdomain = tat < 0 ? domain : target.substring(tat + 1).toLowerCase(Locale.ROOT);
            if (!domains.contains(tdomain)) {
                out.add(target);
            } else if (tdomain.equals(domain) && tlocal.equalsIgnoreCase(base)) {
                out.add(tlocal + tag + "@" + domain); // the alias's own mailbox
            } else {
                String next = tlocal + tag + "@" + tdomain;
                if (!expand(t, next, domains, out, path)) {
                    out.add(next);
                }
            }
        }
        path.remove(path.size() - 1);
        return true;
    }

    /** The targets for {@code local@domain}: its address entry, else the name's; null if neither. */
    private static List<String> entryFor(Table t, String local, String domain) {
        String key = local.toLowerCase(Locale.ROOT);
        List<String> targets = t.addresses().get(key + "@" + domain);
        return targets != null ? targets : t.names().get(key);
    }

    /**
     * A delivery that expands these aliases for recipients in {@code domains} and passes every
     * target to {@code delivery}, which sees the expanded addresses only. A recipient that is no
     * alias goes through as it is; if {@code delivery} refuses it for good and its domain has a
     * catch-all, the catch-all's targets are tried instead. An alias is accepted at {@code RCPT}
     * when {@code delivery} accepts at least one of its targets (the others are logged and
     * dropped); when it accepts none, with the first refusal. The message goes to
     * {@code delivery} once, with every target of every recipient, each once. {@link #reload()}
     * on the returned delivery reloads these aliases, then {@code delivery}.
     *
     * <p>The session's rules still apply to the recipient as the client gave it: an alias in a
     * local domain that points elsewhere forwards mail from anyone, which is what aliases are
     * for.
     *
     * <h4>Error handling</h4>
     * When {@code delivery} reports some targets failed ({@link PartialDeliveryException}), each
     * recipient with a failed target fails with that target's reply, so that the client retries
     * rather than a target losing the message (the targets that did get it may see it twice).
     *
     * @param domains the local domains, matched ignoring case
     * @param delivery where the expanded recipients go
     */
    public <T> MailDelivery<?> over(Collection<String> domains, MailDelivery<T> delivery) {
        Set<String> lower = new LinkedHashSet<>();
        domains.forEach(d -> lower.add(d.toLowerCase(Locale.ROOT)));
        return new Expanding<>(Set.copyOf(lower), Objects.requireNonNull(delivery, "delivery"));
    }

    /**
     * Sender ownership through these aliases: a user owns an alias address of {@code domains}
     * whose expansion reaches one of the user's own addresses ({@link SenderLogins#byName}), so
     * alice and bob may both send as {@code info@example.org alice, bob}. It follows
     * {@link #reload()}. A catch-all grants nothing.
     *
     * @param domains the local domains, matched ignoring case
     * @return the rule, to combine with {@link SenderLogins#or}
     */
    public SenderLogins senderLogins(Collection<String> domains) {
        Set<String> lower = new LinkedHashSet<>();
        domains.forEach(d -> lower.add(d.toLowerCase(Locale.ROOT)));
        SenderLogins own = SenderLogins.byName(lower);
        return (user, address) -> {
            if (address.lastIndexOf('@') <= 0) {
                return false;
            }
            for (String target : lookup(table, address, lower).orElse(List.of())) {
                if (own.owns(user, target)) {
                    return true;
                }
            }
            return false;
        };
    }

    /** {@link #over}: the destination of a recipient is its targets with their own destinations. */
    private final class Expanding<T> implements MailDelivery<List<MailDelivery.Recipient<T>>> {
        private final Set<String> domains;
        private final MailDelivery<T> delivery;

        Expanding(Set<String> domains, MailDelivery<T> delivery) {
            this.domains = domains;
            this.delivery = delivery;
        }

        @Override
        public void sender(Session session, String sender) throws IOException, InterruptedException {
            delivery.sender(session, sender);
        }

        @Override
        public List<Recipient<T>> recipient(Session session, String sender, String address)
                throws IOException, InterruptedException {
            Table t = table;
            Optional<List<String>> aliased = lookup(t, address, domains);
            List<String> targets;
            if (aliased.isPresent()) {
                targets = aliased.get();
            } else {
                try {
                    return List.of(new Recipient<>(address, delivery.recipient(session, sender, address)));
                } catch (SmtpException e) {
                    String domain = address.substring(address.lastIndexOf('@') + 1).toLowerCase(Locale.ROOT);
                    List<String> catchAll = t.catchAlls().get("@" + domain);
                    if (catchAll == null || !e.reply().isPermanent() || !domains.contains(domain)) {
                        throw e;
                    }
                    Set<String> out = new LinkedHashSet<>();
                    for (String target : catchAll) {
                        String full = target.contains("@") ? target : target + "@" + domain;
                        if (!expand(t, full, domains, out, new ArrayList<>())) {
                            out.add(full);
                        }
                    }
                    targets = List.copyOf(out);
                }
            }
            List<Recipient<T>> accepted = new ArrayList<>();
            SmtpException refused = null;
            for (String target : targets) {
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
            // an alias's targets keep the NOTIFY and ORCPT given for it (RFC 3461 §6.2.7, aliases)
            List<Recipient<T>> targets = envelope.recipients().stream()
                    .flatMap(r -> r.destination().stream().map(t -> t.withParameters(r.parameters()))).distinct().toList();
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

        @Override
        public boolean reload() throws IOException {
            boolean mine = Aliases.this.reload();
            return delivery.reload() | mine;
        }
    }
}
