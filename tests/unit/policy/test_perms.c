/* test_perms.c - base guild permissions and the role cache. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include "policy/perms.h"
#include "proto/proto.h"

#define G 1000
#define OWNER 7
#define ALICE 11
#define R_ADMIN 21
#define R_MOD 22

static const perms_role roles[] = {
    { G, 0x400 | 0x800 },                      /* @everyone: view + send */
    { R_ADMIN, 8 },                            /* Admin */
    { R_MOD, 0x20 | 0x2 },                     /* Mod: MANAGE_GUILD + KICK */
};

static void owner_has_everything(void **state)
{
    (void)state;
    assert_true(perms_base(G, OWNER, roles, 3, OWNER, NULL, 0) == PERM_ALL);
}

static void admin_via_role_has_everything(void **state)
{
    (void)state;
    uint64_t r[] = { R_ADMIN };
    assert_true(perms_base(G, OWNER, roles, 3, ALICE, r, 1) == PERM_ALL);
}

static void everyone_with_administrator(void **state)
{
    (void)state;
    perms_role rs[] = { { G, 8 } };
    assert_true(perms_base(G, OWNER, rs, 1, ALICE, NULL, 0) == PERM_ALL);
}

static void manage_guild_required(void **state)
{
    (void)state;
    uint64_t r[] = { R_MOD };
    uint64_t p = perms_base(G, OWNER, roles, 3, ALICE, r, 1);
    assert_true(perms_has(p, DC_PERM(MANAGE_GUILD)));
    assert_false(perms_has(p, DC_PERM(ADMINISTRATOR)));
    assert_true(p == (0x400 | 0x800 | 0x20 | 0x2));
}

static void no_roles_only_everyone(void **state)
{
    (void)state;
    uint64_t p = perms_base(G, OWNER, roles, 3, ALICE, NULL, 0);
    assert_true(p == (0x400 | 0x800));
    assert_false(perms_has(p, DC_PERM(ADMINISTRATOR)));
    /* unknown role ids add nothing; owner id 0 makes nobody the owner */
    uint64_t r[] = { 999 };
    assert_true(perms_base(G, 0, roles, 3, 0, r, 1) == (0x400 | 0x800));
}

static void parse_strings(void **state)
{
    (void)state;
    uint64_t v = 0;
    assert_int_equal(perms_parse("8", &v), DC_OK);
    assert_true(v == 8);
    assert_int_equal(perms_parse("4503599627370495", &v), DC_OK);
    assert_true(v == 4503599627370495ULL);
    assert_int_equal(perms_parse("", &v), DC_ERR_PROTO);
    assert_int_equal(perms_parse("-8", &v), DC_ERR_PROTO);
    assert_int_equal(perms_parse("8x", &v), DC_ERR_PROTO);
    assert_int_equal(perms_parse("99999999999999999999999", &v), DC_ERR_PROTO);
    assert_int_equal(perms_parse(NULL, &v), DC_ERR_PROTO);
}

static dc_err feed(perms_cache *pc, const char *event, const char *json)
{
    cJSON *d = cJSON_Parse(json);
    dc_err e = perms_on_dispatch(pc, dc_event_from_name(event), d);
    cJSON_Delete(d);
    return e;
}

static void cache_follows_events(void **state)
{
    (void)state;
    perms_cache *pc = perms_cache_new();
    uint64_t alice_roles[] = { 2 };
    assert_non_null(pc);
    assert_true(perms_compute(pc, 1, 5, NULL, 0) == 0);        /* unknown guild: nothing */
    assert_int_equal(feed(pc, "GUILD_CREATE",
        "{\"id\":\"1\",\"owner_id\":\"5\",\"roles\":[{\"id\":\"1\",\"permissions\":\"1024\"},"
        "{\"id\":\"2\",\"permissions\":\"0\"},{\"id\":\"3\",\"permissions\":8}]}"), DC_OK);
    assert_true(perms_guild_known(pc, 1));
    assert_true(perms_compute(pc, 1, 5, NULL, 0) == PERM_ALL);  /* owner */
    assert_true(perms_compute(pc, 1, 6, alice_roles, 1) == 1024);
    /* role 3's permissions came as a JSON number (older API versions): honoured */
    uint64_t r3[] = { 3 };
    assert_true(perms_compute(pc, 1, 6, r3, 1) == PERM_ALL);
    /* role update grants ADMINISTRATOR */
    assert_int_equal(feed(pc, "GUILD_ROLE_UPDATE",
        "{\"guild_id\":\"1\",\"role\":{\"id\":\"2\",\"permissions\":\"8\"}}"), DC_OK);
    assert_true(perms_compute(pc, 1, 6, alice_roles, 1) == PERM_ALL);
    /* role delete takes it away */
    assert_int_equal(feed(pc, "GUILD_ROLE_DELETE", "{\"guild_id\":\"1\",\"role_id\":\"2\"}"), DC_OK);
    assert_true(perms_compute(pc, 1, 6, alice_roles, 1) == 1024);
    /* role create */
    assert_int_equal(feed(pc, "GUILD_ROLE_CREATE",
        "{\"guild_id\":\"1\",\"role\":{\"id\":\"4\",\"permissions\":\"32\"}}"), DC_OK);
    uint64_t r4[] = { 4 };
    assert_true(perms_compute(pc, 1, 6, r4, 1) == (1024 | 32));
    /* ownership moves */
    assert_int_equal(feed(pc, "GUILD_UPDATE", "{\"id\":\"1\",\"owner_id\":\"6\"}"), DC_OK);
    assert_true(perms_compute(pc, 1, 6, NULL, 0) == PERM_ALL);
    assert_true(perms_compute(pc, 1, 5, NULL, 0) == 1024);
    /* an outage keeps; so does a GUILD_DELETE without unavailable (the bot
     * may still be in the guild); only a confirmed removal forgets */
    assert_int_equal(feed(pc, "GUILD_DELETE", "{\"id\":\"1\",\"unavailable\":true}"), DC_OK);
    assert_true(perms_guild_known(pc, 1));
    assert_int_equal(feed(pc, "GUILD_DELETE", "{\"id\":\"1\"}"), DC_OK);
    assert_true(perms_guild_known(pc, 1));
    assert_true(perms_compute(pc, 1, 6, NULL, 0) == PERM_ALL);
    perms_forget(pc, 1);
    assert_false(perms_guild_known(pc, 1));
    assert_true(perms_compute(pc, 1, 6, NULL, 0) == 0);
    perms_cache_free(pc);
}

static void bad_payloads_are_refused(void **state)
{
    (void)state;
    perms_cache *pc = perms_cache_new();
    assert_int_equal(feed(pc, "GUILD_CREATE", "{\"id\":\"1\",\"owner_id\":\"5\",\"roles\":[]}"), DC_OK);
    assert_int_equal(feed(pc, "GUILD_CREATE", "[]"), DC_ERR_PROTO);
    assert_int_equal(feed(pc, "GUILD_CREATE", "{\"id\":\"2\",\"roles\":{}}"), DC_ERR_PROTO);
    assert_false(perms_guild_known(pc, 2));
    assert_int_equal(feed(pc, "GUILD_ROLE_UPDATE", "{\"guild_id\":\"1\",\"role\":{\"id\":\"2\"}}"), DC_ERR_PROTO);
    assert_int_equal(feed(pc, "GUILD_ROLE_DELETE", "{\"guild_id\":\"1\"}"), DC_ERR_PROTO);
    assert_int_equal(feed(pc, "GUILD_UPDATE", "{\"id\":\"1\"}"), DC_ERR_PROTO);
    assert_true(perms_compute(pc, 1, 5, NULL, 0) == PERM_ALL);  /* owner kept */
    /* events for unknown guilds and unrelated events change nothing */
    assert_int_equal(feed(pc, "GUILD_ROLE_CREATE",
        "{\"guild_id\":\"9\",\"role\":{\"id\":\"2\",\"permissions\":\"8\"}}"), DC_OK);
    assert_false(perms_guild_known(pc, 9));
    assert_int_equal(feed(pc, "MESSAGE_CREATE", "{}"), DC_OK);
    assert_int_equal(perms_on_dispatch(pc, DC_EV_UNKNOWN, NULL), DC_OK);
    perms_cache_free(pc);
}

static void guild_update_carries_roles(void **state)
{
    (void)state;
    perms_cache *pc = perms_cache_new();
    uint64_t mod[] = { 2 };
    assert_int_equal(feed(pc, "GUILD_CREATE", "{\"id\":\"1\",\"owner_id\":\"5\",\"roles\":["
        "{\"id\":\"1\",\"permissions\":\"0\"},{\"id\":\"2\",\"permissions\":\"32\"}]}"), DC_OK);
    assert_false(perms_has(perms_compute(pc, 1, 6, mod, 1), DC_PERM(ADMINISTRATOR)));
    /* the full guild object Discord sends: role 2 became ADMINISTRATOR */
    assert_int_equal(feed(pc, "GUILD_UPDATE", "{\"id\":\"1\",\"name\":\"x\",\"owner_id\":\"5\",\"roles\":["
        "{\"id\":\"1\",\"permissions\":\"0\"},{\"id\":\"2\",\"permissions\":\"8\"}]}"), DC_OK);
    assert_true(perms_compute(pc, 1, 6, mod, 1) == PERM_ALL);
    /* a role dropped from the list is gone */
    assert_int_equal(feed(pc, "GUILD_UPDATE", "{\"id\":\"1\",\"owner_id\":\"5\",\"roles\":["
        "{\"id\":\"1\",\"permissions\":\"0\"}]}"), DC_OK);
    assert_true(perms_compute(pc, 1, 6, mod, 1) == 0);
    /* a GUILD_UPDATE teaches a guild the cache had not seen */
    assert_int_equal(feed(pc, "GUILD_UPDATE", "{\"id\":\"3\",\"owner_id\":\"5\",\"roles\":["
        "{\"id\":\"4\",\"permissions\":8}]}"), DC_OK);
    uint64_t r4[] = { 4 };
    assert_true(perms_compute(pc, 3, 6, r4, 1) == PERM_ALL);
    /* roles of the wrong type: refused, the cache keeps what it had */
    assert_int_equal(feed(pc, "GUILD_UPDATE", "{\"id\":\"3\",\"owner_id\":\"5\",\"roles\":{}}"),
                     DC_ERR_PROTO);
    assert_true(perms_compute(pc, 3, 6, r4, 1) == PERM_ALL);
    /* the same object from REST GET /guilds/{id} */
    cJSON *g = cJSON_Parse("{\"id\":\"7\",\"owner_id\":\"9\",\"roles\":[{\"id\":\"7\",\"permissions\":\"32\"}]}");
    assert_int_equal(perms_on_guild(pc, g), DC_OK);
    cJSON_Delete(g);
    assert_true(perms_compute(pc, 7, 6, NULL, 0) == 32);
    assert_true(perms_compute(pc, 7, 9, NULL, 0) == PERM_ALL);
    assert_int_equal(perms_on_guild(pc, NULL), DC_ERR_PROTO);
    perms_cache_free(pc);
}

static dc_err parse_json_text(const char *json, uint64_t *v)
{
    cJSON *p = cJSON_Parse(json);
    dc_err e = perms_parse_json(p, v);
    cJSON_Delete(p);
    return e;
}

static void permissions_number_or_string(void **state)
{
    (void)state;
    uint64_t v = 0;
    assert_int_equal(parse_json_text("\"2251799813685247\"", &v), DC_OK);
    assert_true(v == 2251799813685247ULL);
    assert_int_equal(parse_json_text("8", &v), DC_OK);
    assert_true(v == 8);
    assert_int_equal(parse_json_text("0", &v), DC_OK);
    assert_true(v == 0);
    assert_int_equal(parse_json_text("2251799813685247", &v), DC_OK);
    assert_true(v == 2251799813685247ULL);
    static const char *bad[] = { "-8", "1.5", "1e300", "18446744073709551615", "true", "null", "[8]",
                                 "{}", "\"8.0\"", "\" 8\"", "\"\"" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(parse_json_text(bad[i], &v), DC_ERR_PROTO);
    assert_int_equal(perms_parse_json(NULL, &v), DC_ERR_PROTO);
    /* in a role event a malformed value is refused; in a role list it is
     * skipped (grants nothing), the rest applied, and the event flagged */
    perms_cache *pc = perms_cache_new();
    uint64_t r2[] = { 2 }, r3[] = { 3 };
    assert_int_equal(feed(pc, "GUILD_CREATE", "{\"id\":\"1\",\"owner_id\":\"5\",\"roles\":["
        "{\"id\":\"2\",\"permissions\":-8},{\"id\":\"3\",\"permissions\":32}]}"), DC_ERR_PROTO);
    assert_true(perms_compute(pc, 1, 6, r2, 1) == 0);
    assert_true(perms_compute(pc, 1, 6, r3, 1) == 32);
    assert_int_equal(feed(pc, "GUILD_ROLE_UPDATE",
        "{\"guild_id\":\"1\",\"role\":{\"id\":\"3\",\"permissions\":8.5}}"), DC_ERR_PROTO);
    assert_true(perms_compute(pc, 1, 6, r3, 1) == 32);
    assert_int_equal(feed(pc, "GUILD_ROLE_UPDATE",
        "{\"guild_id\":\"1\",\"role\":{\"id\":\"3\",\"permissions\":8}}"), DC_OK);
    assert_true(perms_compute(pc, 1, 6, r3, 1) == PERM_ALL);
    perms_cache_free(pc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(owner_has_everything),
        cmocka_unit_test(admin_via_role_has_everything),
        cmocka_unit_test(everyone_with_administrator),
        cmocka_unit_test(manage_guild_required),
        cmocka_unit_test(no_roles_only_everyone),
        cmocka_unit_test(parse_strings),
        cmocka_unit_test(cache_follows_events),
        cmocka_unit_test(bad_payloads_are_refused),
        cmocka_unit_test(guild_update_carries_roles),
        cmocka_unit_test(permissions_number_or_string),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
