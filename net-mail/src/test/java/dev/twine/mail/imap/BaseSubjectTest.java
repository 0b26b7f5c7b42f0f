package dev.twine.mail.imap;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** Base subject extraction (RFC 5256 §2.1), each step and their repetition. */
class BaseSubjectTest {
    private static void base(String subject, String expected, boolean replyOrForward) {
        assertEquals(new ImapSort.Subject(expected, replyOrForward), ImapSort.baseSubject(subject), subject);
    }

    @Test
    void plainSubjectsOnlyLoseExtraWhiteSpace() {
        base("lunch", "lunch", false);
        base("  lunch \t at\t\tnoon  ", "lunch at noon", false);
        base("", "", false);
        base("Regarding: lunch", "Regarding: lunch", false);
        base("Re lunch", "Re lunch", false);
    }

    @Test
    void replyAndForwardLeadersGoAndMarkTheMessage() {
        base("Re: lunch", "lunch", true);
        base("RE: re:  Re : lunch", "lunch", true);
        base("Fw: lunch", "lunch", true);
        base("FWD:lunch", "lunch", true);
        base("Re[2]: lunch", "lunch", true);
        base("Re [2] : lunch", "lunch", true);
        base("[list] Re: lunch", "lunch", true);
        base("[a] [b] Fwd: Re: lunch", "lunch", true);
    }

    @Test
    void trailersAndTheForwardWrapperGoToo() {
        base("lunch (fwd)", "lunch", true);
        base("lunch (FWD) (fwd)  ", "lunch", true);
        base("[Fwd: Re: lunch]", "lunch", true);
        base("[fwd: [fwd: lunch (fwd)]]", "lunch", true);
    }

    @Test
    void aBlobGoesOnlyIfSomethingIsLeftAfterIt() {
        base("[list] lunch", "lunch", false);
        base("[list] [other] lunch", "lunch", false);
        base("[list]", "[list]", false);
        base("[list] [only]", "[only]", false);
        base("[unclosed lunch", "[unclosed lunch", false);
        base("[list] Re: [list] lunch", "lunch", true);
    }
}
