package dev.twine.xmpp;

import java.io.IOException;

/**
 * Sees each message or presence stanza that a client or component sends, before the server
 * routes it, and decides what becomes of it: {@linkplain Verdict#pass() pass it on},
 * {@linkplain Verdict#replace change it}, {@linkplain Verdict#drop() drop it} or
 * {@linkplain Verdict#answer answer it}. Registered with
 * {@link XmppServer.Builder#messageInterceptor} or {@link XmppServer.Builder#presenceInterceptor}.
 *
 * <p>Order: interceptors run in registration order, each seeing what the one before passed on;
 * the first that drops or answers ends the chain. They run before everything routing does, so a
 * dropped message is neither delivered, nor copied to the sender's other resources (XEP-0280
 * carbons), nor stored for an offline recipient (XEP-0160), and a changed one is copied and stored
 * as changed. The server keeps no privacy or block lists of its own (XEP-0016, XEP-0191): an
 * interceptor that drops is how to write one. Interceptors see only what a client or component
 * sent: not the presence the server generates (probes answered, unavailable presence at the end of
 * a session), not error replies the server makes, and not messages redelivered from offline
 * storage or after a lost stream.
 *
 * <p>The server calls {@link #intercept} on the sending session's own virtual thread; it may
 * block, and may be called from many sessions at once.
 *
 * <pre>{@code
 * StanzaInterceptor noShouting = stanza -> {
 *     Element m = stanza.stanza();
 *     String body = m.childText("body").orElse("");
 *     if (body.contains("spam")) {
 *         return Verdict.drop();
 *     }
 *     Element quiet = m.withChildren(m.children().stream()
 *             .map(c -> c.name().equals("body") ? c.withText(body.toLowerCase(Locale.ROOT)) : c).toList());
 *     return Verdict.replace(quiet);
 * };
 * XmppServer server = XmppServer.builder().domain("example.org")
 *         .users(UsersFile.load(usersPath)).dataDirectory(dataDir)
 *         .messageInterceptor(noShouting)
 *         .build();
 * }</pre>
 *
 * <p>Error handling: a {@link StanzaException} drops the stanza and sends its sender an error
 * stanza with its condition (RFC 6120 §8.3), except for stanzas of type {@code error}, which are
 * never answered with errors (§8.3.1); an {@link IOException} or a runtime exception does the same
 * with {@code internal-server-error} (and is logged); an {@link InterruptedException} ends the
 * sender's stream, as the server is stopping.
 */
@FunctionalInterface
public interface StanzaInterceptor {
    /**
     * Decides what becomes of one stanza.
     *
     * @throws StanzaException to drop it and answer the sender with an error
     * @throws IOException if the interceptor fails (the sender gets {@code internal-server-error})
     * @throws InterruptedException if interrupted while blocked (the stream ends)
     */
    Verdict intercept(InboundStanza stanza) throws StanzaException, IOException, InterruptedException;

    /** What this interceptor adds to the server's {@code disco#info} (default: nothing). */
    default DiscoInfo disco() {
        return DiscoInfo.none();
    }
}
