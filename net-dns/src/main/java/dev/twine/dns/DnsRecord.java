package dev.twine.dns;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * One resource record, typed: what {@link Resolver} returns and what a {@link DnsAuthority}
 * answers with. Names are given in presentation form without the trailing dot
 * ({@code mx1.example.com}; the root is {@code .}; a trailing dot is accepted where a record is
 * sent), with their case kept. {@link #ttl()} is in seconds. A type without a record class here
 * travels as {@link Other}, its data in wire form (RFC 3597).
 */
public sealed interface DnsRecord {
    /** The owner name. */
    String name();

    /** The time to live in seconds, as the server sent it. */
    long ttl();

    /** This record's type code on the wire ({@link RecordType#code()} for the typed records). */
    int typeCode();

    /** An IPv4 address (RFC 1035 §3.4.1). */
    record A(String name, long ttl, Inet4Address address) implements DnsRecord {
        /** Checks its parts. */
        public A {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(address, "address");
        }

        @Override
        public int typeCode() {
            return RecordType.A.code();
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
        public int typeCode() {
            return RecordType.AAAA.code();
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
        public int typeCode() {
            return RecordType.MX.code();
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
        public int typeCode() {
            return RecordType.TXT.code();
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
        public int typeCode() {
            return RecordType.SRV.code();
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
        public int typeCode() {
            return RecordType.CNAME.code();
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
        public int typeCode() {
            return RecordType.NS.code();
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
        public int typeCode() {
            return RecordType.PTR.code();
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
        public int typeCode() {
            return RecordType.SOA.code();
        }
    }

    /**
     * A record of a type without its own class here (CAA, HINFO, DS, ...), or a TXT record whose
     * strings are not UTF-8: the type code and the record data exactly as on the wire
     * (RFC 3597 §5). The data is copied in and out.
     */
    record Other(String name, long ttl, int typeCode, byte[] data) implements DnsRecord {
        /** Checks its parts and copies the data. */
        public Other {
            Objects.requireNonNull(name, "name");
            if (typeCode < 0 || typeCode > 0xFFFF) {
                throw new IllegalArgumentException("not a record type code: " + typeCode);
            }
            if (data.length > 0xFFFF) {
                throw new IllegalArgumentException("record data longer than 65,535 bytes");
            }
            data = data.clone();
        }

        /** A copy of the record data. */
        @Override
        public byte[] data() {
            return data.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Other x && x.name.equals(name) && x.ttl == ttl && x.typeCode == typeCode
                    && Arrays.equals(x.data, data);
        }

        @Override
        public int hashCode() {
            return Objects.hash(name, ttl, typeCode) * 31 + Arrays.hashCode(data);
        }

        @Override
        public String toString() {
            return "Other[name=" + name + ", ttl=" + ttl + ", typeCode=" + typeCode + ", data=" + HexFormat.of().formatHex(data)
                    + "]";
        }
    }
}
