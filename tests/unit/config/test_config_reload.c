/* test_config_reload.c - SIGHUP's half in the config layer
 * (config_reload.c): every value survives the format-then-parse trip a
 * reload applies it through; a reload takes the reloadable settings,
 * names the others and leaves them; the bot token is never compared and a
 * secret is never shown; every name on the reloadable list is a key;
 * config_copy owns its strings. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config/config.h"
#include "config/config_keys.h"

static void set(config *c, const char *key, const char *value)
{
    char err[256] = "";
    if (config_set(c, key, value, err, sizeof err) != DC_OK)
        fail_msg("%s = %s: %s", key, value, err);
}

/* Values a reload has to carry exactly, one per reloadable kind and the
 * awkward ones: a fraction %g would round, lists, a template with braces. */
static void values_survive_format_and_parse(void **state)
{
    (void)state;
    config c;
    assert_int_equal(config_defaults(&c), DC_OK);
    set(&c, "interval_hours", "0.0123456789");
    set(&c, "batch_delay", "0.1");
    set(&c, "max_delete_share", "0.3333333333333333");
    set(&c, "guild_interval", "1000000000000000001:1.25,1000000000000000002:48");
    set(&c, "owner_ids", "1000000000000000100,1000000000000000101");
    set(&c, "admin_permission", "32");
    set(&c, "prefix", "?!");
    set(&c, "notify_message", "Bye from {guild}, see you on {date}");
    set(&c, "log_format", "json");
    for (size_t i = 0; i < config_key_count; i++) {
        const config_key *k = &config_keys[i];
        if (k->kind == KIND_TOKEN)
            continue;                /* shown as (set): never applied from text */
        char a[2048], b[2048], err[256] = "";
        config copy;
        assert_int_equal(config_defaults(&copy), DC_OK);
        config_key_format(&c, k, a, sizeof a);
        if (config_key_set(&copy, k, a, err, sizeof err) != DC_OK)
            fail_msg("%s: '%s' does not parse again: %s", k->name, a, err);
        config_key_format(&copy, k, b, sizeof b);
        if (strcmp(a, b) != 0)
            fail_msg("%s: '%s' came back as '%s'", k->name, a, b);
        config_free(&copy);
    }
    char buf[64];
    config_key_format(&c, config_key_find("interval_hours"), buf, sizeof buf);
    assert_string_equal(buf, "0.0123456789");
    config_free(&c);
}

typedef struct {
    char lines[16][512];
    int n;
} changes;

static void note(void *ctx, const char *key, const char *was, const char *now, int applied)
{
    changes *ch = ctx;
    if (ch->n < 16)
        snprintf(ch->lines[ch->n++], sizeof ch->lines[0], "%s %s -> %s %s", key, was, now,
                 applied ? "applied" : "restart");
}

static int has(const changes *ch, const char *line)
{
    for (int i = 0; i < ch->n; i++)
        if (strcmp(ch->lines[i], line) == 0)
            return 1;
    return 0;
}

static void reload_takes_what_it_may_and_names_the_rest(void **state)
{
    (void)state;
    config live, next;
    assert_int_equal(config_defaults(&live), DC_OK);
    assert_int_equal(config_defaults(&next), DC_OK);
    set(&live, "token", "live-token-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    set(&next, "batch_size", "250");
    set(&next, "prefix", "?");
    set(&next, "log_level", "debug");
    set(&next, "owner_ids", "42");
    set(&next, "db", "postgresql://u:secretpw@db.example/bot");
    set(&next, "shards", "0-3/16");
    set(&next, "http_token", "a-new-http-token-0123456789");
    /* next.token unset: the environment no longer has it after start-up */
    changes ch = { 0 };
    assert_int_equal(config_reload(&live, &next, note, &ch), 4);
    assert_int_equal(ch.n, 7);
    assert_true(has(&ch, "batch_size 1000 -> 250 applied"));
    assert_true(has(&ch, "prefix ! -> ? applied"));
    assert_true(has(&ch, "log_level info -> debug applied"));
    assert_true(has(&ch, "owner_ids  -> 42 applied"));
    assert_true(has(&ch, "db bot.db -> postgresql://u:***@db.example/bot restart"));
    assert_true(has(&ch, "shards auto -> 0-3/16 restart"));
    assert_true(has(&ch, "http_token (set) -> (changed) restart"));
    for (int i = 0; i < ch.n; i++)
        assert_null(strstr(ch.lines[i], "secretpw"));
    assert_int_equal(live.batch_size, 250);
    assert_string_equal(live.prefix, "?");
    assert_int_equal(live.n_owner_ids, 1);
    assert_string_equal(live.db, "bot.db");                 /* left for a restart */
    assert_int_equal(live.shard_count, 0);
    assert_null(live.http_token);
    assert_non_null(live.token);                            /* never compared, never dropped */
    /* the same again: nothing left to change, the restart ones named again */
    ch.n = 0;
    assert_int_equal(config_reload(&live, &next, note, &ch), 0);
    assert_int_equal(ch.n, 3);
    config_free(&live);
    config_free(&next);
}

static void every_reloadable_name_is_a_key(void **state)
{
    (void)state;
    int n = 0;
    for (size_t i = 0; i < config_key_count; i++)
        n += config_key_reloadable(config_keys[i].name);
    assert_int_equal(n, 21);                                 /* the list in config_reload.c, all of it keys */
    assert_false(config_key_reloadable("token"));
    assert_false(config_key_reloadable("db"));
    assert_false(config_key_reloadable("dry_run"));
    assert_false(config_key_reloadable("no_such_key"));
}

static void copy_owns_its_strings(void **state)
{
    (void)state;
    config a, b;
    assert_int_equal(config_defaults(&a), DC_OK);
    set(&a, "token", "tok-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    set(&a, "http_listen", "127.0.0.1:9464");
    assert_int_equal(config_copy(&b, &a), DC_OK);
    assert_ptr_not_equal(a.db, b.db);
    assert_ptr_not_equal(a.token, b.token);
    assert_string_equal(a.http_listen, b.http_listen);
    assert_null(b.http_token);
    config_free(&a);                                         /* b stands alone */
    assert_string_equal(b.db, "bot.db");
    assert_string_equal(b.http_listen, "127.0.0.1:9464");
    config_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(values_survive_format_and_parse),
        cmocka_unit_test(reload_takes_what_it_may_and_names_the_rest),
        cmocka_unit_test(every_reloadable_name_is_a_key),
        cmocka_unit_test(copy_owns_its_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
