package dev.twine.xmpp;

import java.io.IOException;
import java.util.List;

/**
 * A service the server hosts in-process under a domain of its own, {@code conference.example.org}
 * say: every stanza addressed to that domain or to an address in it ({@code room@conference.example.org/nick})
 * is handed to {@link #handle}, and the stanzas it returns are routed. Registered with
 * {@link XmppServer.Builder#domainHandler}; the server's built-in group chat (XEP-0045) is one,
 * and so is its file upload service (XEP-0363).
 * It is what an XEP-0114 component is, without the socket: the domain is listed in the server's
 * {@code disco#items}, and a component that connects for the same domain is refused with
 * {@code conflict}.
 *
 * <p>The server calls {@link #handle} on the sender's own virtual thread (the session of the client
 * that sent the stanza, a component's, or the one whose session ended when the server sends the
 * unavailable presence RFC 6121 §4.6.3 asks for to the addresses it got directed presence), so
 * it may block, and it may be called from many sessions at once: the handler keeps its own state
 * safe. The stanzas one call returns are routed in order, after it returns; calls from different
 * senders are not ordered with each other.
 *
 * <pre>{@code
 * DomainHandler echo = stanza -> {
 *     Element m = stanza.stanza();
 *     if (!m.name().equals("message") || m.attributeOrEmpty("type").equals("error")) {
 *         return List.of();                          // an unanswered IQ request gets service-unavailable
 *     }
 *     String body = m.childText("body").orElse("");
 *     // no 'to': back to the sender; no 'from': from the address the message was sent to
 *     return List.of(Element.of("message", "jabber:client").withAttribute("type", "chat")
 *             .withChild(Element.of("body", "jabber:client").withText("echo: " + body)));
 * };
 * XmppServer server = XmppServer.builder().domain("example.org")
 *         .users(UsersFile.load(usersPath)).dataDirectory(dataDir)
 *         .domainHandler("echo.example.org", echo)
 *         .build();
 * }</pre>
 *
 * <p>Error handling: a {@link StanzaException} answers the sender with an error stanza of its
 * condition (RFC 6120 §8.3) and nothing else is sent; an {@link IOException} or a runtime
 * exception does the same with {@code internal-server-error} (and is logged). No error answers a
 * stanza of type {@code error} (§8.3.1). An IQ request ({@code get} or {@code set}) answered
 * with no stanza at all gets {@code service-unavailable} (§8.4). A returned stanza whose
 * {@code from} is outside the handler's domain is not sent (and is logged). An
 * {@link InterruptedException} ends the sender's stream, as the server is stopping.
 */
@FunctionalInterface
public interface DomainHandler {
    /**
     * Handles one stanza addressed to the handler's domain.
     *
     * @param stanza the stanza, in {@code jabber:client}, its {@code from} stamped by the server
     *     (RFC 6120 §8.1.2.1), its {@code to} in the handler's domain; its
     *     {@linkplain InboundStanza#principal() principal} is empty, as the sender may be a
     *     component or the server itself
     * @return the stanzas to route, in order: each without {@code to} goes to the sender, each
     *     without {@code from} comes from the stanza's {@code to}, an IQ without {@code id}
     *     carries the request's; empty for none
     * @throws StanzaException to answer the sender with an error instead
     * @throws IOException if the handler fails (answered {@code internal-server-error})
     * @throws InterruptedException if interrupted while blocked (the sender's stream ends)
     */
    List<Element> handle(InboundStanza stanza) throws StanzaException, IOException, InterruptedException;
}
