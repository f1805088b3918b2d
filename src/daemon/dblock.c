/* dblock.c - the side files <db>.lock and <db>.run-RANGE.lock (see dblock.h). */
#include "daemon/dblock.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static void read_holder(int fd, char *holder, size_t cap)
{
    ssize_t n = cap > 1 ? pread(fd, holder, cap - 1, 0) : 0;
    holder[n > 0 ? n : 0] = '\0';
    holder[strcspn(holder, "\r\n")] = '\0';
}

/* flock(how) on path without waiting; line (may be NULL) written when taken. */
static dblock_result take_file(const char *path, int how, const char *line, int *fd, char *holder, size_t cap)
{
    *fd = -1;
    if (cap)
        holder[0] = '\0';
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (f < 0)
        return DBLOCK_ERROR;
    if (flock(f, how | LOCK_NB) != 0) {
        int e = errno;
        if (e == EWOULDBLOCK && cap)
            read_holder(f, holder, cap);
        close(f);
        errno = e;
        return e == EWOULDBLOCK ? DBLOCK_HELD : DBLOCK_ERROR;
    }
    /* Who holds it is only for the message of the one refused. */
    if (line && (ftruncate(f, 0) != 0 || pwrite(f, line, strlen(line), 0) != (ssize_t)strlen(line))) {
        /* the lock itself holds all the same */
    }
    *fd = f;
    return DBLOCK_TAKEN;
}

static int side_path(char *path, size_t cap, const char *db_path, const char *suffix)
{
    if ((size_t)snprintf(path, cap, "%s%s", db_path, suffix) < cap)
        return 0;
    errno = ENAMETOOLONG;
    return -1;
}

dblock_result dblock_take(const char *db_path, const char *command, int *fd, char *holder, size_t cap)
{
    char path[4200], line[96];
    *fd = -1;
    if (side_path(path, sizeof path, db_path, ".lock") != 0)
        return DBLOCK_ERROR;
    snprintf(line, sizeof line, "%ld %s\n", (long)getpid(), command);
    return take_file(path, LOCK_EX, line, fd, holder, cap);
}

dblock_result dblock_take_run(const char *db_path, const char *range, int fds[2], char *holder, size_t cap)
{
    char path[4200], suffix[80], line[96];
    fds[0] = fds[1] = -1;
    snprintf(suffix, sizeof suffix, ".run-%s.lock", range);
    for (char *p = suffix; *p; p++)
        if (*p == '/')
            *p = '-';
    if (side_path(path, sizeof path, db_path, ".lock") != 0)
        return DBLOCK_ERROR;
    dblock_result r = take_file(path, LOCK_SH, NULL, &fds[0], holder, cap);
    if (r != DBLOCK_TAKEN)
        return r;
    if (side_path(path, sizeof path, db_path, suffix) != 0) {
        dblock_release(&fds[0]);
        return DBLOCK_ERROR;
    }
    snprintf(line, sizeof line, "%ld run %s\n", (long)getpid(), range);
    if ((r = take_file(path, LOCK_EX, line, &fds[1], holder, cap)) != DBLOCK_TAKEN)
        dblock_release(&fds[0]);
    return r;
}

void dblock_release(int *fd)
{
    if (*fd >= 0)
        close(*fd);               /* closing drops the flock */
    *fd = -1;
}

/* One range file: a daemon holds it when it cannot be taken. */
static int running_one(const char *path, dblock_daemon *out)
{
    char holder[96];
    int fd = -1;
    if (take_file(path, LOCK_EX, NULL, &fd, holder, sizeof holder) != DBLOCK_HELD) {
        dblock_release(&fd);
        return 0;
    }
    char *rest = NULL;
    long pid = strtol(holder, &rest, 10);
    if (pid <= 0 || strncmp(rest, " run ", 5) != 0)
        return 0;
    out->pid = pid;
    snprintf(out->range, sizeof out->range, "%s", rest + 5);
    return 1;
}

int dblock_running(const char *db_path, dblock_daemon *out, int cap)
{
    char pattern[4200];
    glob_t g;
    int n = 0;
    if (side_path(pattern, sizeof pattern, db_path, ".run-*.lock") != 0 ||
        glob(pattern, GLOB_NOSORT | GLOB_NOESCAPE, NULL, &g) != 0)
        return 0;
    for (size_t i = 0; i < g.gl_pathc && n < cap; i++)
        n += running_one(g.gl_pathv[i], &out[n]);
    globfree(&g);
    return n;
}
