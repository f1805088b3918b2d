/* test_sweep.c - the reconciliation state machine, input by input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "policy/sweep.h"

#define G 4242u

static const sweep_config cfg = { .batch_size = 3, .batch_delay_ms = 100, .max_delete_share = 0.5,
                                  .confirm_sample = 2, .chunk_timeout_ms = 1000 };

/* Drain all actions; return the number, the last one in *last, and the
 * nonce of any REQUEST_MEMBERS into nonce. */
static int drain(sweep *sw, sweep_action *last, char *nonce, sweep_action_kind count_kind, int *counted)
{
    sweep_action a;
    int n = 0;
    while (sweep_next_action(sw, &a)) {
        n++;
        if (a.kind == SW_ACT_REQUEST_MEMBERS && nonce)
            strcpy(nonce, a.nonce);
        if (counted && a.kind == count_kind)
            (*counted)++;
        if (last)
            *last = a;
    }
    return n;
}

static sweep *started(char *nonce, int force, int dry)
{
    sweep *sw = sweep_new(&cfg, 1);
    assert_non_null(sw);
    assert_int_equal(sweep_start(sw, G, force, dry, 0), DC_OK);
    sweep_action last;
    assert_int_equal(drain(sw, &last, nonce, 0, NULL), 1);
    assert_int_equal(last.kind, SW_ACT_REQUEST_MEMBERS);
    assert_true(strlen(nonce) > 0 && strlen(nonce) <= 32);
    return sw;
}

static const uint64_t ids[] = { 1, 2, 3 };

static void complete_list_is_measured(void **state)
{
    (void)state;
    char nonce[40];
    sweep *sw = started(nonce, 0, 0);
    int adds = 0;
    sweep_on_chunk(sw, G, nonce, 1, 2, ids, 3, 10);
    sweep_action last;
    drain(sw, &last, NULL, SW_ACT_ADD_MEMBERS, &adds);
    assert_int_equal(sweep_get_state(sw), SW_COLLECTING);
    sweep_on_chunk(sw, G, nonce, 0, 2, ids, 2, 20);
    drain(sw, &last, NULL, SW_ACT_ADD_MEMBERS, &adds);
    assert_int_equal(adds, 2);
    assert_int_equal(last.kind, SW_ACT_MEASURE);
    assert_int_equal(sweep_get_state(sw), SW_MEASURING);
    sweep_free(sw);
}

static void chunks_of_other_requests_are_ignored(void **state)
{
    (void)state;
    char nonce[40];
    sweep *sw = started(nonce, 0, 0);
    sweep_on_chunk(sw, G, "someone-else", 0, 1, ids, 3, 10);
    sweep_on_chunk(sw, G, NULL, 0, 1, ids, 3, 10);
    sweep_on_chunk(sw, G + 1, nonce, 0, 1, ids, 3, 10);
    assert_int_equal(drain(sw, NULL, NULL, 0, NULL), 0);
    assert_int_equal(sweep_get_state(sw), SW_COLLECTING);
    sweep_free(sw);
}

static void expect_abort(sweep *sw, const char *needle)
{
    sweep_action last;
    memset(&last, 0, sizeof last);
    drain(sw, &last, NULL, 0, NULL);
    assert_int_equal(last.kind, SW_ACT_DONE);
    assert_int_equal(last.ok, 0);
    assert_int_equal(last.removed, 0);
    assert_non_null(strstr(last.text, needle));
    assert_int_equal(sweep_get_state(sw), SW_IDLE);
}

static void missing_chunk_times_out_and_deletes_nothing(void **state)
{
    (void)state;
    char nonce[40];
    sweep *sw = started(nonce, 0, 0);
    sweep_on_chunk(sw, G, nonce, 0, 3, ids, 3, 10);
    sweep_on_chunk(sw, G, nonce, 2, 3, ids, 3, 20);
    drain(sw, NULL, NULL, 0, NULL);
    sweep_tick(sw, 500);                     /* not yet */
    assert_int_equal(drain(sw, NULL, NULL, 0, NULL), 0);
    assert_true(sweep_next_deadline(sw) == 1020);
    sweep_tick(sw, 1020);
    expect_abort(sw, "2 of 3 chunks");
    sweep_free(sw);
}

/* A reload's new settings (sweep_set_config): the running sweep keeps the
 * chunk timeout it started with, the next one takes the new one. */
static void new_settings_apply_from_the_next_sweep(void **state)
{
    (void)state;
    char nonce[40];
    sweep *sw = started(nonce, 0, 0);
    sweep_config slower = cfg;
    slower.chunk_timeout_ms = 5000;
    sweep_set_config(sw, &slower);
    sweep_on_chunk(sw, G, nonce, 0, 3, ids, 3, 10);
    drain(sw, NULL, NULL, 0, NULL);
    assert_true(sweep_next_deadline(sw) == 1010);        /* still 1000 ms */
    sweep_tick(sw, 1010);
    expect_abort(sw, "1 of 3 chunks");
    assert_int_equal(sweep_start(sw, G, 0, 0, 2000), DC_OK);
    assert_true(sweep_next_deadline(sw) == 7000);        /* the new 5000 ms */
    sweep_set_config(sw, &cfg);                          /* idle or not, taken at the next start */
    sweep_free(sw);
}

static void silence_means_no_intent(void **state)
{
    (void)state;
    char nonce[40];
    sweep *sw = started(nonce, 0, 0);
    sweep_tick(sw, 1000);
    expect_abort(sw, "Server Members intent");
    sweep_free(sw);
}

static void rate_limit_and_disconnect_abort(void **state)
{
    (void)state;
    char nonce[40];
    sweep *sw = started(nonce, 0, 0);
    sweep_on_rate_limited(sw, G, 29.5, 5);
    expect_abort(sw, "rate limited");
    assert_int_equal(sweep_start(sw, G, 0, 0, 10), DC_OK);
    drain(sw, NULL, nonce, 0, NULL);
    sweep_on_chunk(sw, G, nonce, 0, 2, ids, 3, 11);
    drain(sw, NULL, NULL, 0, NULL);
    sweep_on_disconnect(sw, 12);
    expect_abort(sw, "disconnected after 1 of 2");
    sweep_free(sw);
}

static void inconsistent_chunk_count_aborts(void **state)
{
    (void)state;
    char nonce[40];
    sweep *sw = started(nonce, 0, 0);
    sweep_on_chunk(sw, G, nonce, 0, 3, ids, 3, 10);
    drain(sw, NULL, NULL, 0, NULL);
    sweep_on_chunk(sw, G, nonce, 1, 2, ids, 3, 11);   /* count changed */
    expect_abort(sw, "does not fit");
    assert_int_equal(sweep_start(sw, G, 0, 0, 20), DC_OK);
    drain(sw, NULL, nonce, 0, NULL);
    sweep_on_chunk(sw, G, nonce, 5, 2, ids, 3, 21);   /* index out of range */
    expect_abort(sw, "does not fit");
    sweep_free(sw);
}

static sweep *measured_with(int force, int dry, int64_t stale, int64_t total, const uint64_t *sample,
                            size_t n_sample)
{
    char nonce[40];
    sweep *sw = started(nonce, force, dry);
    sweep_on_chunk(sw, G, nonce, 0, 1, ids, 3, 10);
    drain(sw, NULL, NULL, 0, NULL);
    sweep_on_measured(sw, stale, total, sample, n_sample, 20);
    return sw;
}

static sweep *measured(int force, int dry, int64_t stale, int64_t total)
{
    static const uint64_t sample[] = { 900, 901, 902 };
    return measured_with(force, dry, stale, total, sample, 3);
}

/* The sample comes in no particular order (a reservoir sample); the
 * dry-run text shows its five smallest ids ascending, so replays agree. */
static void dry_run_shows_the_smallest_sampled_ids_in_order(void **state)
{
    (void)state;
    static const uint64_t shuffled[] = { 907, 903, 901, 906, 902, 905, 904 };
    sweep *sw = measured_with(0, 1, 7, 20, shuffled, 7);
    sweep_action last = { 0 };
    drain(sw, &last, NULL, 0, NULL);
    assert_int_equal(last.kind, SW_ACT_DONE);
    assert_non_null(last.text);
    assert_non_null(strstr(last.text, "(e.g. 901, 902, 903, 904, 905)"));
    sweep_free(sw);
}

static void guard_refuses_and_force_proceeds(void **state)
{
    (void)state;
    sweep *sw = measured(0, 0, 6, 10);
    sweep_action last;
    drain(sw, &last, NULL, 0, NULL);
    assert_int_equal(last.kind, SW_ACT_DONE);
    assert_int_equal(last.guard_tripped, 1);
    assert_int_equal(last.removed, 0);
    assert_non_null(strstr(last.text, "--force"));
    sweep_free(sw);
    sw = measured(1, 0, 6, 10);
    int confirms = 0;
    drain(sw, &last, NULL, SW_ACT_CONFIRM, &confirms);
    assert_int_equal(confirms, 2);
    assert_int_equal(sweep_get_state(sw), SW_CONFIRMING);
    sweep_free(sw);
}

static void nothing_stale_is_ok(void **state)
{
    (void)state;
    sweep *sw = measured(0, 0, 0, 10);
    sweep_action last;
    drain(sw, &last, NULL, 0, NULL);
    assert_int_equal(last.kind, SW_ACT_DONE);
    assert_int_equal(last.ok, 1);
    assert_int_equal(last.removed, 0);
    sweep_free(sw);
}

static void dry_run_reports_and_deletes_nothing(void **state)
{
    (void)state;
    sweep *sw = measured(0, 1, 4, 10);
    sweep_action last;
    int batches = 0, confirms = 0;
    drain(sw, &last, NULL, SW_ACT_DELETE_BATCH, &batches);
    assert_int_equal(batches, 0);
    assert_int_equal(last.kind, SW_ACT_DONE);
    assert_int_equal(last.removed, 4);
    assert_non_null(strstr(last.text, "would be removed"));
    assert_non_null(strstr(last.text, "900"));
    (void)confirms;
    sweep_free(sw);
}

static void confirmation_rules(void **state)
{
    (void)state;
    /* a 200: the list was wrong */
    sweep *sw = measured(0, 0, 3, 10);
    drain(sw, NULL, NULL, 0, NULL);
    sweep_on_confirmed(sw, 900, 404, 10007, 30);
    assert_int_equal(drain(sw, NULL, NULL, 0, NULL), 0);
    sweep_on_confirmed(sw, 901, 200, 0, 31);
    expect_abort(sw, "still a member");
    sweep_free(sw);
    /* a 5xx: skip this round */
    sw = measured(0, 0, 3, 10);
    drain(sw, NULL, NULL, 0, NULL);
    sweep_on_confirmed(sw, 901, 503, 0, 30);
    expect_abort(sw, "could not confirm");
    sweep_free(sw);
    /* an id we did not ask about is ignored */
    sw = measured(0, 0, 3, 10);
    drain(sw, NULL, NULL, 0, NULL);
    sweep_on_confirmed(sw, 12345, 200, 0, 30);
    assert_int_equal(sweep_get_state(sw), SW_CONFIRMING);
    sweep_free(sw);
}

static void deletes_in_batches_with_delay(void **state)
{
    (void)state;
    sweep *sw = measured(0, 0, 4, 10);
    drain(sw, NULL, NULL, 0, NULL);
    sweep_on_confirmed(sw, 900, 404, 10007, 30);
    sweep_on_confirmed(sw, 901, 404, 10007, 31);
    sweep_action last;
    drain(sw, &last, NULL, 0, NULL);
    assert_int_equal(last.kind, SW_ACT_DELETE_BATCH);
    assert_int_equal(last.n, 3);
    sweep_on_batch_deleted(sw, 3, 1, 40);
    assert_int_equal(drain(sw, NULL, NULL, 0, NULL), 0);
    assert_true(sweep_next_deadline(sw) == 140);     /* batch_delay later */
    sweep_tick(sw, 139);
    assert_int_equal(drain(sw, NULL, NULL, 0, NULL), 0);
    sweep_tick(sw, 140);
    drain(sw, &last, NULL, 0, NULL);
    assert_int_equal(last.kind, SW_ACT_DELETE_BATCH);
    sweep_on_batch_deleted(sw, 1, 0, 150);
    drain(sw, &last, NULL, 0, NULL);
    assert_int_equal(last.kind, SW_ACT_DONE);
    assert_int_equal(last.ok, 1);
    assert_int_equal(last.removed, 4);
    assert_int_equal(sweep_get_state(sw), SW_IDLE);
    sweep_free(sw);
}

static void database_error_stops_deleting(void **state)
{
    (void)state;
    sweep *sw = measured(0, 0, 4, 10);
    drain(sw, NULL, NULL, 0, NULL);
    sweep_on_confirmed(sw, 900, 404, 10007, 30);
    sweep_on_confirmed(sw, 901, 404, 10007, 31);
    drain(sw, NULL, NULL, 0, NULL);
    sweep_on_batch_deleted(sw, -1, 1, 40);
    expect_abort(sw, "database error");
    sweep_free(sw);
}

static void joiners_during_the_sweep_are_members(void **state)
{
    (void)state;
    char nonce[40];
    sweep *sw = started(nonce, 0, 0);
    sweep_on_member_add(sw, G, 777);
    sweep_on_member_add(sw, G + 1, 778);            /* another guild: not ours */
    sweep_action a;
    assert_int_equal(sweep_next_action(sw, &a), 1);
    assert_int_equal(a.kind, SW_ACT_ADD_MEMBERS);
    assert_null(a.ids);
    assert_true(a.user_id == 777 && a.n == 1 && a.guild_id == G);
    assert_int_equal(sweep_next_action(sw, &a), 0);
    sweep_free(sw);
}

static void one_sweep_at_a_time(void **state)
{
    (void)state;
    char nonce[40];
    sweep *sw = started(nonce, 0, 0);
    assert_int_equal(sweep_start(sw, G + 1, 0, 0, 1), DC_ERR_BUSY);
    sweep_abort(sw, "operator", 2);
    expect_abort(sw, "operator");
    assert_int_equal(sweep_start(sw, G + 1, 0, 0, 3), DC_OK);
    char nonce2[40];
    drain(sw, NULL, nonce2, 0, NULL);
    assert_string_not_equal(nonce, nonce2);       /* late chunks of the old request cannot count */
    sweep_free(sw);
}


static const sweep_config rest_cfg = { .batch_size = 3, .batch_delay_ms = 100, .max_delete_share = 0.5,
                                       .confirm_sample = 2, .chunk_timeout_ms = 1000, .rest_source = 1 };

static void rest_source_pages_until_a_short_page(void **state)
{
    (void)state;
    sweep *sw = sweep_new(&rest_cfg, 1);
    assert_int_equal(sweep_start(sw, G, 0, 0, 0), DC_OK);
    sweep_action a;
    assert_int_equal(sweep_next_action(sw, &a), 1);
    assert_int_equal(a.kind, SW_ACT_FETCH_PAGE);
    assert_true(a.user_id == 0);                    /* first page: open the set */
    static uint64_t page[SW_PAGE_SIZE];
    for (size_t i = 0; i < SW_PAGE_SIZE; i++)
        page[i] = 100 + i;
    sweep_on_chunk(sw, G, "x", 0, 1, ids, 3, 5);       /* op 8 chunks do not count here */
    assert_int_equal(sweep_next_action(sw, &a), 0);
    sweep_on_page(sw, G, 200, page, SW_PAGE_SIZE, 10);
    int adds = 0;
    sweep_action last;
    drain(sw, &last, NULL, SW_ACT_ADD_MEMBERS, &adds);
    assert_int_equal(adds, 1);
    assert_int_equal(last.kind, SW_ACT_FETCH_PAGE);
    assert_true(last.user_id == 100 + SW_PAGE_SIZE - 1);   /* after = highest id */
    sweep_on_page(sw, G, 200, ids, 3, 20);
    drain(sw, &last, NULL, 0, NULL);
    assert_int_equal(last.kind, SW_ACT_MEASURE);
    int chunks, count;
    int64_t members, removed, stale;
    sweep_progress(sw, &chunks, &count, &members, &removed, &stale);
    assert_int_equal(members, SW_PAGE_SIZE + 3);
    sweep_free(sw);
}

static void rest_page_failure_aborts(void **state)
{
    (void)state;
    sweep *sw = sweep_new(&rest_cfg, 1);
    assert_int_equal(sweep_start(sw, G, 0, 0, 0), DC_OK);
    drain(sw, NULL, NULL, 0, NULL);
    sweep_on_page(sw, G, 403, NULL, 0, 10);
    expect_abort(sw, "Server Members intent");
    assert_int_equal(sweep_start(sw, G, 0, 0, 20), DC_OK);
    drain(sw, NULL, NULL, 0, NULL);
    sweep_on_page(sw, G, 0, NULL, 0, 30);              /* transport or parse failure */
    expect_abort(sw, "REST member list failed");
    sweep_free(sw);
}

static void op8_rate_limit_or_silence_falls_back_to_rest(void **state)
{
    (void)state;
    sweep_config c = cfg;
    c.rest_fallback = 1;
    sweep *sw = sweep_new(&c, 1);
    char nonce[40];
    assert_int_equal(sweep_start(sw, G, 0, 0, 0), DC_OK);
    drain(sw, NULL, nonce, 0, NULL);
    sweep_on_rate_limited(sw, G, 29.5, 5);
    sweep_action last;
    drain(sw, &last, NULL, 0, NULL);
    assert_int_equal(last.kind, SW_ACT_FETCH_PAGE);
    assert_int_equal(sweep_get_state(sw), SW_COLLECTING);
    sweep_on_chunk(sw, G, nonce, 0, 1, ids, 3, 6);     /* a late chunk: ignored now */
    assert_int_equal(drain(sw, NULL, NULL, 0, NULL), 0);
    sweep_on_page(sw, G, 200, ids, 3, 10);
    drain(sw, &last, NULL, 0, NULL);
    assert_int_equal(last.kind, SW_ACT_MEASURE);
    sweep_free(sw);
    /* silence */
    sw = sweep_new(&c, 1);
    assert_int_equal(sweep_start(sw, G, 0, 0, 0), DC_OK);
    drain(sw, NULL, NULL, 0, NULL);
    sweep_tick(sw, 1000);
    drain(sw, &last, NULL, 0, NULL);
    assert_int_equal(last.kind, SW_ACT_FETCH_PAGE);
    /* a REST list that stalls still aborts */
    sweep_tick(sw, 1000 + 4000);
    expect_abort(sw, "stalled");
    sweep_free(sw);
}

/* A list with every chunk but fewer members than the guild counts (issue
 * #14 A): one member left out must not lose their row. */
static sweep *measured_short(int64_t listed, int64_t expected, int64_t stale, const uint64_t *sample,
                             size_t n_sample)
{
    char nonce[40];
    sweep *sw = started(nonce, 0, 0);
    sweep_on_chunk(sw, G, nonce, 0, 1, ids, 3, 10);
    drain(sw, NULL, NULL, 0, NULL);
    sweep_on_list_size(sw, listed, expected);
    sweep_on_measured(sw, stale, 1000, sample, n_sample, 20);
    return sw;
}

static void short_list_with_many_stale_rows_deletes_nothing(void **state)
{
    (void)state;
    static const uint64_t sample[] = { 900, 901 };
    sweep *sw = measured_short(9, 10, 3, sample, 2);     /* the sample cannot hold all 3 */
    int batches = 0, confirms = 0;
    sweep_action last = { 0 };
    drain(sw, &last, NULL, SW_ACT_DELETE_BATCH, &batches);
    assert_int_equal(batches, 0);
    assert_int_equal(last.kind, SW_ACT_DONE);
    assert_int_equal(last.ok, 0);
    assert_non_null(strstr(last.text, "incomplete: the member list has 9 of 10 members"));
    assert_non_null(strstr(last.text, "nothing deleted"));
    sweep_free(sw);
    static uint64_t many[SW_CONFIRM_ALL_MAX + 1];
    for (size_t i = 0; i <= SW_CONFIRM_ALL_MAX; i++)
        many[i] = 1000 + i;
    sw = measured_short(9, 10, SW_CONFIRM_ALL_MAX + 1, many, SW_CONFIRM_ALL_MAX + 1);
    drain(sw, &last, NULL, SW_ACT_CONFIRM, &confirms);
    assert_int_equal(confirms, 0);
    assert_int_equal(last.kind, SW_ACT_DONE);
    assert_non_null(strstr(last.text, "incomplete"));
    sweep_free(sw);
}

static void short_list_confirms_every_stale_row_and_keeps_members(void **state)
{
    (void)state;
    static const uint64_t sample[] = { 900, 901, 902 };
    sweep *sw = measured_short(9, 10, 3, sample, 3);
    int confirms = 0;
    sweep_action a;
    drain(sw, NULL, NULL, SW_ACT_CONFIRM, &confirms);
    assert_int_equal(confirms, 3);                       /* all of them, not confirm_sample = 2 */
    sweep_on_confirmed(sw, 901, 200, 0, 30);                /* the member the list lacked */
    assert_int_equal(sweep_next_action(sw, &a), 1);
    assert_true(a.kind == SW_ACT_ADD_MEMBERS && a.user_id == 901 && a.n == 1 && !a.ids);
    sweep_on_confirmed(sw, 900, 404, 10007, 31);
    sweep_on_confirmed(sw, 902, 404, 10007, 32);
    sweep_action last = { 0 };
    drain(sw, &last, NULL, 0, NULL);
    assert_int_equal(last.kind, SW_ACT_DELETE_BATCH);
    sweep_on_batch_deleted(sw, 2, 0, 40);
    drain(sw, &last, NULL, 0, NULL);
    assert_int_equal(last.kind, SW_ACT_DONE);
    assert_int_equal(last.ok, 1);
    assert_int_equal(last.removed, 2);
    assert_non_null(strstr(last.text, "each confirmed over REST"));
    assert_non_null(strstr(last.text, "9 of 10 members (1 found and kept)"));
    sweep_free(sw);
}

/* A complete or longer list, or an unknown count: the sample as before,
 * and a 200 still means the list was wrong. */
static void full_list_keeps_the_sample_rules(void **state)
{
    (void)state;
    static const uint64_t sample[] = { 900, 901, 902 };
    int64_t cases[][2] = { { 10, 10 }, { 11, 10 }, { 9, 0 } };
    for (size_t i = 0; i < 3; i++) {
        sweep *sw = measured_short(cases[i][0], cases[i][1], 3, sample, 3);
        int confirms = 0;
        drain(sw, NULL, NULL, SW_ACT_CONFIRM, &confirms);
        assert_int_equal(confirms, 2);
        sweep_on_confirmed(sw, 900, 200, 0, 30);
        expect_abort(sw, "still a member");
        sweep_free(sw);
    }
}

static void dry_run_says_the_list_is_short(void **state)
{
    (void)state;
    char nonce[40];
    static const uint64_t sample[] = { 900 };
    sweep *sw = started(nonce, 0, 1);
    sweep_on_chunk(sw, G, nonce, 0, 1, ids, 3, 10);
    drain(sw, NULL, NULL, 0, NULL);
    sweep_on_list_size(sw, 2, 3);
    sweep_on_measured(sw, 1, 10, sample, 1, 20);
    sweep_action last = { 0 };
    drain(sw, &last, NULL, 0, NULL);
    assert_int_equal(last.kind, SW_ACT_DONE);
    assert_non_null(strstr(last.text, "only 2 of 3 members"));
    sweep_free(sw);
}

/* The guard names the command with the configured prefix (issue #14 item 15). */
static void guard_text_uses_the_configured_prefix(void **state)
{
    (void)state;
    sweep_config c = cfg;
    snprintf(c.prefix, sizeof c.prefix, "%s", "?");
    sweep *sw = sweep_new(&c, 1);
    char nonce[40];
    assert_int_equal(sweep_start(sw, G, 0, 0, 0), DC_OK);
    drain(sw, NULL, nonce, 0, NULL);
    sweep_on_chunk(sw, G, nonce, 0, 1, ids, 3, 10);
    drain(sw, NULL, NULL, 0, NULL);
    sweep_on_measured(sw, 6, 10, ids, 3, 20);
    sweep_action last = { 0 };
    drain(sw, &last, NULL, 0, NULL);
    assert_int_equal(last.guard_tripped, 1);
    assert_non_null(strstr(last.text, "`?cleanup_users force`"));
    assert_null(strstr(last.text, "!cleanup_users"));
    sweep_free(sw);
}

/* Issue #14 item 6: a list that matched the count, with a small stale
 * share, confirms what the rate limit allows now instead of confirm_sample. */
static int confirms_with(int force, int64_t listed, int64_t expected, int64_t stale, long free_now)
{
    static const uint64_t sample[] = { 900, 901, 902, 903, 904, 905, 906, 907 };
    sweep_config c = cfg;
    c.confirm_sample = 6;
    sweep *sw = sweep_new(&c, 1);
    char nonce[40];
    int confirms = 0;
    assert_int_equal(sweep_start(sw, G, force, 0, 0), DC_OK);
    drain(sw, NULL, nonce, 0, NULL);
    sweep_on_chunk(sw, G, nonce, 0, 1, ids, 3, 10);
    drain(sw, NULL, NULL, 0, NULL);
    sweep_on_list_size(sw, listed, expected);
    sweep_set_lookups_free(sw, free_now);
    sweep_on_measured(sw, stale, 100, sample, 8, 20);
    drain(sw, NULL, NULL, SW_ACT_CONFIRM, &confirms);
    sweep_free(sw);
    return confirms;
}

static void sample_takes_what_the_rate_limit_allows(void **state)
{
    (void)state;
    assert_int_equal(confirms_with(0, 50, 50, 20, 3), 3);     /* 20% <= 25%: what is free now */
    assert_int_equal(confirms_with(0, 50, 50, 20, 0), 1);     /* nothing free: still one */
    assert_int_equal(confirms_with(0, 50, 50, 20, 40), 6);    /* never more than confirm_sample */
    assert_int_equal(confirms_with(0, 50, 50, 30, 3), 6);     /* 30% > 25%: the guard is in play */
    assert_int_equal(confirms_with(1, 50, 50, 20, 3), 6);     /* forced */
    assert_int_equal(confirms_with(0, 50, 0, 20, 3), 6);      /* count unknown: the list is unchecked */
    assert_int_equal(confirms_with(0, 50, 50, 20, -1), 6);    /* rate limit unknown */
}

static void refusals_hold_the_guild(void **state)
{
    (void)state;
    assert_true(sweep_result_holds("guard: 6 of 10 rows (60%) would go"));
    assert_true(sweep_result_holds("incomplete: the member list has 9 of 10 members"));
    assert_false(sweep_result_holds("ok: 5 members listed, no stale rows"));
    assert_false(sweep_result_holds("aborted: timed out after 2 of 3 chunks"));
    assert_false(sweep_result_holds(""));
    assert_false(sweep_result_holds(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(complete_list_is_measured),
        cmocka_unit_test(chunks_of_other_requests_are_ignored),
        cmocka_unit_test(missing_chunk_times_out_and_deletes_nothing),
        cmocka_unit_test(new_settings_apply_from_the_next_sweep),
        cmocka_unit_test(silence_means_no_intent),
        cmocka_unit_test(rate_limit_and_disconnect_abort),
        cmocka_unit_test(inconsistent_chunk_count_aborts),
        cmocka_unit_test(guard_refuses_and_force_proceeds),
        cmocka_unit_test(nothing_stale_is_ok),
        cmocka_unit_test(dry_run_reports_and_deletes_nothing),
        cmocka_unit_test(dry_run_shows_the_smallest_sampled_ids_in_order),
        cmocka_unit_test(confirmation_rules),
        cmocka_unit_test(deletes_in_batches_with_delay),
        cmocka_unit_test(database_error_stops_deleting),
        cmocka_unit_test(joiners_during_the_sweep_are_members),
        cmocka_unit_test(one_sweep_at_a_time),
        cmocka_unit_test(rest_source_pages_until_a_short_page),
        cmocka_unit_test(rest_page_failure_aborts),
        cmocka_unit_test(op8_rate_limit_or_silence_falls_back_to_rest),
        cmocka_unit_test(short_list_with_many_stale_rows_deletes_nothing),
        cmocka_unit_test(short_list_confirms_every_stale_row_and_keeps_members),
        cmocka_unit_test(full_list_keeps_the_sample_rules),
        cmocka_unit_test(dry_run_says_the_list_is_short),
        cmocka_unit_test(guard_text_uses_the_configured_prefix),
        cmocka_unit_test(refusals_hold_the_guild),
        cmocka_unit_test(sample_takes_what_the_rate_limit_allows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
