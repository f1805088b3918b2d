/* dblock.c - the <db>.lock side file (see dblock.h). */
#include "daemon/dblock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static void read_holder(int fd, char *holder, size_t cap)
{
    ssize_t n = cap > 1 ? pread(fd, holder, cap - 1, 0) : 0;
    holder[n > 0 ? n : 0] = '\0';
    holder[strcspn(holder, "\r\n")] = '\0';
}

dblock_result dblock_take(const char *db_path, const char *command, int *fd, char *holder, size_t cap)
{
    char path[4200];
    *fd = -1;
    if (cap)
        holder[0] = '\0';
    if ((size_t)snprintf(path, sizeof path, "%s.lock", db_path) >= sizeof path) {
        errno = ENAMETOOLONG;
        return DBLOCK_ERROR;
    }
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (f < 0)
        return DBLOCK_ERROR;
    if (flock(f, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        if (e == EWOULDBLOCK && cap)
            read_holder(f, holder, cap);
        close(f);
        errno = e;
        return e == EWOULDBLOCK ? DBLOCK_HELD : DBLOCK_ERROR;
    }
    char line[96];
    int len = snprintf(line, sizeof line, "%ld %s\n", (long)getpid(), command);
    /* Who holds it is only for the message of the one refused. */
    if (ftruncate(f, 0) != 0 || pwrite(f, line, (size_t)len, 0) != len) {
        /* the lock itself holds all the same */
    }
    *fd = f;
    return DBLOCK_TAKEN;
}

void dblock_release(int *fd)
{
    if (*fd >= 0)
        close(*fd);               /* closing drops the flock */
    *fd = -1;
}
