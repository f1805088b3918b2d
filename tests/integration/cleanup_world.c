/* cleanup_world.c - see cleanup_world.h. */
#include "cleanup_world.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cw_world *cw_new(void)
{
    cw_world *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    if (dh_init(&w->d) != 0 || fd_start(&w->fake, NULL) != 0) {
        dh_cleanup(&w->d);
        free(w);
        return NULL;
    }
    /* The bot's tables, as the bot creates them; the daemon adds its own. */
    /* ids are BIGINT on PostgreSQL (its INTEGER has 32 bits) */
    if (dh_db_exec(w->d.db, dh_sql("CREATE TABLE users (discord_id INTEGER NOT NULL, guild_id INTEGER, "
                                   "username TEXT, UNIQUE (discord_id, guild_id));"
                                   "CREATE TABLE xp (user_id INTEGER NOT NULL, guild_id INTEGER NOT NULL, "
                                   "points INTEGER NOT NULL DEFAULT 0);"
                                   /* without it every per-user delete scans the table */
                                   "CREATE INDEX xp_guild_user ON xp (guild_id, user_id);",
                                   "CREATE TABLE users (discord_id BIGINT NOT NULL, guild_id BIGINT, "
                                   "username TEXT, UNIQUE (discord_id, guild_id));"
                                   "CREATE TABLE xp (user_id BIGINT NOT NULL, guild_id BIGINT NOT NULL, "
                                   "points BIGINT NOT NULL DEFAULT 0);"
                                   "CREATE INDEX xp_guild_user ON xp (guild_id, user_id);")) != 0) {
        cw_free(w);
        return NULL;
    }
    return w;
}

void cw_free(cw_world *w)
{
    if (!w)
        return;
    if (getenv("CW_DUMP_LOG")) {           /* debugging aid: the daemon's log on stderr */
        char *log = dh_read_file(w->d.log);
        fprintf(stderr, "---- %s\n%s----\n", w->d.log, log ? log : "(no log)\n");
        free(log);
    }
    dh_cleanup(&w->d);
    fd_stop(&w->fake);
    free(w);
}

static int answer_ok(cJSON *r)
{
    int ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok"));
    cJSON_Delete(r);
    return ok ? 0 : -1;
}

int cw_guild(cw_world *w, uint64_t guild_id, int64_t first, int64_t members)
{
    char body[256];
    snprintf(body, sizeof body,
             "{\"id\":\"%" PRIu64 "\",\"name\":\"G%" PRIu64 "\",\"generate\":{\"count\":%" PRId64
             ",\"first_id\":\"%" PRIu64 "\"}}",
             guild_id, guild_id % 100, members, CW_UID(first));
    return answer_ok(fd_post(&w->fake, "/_control/guilds", body));
}

int cw_rows(cw_world *w, uint64_t guild_id, int64_t first, int64_t count)
{
    char sql[1024];
    /* A recursive CTE makes 200,000 rows in well under a second. */
    snprintf(sql, sizeof sql,
             "BEGIN;"
             "WITH RECURSIVE k(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM k WHERE x + 1 < %" PRId64 ") "
             "INSERT INTO users(discord_id, guild_id, username) SELECT %" PRIu64 " + x, %" PRIu64
             ", 'u' || x FROM k;"
             "WITH RECURSIVE k(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM k WHERE x + 1 < %" PRId64 ") "
             "INSERT INTO xp(user_id, guild_id, points) SELECT %" PRIu64 " + x, %" PRIu64 ", x FROM k;"
             "COMMIT;",
             count, CW_UID(first), guild_id, count, CW_UID(first), guild_id);
    return count > 0 ? dh_db_exec(w->d.db, sql) : 0;
}

int cw_config(cw_world *w, const char *json)
{
    return answer_ok(fd_post(&w->fake, "/_control/config", json));
}

int cw_start(cw_world *w, const char *const extra[])
{
    const char *args[40] = { "--clean-tables", "xp:user_id:guild_id" };
    size_t n = 2;
    for (size_t i = 0; extra && extra[i] && n < 39; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    int before = dh_log_count(&w->d, "-> READY");
    if (dh_start(&w->d, w->fake.port, args, NULL) != 0)
        return 0;
    /* 20 s (TEST_TIME_FACTOR stretches it): a restart that identifies anew
     * first waits out the identify lock of the run before (5.5 s), and a
     * loaded CI machine adds to that. */
    return dh_wait_log(&w->d, "-> READY", before + 1, 20000);
}

int cw_sweep_cli(cw_world *w, const char *const args[], char *out, size_t cap)
{
    char api[128];
    snprintf(api, sizeof api, "http://127.0.0.1:%d/api/v10", w->fake.port);
    const char *argv[40] = { dh_bin("discord-cleaner"), "sweep", "--api-base", api, "--db", w->d.db,
                             "--log-file", w->d.log, "--clean-tables", "xp:user_id:guild_id" };
    size_t n = 10;
    for (size_t i = 0; args && args[i] && n < 39; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    static const char *const env[] = { "DISCORD_TOKEN=test-token", NULL };
    return dh_run_cli(argv, env, out, cap);
}

static int64_t q(cw_world *w, const char *fmt, uint64_t id)
{
    char sql[256];
    snprintf(sql, sizeof sql, fmt, id);
    return dh_db_int(w->d.db, sql);
}

int64_t cw_users(cw_world *w, uint64_t guild_id)
{
    return q(w, "SELECT COUNT(*) FROM users WHERE guild_id = %" PRIu64, guild_id);
}

int64_t cw_xp(cw_world *w, uint64_t guild_id)
{
    return q(w, "SELECT COUNT(*) FROM xp WHERE guild_id = %" PRIu64, guild_id);
}

int64_t cw_audit(cw_world *w, const char *reason)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM cleaner_audit WHERE reason = '%s'", reason);
    return dh_db_int(w->d.db, sql);
}

int64_t cw_state(cw_world *w, uint64_t guild_id, const char *column)
{
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT %s FROM cleaner_guild_state WHERE guild_id = %" PRIu64, column, guild_id);
    return dh_db_int(w->d.db, sql);
}

int cw_result_has(cw_world *w, uint64_t guild_id, const char *needle)
{
    char sql[300];
    snprintf(sql, sizeof sql, "SELECT %s(last_sweep_result, '%s') > 0 FROM cleaner_guild_state "
             "WHERE guild_id = %" PRIu64, dh_sql("instr", "strpos"), needle, guild_id);
    return dh_db_int(w->d.db, sql) == 1;
}

int cw_wait_users(cw_world *w, uint64_t guild_id, int64_t want, int timeout_ms)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM users WHERE guild_id = %" PRIu64, guild_id);
    return dh_wait_db(w->d.db, sql, want, timeout_ms);
}

int cw_forget_session(cw_world *w)
{
    return dh_db_exec(w->d.db, "DELETE FROM cleaner_session_state WHERE key LIKE 'gw.%'");
}

int cw_fake_state(cw_world *w, const char *field)
{
    cJSON *s = fd_get(&w->fake, "/_control/state");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(s, field);
    int n = cJSON_IsNumber(v) ? v->valueint : -1;
    cJSON_Delete(s);
    return n;
}

int cw_requests(cw_world *w, const char *method, const char *prefix)
{
    cJSON *log = fd_get(&w->fake, "/_control/requests");
    const cJSON *e;
    int n = 0;
    cJSON_ArrayForEach(e, log) {
        const char *m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "method"));
        const char *p = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "path"));
        n += m && p && strcmp(m, method) == 0 && strncmp(p, prefix, strlen(prefix)) == 0;
    }
    cJSON_Delete(log);
    return n;
}
