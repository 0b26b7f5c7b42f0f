package dev.twine.ssh.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The MaxStartups-style early drop decision: never below start, rate at start, all at full. */
class EarlyDropTest {

    /** How many of the 100 possible rolls drop a connection with {@code waiting} others waiting. */
    private static int drops(int waiting, int start, int rate, int full) {
        int n = 0;
        for (int roll = 0; roll < 100; roll++) {
            n += MinaSshServer.dropEarly(waiting, roll, start, rate, full) ? 1 : 0;
        }
        return n;
    }

    @Test
    void dropChanceRisesLinearlyFromRateAtStartToAllAtFull() {
        assertEquals(0, drops(9, 10, 30, 100));
        assertEquals(30, drops(10, 10, 30, 100));
        assertEquals(65, drops(55, 10, 30, 100));
        assertEquals(100, drops(100, 10, 30, 100));
        assertEquals(100, drops(150, 10, 30, 100));
    }

    @Test
    void withoutACapTheRateStaysAndStartZeroIsOff() {
        assertEquals(30, drops(1000, 10, 30, 0));
        assertEquals(0, drops(1000, 0, 30, 100));
        assertEquals(100, drops(5, 5, 30, 5));
    }
}
