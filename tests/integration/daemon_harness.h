/* daemon_harness.h - run the real discord-cleaner binary in a test.
 *
 * Each test gets a scratch directory (mkdtemp) holding the database and the
 * log; the daemon is started with `run` against the loopback double whose
 * port the caller gives.  Binaries come from $BUILD (default build/). */
#ifndef DAEMON_HARNESS_H
#define DAEMON_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The database a test's daemon uses comes from the harness (issue #16):
 * an SQLite file bot.db in the scratch dir, or, when DC_TEST_BACKEND is
 * "postgresql", a fresh PostgreSQL database in the cluster of
 * DC_TEST_PG_URI (tests/unit/pg_fixture.h's pgfx_fresh), dropped by
 * dh_cleanup.  p->db is what --db gets: the file's path or the URI.  Every
 * look at the database (dh_db_exec, dh_db_int, dh_db_text) works on both. */
typedef struct {
    pid_t pid;
    char dir[256];
    char db[320];
    char log[320];
    char pgname[96];    /* the PostgreSQL database's name, "" on SQLite */
    int migrated;       /* PostgreSQL: `migrate` ran (no file to look for) */
} dh_proc;

/* 1 when the tests run on PostgreSQL (DC_TEST_BACKEND=postgresql). */
int dh_backend_pg(void);
/* The SQL for the backend the tests run on: the SQLite or the PostgreSQL
 * spelling of a statement that is not portable. */
const char *dh_sql(const char *sqlite, const char *pg);

/* Make a scratch dir (kept in p->dir) and the test's database (an empty
 * PostgreSQL database, or the SQLite path) without starting anything. */
int dh_init(dh_proc *p);
/* Start `discord-cleaner run` with --api-base http://127.0.0.1:PORT/api/v10,
 * --db and --log-file in the scratch dir, token "test-token" unless
 * extra_env sets DISCORD_TOKEN.  extra_args/extra_env NULL-terminated or NULL.
 * A database not there yet is first created with `discord-cleaner migrate`
 * (run refuses to create one). */
int dh_start(dh_proc *p, int port, const char *const extra_args[], const char *const extra_env[]);
/* Run the binary with args to completion (for CLI tests); returns exit status,
 * output (stdout+stderr) into out.  A run that outlasts DH_CLI_TIMEOUT_MS
 * (stretched by $TEST_TIME_FACTOR) is killed: exit status 137, a failure
 * rather than a test binary that hangs. */
#define DH_CLI_TIMEOUT_MS 120000
int dh_run_cli(const char *const args[], const char *const extra_env[], char *out, size_t cap);
/* Send sig and wait up to timeout_ms; returns the exit status, 128+signal
 * when killed by a signal, -1 on timeout (then SIGKILLs). */
int dh_stop(dh_proc *p, int sig, int timeout_ms);
/* Wait for exit without signalling; -1 on timeout (process left running). */
int dh_wait_exit(dh_proc *p, int timeout_ms);
/* Kill anything still running and remove the scratch dir. */
void dh_cleanup(dh_proc *p);

/* Count of occurrences of needle in the daemon's log. */
int dh_log_count(const dh_proc *p, const char *needle);
/* Wait until the log contains needle at least n times; 1 when it did. */
int dh_wait_log(const dh_proc *p, const char *needle, int n, int timeout_ms);
/* Run SQL on a database (fresh connection each time; an SQLite path or a
 * postgresql:// URI); -1 on error. */
int dh_db_exec(const char *db, const char *sql);
/* First column of the first row as an integer (a PostgreSQL boolean: 1 or
 * 0); -1 on error, no row or NULL. */
int64_t dh_db_int(const char *db, const char *sql);
/* First column of the first row as text (malloc'd, caller frees); NULL on
 * error, no row or NULL. */
char *dh_db_text(const char *db, const char *sql);
/* Wait until dh_db_int(db, sql) == want; 1 when it did. */
int dh_wait_db(const char *db, const char *sql, int64_t want, int timeout_ms);
void dh_sleep_ms(int ms);
/* Path of a built binary: $BUILD/name. */
const char *dh_bin(const char *name);
/* Files under dir (recursively, every byte) that contain needle; -1 when
 * dir cannot be walked.  The token check of the drills. */
int dh_tree_count(const char *dir, const char *needle);
/* Whole file as text (malloc'd, caller frees), NULL if unreadable. */
char *dh_read_file(const char *path);

#endif
