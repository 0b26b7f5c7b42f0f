/**
 * Twine's DNS: a name server answering from {@link dev.twine.dns.DnsAuthority authorities} (zone
 * files, a caching forwarder, or your own; the {@code twine dns} subcommand,
 * {@link dev.twine.dns.DnsServer}) and a blocking resolver client ({@link dev.twine.dns.Resolver}). The wire format and master-file parsing come from dnsjava,
 * which stays behind this module's API: no dnsjava type appears in an exported signature.
 */
module dev.twine.dns {
    requires transitive dev.twine.core; // DnsServer is a core Service
    requires org.dnsjava;
    requires jdk.unsupported; // sun.misc.Signal: reload zones on SIGHUP

    exports dev.twine.dns;

    provides dev.twine.core.spi.ServicePlugin with dev.twine.dns.internal.DnsPlugin;
}
