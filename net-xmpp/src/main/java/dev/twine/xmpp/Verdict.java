package dev.twine.xmpp;

import java.util.List;
import java.util.Objects;

/**
 * What a {@link StanzaInterceptor} decides about one stanza: pass it on as it is, pass on a
 * changed stanza, drop it, or drop it and answer the sender.
 */
public sealed interface Verdict {
    /** Pass the stanza on unchanged, to the next interceptor or to routing. */
    static Verdict pass() {
        return Pass.INSTANCE;
    }

    /** Pass {@code stanza} on instead (its {@code from} is stamped again with the sender's address). */
    static Verdict replace(Element stanza) {
        return new Replace(stanza);
    }

    /** Drop the stanza silently: no later interceptor, no routing, nothing to the sender. */
    static Verdict drop() {
        return Drop.INSTANCE;
    }

    /**
     * Drop the stanza and send {@code replies} to its sender instead, in order; a reply with no
     * {@code to} is addressed to the sender, one with no {@code from} comes from the stanza's
     * {@code to} (or the server's domain).
     */
    static Verdict answer(Element... replies) {
        return new Answer(List.of(replies));
    }

    /** See {@link #pass()}. */
    record Pass() implements Verdict {
        private static final Pass INSTANCE = new Pass();
    }

    /**
     * See {@link #replace(Element)}.
     *
     * @param stanza what is passed on
     */
    record Replace(Element stanza) implements Verdict {
        /** Checks the stanza is a message or presence. */
        public Replace {
            Objects.requireNonNull(stanza, "stanza");
            if (!stanza.name().equals("message") && !stanza.name().equals("presence")) {
                throw new IllegalArgumentException("an interceptor passes on a message or a presence, not <" + stanza.name() + "/>");
            }
        }
    }

    /** See {@link #drop()}. */
    record Drop() implements Verdict {
        private static final Drop INSTANCE = new Drop();
    }

    /**
     * See {@link #answer(Element...)}.
     *
     * @param replies what is sent to the sender
     */
    record Answer(List<Element> replies) implements Verdict {
        /** Copies the list. */
        public Answer {
            replies = List.copyOf(replies);
        }
    }
}
