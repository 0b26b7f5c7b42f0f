package dev.twine.mail.auth;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The SPF and DMARC test zones, served in-process by Twine's DnsServer on UDP 127.0.0.1:
 * {@code example.org}, {@code example.com} and the reverse zone of 192.0.2.0/24; {@code example.net} is not served
 * (REFUSED: a lookup there is a DNS failure). Each {@link Case} is one SPF check and the result
 * RFC 7208 gives it, run by {@code SpfTest} through Twine and by {@code SpfInteropTest} through
 * python3-spf.
 */
final class SpfZone {
    /** One check: client address, HELO name, MAIL FROM, the expected result. */
    record Case(String name, String ip, String helo, String mailFrom, AuthResult expected) {}

    static final List<String> RECORDS = List.of(
            "pass IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"",
            "fail IN TXT \"v=spf1 ip4:198.51.100.1 -all\"",
            "soft IN TXT \"v=spf1 ip4:198.51.100.1 ~all\"",
            "neutral IN TXT \"v=spf1 ?all\"",
            "nomatch IN TXT \"v=spf1 ip4:198.51.100.1\"",
            "nospf IN TXT \"google-site-verification=abc\"",
            "inc IN TXT \"v=spf1 include:soft.example.org include:pass.example.org -all\"",
            "mxd IN TXT \"v=spf1 mx -all\"",
            "mxd IN MX 10 mail.mxd",
            "mxd IN MX 20 backup.mxd",
            "mail.mxd IN A 198.51.100.7",
            "backup.mxd IN A 192.0.2.10",
            "acidr IN TXT \"v=spf1 a:host.acidr.example.org/24 -all\"",
            "host.acidr IN A 192.0.2.200",
            "ex IN TXT \"v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all\"",
            "10.2.0.192.user._spf.ex IN A 127.0.0.2",
            "redir IN TXT \"v=spf1 redirect=fail.example.org\"",
            "redirnone IN TXT \"v=spf1 redirect=nospf.example.org\"",
            "ptr IN TXT \"v=spf1 ptr -all\"",
            "host.ptr IN A 192.0.2.10",
            "v6 IN TXT \"v=spf1 ip6:2001:db8::/32 -all\"",
            "helo IN TXT \"v=spf1 a -all\"",
            "helo IN A 192.0.2.10",
            "failexp IN TXT \"v=spf1 -all exp=explain.example.org\"",
            "explain IN TXT \"%{i} is not one of %{d}'s senders\"",
            "loop IN TXT \"v=spf1 include:loop.example.org -all\"",
            "many IN TXT \"v=spf1 a:h1.many.example.org a:h2.many.example.org a:h3.many.example.org"
                    + " a:h4.many.example.org a:h5.many.example.org a:h6.many.example.org a:h7.many.example.org"
                    + " a:h8.many.example.org a:h9.many.example.org a:h10.many.example.org a:h11.many.example.org -all\"",
            "*.many IN A 198.51.100.99",
            "voids IN TXT \"v=spf1 a:nx1.example.org a:nx2.example.org a:nx3.example.org -all\"",
            "two IN TXT \"v=spf1 -all\"",
            "two IN TXT \"v=spf1 +all\"",
            "badip IN TXT \"v=spf1 ip4:300.1.1.1 -all\"",
            "badmech IN TXT \"v=spf1 frobnicate -all\"",
            "temp IN TXT \"v=spf1 include:elsewhere.example.net -all\"");

    /** The DMARC tests' records in {@code example.org} (SPF for 127.0.0.1, the in-memory client's address). */
    static final List<String> DMARC = List.of(
            "spfok IN TXT \"v=spf1 ip4:127.0.0.1 -all\"",
            "_dmarc.spfok IN TXT \"v=DMARC1; p=reject\"",
            "bounces.rel IN TXT \"v=spf1 ip4:127.0.0.1 -all\"",
            "_dmarc.rel IN TXT \"v=DMARC1; p=reject\"",
            "bounces.strict IN TXT \"v=spf1 ip4:127.0.0.1 -all\"",
            "_dmarc.strict IN TXT \"v=DMARC1; p=reject; aspf=s\"",
            "_dmarc.signed IN TXT \"v=DMARC1; p=reject\"",
            "_dmarc.rej IN TXT \"v=DMARC1; p=reject\"",
            "_dmarc.quar IN TXT \"v=DMARC1; p=quarantine\"",
            "_dmarc.pct IN TXT \"v=DMARC1; p=reject; pct=50\"",
            "_dmarc.mon IN TXT \"v=DMARC1; p=none; rua=mailto:reports@example.org\"",
            "_dmarc.nop IN TXT \"v=DMARC1; rua=mailto:reports@example.org\"",
            "_dmarc.badp IN TXT \"v=DMARC1; p=bounce\"",
            "_dmarc.twice IN TXT \"v=DMARC1; p=reject\"",
            "_dmarc.twice IN TXT \"v=DMARC1; p=none\"");

    /** {@code example.com}: another organizational domain, whose policy names a subdomain policy. */
    static final List<String> COM = List.of(
            "@ IN TXT \"v=spf1 ip4:127.0.0.1 -all\"",
            "_dmarc IN TXT \"v=DMARC1; p=none; sp=reject\"");

    static final List<Case> CASES = List.of(
            new Case("ip4 in the network", "192.0.2.10", "client.example.org", "user@pass.example.org", AuthResult.PASS),
            new Case("-all", "192.0.2.10", "client.example.org", "user@fail.example.org", AuthResult.FAIL),
            new Case("~all", "192.0.2.10", "client.example.org", "user@soft.example.org", AuthResult.SOFTFAIL),
            new Case("?all", "192.0.2.10", "client.example.org", "user@neutral.example.org", AuthResult.NEUTRAL),
            new Case("nothing matched", "192.0.2.10", "client.example.org", "user@nomatch.example.org", AuthResult.NEUTRAL),
            new Case("TXT without v=spf1", "192.0.2.10", "client.example.org", "user@nospf.example.org", AuthResult.NONE),
            new Case("NXDOMAIN", "192.0.2.10", "client.example.org", "user@missing.example.org", AuthResult.NONE),
            new Case("include: pass after softfail", "192.0.2.10", "client.example.org", "user@inc.example.org", AuthResult.PASS),
            new Case("mx, second exchange", "192.0.2.10", "client.example.org", "user@mxd.example.org", AuthResult.PASS),
            new Case("mx, no exchange", "192.0.2.11", "client.example.org", "user@mxd.example.org", AuthResult.FAIL),
            new Case("a with /24", "192.0.2.10", "client.example.org", "user@acidr.example.org", AuthResult.PASS),
            new Case("a with /24, outside", "198.51.100.10", "client.example.org", "user@acidr.example.org", AuthResult.FAIL),
            new Case("exists with %{ir} and %{l1r+-}", "192.0.2.10", "client.example.org", "user-tag@ex.example.org",
                    AuthResult.PASS),
            new Case("exists, no such name", "192.0.2.11", "client.example.org", "user@ex.example.org", AuthResult.FAIL),
            new Case("redirect=", "192.0.2.10", "client.example.org", "user@redir.example.org", AuthResult.FAIL),
            new Case("redirect= to no record", "192.0.2.10", "client.example.org", "user@redirnone.example.org",
                    AuthResult.PERMERROR),
            new Case("ptr, validated", "192.0.2.10", "client.example.org", "user@ptr.example.org", AuthResult.PASS),
            new Case("ptr, name does not resolve back", "192.0.2.11", "client.example.org", "user@ptr.example.org",
                    AuthResult.FAIL),
            new Case("ip6", "2001:db8::25", "client.example.org", "user@v6.example.org", AuthResult.PASS),
            new Case("ip6, IPv4 client", "192.0.2.10", "client.example.org", "user@v6.example.org", AuthResult.FAIL),
            new Case("HELO for the null sender", "192.0.2.10", "helo.example.org", "", AuthResult.PASS),
            new Case("HELO for the null sender, other address", "192.0.2.11", "helo.example.org", "", AuthResult.FAIL),
            new Case("include loop", "192.0.2.10", "client.example.org", "user@loop.example.org", AuthResult.PERMERROR),
            new Case("11 DNS-querying terms", "192.0.2.10", "client.example.org", "user@many.example.org", AuthResult.PERMERROR),
            new Case("3 void lookups", "192.0.2.10", "client.example.org", "user@voids.example.org", AuthResult.PERMERROR),
            new Case("two SPF records", "192.0.2.10", "client.example.org", "user@two.example.org", AuthResult.PERMERROR),
            new Case("bad ip4", "192.0.2.10", "client.example.org", "user@badip.example.org", AuthResult.PERMERROR),
            new Case("unknown mechanism", "192.0.2.10", "client.example.org", "user@badmech.example.org", AuthResult.PERMERROR),
            new Case("include: lookup refused", "192.0.2.10", "client.example.org", "user@temp.example.org", AuthResult.TEMPERROR),
            new Case("record lookup refused", "192.0.2.10", "client.example.org", "user@example.net", AuthResult.TEMPERROR));

    private SpfZone() {}

    /** Serves {@link #RECORDS} and {@code more} (relative to example.org), the reverse zone and {@code example.com}. */
    static DkimZone serve(Path dir, List<String> more) throws Exception {
        List<String> lines = new ArrayList<>(RECORDS);
        lines.addAll(more);
        Path reverse = dir.resolve("2.0.192.in-addr.arpa.zone");
        Files.write(reverse, List.of("$ORIGIN 2.0.192.in-addr.arpa.", "$TTL 300",
                "@ IN SOA ns.example.org. hostmaster.example.org. 1 3600 600 86400 300", "@ IN NS ns.example.org.",
                "10 IN PTR host.ptr.example.org.", "11 IN PTR host.ptr.example.org."), StandardCharsets.US_ASCII);
        Path com = dir.resolve("example.com.zone");
        List<String> comLines = new ArrayList<>(List.of("$ORIGIN example.com.", "$TTL 300",
                "@ IN SOA ns.example.org. hostmaster.example.org. 1 3600 600 86400 300", "@ IN NS ns.example.org."));
        comLines.addAll(COM);
        Files.write(com, comLines, StandardCharsets.US_ASCII);
        return DkimZone.serve(dir, lines, List.of(reverse, com));
    }
}
