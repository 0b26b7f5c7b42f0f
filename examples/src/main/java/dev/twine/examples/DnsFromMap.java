/*
 * DnsFromMap: a DNS server answering A and AAAA for *.svc.local from a map that changes while it
 * runs, through a DnsAuthority of its own (no zone file). A name not in the map is NXDOMAIN with
 * the zone's SOA, so resolvers cache the miss; names outside svc.local are REFUSED.
 *
 * Run it:  ./twine run examples/src/main/java/dev/twine/examples/DnsFromMap.java [PORT]
 * type "NAME ADDRESS" lines to register names (web 127.0.0.10, db ::1), "-NAME" to drop one, and
 * ask it (default port 5301):  dig @127.0.0.1 -p 5301 web.svc.local A
 */
package dev.twine.examples;

import dev.twine.dns.DnsAnswer;
import dev.twine.dns.DnsAuthority;
import dev.twine.dns.DnsRecord;
import dev.twine.dns.DnsServer;
import dev.twine.dns.RecordType;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

public final class DnsFromMap {
    static final String ZONE = "svc.local";
    static final DnsRecord.Soa SOA = new DnsRecord.Soa(ZONE, 60, "ns." + ZONE, "hostmaster." + ZONE, 1, 3600, 600, 86400, 10);

    /** The running server and the map it answers from: change the map, the next query sees it. */
    record Running(DnsServer server, Map<String, InetAddress> names) {}

    /** Answers svc.local and the names below it from {@code names} (lower-case keys). */
    static DnsAuthority registry(Map<String, InetAddress> names) {
        return q -> {
            if (!q.inZone(ZONE)) {
                return DnsAnswer.notMine(); // nobody else is asked here: the server answers REFUSED
            }
            String name = q.name().toLowerCase(Locale.ROOT);
            if (name.equals(ZONE)) {
                return q.is(RecordType.SOA) ? DnsAnswer.of(SOA) : DnsAnswer.nodata(SOA);
            }
            InetAddress a = names.get(name);
            if (a == null) {
                return DnsAnswer.nxdomain(SOA);
            }
            if (a instanceof Inet4Address v4 && q.is(RecordType.A)) { // owner: the name as the client spelled it
                return DnsAnswer.of(new DnsRecord.A(q.name(), 5, v4));
            }
            if (a instanceof Inet6Address v6 && q.is(RecordType.AAAA)) {
                return DnsAnswer.of(new DnsRecord.Aaaa(q.name(), 5, v6));
            }
            return DnsAnswer.nodata(SOA); // the name exists, without records of that type
        };
    }

    /** Starts the server on UDP and TCP, one port ({@code 0}: a free one), answering from a new map. */
    static Running start(String host, int port) throws IOException {
        Map<String, InetAddress> names = new ConcurrentHashMap<>();
        DnsServer dns = DnsServer.builder().authority(registry(names))
                .listen("udp:" + port + ":interface=" + host).listen("tcp:" + port + ":interface=" + host).build();
        dns.start();
        return new Running(dns, names);
    }

    public static void main(String[] args) throws Exception {
        Running r = start("127.0.0.1", args.length > 0 ? Integer.parseInt(args[0]) : 5301);
        System.out.println("try: dig @127.0.0.1 -p " + r.server().port() + " web.svc.local A");
        System.out.println("type NAME ADDRESS to register a name (web 127.0.0.10), -NAME to drop it");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            String[] w = line.trim().toLowerCase(Locale.ROOT).split("\\s+");
            if (w[0].startsWith("-")) {
                r.names().remove(w[0].substring(1) + "." + ZONE);
            } else if (w.length == 2 && w[1].matches("[0-9a-f.:]+")) { // a literal: never looked up
                r.names().put(w[0] + "." + ZONE, InetAddress.getByName(w[1]));
            }
        }
        r.server().awaitTermination(); // input closed: keep serving until interrupted (Ctrl-C)
    }
}
