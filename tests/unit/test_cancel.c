/* test_cancel.c: signals ending waits (cancel.h), held during a change. */
#include <signal.h>

#include "cancel.h"
#include "unit.h"

/* The suite runs as its own process (one meson test a suite), so the
 * process-wide state starts clean; the tests run in order. */
static void
test_signal_ends_waits(void)
{
    cancel_watch_signals();
    CU_ASSERT_EQUAL(cancel_signal(), 0);
    CU_ASSERT_TRUE(cancel_sleep_ms(1));
    raise(SIGTERM);
    CU_ASSERT_EQUAL(cancel_signal(), SIGTERM);
    CU_ASSERT_TRUE(cancel_requested());
    CU_ASSERT_FALSE(cancel_sleep_ms(10000)); /* at once, not in 10 s */
    cancel_acknowledge();
    CU_ASSERT_FALSE(cancel_requested());
    CU_ASSERT_TRUE(cancel_sleep_ms(1));
}

static void
test_held_signal_acts_at_release(void)
{
    cancel_hold();
    raise(SIGINT);
    CU_ASSERT_FALSE(cancel_requested());
    CU_ASSERT_TRUE(cancel_sleep_ms(1)); /* the change goes on */
    cancel_release();
    CU_ASSERT_TRUE(cancel_requested());
    CU_ASSERT_FALSE(cancel_sleep_ms(10000));
    cancel_acknowledge();
    /* nothing came while held: release changes nothing */
    cancel_hold();
    cancel_release();
    CU_ASSERT_FALSE(cancel_requested());
}

static void
test_second_signal_while_held_cuts_short(void)
{
    cancel_hold();
    raise(SIGTERM);
    CU_ASSERT_FALSE(cancel_requested());
    raise(SIGTERM);
    CU_ASSERT_TRUE(cancel_requested());
    CU_ASSERT_FALSE(cancel_sleep_ms(10000));
    cancel_release();
    cancel_acknowledge();
}

void
register_cancel_suite(void)
{
    static const CunitTest tests[] = {
        { "a signal ends waits", test_signal_ends_waits },
        { "held: acts at release", test_held_signal_acts_at_release },
        { "held: a second signal cuts short", test_second_signal_while_held_cuts_short },
        { NULL, NULL },
    };

    cunit_add_suite("cancel", tests);
}
