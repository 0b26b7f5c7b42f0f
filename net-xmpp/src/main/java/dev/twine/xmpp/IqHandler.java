package dev.twine.xmpp;

import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * Answers the IQ requests (RFC 6120 §8.2.3) of one payload namespace and type that the server
 * handles itself: registered on {@link XmppServer.Builder#iqHandler} for requests to the
 * server's domain, or on {@link XmppServer.Builder#accountIqHandler} for requests to a local
 * account's bare JID, which the server answers on the user's behalf (RFC 6121 §8.5.1; the roster
 * is one). Requests to a full JID go to that client and requests to a component's domain go to
 * the component: no handler sees them. A request whose namespace no handler is registered for is
 * answered {@code service-unavailable} (RFC 6120 §8.4). The built-in ping (XEP-0199), version
 * (XEP-0092), service discovery (XEP-0030), roster (RFC 6121 §2) and carbons (XEP-0280) are
 * handlers too; registering one for the same namespace and type replaces the built-in.
 *
 * <p>The server calls {@link #handle} on the sending session's own virtual thread, so it may
 * block (read a file, ask a database); meanwhile that session reads no further stanzas, and
 * other sessions go on. It may be called from many sessions at once.
 *
 * <pre>{@code
 * IqHandler time = new IqHandler() {
 *     public Optional<Element> handle(IqRequest request) throws StanzaException {
 *         if (!request.payload().name().equals("time")) {
 *             throw new StanzaException(StanzaError.BAD_REQUEST, "expected <time/>");
 *         }
 *         return Optional.of(Element.of("time", "urn:example:time").withText(Instant.now().toString()));
 *     }
 *
 *     public DiscoInfo disco() {
 *         return DiscoInfo.features("urn:example:time"); // listed in the server's disco#info
 *     }
 * };
 * XmppServer server = XmppServer.builder().domain("example.org")
 *         .users(UsersFile.load(usersPath)).dataDirectory(dataDir)
 *         .iqHandler(IqType.GET, "urn:example:time", time)
 *         .build();
 * }</pre>
 *
 * <p>Error handling: a {@link StanzaException} becomes the error IQ with its condition, and its
 * {@linkplain StanzaException#application() application condition} if any (RFC 6120
 * §8.3); an {@link IOException} or a runtime exception becomes {@code internal-server-error}
 * (and is logged); an {@link InterruptedException} ends the sender's stream, as the server is
 * stopping.
 */
@FunctionalInterface
public interface IqHandler {
    /**
     * Answers one request.
     *
     * @return the payload of the result IQ, or empty for an empty result (RFC 6120 §8.2.3); the
     *     server addresses and sends it
     * @throws StanzaException to answer with an error IQ instead
     * @throws IOException if the handler fails (answered {@code internal-server-error})
     * @throws InterruptedException if interrupted while blocked (the stream ends)
     */
    Optional<Element> handle(IqRequest request) throws StanzaException, IOException, InterruptedException;

    /**
     * Answers one request with stanzas for the requester that come before the result, as an
     * XEP-0313 archive query sends its results as messages and then the IQ result (§4). The
     * server calls this method; by default it calls {@link #handle} and sends nothing first. A
     * handler that overrides it may implement {@link #handle} as {@code answer(request).payload()}.
     *
     * @return the stanzas to send first (each without {@code to} goes to the requester) and the
     *     result's payload
     * @throws StanzaException to answer with an error IQ instead (and send nothing else)
     * @throws IOException if the handler fails (answered {@code internal-server-error})
     * @throws InterruptedException if interrupted while blocked (the stream ends)
     */
    default Answer answer(IqRequest request) throws StanzaException, IOException, InterruptedException {
        return new Answer(List.of(), handle(request));
    }

    /**
     * What {@link #answer} returns.
     *
     * @param stanzas sent to the requester, in order, before the result
     * @param payload the result's payload, or empty for an empty result
     */
    record Answer(List<Element> stanzas, Optional<Element> payload) {
        /** Copies the list. */
        public Answer {
            stanzas = List.copyOf(stanzas);
            java.util.Objects.requireNonNull(payload, "payload");
        }
    }

    /** What this handler adds to the server's {@code disco#info} (default: nothing). */
    default DiscoInfo disco() {
        return DiscoInfo.none();
    }
}
