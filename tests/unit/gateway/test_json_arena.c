/* test_json_arena.c - messages parsed into the per-thread block
 * (json_arena.c): values as cJSON reads them, the block reused once every
 * tree in it is freed and never while one lives, messages larger than the
 * block, failed parses, and items or print buffers from malloc mixed in
 * (make asan and valgrind check that nothing leaks or is freed wrongly). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/json_arena.h"

#define REMOVE "{\"op\":0,\"s\":7,\"t\":\"GUILD_MEMBER_REMOVE\",\"d\":{\"guild_id\":\"1\"," \
               "\"user\":{\"id\":\"2000000000000000004\",\"username\":\"u4\"}}}"

static cJSON *parse(const char *text)
{
    return json_arena_parse(text, strlen(text));
}

/* Where a tree parsed into an empty block starts. */
static uintptr_t block_start(void)
{
    cJSON *t = parse("{}");
    assert_non_null(t);
    uintptr_t at = (uintptr_t)t;
    json_arena_free(t);
    return at;
}

static const char *user_id(const cJSON *msg)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(msg, "d");
    const cJSON *user = cJSON_GetObjectItemCaseSensitive(d, "user");
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(user, "id"));
}

static void parses_like_cjson_and_reuses_the_block(void **state)
{
    (void)state;
    uintptr_t start = block_start();
    cJSON *m = parse(REMOVE);
    assert_non_null(m);
    assert_int_equal((uintptr_t)m, start);
    assert_string_equal(user_id(m), "2000000000000000004");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(m, "s")->valueint, 7);
    cJSON *plain = cJSON_Parse(REMOVE);             /* the same text, all from malloc */
    assert_true(cJSON_Compare(m, plain, 1));
    cJSON_Delete(plain);
    json_arena_free(m);
    json_arena_free(NULL);
    assert_int_equal(block_start(), start);
}

static void live_trees_keep_the_block(void **state)
{
    (void)state;
    uintptr_t start = block_start();
    cJSON *a = parse(REMOVE), *b = parse("{\"t\":\"READY\",\"s\":1}");
    assert_true((uintptr_t)b > (uintptr_t)a);
    json_arena_free(a);                                     /* b still lives: nothing is reused */
    cJSON *c = parse(REMOVE);
    assert_true((uintptr_t)c > (uintptr_t)b);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(b, "t")->valuestring, "READY");
    assert_string_equal(user_id(c), "2000000000000000004");
    json_arena_free(c);
    json_arena_free(b);
    assert_int_equal(block_start(), start);
}

/* 5000 members: far more than the block; the rest comes from malloc. */
static void messages_larger_than_the_block(void **state)
{
    (void)state;
    uintptr_t start = block_start();
    size_t cap = 5000 * 40 + 64, n = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    n += (size_t)snprintf(text + n, cap - n, "{\"members\":[");
    for (int i = 0; i < 5000; i++)
        n += (size_t)snprintf(text + n, cap - n, "%s{\"id\":\"%d\"}", i ? "," : "", 1000000 + i);
    snprintf(text + n, cap - n, "]}");
    cJSON *big = parse(text), *small = parse(REMOVE);
    assert_non_null(big);
    assert_non_null(small);
    const cJSON *members = cJSON_GetObjectItemCaseSensitive(big, "members");
    assert_int_equal(cJSON_GetArraySize(members), 5000);
    const cJSON *last = cJSON_GetArrayItem(members, 4999);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(last, "id")->valuestring, "1004999");
    assert_string_equal(user_id(small), "2000000000000000004");
    json_arena_free(big);
    json_arena_free(small);
    free(text);
    assert_int_equal(block_start(), start);
}

static void failed_parses_leave_nothing_behind(void **state)
{
    (void)state;
    uintptr_t start = block_start();
    assert_null(json_arena_parse("{\"op\":0,\"d\":{\"x\":\"never ends", 29));
    assert_null(json_arena_parse("", 0));
    assert_int_equal(block_start(), start);
    cJSON *m = parse(REMOVE);                       /* a failure beside a live tree */
    assert_null(json_arena_parse("[1,2", 4));
    assert_string_equal(user_id(m), "2000000000000000004");
    json_arena_free(m);
    assert_int_equal(block_start(), start);
}

/* Items added to a parsed tree, and what cJSON prints, come from malloc and
 * are released by the usual calls. */
static void malloc_items_mix_in(void **state)
{
    (void)state;
    cJSON *m = parse(REMOVE);
    assert_non_null(cJSON_AddStringToObject(m, "added", "later"));
    cJSON_ReplaceItemInObjectCaseSensitive(m, "t", cJSON_CreateString("GUILD_DELETE"));
    char *text = cJSON_PrintUnformatted(m);
    assert_non_null(strstr(text, "\"t\":\"GUILD_DELETE\""));
    assert_non_null(strstr(text, "\"added\":\"later\""));
    free(text);                                     /* as the daemon frees print buffers */
    char *again = cJSON_PrintUnformatted(m);
    cJSON_free(again);
    json_arena_free(m);
}

/* ---- what a message may cost (issue 14 D) -------------------------------- */

typedef struct {
    char *p;
    size_t n, cap;
} sbuf;

static void put(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int k = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
        va_end(ap);
        if ((size_t)k < b->cap - b->n) {
            b->n += (size_t)k;
            return;
        }
        b->cap = b->cap * 2 + (size_t)k + 1;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
}

/* A 62 MB `[0,0,...]` took 2.5 GB once parsed; an 8 MB one is refused
 * before cJSON allocates a single node. */
static void dense_array_refused_before_allocating(void **state)
{
    (void)state;
    size_t len = 8u << 20;
    char *text = malloc(len);
    assert_non_null(text);
    text[0] = '[';
    for (size_t i = 1; i < len - 1; i += 2) {
        text[i] = '0';
        text[i + 1] = ',';
    }
    text[len - 2] = '0';
    text[len - 1] = ']';
    size_t before = json_arena_heap_allocs();
    uintptr_t start = block_start();
    assert_null(json_arena_parse(text, len));
    assert_int_equal(json_arena_heap_allocs(), before);
    assert_non_null(strstr(json_arena_last_error(), "JSON values"));
    assert_int_equal(block_start(), start);
    free(text);

    /* Deep nesting in a large message is refused too. */
    sbuf b = { 0 };
    put(&b, "{\"pad\":\"%0*d\",\"x\":", 70000, 0);
    for (int i = 0; i < JA_DEPTH_MAX + 1; i++)
        put(&b, "[");
    for (int i = 0; i < JA_DEPTH_MAX + 1; i++)
        put(&b, "]");
    put(&b, "}");
    assert_int_equal(json_arena_check_cost(b.p, b.n), -1);
    assert_non_null(strstr(json_arena_last_error(), "nested deeper"));
    free(b.p);
}

/* Commas and brackets inside strings (with escaped quotes) are not values. */
static void strings_are_skipped(void **state)
{
    (void)state;
    sbuf b = { 0 };
    put(&b, "{\"content\":\"");
    for (int i = 0; i < 40000; i++)
        put(&b, "%s", i % 7 ? "[,{" : "\\\"");
    put(&b, "\\\\\",\"n\":1}");             /* ends with an escaped backslash */
    assert_true(b.n > JA_NODES_FLOOR);
    cJSON *m = json_arena_parse(b.p, b.n);
    assert_non_null(m);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(m, "n")->valueint, 1);
    json_arena_free(m);
    free(b.p);
}

/* A member as Discord sends it in GUILD_MEMBERS_CHUNK
 * (https://discord.com/developers/docs/events/gateway-events#guild-members-chunk). */
static void put_member(sbuf *b, int i)
{
    put(b, "{\"user\":{\"id\":\"%d\",\"username\":\"u%d\",\"global_name\":null,\"avatar\":null,"
        "\"discriminator\":\"0\",\"public_flags\":0,\"flags\":0,\"bot\":false,\"banner\":null,"
        "\"accent_color\":null,\"avatar_decoration_data\":null,\"collectibles\":null,"
        "\"primary_guild\":null,\"clan\":null},\"nick\":null,\"avatar\":null,\"banner\":null,"
        "\"roles\":[],\"joined_at\":\"2024-01-01T00:00:00.000000+00:00\",\"premium_since\":null,"
        "\"deaf\":false,\"mute\":false,\"flags\":0,\"pending\":false,"
        "\"communication_disabled_until\":null,\"unusual_dm_activity_until\":null}", 100000000 + i, i);
}

/* The largest real messages still pass: a chunk of 1000 members (the
 * sparest shape: no roles, every optional field null), a READY with 2500
 * guilds, and a chunk whose members carry 20 roles each. */
static void real_payload_shapes_pass(void **state)
{
    (void)state;
    sbuf b = { 0 };
    put(&b, "{\"op\":0,\"s\":9,\"t\":\"GUILD_MEMBERS_CHUNK\",\"d\":{\"guild_id\":\"1\","
        "\"chunk_index\":0,\"chunk_count\":1,\"nonce\":\"n\",\"members\":[");
    for (int i = 0; i < 1000; i++) {
        put(&b, i ? "," : "");
        put_member(&b, i);
    }
    put(&b, "],\"not_found\":[],\"presences\":[]}}");
    cJSON *m = json_arena_parse(b.p, b.n);
    assert_non_null(m);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(m, "d"), "members")), 1000);
    json_arena_free(m);

    b.n = 0;
    put(&b, "{\"op\":0,\"s\":1,\"t\":\"READY\",\"d\":{\"v\":10,\"session_id\":\"s\",\"guilds\":[");
    for (int i = 0; i < 2500; i++)
        put(&b, "%s{\"id\":\"%d\",\"unavailable\":true}", i ? "," : "", 1000 + i);
    put(&b, "]}}");
    m = json_arena_parse(b.p, b.n);
    assert_non_null(m);
    json_arena_free(m);

    b.n = 0;
    put(&b, "{\"members\":[");
    for (int i = 0; i < 1000; i++) {
        put(&b, "%s{\"user\":{\"id\":\"%d\"},\"roles\":[", i ? "," : "", 100000000 + i);
        for (int r = 0; r < 20; r++)
            put(&b, "%s\"%d\"", r ? "," : "", 1200000000 + r);
        put(&b, "]}");
    }
    put(&b, "]}");
    m = json_arena_parse(b.p, b.n);
    assert_non_null(m);
    json_arena_free(m);
    free(b.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_like_cjson_and_reuses_the_block),
        cmocka_unit_test(live_trees_keep_the_block),
        cmocka_unit_test(messages_larger_than_the_block),
        cmocka_unit_test(failed_parses_leave_nothing_behind),
        cmocka_unit_test(malloc_items_mix_in),
        cmocka_unit_test(dense_array_refused_before_allocating),
        cmocka_unit_test(strings_are_skipped),
        cmocka_unit_test(real_payload_shapes_pass),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
