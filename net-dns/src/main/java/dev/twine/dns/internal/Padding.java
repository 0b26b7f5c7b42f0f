package dev.twine.dns.internal;

/**
 * EDNS(0) padding (RFC 7830) of answers over TLS, by the block-length strategy RFC 8467 §4.1
 * recommends for servers: a response to a query that carried the Padding option is padded to a
 * multiple of 468 bytes, so its size tells an observer of the encrypted stream little of what
 * was asked.
 */
final class Padding {
    /** The EDNS option code of Padding (RFC 7830 §4). */
    static final int OPTION = 12;
    /** RFC 8467 §4.1: responses are padded to a multiple of this. */
    static final int BLOCK = 468;

    private Padding() {}

    /**
     * {@code response} padded to a multiple of {@link #BLOCK} if {@code query} asked for padding
     * (RFC 7830 §3: a padded query gets a padded response) and the response has an OPT record.
     */
    static byte[] pad(byte[] query, byte[] response) {
        if (Cookies.optionAt(query, OPTION) < 0) {
            return response;
        }
        int len = Math.floorMod(-(response.length + 4), BLOCK);
        byte[] option = new byte[4 + len];
        option[1] = OPTION;
        option[2] = (byte) (len >>> 8);
        option[3] = (byte) len;
        return Cookies.attach(response, option);
    }
}
