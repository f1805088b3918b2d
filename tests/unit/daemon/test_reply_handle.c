/* test_reply_handle.c - a command's reply posted once and edited as the
 * work goes on (daemon/reply_handle.c), on the virtual loop with a
 * recording implementation: the first text is posted, progress edits come
 * at most one per 2 s with the latest text (an unchanged one not at all),
 * the final text goes at once (the only post when nothing was posted; an
 * edit once the post's id is known), a failed post makes the final a new
 * message, and the handle frees itself after its final send. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "daemon/reply_handle.h"
#include "loop/loop_virtual.h"

typedef struct {
    char kind[8][8];                 /* "post" / "edit" */
    char text[8][64];
    int64_t at[8];
    int n;
    int freed;
    dc_loop *l;
    dc_err post_result;
} record;

static record rec;

static void note(const char *kind, const char *text)
{
    if (rec.n < 8) {
        snprintf(rec.kind[rec.n], sizeof rec.kind[0], "%s", kind);
        snprintf(rec.text[rec.n], sizeof rec.text[0], "%s", text);
        rec.at[rec.n++] = loop_now(rec.l);
    }
}

static dc_err rec_post(reply_handle *h, const char *text)
{
    (void)h;
    note("post", text);
    return rec.post_result;
}

static dc_err rec_edit(reply_handle *h, const char *text)
{
    assert_true(reply_handle_message_id(h) != 0);
    note("edit", text);
    return DC_OK;
}

static void rec_free(void *impl)
{
    (void)impl;
    rec.freed++;
}

static const reply_ops ops = { rec_post, rec_edit, rec_free };

typedef struct {
    dc_loop l;
    reply_set *rs;
} fx;

static void no_rest(void *ctx, const char *method, const char *path, const char *body, long *status, char **out)
{
    (void)ctx, (void)method, (void)path, (void)body, (void)out;
    *status = 500;
}

static int setup(void **state)
{
    static fx f;
    memset(&f, 0, sizeof f);
    memset(&rec, 0, sizeof rec);
    assert_int_equal(loop_virtual_init(&f.l, 1000, 1700000000000, no_rest, NULL), DC_OK);
    rec.l = &f.l;
    f.rs = reply_set_new(&f.l);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    reply_set_free(f->rs);
    loop_virtual_free(&f->l);
    return 0;
}

static void quick_work_posts_only_its_summary(void **state)
{
    fx *f = *state;
    reply_handle *h = reply_handle_new(f->rs, &ops, NULL);
    reply_final(h, "done");
    assert_int_equal(rec.n, 1);
    assert_string_equal(rec.kind[0], "post");
    assert_string_equal(rec.text[0], "done");
    assert_int_equal(rec.freed, 0);          /* until the post is answered */
    reply_handle_posted(h, 77);
    assert_int_equal(rec.freed, 1);
    assert_int_equal(rec.n, 1);
}

static void progress_is_throttled_latest_wins(void **state)
{
    fx *f = *state;
    reply_handle *h = reply_handle_new(f->rs, &ops, NULL);
    reply_progress(h, "waiting");
    assert_int_equal(rec.n, 1);
    reply_handle_posted(h, 77);
    reply_progress(h, "waiting");            /* unchanged: nothing */
    loop_virtual_run_until(&f->l, 1500);
    reply_progress(h, "running 1");
    reply_progress(h, "running 2");
    assert_int_equal(rec.n, 1);              /* within 2 s of the post */
    loop_virtual_run_until(&f->l, 2999);
    assert_int_equal(rec.n, 1);
    loop_virtual_run_until(&f->l, 3000);
    assert_int_equal(rec.n, 2);
    assert_string_equal(rec.kind[1], "edit");
    assert_string_equal(rec.text[1], "running 2");
    assert_int_equal(rec.at[1] - rec.at[0], REPLY_EDIT_EVERY_MS);
    loop_virtual_run_until(&f->l, 3500);
    reply_final(h, "finished");              /* at once, whatever the interval */
    assert_int_equal(rec.n, 3);
    assert_string_equal(rec.text[2], "finished");
    assert_int_equal(rec.freed, 1);
    assert_int_equal(loop_virtual_armed(&f->l), 0);
}

static void final_while_posting_is_edited_in(void **state)
{
    fx *f = *state;
    reply_handle *h = reply_handle_new(f->rs, &ops, NULL);
    reply_progress(h, "queued");
    reply_progress(h, "running");            /* the post is not answered yet */
    reply_final(h, "finished");
    assert_int_equal(rec.n, 1);
    reply_handle_posted(h, 5);
    assert_int_equal(rec.n, 2);
    assert_string_equal(rec.kind[1], "edit");
    assert_string_equal(rec.text[1], "finished");
    assert_int_equal(rec.freed, 1);
}

static void failed_post_makes_the_final_a_new_message(void **state)
{
    fx *f = *state;
    reply_handle *h = reply_handle_new(f->rs, &ops, NULL);
    reply_progress(h, "queued");
    reply_handle_posted(h, 0);               /* not posted */
    loop_virtual_run_until(&f->l, 5000);
    reply_progress(h, "running");            /* nothing to edit: dropped */
    assert_int_equal(rec.n, 1);
    reply_final(h, "finished");
    assert_int_equal(rec.n, 2);
    assert_string_equal(rec.kind[1], "post");
    assert_string_equal(rec.text[1], "finished");
    reply_handle_posted(h, 9);
    assert_int_equal(rec.freed, 1);
}

static void post_refused_at_once(void **state)
{
    fx *f = *state;
    rec.post_result = DC_ERR_UNAVAIL;        /* the outbox is full */
    reply_handle *h = reply_handle_new(f->rs, &ops, NULL);
    reply_final(h, "finished");
    assert_int_equal(rec.n, 1);
    assert_int_equal(rec.freed, 1);
}

static void set_frees_what_is_left(void **state)
{
    fx *f = *state;
    reply_handle *h = reply_handle_new(f->rs, &ops, NULL);
    reply_progress(h, "queued");
    reply_handle_posted(h, 3);
    loop_virtual_run_until(&f->l, 1500);
    reply_progress(h, "running");            /* an edit timer is armed */
    assert_int_equal(loop_virtual_armed(&f->l), 1);
    reply_set_free(f->rs);
    f->rs = NULL;
    assert_int_equal(rec.freed, 1);
    assert_int_equal(loop_virtual_armed(&f->l), 0);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(quick_work_posts_only_its_summary),
        T(progress_is_throttled_latest_wins),
        T(final_while_posting_is_edited_in),
        T(failed_post_makes_the_final_a_new_message),
        T(post_refused_at_once),
        T(set_frees_what_is_left),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
