package dev.twine.dns;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.util.List;
import java.util.Objects;

/**
 * One resource record of an answer, typed. Names are given in presentation form without the
 * trailing dot ({@code mx1.example.com}; the root is {@code .}), with the case the server sent.
 * {@link #ttl()} is in seconds, as received.
 */
public sealed interface DnsRecord {
    /** The owner name. */
    String name();

    /** The time to live in seconds, as the server sent it. */
    long ttl();

    /** This record's type. */
    RecordType type();

    /** An IPv4 address (RFC 1035 §3.4.1). */
    record A(String name, long ttl, Inet4Address address) implements DnsRecord {
        /** Checks its parts. */
        public A {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(address, "address");
        }

        @Override
        public RecordType type() {
            return RecordType.A;
        }
    }

    /** An IPv6 address (RFC 3596 §2.2). */
    record Aaaa(String name, long ttl, Inet6Address address) implements DnsRecord {
        /** Checks its parts. */
        public Aaaa {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(address, "address");
        }

        @Override
        public RecordType type() {
            return RecordType.AAAA;
        }
    }

    /** A mail exchange: lower {@code preference} is tried first (RFC 5321 §5.1). */
    record Mx(String name, long ttl, int preference, String exchange) implements DnsRecord {
        /** Checks its parts. */
        public Mx {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(exchange, "exchange");
        }

        @Override
        public RecordType type() {
            return RecordType.MX;
        }
    }

    /** Text: the character-strings of one TXT record, decoded as UTF-8 (RFC 1035 §3.3.14). */
    record Txt(String name, long ttl, List<String> strings) implements DnsRecord {
        /** Copies the strings. */
        public Txt {
            Objects.requireNonNull(name, "name");
            strings = List.copyOf(strings);
        }

        /** The strings joined without separator, as SPF and DKIM read them (RFC 7208 §3.3). */
        public String text() {
            return String.join("", strings);
        }

        @Override
        public RecordType type() {
            return RecordType.TXT;
        }
    }

    /** A service location (RFC 2782). */
    record Srv(String name, long ttl, int priority, int weight, int port, String target) implements DnsRecord {
        /** Checks its parts. */
        public Srv {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(target, "target");
        }

        @Override
        public RecordType type() {
            return RecordType.SRV;
        }
    }

    /** An alias: {@code name} is another name for {@code target} (RFC 1034 §3.6.2). */
    record Cname(String name, long ttl, String target) implements DnsRecord {
        /** Checks its parts. */
        public Cname {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(target, "target");
        }

        @Override
        public RecordType type() {
            return RecordType.CNAME;
        }
    }

    /** A name server for the zone {@code name}. */
    record Ns(String name, long ttl, String target) implements DnsRecord {
        /** Checks its parts. */
        public Ns {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(target, "target");
        }

        @Override
        public RecordType type() {
            return RecordType.NS;
        }
    }

    /** A pointer to another name (reverse lookups). */
    record Ptr(String name, long ttl, String target) implements DnsRecord {
        /** Checks its parts. */
        public Ptr {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(target, "target");
        }

        @Override
        public RecordType type() {
            return RecordType.PTR;
        }
    }

    /** The start of authority of the zone {@code name} (RFC 1035 §3.3.13); times in seconds. */
    record Soa(String name, long ttl, String primary, String admin, long serial, long refresh, long retry,
            long expire, long minimum) implements DnsRecord {
        /** Checks its parts. */
        public Soa {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(primary, "primary");
            Objects.requireNonNull(admin, "admin");
        }

        @Override
        public RecordType type() {
            return RecordType.SOA;
        }
    }
}
