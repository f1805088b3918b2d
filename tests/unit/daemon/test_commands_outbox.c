/* test_commands_outbox.c - replies in priority order, bounded: answers to
 * people allowed to command go before queued refusals, refusals beyond the
 * bound are dropped, edits are PATCHes, and the posted id comes back.  Runs
 * on the virtual loop, whose REST stand-in records what was sent. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <cjson/cJSON.h>

#include "daemon/commands_outbox.h"
#include "loop/loop_virtual.h"

typedef struct {
    char sent[64][64];               /* "METHOD path content" in the order handed to REST */
    int n;
    int has_reference[64];
} capture;

static void answer(void *ctx, const char *method, const char *path, const char *json_body, long *status,
                   char **body)
{
    capture *c = ctx;
    cJSON *j = cJSON_Parse(json_body ? json_body : "{}");
    const cJSON *content = cJSON_GetObjectItem(j, "content");
    if (c->n < 64) {
        snprintf(c->sent[c->n], sizeof c->sent[c->n], "%s %s %s", method, path,
                 cJSON_IsString(content) ? content->valuestring : "");
        c->has_reference[c->n] = cJSON_GetObjectItem(j, "message_reference") != NULL;
        c->n++;
    }
    cJSON_Delete(j);
    *status = 200;
    char buf[64];
    snprintf(buf, sizeof buf, "{\"id\":\"%d\"}", 9000 + c->n);
    *body = strdup(buf);
}

static void got_id(void *ctx, uint64_t id)
{
    *(uint64_t *)ctx = id;
}

static void answers_first_refusals_bounded(void **state)
{
    (void)state;
    dc_loop l;
    dc_pending pending;
    capture c = { 0 };
    char text[32];
    pending_init(&pending);
    assert_int_equal(loop_virtual_init(&l, 1000, 1700000000000, answer, &c), DC_OK);
    cmdo *o = commands_outbox_new(&l, &pending);
    assert_non_null(o);
    int dropped = 0;
    for (int i = 1; i <= 2 + CMDO_REFUSALS_MAX + 3; i++) {
        snprintf(text, sizeof text, "R%d", i);
        dropped += commands_outbox_send(o, CMDO_REFUSAL, 5, 100 + i, 0, text, NULL, NULL) == DC_ERR_UNAVAIL;
    }
    assert_int_equal(dropped, 3);            /* 2 in flight, CMDO_REFUSALS_MAX waiting, the rest dropped */
    assert_int_equal(commands_outbox_dropped(o), 3);
    assert_int_equal(commands_outbox_waiting(o, CMDO_REFUSAL), CMDO_REFUSALS_MAX);
    uint64_t id = 0;
    assert_int_equal(commands_outbox_send(o, CMDO_ANSWER, 5, 200, 0, "A1", got_id, &id), DC_OK);
    assert_int_equal(commands_outbox_send(o, CMDO_ANSWER, 5, 201, 0, "A2", NULL, NULL), DC_OK);
    loop_virtual_run_until(&l, 2000);
    assert_int_equal(c.n, 2 + CMDO_REFUSALS_MAX + 2);
    assert_string_equal(c.sent[0], "POST /channels/5/messages R1");
    assert_string_equal(c.sent[1], "POST /channels/5/messages R2");
    assert_string_equal(c.sent[2], "POST /channels/5/messages A1");   /* the admins jump the queue */
    assert_string_equal(c.sent[3], "POST /channels/5/messages A2");
    assert_string_equal(c.sent[4], "POST /channels/5/messages R3");
    assert_true(c.has_reference[2]);
    assert_true(id == 9003);                  /* the posted message's id comes back */
    /* an edit replaces our message's text: PATCH, no reference */
    assert_int_equal(commands_outbox_send(o, CMDO_ANSWER, 5, 200, id, "done", NULL, NULL), DC_OK);
    loop_virtual_run_until(&l, 3000);
    assert_string_equal(c.sent[c.n - 1], "PATCH /channels/5/messages/9003 done");
    assert_false(c.has_reference[c.n - 1]);
    assert_int_equal(commands_outbox_waiting(o, CMDO_REFUSAL), 0);
    commands_outbox_free(o);
    loop_virtual_free(&l);
    while (pending.next != &pending) {       /* nothing may be left in flight */
        dc_pending *p = pending.next;
        pending_del(p);
        free(p);
        fail();
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(answers_first_refusals_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
