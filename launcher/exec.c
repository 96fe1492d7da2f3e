/* launcher/exec.c - fork/exec of engine commands, output capture, and the
 * stop flag. */
#include "config.h"
#include "launcher/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Exit status of a child whose exec failed, as shells report it. */
#define EXEC_STATUS_NOT_FOUND 127
#define EXEC_STATUS_CANNOT_RUN 126
#define EXEC_READ_CHUNK 4096

/* The one mutable global of the launcher: a signal handler can only talk
 * to the rest of the program through a volatile sig_atomic_t. */
static volatile sig_atomic_t exec_stop_signal;

static void
exec_signal_handler(int sig)
{
    exec_stop_signal = sig;
}

int
exec_signals_install(void)
{
    static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = exec_signal_handler;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: waitpid() and poll() return EINTR so we notice. */
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        if (sigaction(sigs[i], &sa, NULL) == -1)
            return -1;
    }
    sa.sa_handler = SIG_IGN;
    return sigaction(SIGPIPE, &sa, NULL);
}

int
exec_interrupted(void)
{
    return (int)exec_stop_signal;
}

bool
exec_in_path(const char *name)
{
    const char *path = getenv("PATH");
    char full[4096];
    struct stat st;

    if (strchr(name, '/') != NULL)
        return access(name, X_OK) == 0;
    if (path == NULL)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path != '\0') {
        size_t len = strcspn(path, ":");
        int w;

        w = snprintf(full, sizeof(full), "%.*s/%s", len == 0 ? 1 : (int)len,
                     len == 0 ? "." : path, name);
        if (w > 0 && (size_t)w < sizeof(full) && stat(full, &st) == 0 &&
            S_ISREG(st.st_mode) && access(full, X_OK) == 0)
            return true;
        path += len;
        if (*path == ':')
            path++;
    }
    return false;
}

/* pipe(2) with both ends close-on-exec (pipe2 needs _GNU_SOURCE). */
static int
exec_pipe(int fds[2])
{
    if (pipe(fds) == -1)
        return -1;
    if (fcntl(fds[0], F_SETFD, FD_CLOEXEC) == -1 ||
        fcntl(fds[1], F_SETFD, FD_CLOEXEC) == -1) {
        close(fds[0]);
        close(fds[1]);
        fds[0] = fds[1] = -1;
        return -1;
    }
    return 0;
}

/* In the child: restore default signal handling, then exec. Never
 * returns. */
static void
exec_child(char *const argv[])
{
    static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };

    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        signal(sigs[i], SIG_DFL);
    execvp(argv[0], argv);
    _exit(errno == ENOENT ? EXEC_STATUS_NOT_FOUND : EXEC_STATUS_CANNOT_RUN);
}

static int
exec_status(int wstatus)
{
    if (WIFEXITED(wstatus))
        return WEXITSTATUS(wstatus);
    if (WIFSIGNALED(wstatus))
        return 128 + WTERMSIG(wstatus);
    return 1;
}

/* Appends what <fd> has to <*buf>, keeping at most EXEC_CAPTURE_MAX bytes.
 * Returns 1 while open, 0 at EOF, -1 on error. */
static int
exec_drain(int fd, char **buf, size_t *len)
{
    char chunk[EXEC_READ_CHUNK];
    ssize_t n = read(fd, chunk, sizeof(chunk));
    char *grown;

    if (n == -1)
        return errno == EINTR || errno == EAGAIN ? 1 : -1;
    if (n == 0)
        return 0;
    /* Past the cap the rest is read and dropped: the text kept is a
     * prefix, never one with a hole in it. */
    if (*len >= EXEC_CAPTURE_MAX)
        return 1;
    if ((size_t)n > EXEC_CAPTURE_MAX - *len)
        n = (ssize_t)(EXEC_CAPTURE_MAX - *len);
    grown = realloc(*buf, *len + (size_t)n + 1);
    if (grown == NULL)
        return 1;
    memcpy(grown + *len, chunk, (size_t)n);
    *len += (size_t)n;
    grown[*len] = '\0';
    *buf = grown;
    return 1;
}

static int
exec_wait(pid_t pid, bool interruptible)
{
    bool sent = false;
    int wstatus;

    for (;;) {
        if (waitpid(pid, &wstatus, 0) == pid)
            return exec_status(wstatus);
        if (errno != EINTR)
            return 1;
        if (interruptible && !sent && exec_stop_signal != 0) {
            kill(pid, SIGTERM);
            sent = true;
        }
    }
}

int
exec_capture(char *const argv[], bool interruptible, struct exec_result *r)
{
    int out[2] = { -1, -1 }, err[2] = { -1, -1 }, devnull;
    struct pollfd fds[2];
    bool sent = false;
    pid_t pid;

    memset(r, 0, sizeof(*r));
    r->status = -1;
    if (exec_pipe(out) == -1)
        return -1;
    if (exec_pipe(err) == -1)
        goto fail_pipes;
    devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull == -1)
        goto fail_pipes;
    pid = fork();
    if (pid == -1) {
        close(devnull);
        goto fail_pipes;
    }
    if (pid == 0) {
        setpgid(0, 0);
        if (dup2(devnull, STDIN_FILENO) == -1 ||
            dup2(out[1], STDOUT_FILENO) == -1 ||
            dup2(err[1], STDERR_FILENO) == -1)
            _exit(EXEC_STATUS_CANNOT_RUN);
        exec_child(argv);
    }
    close(devnull);
    close(out[1]);
    close(err[1]);
    fds[0].fd = out[0];
    fds[1].fd = err[0];
    fds[0].events = fds[1].events = POLLIN;
    while (fds[0].fd != -1 || fds[1].fd != -1) {
        if (interruptible && !sent && exec_stop_signal != 0) {
            kill(pid, SIGTERM);
            sent = true;
        }
        if (poll(fds, 2, -1) == -1) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int i = 0; i < 2; i++) {
            int rc;

            if (fds[i].fd == -1 || fds[i].revents == 0)
                continue;
            rc = i == 0 ? exec_drain(fds[i].fd, &r->out, &r->out_len)
                        : exec_drain(fds[i].fd, &r->err, &r->err_len);
            if (rc <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
            }
        }
    }
    for (int i = 0; i < 2; i++) {
        if (fds[i].fd != -1)
            close(fds[i].fd);
    }
    r->status = exec_wait(pid, interruptible && !sent);
    if (r->out == NULL)
        r->out = calloc(1, 1);
    if (r->err == NULL)
        r->err = calloc(1, 1);
    if (r->out == NULL || r->err == NULL)
        return -1;
    return r->status == EXEC_STATUS_NOT_FOUND && r->out_len == 0 &&
                   r->err_len == 0 && !exec_in_path(argv[0])
               ? -1
               : 0;

fail_pipes:
    for (int i = 0; i < 2; i++) {
        if (out[i] != -1)
            close(out[i]);
        if (err[i] != -1)
            close(err[i]);
    }
    return -1;
}

void
exec_result_fini(struct exec_result *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
    r->out_len = r->err_len = 0;
}

int
exec_attached(char *const argv[])
{
    int forwarded = 0, wstatus;
    pid_t pid;

    pid = fork();
    if (pid == -1)
        return -1;
    if (pid == 0)
        exec_child(argv);
    for (;;) {
        if (waitpid(pid, &wstatus, 0) == pid)
            return exec_status(wstatus);
        if (errno != EINTR)
            return -1;
        /* A terminal's Ctrl-C reached the whole group already; a signal
         * sent to us alone has not. Passing it on once more is harmless:
         * the engine hands it to the agent either way. */
        if (exec_stop_signal != 0 && exec_stop_signal != forwarded) {
            forwarded = exec_stop_signal;
            kill(pid, forwarded);
        }
    }
}
