/* logging/sink.c - appends finished JSONL lines to a file or stdout and
 * remembers whether the last write worked, which is what the proxy's
 * fail-closed rule (SPEC section 5) reads. */
#include "config.h"

#include "logging/sink.h"

#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define SINK_STDOUT_PATH "-"
#define SINK_FILE_MODE 0640
#define SINK_OPEN_FLAGS (O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC)

struct sink {
    char *pending; /* complete lines not yet written */
    size_t pending_len, pending_cap;
    int fd;
    bool is_stdout;  /* fd 1 is borrowed from the process: never closed */
    bool is_regular; /* a file: free space can be asked */
    bool failed;
    unsigned long failures;
    char *path;
};

/* Remembers whether <fd> is a regular file, so the room check per request
 * is one syscall. */
static bool
sink_fd_is_regular(int fd)
{
    struct stat st;

    return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

struct sink *
sink_open(const char *path, char *err, size_t errlen)
{
    struct sink *s;

    s = calloc(1, sizeof(*s));
    if (s == NULL)
        goto fail;
    s->path = strdup(path);
    if (s->path == NULL)
        goto fail_free;
    if (strcmp(path, SINK_STDOUT_PATH) == 0) {
        s->fd = STDOUT_FILENO;
        s->is_stdout = true;
        s->is_regular = sink_fd_is_regular(s->fd);
        return s;
    }
    s->fd = open(path, SINK_OPEN_FLAGS, SINK_FILE_MODE);
    if (s->fd == -1) {
        snprintf(err, errlen, "cannot open log %s: %s", path, strerror(errno));
        free(s->path);
        free(s);
        return NULL;
    }
    s->is_regular = sink_fd_is_regular(s->fd);
    return s;

fail_free:
    free(s);
fail:
    snprintf(err, errlen, "cannot open log %s: out of memory", path);
    return NULL;
}

void
sink_free(struct sink *s)
{
    if (s == NULL)
        return;
    (void)sink_flush(s);
    if (!s->is_stdout)
        close(s->fd);
    free(s->pending);
    free(s->path);
    free(s);
}

int
sink_append(struct sink *s, const char *line, size_t len)
{
    size_t need = s->pending_len + len;

    if (need > SINK_PENDING_MAX) {
        s->failed = true;
        s->failures++;
        return -1;
    }
    if (need > s->pending_cap) {
        size_t cap = s->pending_cap != 0 ? s->pending_cap : 4096;
        char *p;

        while (cap < need)
            cap *= 2;
        p = realloc(s->pending, cap);
        if (p == NULL) {
            s->failed = true;
            s->failures++;
            return -1;
        }
        s->pending = p;
        s->pending_cap = cap;
    }
    memcpy(s->pending + s->pending_len, line, len);
    s->pending_len = need;
    return 0;
}

bool
sink_has_pending(const struct sink *s)
{
    return s->pending_len > 0;
}

int
sink_flush(struct sink *s)
{
    size_t off = 0, len = s->pending_len;
    ssize_t n;

    if (len == 0)
        return 0;
    /* With O_APPEND one write(2) puts the whole batch at the end in one
     * piece. A short write (a full disk, a signal) leaves part of a line:
     * finish it while the kernel still makes progress. */
    while (off < len) {
        n = write(s->fd, s->pending + off, len - off);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0) {
            /* Never leave a torn line for the next one to be glued to:
             * cut the file back to where this batch began, and keep the
             * batch for the next attempt. */
            if (off > 0 && !s->is_stdout) {
                off_t end = lseek(s->fd, 0, SEEK_CUR);

                if (end != (off_t)-1 && end >= (off_t)off)
                    (void)ftruncate(s->fd, end - (off_t)off);
            }
            s->failed = true;
            s->failures++;
            return -1;
        }
        off += (size_t)n;
    }
    s->pending_len = 0;
    s->failed = false;
    return 0;
}

int
sink_write(struct sink *s, const char *line, size_t len)
{
    if (sink_append(s, line, len) == -1)
        return -1;
    return sink_flush(s);
}

bool
sink_has_room(const struct sink *s)
{
    struct statvfs vfs;
    if (!s->is_regular) {
        /* A device or pipe has no free space to ask about, but a write of
         * nothing still fails where a real one would (/dev/full, a pipe
         * whose reader is gone), and writes nothing where it would not. */
        return write(s->fd, "", 0) != -1 || errno == EAGAIN;
    }
    if (fstatvfs(s->fd, &vfs) == -1)
        return true;
    return (uint64_t)vfs.f_bavail * vfs.f_frsize >= SINK_RESERVE_BYTES;
}

bool
sink_is_failed(const struct sink *s)
{
    return s->failed;
}

unsigned long
sink_failures(const struct sink *s)
{
    return s->failures;
}

int
sink_reopen(struct sink *s)
{
    int fd;

    if (s->is_stdout)
        return 0;
    /* Lines queued belong to the old file's period; try to put them there
     * (if that fails they stay queued for the new file). */
    (void)sink_flush(s);
    fd = open(s->path, SINK_OPEN_FLAGS, SINK_FILE_MODE);
    if (fd == -1)
        return -1;
    close(s->fd);
    s->fd = fd;
    s->is_regular = sink_fd_is_regular(fd);
    return 0;
}

const char *
sink_path(const struct sink *s)
{
    return s->path;
}
