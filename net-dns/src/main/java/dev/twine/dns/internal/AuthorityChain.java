package dev.twine.dns.internal;

import dev.twine.dns.DnsAnswer;
import dev.twine.dns.DnsAuthority;
import dev.twine.dns.DnsQuestion;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Several authorities asked in order ({@link DnsAuthority#chain}); the server's own request path
 * is one, so it can tell which member answered (only the zone files' answers are cached).
 */
public final class AuthorityChain implements DnsAuthority {
    private final List<DnsAuthority> members;

    private AuthorityChain(List<DnsAuthority> members) {
        this.members = members;
    }

    /**
     * A chain of {@code authorities}, nested chains flattened.
     *
     * @throws IllegalArgumentException if there is none
     */
    public static AuthorityChain of(List<DnsAuthority> authorities) {
        List<DnsAuthority> flat = new ArrayList<>();
        for (DnsAuthority a : authorities) {
            if (Objects.requireNonNull(a, "authority") instanceof AuthorityChain c) {
                flat.addAll(c.members);
            } else {
                flat.add(a);
            }
        }
        if (flat.isEmpty()) {
            throw new IllegalArgumentException("a chain needs at least one authority");
        }
        return new AuthorityChain(List.copyOf(flat));
    }

    /** The authorities asked, in order. */
    public List<DnsAuthority> members() {
        return members;
    }

    /** An answer and the index of the member that gave it ({@link #members()}.size() if none did). */
    record Answered(DnsAnswer answer, int by) {}

    /** Asks each member in turn until one does not say "not mine". */
    Answered ask(DnsQuestion question) throws Exception {
        for (int i = 0; i < members.size(); i++) {
            DnsAnswer a = Objects.requireNonNull(members.get(i).answer(question), "an authority answered null");
            if (!(a instanceof DnsAnswer.NotMine)) {
                return new Answered(a, i);
            }
        }
        return new Answered(new DnsAnswer.NotMine(), members.size());
    }

    @Override
    public DnsAnswer answer(DnsQuestion question) throws Exception {
        return ask(question).answer();
    }
}
