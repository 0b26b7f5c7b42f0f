package dev.twine.mail.auth;

import dev.twine.dns.DnsException;
import dev.twine.dns.DnsRecord;
import dev.twine.dns.RecordType;
import dev.twine.dns.Resolver;
import dev.twine.mail.smtp.MailDelivery;
import dev.twine.mail.smtp.Reply;
import dev.twine.mail.smtp.SmtpException;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * DNS blocklists for client addresses (RFC 5782), as Postfix's {@code reject_rbl_client}: the
 * client's address reversed (IPv4 octets, IPv6 nibbles) under each list's zone, looked up as an
 * A record; an answer in {@code 127.0.0.0/8} means listed, except {@code 127.255.255.0/24},
 * which lists use for "you may not query us" errors (Spamhaus does) and is taken as not listed.
 *
 * <pre>{@code
 * Dnsbl lists = Dnsbl.builder().resolver(resolver).zone("zen.spamhaus.org").build();
 * SmtpServer mx = SmtpServer.builder().domain("example.org").delivery(lists.over(delivery)).listen("tcp:25").build();
 * }</pre>
 *
 * <h2>Blocking and errors</h2>
 * Each check blocks for one lookup per zone (bounded by the resolver's timeout). A lookup that
 * fails (timeout, SERVFAIL) counts as not listed, with a log line: a blocklist that is down must
 * not stop mail, as in Postfix. Thread-safe.
 */
public final class Dnsbl {
    private static final System.Logger LOG = System.getLogger(Dnsbl.class.getName());

    private final Resolver resolver;
    private final List<String> zones;

    private Dnsbl(Builder b) {
        this.resolver = b.resolver;
        this.zones = List.copyOf(b.zones);
    }

    /** A builder; {@link Builder#resolver} and at least one {@link Builder#zone} are required. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The first zone that lists {@code client}, or empty.
     *
     * @throws InterruptedException if interrupted during a lookup
     */
    public Optional<String> listing(InetAddress client) throws InterruptedException {
        String reversed = reversed(client);
        for (String zone : zones) {
            String name = reversed + "." + zone;
            try {
                for (DnsRecord.A a : resolver.lookup(name, RecordType.A, DnsRecord.A.class)) {
                    byte[] b = a.address().getAddress();
                    if (b[0] == 127 && !(b[1] == (byte) 255 && b[2] == (byte) 255)) {
                        return Optional.of(zone);
                    }
                }
            } catch (DnsException e) {
                if (!e.isNameError()) {
                    LOG.log(System.Logger.Level.WARNING, "DNSBL {0}: lookup of {1} failed ({2}); taken as not listed", zone, name,
                            e.getMessage());
                }
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "DNSBL {0}: lookup of {1} failed ({2}); taken as not listed", zone, name,
                        e.toString());
            }
        }
        return Optional.empty();
    }

    /** The query name's prefix (RFC 5782 §2.1, §2.4): {@code 4.3.2.1} for 1.2.3.4, 32 nibbles for IPv6. */
    static String reversed(InetAddress client) {
        byte[] b = client.getAddress();
        List<String> labels = new ArrayList<>();
        for (int i = b.length - 1; i >= 0; i--) {
            if (client instanceof Inet4Address) {
                labels.add(Integer.toString(b[i] & 0xff));
            } else {
                labels.add(Integer.toHexString(b[i] & 0x0f));
                labels.add(Integer.toHexString((b[i] >> 4) & 0x0f));
            }
        }
        return String.join(".", labels);
    }

    /**
     * A delivery that refuses each {@code RCPT} from a listed client with {@code 554 5.7.1
     * Service unavailable; Client host [ADDR] blocked using ZONE} (Postfix's wording), then asks
     * {@code delivery}. Authenticated clients are not checked (they send as users, whatever their
     * network), nor clients without an IP address (a Unix socket).
     */
    public <T> MailDelivery<T> over(MailDelivery<T> delivery) {
        return WrappedDelivery.checking(delivery, (session, sender) -> {
            if (session.principal().isEmpty() && session.client() instanceof InetSocketAddress a && a.getAddress() != null) {
                Optional<String> zone = listing(a.getAddress());
                if (zone.isPresent()) {
                    throw new SmtpException(Reply.of(554, "5.7.1 Service unavailable; Client host [" + a.getAddress().getHostAddress()
                            + "] blocked using " + zone.get()));
                }
            }
        });
    }

    /** A configuration. */
    public static final class Builder {
        private Resolver resolver;
        private final List<String> zones = new ArrayList<>();

        private Builder() {}

        /** Where the lists are asked. */
        public Builder resolver(Resolver resolver) {
            this.resolver = Objects.requireNonNull(resolver, "resolver");
            return this;
        }

        /** A list's zone, {@code zen.spamhaus.org} (repeatable; asked in order). */
        public Builder zone(String zone) {
            String z = Objects.requireNonNull(zone, "zone").strip().toLowerCase(Locale.ROOT).replaceAll("\\.$", "");
            if (!z.matches("[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+")) {
                throw new IllegalArgumentException("not a DNS zone: " + zone);
            }
            zones.add(z);
            return this;
        }

        /**
         * The lists.
         *
         * @throws IllegalStateException naming the missing builder method
         */
        public Dnsbl build() {
            if (resolver == null) {
                throw new IllegalStateException("resolver(...) is required");
            }
            if (zones.isEmpty()) {
                throw new IllegalStateException("zone(...) is required");
            }
            return new Dnsbl(this);
        }
    }
}
