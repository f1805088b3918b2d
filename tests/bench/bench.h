/* bench.h - `make bench`: measured figures printed beside their floors.
 *
 * Each bench measures in the run itself (nothing is read from earlier
 * runs) and adds rows to one table; main prints it with a description of
 * the machine.  A missed floor is reported, never turned into a failure:
 * the benches are not part of `make check`. */
#ifndef BENCH_H
#define BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fake_client.h"

typedef enum { BENCH_MET, BENCH_MISSED, BENCH_NA } bench_verdict;

/* One table row: "what", the measured figure, and the floor it is held to. */
void bench_row(const char *what, const char *figure, const char *floor, bench_verdict v);
/* printf-style figure helper (returns a static buffer rotated over 8 slots). */
const char *bench_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The whole table, markdown, after the runs. */
void bench_print_table(void);

/* Monotonic clock. */
int64_t bench_now_us(void);
/* Scale factor from $BENCH_SCALE (default 1.0): sizes are multiplied by it,
 * so a quick smoke run (BENCH_SCALE=0.05) exercises the same code. */
double bench_scale(void);
int64_t bench_scaled(int64_t n);

/* The bot's users table with rows (discord_id first_id+i, guild_id) for
 * i in [0, count); created if missing.  db is an SQLite path or a
 * PostgreSQL URI (bench_store.c).  0 ok, -1 error (message printed). */
int bench_db_fill(const char *db, uint64_t guild_id, uint64_t first_id, int64_t count);
int bench_sqlite_fill(const char *db, uint64_t guild_id, uint64_t first_id, int64_t count);
/* First column of sql's first row on db (SQLite path or URI); -1 on error. */
int64_t bench_db_int(const char *db, const char *sql);

/* PostgreSQL rows (bench_store.c).  bench_pg_ready: 1 when make bench
 * started a cluster (DC_TEST_PG_URI), else prints once why the PostgreSQL
 * rows are skipped and gives 0.  bench_pg_fresh: a new empty database
 * dc_TAG_PID, its URI in db (0 ok); bench_pg_drop removes it.
 * bench_pg_label: "on PG (fsync off)", the row names' suffix: the cluster's
 * durability settings, since fsync off flatters PostgreSQL. */
int bench_pg_ready(void);
int bench_pg_fresh(char *db, size_t cap, const char *tag);
void bench_pg_drop(const char *tag);
const char *bench_pg_label(void);
/* VmRSS / VmHWM of a running process in KiB, -1 if unknown. */
long bench_rss_kib(pid_t pid);
long bench_hwm_kib(pid_t pid);
/* CPU time (user + system) the process has used so far, µs; -1 on error. */
int64_t bench_cpu_us(pid_t pid);
/* Time the process's main thread has spent runnable but waiting for a CPU
 * so far (/proc/PID/schedstat), µs; -1 when the kernel does not say. */
int64_t bench_run_delay_us(pid_t pid);
/* VmRSS split: anonymous (heap, stacks, libraries' written pages) and
 * file-backed (library code and data, mostly shared with other processes);
 * PSS shares each page among the processes mapping it.  -1 on error. */
long bench_rss_anon_kib(pid_t pid);
long bench_rss_file_kib(pid_t pid);
long bench_pss_kib(pid_t pid);
/* Run argv to completion; exit status (128+sig when killed), -1 on spawn
 * error; *maxrss_kib gets the child's peak RSS (getrusage). */
int bench_spawn_wait(const char *const argv[], long *maxrss_kib, int timeout_ms);
/* Largest (gap - beat_ms) between consecutive op 1 the double f received,
 * skipping the first beat (jittered on purpose); *beats counts them. */
int64_t bench_beat_lateness_ms(fd_proc *f, int beat_ms, int *beats);
/* The same from entry `since` of the double's log on; gap_into: the gap
 * from the last beat before it counts too (a new session's jittered first
 * beat must not: 0). */
int64_t bench_beat_lateness_since_ms(fd_proc *f, int beat_ms, int since, int gap_into, int *beats);
/* Percentile (0..100) of v[0..n), sorts v in place. */
int64_t bench_percentile(int64_t *v, size_t n, double pct);

/* The benches, in issue #7's numbering. */
void bench_replay(void);   /* 1: needs `discord-cleaner replay` (issue 6) */
void bench_burst(void);    /* 2 */
void bench_burst_scraped(void);   /* 2c: the burst with /metrics scraped 100/s (#18) */
/* 1, 2 and 3 with the daemon on PostgreSQL (issue #16; skipped, with one
 * line saying why, when make bench could not start a cluster). */
void bench_replay_pg(void);
void bench_burst_pg(void);
void bench_sweep_pg(void);
void bench_burst_aio(void);   /* 2b: the burst from tests/bench/aio_gateway.py */
void bench_sweep(void);    /* 3 */
void bench_idle(void);     /* 4 */
void bench_decode(void);   /* 5 */
void bench_guild_delete(void);   /* 8 of issue #14 */
void bench_ready(void);          /* 9 of issue #16: a restart in 10,000 guilds */
void bench_ready_pg(void);

#endif
