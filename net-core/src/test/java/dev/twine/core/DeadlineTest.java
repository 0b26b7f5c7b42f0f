package dev.twine.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.testing.ManualClock;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** If a deadline is read on a manual clock, then what is left of it follows the clock exactly. */
@Timeout(value = 10, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class DeadlineTest {

    @Test
    void remainingShrinksWithTheClockAndNeverGoesNegative() {
        ManualClock clock = ManualClock.create();
        Deadline d = Deadline.after(Duration.ofSeconds(10), clock);
        assertEquals(Duration.ofSeconds(10), d.remaining());
        clock.advance(Duration.ofSeconds(4));
        assertEquals(Duration.ofSeconds(6), d.remaining());
        assertFalse(d.isExpired());
        clock.advance(Duration.ofSeconds(6));
        assertTrue(d.isExpired());
        clock.advance(Duration.ofSeconds(6));
        assertEquals(Duration.ZERO, d.remaining());
        assertEquals(Duration.ofSeconds(10), d.budget());
    }

    @Test
    void capBoundsOneOperationByWhatIsLeftAndTreatsZeroAsNoTimeout() {
        ManualClock clock = ManualClock.create();
        Deadline d = Deadline.after(Duration.ofSeconds(10), clock);
        assertEquals(Duration.ofSeconds(3), d.cap(Duration.ofSeconds(3)));
        assertEquals(Duration.ofSeconds(10), d.cap(Duration.ofMinutes(1)));
        assertEquals(Duration.ofSeconds(10), d.cap(Duration.ZERO), "zero means no timeout: the deadline bounds it");
    }

    @Test
    void deadlineInThePastIsExpiredWithZeroBudget() {
        ManualClock clock = ManualClock.create();
        Deadline d = Deadline.at(clock.instant().minusSeconds(5), clock);
        assertTrue(d.isExpired());
        assertEquals(Duration.ZERO, d.budget());
    }

    @Test
    void rejectsNegativeBudget() {
        assertThrows(IllegalArgumentException.class, () -> Deadline.after(Duration.ofSeconds(-1)));
    }
}
