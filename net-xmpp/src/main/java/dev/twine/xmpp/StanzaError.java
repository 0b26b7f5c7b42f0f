package dev.twine.xmpp;

/**
 * The stanza error conditions of RFC 6120 §8.3.3, each with the error type (§8.3.2) the server
 * sends with it: what an {@link IqHandler} or a {@link StanzaInterceptor} throws, inside a
 * {@link StanzaException}, to refuse a stanza.
 */
public enum StanzaError {
    /** §8.3.3.1: the request is malformed or not understood. */
    BAD_REQUEST("bad-request", "modify"),
    /** §8.3.3.2: a resource or session with that name already exists. */
    CONFLICT("conflict", "cancel"),
    /** §8.3.3.3: the feature is understood but not implemented. */
    FEATURE_NOT_IMPLEMENTED("feature-not-implemented", "cancel"),
    /** §8.3.3.4: the sender may not do this, whatever it authenticates as. */
    FORBIDDEN("forbidden", "auth"),
    /** §8.3.3.5: the recipient or server can no longer be reached at this address. */
    GONE("gone", "cancel"),
    /** §8.3.3.6: the server could not process the stanza (a failed disk, a bug). */
    INTERNAL_SERVER_ERROR("internal-server-error", "wait"),
    /** §8.3.3.7: the addressed item (a node, a key, a roster item) does not exist. */
    ITEM_NOT_FOUND("item-not-found", "cancel"),
    /** §8.3.3.8: an address in the stanza is not a valid JID. */
    JID_MALFORMED("jid-malformed", "modify"),
    /** §8.3.3.9: the request breaks a rule of the recipient (a value out of range). */
    NOT_ACCEPTABLE("not-acceptable", "modify"),
    /** §8.3.3.10: nobody may do this. */
    NOT_ALLOWED("not-allowed", "cancel"),
    /** §8.3.3.11: the sender must authenticate first. */
    NOT_AUTHORIZED("not-authorized", "auth"),
    /** §8.3.3.12: the stanza breaks a local policy (too large, too frequent). */
    POLICY_VIOLATION("policy-violation", "modify"),
    /** §8.3.3.13: the recipient is temporarily unavailable. */
    RECIPIENT_UNAVAILABLE("recipient-unavailable", "wait"),
    /** §8.3.3.14: the recipient has moved (this enum gives no new address). */
    REDIRECT("redirect", "modify"),
    /** §8.3.3.15: the sender must register first. */
    REGISTRATION_REQUIRED("registration-required", "auth"),
    /** §8.3.3.16: the recipient's domain does not exist or cannot be reached. */
    REMOTE_SERVER_NOT_FOUND("remote-server-not-found", "cancel"),
    /** §8.3.3.17: the recipient's server did not answer in time. */
    REMOTE_SERVER_TIMEOUT("remote-server-timeout", "wait"),
    /** §8.3.3.18: the server or recipient lacks the resources (a full roster, a full store). */
    RESOURCE_CONSTRAINT("resource-constraint", "wait"),
    /** §8.3.3.19: the recipient does not offer this service (also the answer to an unknown IQ). */
    SERVICE_UNAVAILABLE("service-unavailable", "cancel"),
    /** §8.3.3.20: the sender must be subscribed first. */
    SUBSCRIPTION_REQUIRED("subscription-required", "auth"),
    /** §8.3.3.21: none of the others. */
    UNDEFINED_CONDITION("undefined-condition", "cancel"),
    /** §8.3.3.22: the request is understood but not expected now. */
    UNEXPECTED_REQUEST("unexpected-request", "modify");

    private final String condition;
    private final String type;

    StanzaError(String condition, String type) {
        this.condition = condition;
        this.type = type;
    }

    /** The condition's element name, {@code service-unavailable}. */
    public String condition() {
        return condition;
    }

    /** The error type sent with it (RFC 6120 §8.3.2): {@code auth}, {@code cancel}, {@code modify} or {@code wait}. */
    public String type() {
        return type;
    }
}
