package dev.twine.mail.smtp;

import dev.twine.core.auth.Principal;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Which addresses an authenticated user may send as (RFC 6409 §6.1 lets a submission server
 * refuse the others; Postfix's {@code smtpd_sender_login_maps}). An {@link SmtpServer} asks at
 * {@code MAIL FROM} (a refusal is {@code 553 5.7.1}) and for every address in the message's
 * {@code From:} fields at the end of {@code DATA} ({@code 550 5.7.1}); the null sender {@code <>}
 * is never asked about. Called on the connection's own virtual thread; may block.
 *
 * <pre>{@code
 * List<String> domains = List.of("example.org", "example.net");
 * Aliases aliases = Aliases.load(Path.of("/etc/twine/aliases"));
 * SenderLogins senders = SenderLogins.byName(domains)              // alice@example.org is alice's
 *         .or(aliases.senderLogins(domains))                       // info@ is everyone's it reaches
 *         .or(SenderLogins.load(Path.of("/etc/twine/senders")))    // and what the file grants
 *         .or((user, address) -> directory.mayUse(user.name(), address));  // the application's own
 * SmtpServer submission = SmtpServer.builder().domain("example.org").domain("example.net")
 *         .role(SmtpServer.Role.SUBMISSION).delivery(delivery).portal(portal)
 *         .senderLogins(senders).listen("tcp:587").build();
 * }</pre>
 *
 * <h2>Error handling</h2>
 * Returning false refuses the address. An {@link SmtpException} is answered with its reply; any
 * other {@link IOException} with {@code 451 4.3.0} (try again later), and the transaction goes on
 * only once the client retries; {@link InterruptedException} ends the session with {@code 421}.
 */
@FunctionalInterface
public interface SenderLogins {

    /**
     * Whether {@code user} may send as {@code address}.
     *
     * @param user who logged in
     * @param address an envelope sender or a {@code From:} address, never empty
     * @return true to allow it
     * @throws IOException for a lookup that failed: {@code 451 4.3.0}
     * @throws InterruptedException if the server is stopping
     */
    boolean owns(Principal user, String address) throws IOException, InterruptedException;

    /**
     * Allows what this allows and also what {@code other} allows (asked only when this refuses).
     *
     * @param other the second rule
     * @return both rules, either one enough
     */
    default SenderLogins or(SenderLogins other) {
        Objects.requireNonNull(other, "other");
        return (user, address) -> owns(user, address) || other.owns(user, address);
    }

    /**
     * The rule an {@link SmtpServer} has unless told otherwise: a user owns the address in each of
     * {@code domains} whose local part is the user's name, ignoring case ({@code Alice@example.org}
     * for user {@code alice}), with or without a {@code +tag}.
     *
     * @param domains the local domains, matched ignoring case
     * @return the rule
     */
    static SenderLogins byName(Collection<String> domains) {
        Set<String> local = domains.stream().map(d -> d.toLowerCase(Locale.ROOT)).collect(Collectors.toUnmodifiableSet());
        return (user, address) -> {
            int at = address.lastIndexOf('@');
            if (at <= 0 || !local.contains(address.substring(at + 1).toLowerCase(Locale.ROOT))) {
                return false;
            }
            String name = address.substring(0, at);
            int plus = name.indexOf(Aliases.TAG);
            return name.equalsIgnoreCase(user.name()) || plus > 0 && name.substring(0, plus).equalsIgnoreCase(user.name());
        };
    }

    /**
     * Reads a file in the format of Postfix's {@code smtpd_sender_login_maps}: on each line an
     * address, or {@code @domain} for every address of a domain, then the users who may send as
     * it, separated by commas or white space; {@code #} comments. Addresses and domains match
     * ignoring case, user names exactly.
     *
     * <pre>
     * # address            users
     * sales@example.org    alice, bob
     * &#64;example.net         carol
     * </pre>
     *
     * @param file the file
     * @return the rule; immutable (read the file again to pick up a change)
     * @throws IOException if it cannot be read, or a line is bad; the message names the file and
     *     line: {@code senders:3: ...}
     */
    static SenderLogins load(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        Map<String, Set<String>> owners = new LinkedHashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).replaceFirst("#.*", "").strip();
            if (line.isEmpty()) {
                continue;
            }
            String[] fields = line.split("[\\s,]+");
            String key = fields[0].toLowerCase(Locale.ROOT);
            int at = key.lastIndexOf('@');
            if (at < 0 || at == key.length() - 1 || key.indexOf('@') != at) {
                throw new IOException(file + ":" + (i + 1) + ": expected 'address user, ...' or '@domain user, ...'");
            }
            if (fields.length < 2) {
                throw new IOException(file + ":" + (i + 1) + ": '" + fields[0] + "' has no user");
            }
            if (owners.containsKey(key)) {
                throw new IOException(file + ":" + (i + 1) + ": '" + fields[0] + "' is listed twice");
            }
            owners.put(key, Set.copyOf(Arrays.asList(fields).subList(1, fields.length)));
        }
        Map<String, Set<String>> map = Map.copyOf(owners);
        return (user, address) -> {
            String lower = address.toLowerCase(Locale.ROOT);
            Set<String> exact = map.get(lower);
            if (exact != null) {
                return exact.contains(user.name());
            }
            Set<String> domain = map.get(lower.substring(Math.max(0, lower.lastIndexOf('@'))));
            return domain != null && domain.contains(user.name());
        };
    }
}
