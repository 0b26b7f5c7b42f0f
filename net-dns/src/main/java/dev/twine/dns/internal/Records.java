package dev.twine.dns.internal;

import org.xbill.DNS.Record;
import org.xbill.DNS.Section;

/** Record helpers dnsjava keeps package-private. */
final class Records {
    private Records() {}

    /** {@code r} with another TTL, everything else (case in names included) kept. */
    static Record withTtl(Record r, long ttl) {
        // uncompressed wire form: owner, type (2), class (2), TTL (4), rdlength (2), rdata
        byte[] wire = r.toWire(Section.ANSWER);
        int at = r.getName().length() + 4;
        wire[at] = (byte) (ttl >>> 24);
        wire[at + 1] = (byte) (ttl >>> 16);
        wire[at + 2] = (byte) (ttl >>> 8);
        wire[at + 3] = (byte) ttl;
        try {
            return Record.fromWire(wire, Section.ANSWER);
        } catch (java.io.IOException e) {
            throw new IllegalStateException("re-reading a record dnsjava wrote: " + r, e);
        }
    }
}
