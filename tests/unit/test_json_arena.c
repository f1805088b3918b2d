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

#include "json_arena.h"

#define REMOVE "{\"op\":0,\"s\":7,\"t\":\"GUILD_MEMBER_REMOVE\",\"d\":{\"guild_id\":\"1\"," \
               "\"user\":{\"id\":\"2000000000000000004\",\"username\":\"u4\"}}}"

static cJSON *parse(const char *text)
{
    return ja_parse(text, strlen(text));
}

/* Where a tree parsed into an empty block starts. */
static uintptr_t block_start(void)
{
    cJSON *t = parse("{}");
    assert_non_null(t);
    uintptr_t at = (uintptr_t)t;
    ja_free(t);
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
    ja_free(m);
    ja_free(NULL);
    assert_int_equal(block_start(), start);
}

static void live_trees_keep_the_block(void **state)
{
    (void)state;
    uintptr_t start = block_start();
    cJSON *a = parse(REMOVE), *b = parse("{\"t\":\"READY\",\"s\":1}");
    assert_true((uintptr_t)b > (uintptr_t)a);
    ja_free(a);                                     /* b still lives: nothing is reused */
    cJSON *c = parse(REMOVE);
    assert_true((uintptr_t)c > (uintptr_t)b);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(b, "t")->valuestring, "READY");
    assert_string_equal(user_id(c), "2000000000000000004");
    ja_free(c);
    ja_free(b);
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
    ja_free(big);
    ja_free(small);
    free(text);
    assert_int_equal(block_start(), start);
}

static void failed_parses_leave_nothing_behind(void **state)
{
    (void)state;
    uintptr_t start = block_start();
    assert_null(ja_parse("{\"op\":0,\"d\":{\"x\":\"never ends", 29));
    assert_null(ja_parse("", 0));
    assert_int_equal(block_start(), start);
    cJSON *m = parse(REMOVE);                       /* a failure beside a live tree */
    assert_null(ja_parse("[1,2", 4));
    assert_string_equal(user_id(m), "2000000000000000004");
    ja_free(m);
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
    ja_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_like_cjson_and_reuses_the_block),
        cmocka_unit_test(live_trees_keep_the_block),
        cmocka_unit_test(messages_larger_than_the_block),
        cmocka_unit_test(failed_parses_leave_nothing_behind),
        cmocka_unit_test(malloc_items_mix_in),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
