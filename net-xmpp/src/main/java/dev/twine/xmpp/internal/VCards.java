package dev.twine.xmpp.internal;

import dev.twine.xmpp.DiscoInfo;
import dev.twine.xmpp.Element;
import dev.twine.xmpp.IqHandler;
import dev.twine.xmpp.IqRequest;
import dev.twine.xmpp.IqType;
import dev.twine.xmpp.StanzaError;
import dev.twine.xmpp.StanzaException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * vCard-temp (XEP-0054) as an account IQ handler: a user sets their own vCard, anyone reads
 * any local user's. Each is kept as {@code DIR/USER.xml}, replaced atomically and forced to
 * disk before the set is answered; a vCard larger than the limit is refused with
 * {@code not-acceptable} and changes nothing.
 */
final class VCards implements IqHandler {
    static final String NS = "vcard-temp";

    private final Path dir;
    private final int maxBytes;

    VCards(Path dir, int maxBytes) throws IOException {
        this.dir = Files.createDirectories(dir);
        this.maxBytes = maxBytes;
    }

    void register(Extensions ext) {
        ext.accountIq(IqType.GET, NS, this);
        ext.accountIq(IqType.SET, NS, this);
    }

    @Override
    public Optional<Element> handle(IqRequest request) throws StanzaException, IOException {
        ServerIqs.expect(request, "vCard");
        Path file = dir.resolve(DataStore.fileName(request.to().local()));
        if (request.type() == IqType.GET) {
            // XEP-0054 §3.1: a user without a vCard has an empty one
            List<Element> stored = DataStore.read(file);
            return Optional.of(stored.isEmpty() ? Element.of("vCard", NS) : stored.get(0));
        }
        if (!request.fromOwner()) {
            throw new StanzaException(StanzaError.FORBIDDEN, "a vCard is its owner's to set"); // §3.2
        }
        Element vcard = request.payload();
        if (vcard.toXml().getBytes(StandardCharsets.UTF_8).length > maxBytes) {
            throw new StanzaException(StanzaError.NOT_ACCEPTABLE, "a vCard may have " + maxBytes + " bytes");
        }
        DataStore.writeAtomically(file, DataStore.document(List.of(vcard)));
        return Optional.empty();
    }

    @Override
    public DiscoInfo disco() {
        return DiscoInfo.features(NS); // XEP-0054 §4: in the server's disco#info
    }
}
