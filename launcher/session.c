/* launcher/session.c - session ids, tokens, the agent's environment, the
 * state folder and the tokens file. */
#include "config.h"
#include "launcher/session.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define SESSION_ID_CHARS                                                       \
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"
#define SESSION_ENV_KEY_FIRST                                                  \
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_"
#define SESSION_ENV_KEY_CHARS SESSION_ENV_KEY_FIRST "0123456789"
/* Longest tokens file line we keep whole while rewriting. */
#define SESSION_TOKENS_LINE_MAX 1024

/* Variables sluice owns in the agent: --env may not override them, since
 * a stray NO_PROXY or HTTPS_PROXY there would confuse every client. */
static const char *const session_reserved_env[] = {
    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "FTP_PROXY", "NO_PROXY",
};
#define SESSION_RESERVED_PREFIX "SLUICE_"

static void
session_hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0xf];
    }
    out[2 * n] = '\0';
}

/* Fills <buf> with <len> bytes from the kernel's CSPRNG (the source
 * OpenSSL's RAND_bytes itself seeds from). getrandom(2) blocks only until
 * the pool is initialised, once per boot. Returns 0 or -1. */
static int
session_random(unsigned char *buf, size_t len)
{
    size_t off = 0;

    while (off < len) {
        ssize_t n = getrandom(buf + off, len - off, 0);

        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        off += (size_t)n;
    }
    return 0;
}

int
session_id_new(char out[LAUNCH_SESSION_MAX])
{
    unsigned char raw[SESSION_ID_RANDOM_BYTES];

    if (session_random(raw, sizeof(raw)) == -1)
        return -1;
    out[0] = 's';
    out[1] = '-';
    session_hex(raw, sizeof(raw), out + 2);
    return 0;
}

bool
session_id_is_valid(const char *id)
{
    size_t len = strlen(id);

    return len > 0 && len < LAUNCH_SESSION_MAX &&
           strspn(id, SESSION_ID_CHARS) == len;
}

int
session_token_new(char out[LAUNCH_TOKEN_HEX])
{
    unsigned char raw[LAUNCH_TOKEN_BYTES];

    if (session_random(raw, sizeof(raw)) == -1) {
        out[0] = '\0';
        return -1;
    }
    session_hex(raw, sizeof(raw), out);
    return 0;
}

int
session_env_check(const char *kv, char *err, size_t errlen)
{
    const char *eq = strchr(kv, '=');
    size_t klen;

    if (eq == NULL) {
        snprintf(err, errlen,
                 "--env %s: write KEY=VALUE (host variables are never "
                 "passed through)",
                 kv);
        return -1;
    }
    klen = (size_t)(eq - kv);
    if (klen == 0 || strchr(SESSION_ENV_KEY_FIRST, kv[0]) == NULL ||
        strspn(kv, SESSION_ENV_KEY_CHARS) != klen) {
        snprintf(err, errlen, "--env %.*s: not a valid variable name",
                 (int)klen, kv);
        return -1;
    }
    if (strchr(eq + 1, '\n') != NULL || strchr(eq + 1, '\r') != NULL) {
        snprintf(err, errlen, "--env %.*s: the value may not hold a newline",
                 (int)klen, kv);
        return -1;
    }
    for (size_t i = 0;
         i < sizeof(session_reserved_env) / sizeof(session_reserved_env[0]);
         i++) {
        if (strlen(session_reserved_env[i]) == klen &&
            strncasecmp(kv, session_reserved_env[i], klen) == 0) {
            snprintf(err, errlen,
                     "--env %.*s: sluice sets the proxy variables itself",
                     (int)klen, kv);
            return -1;
        }
    }
    if (strncmp(kv, SESSION_RESERVED_PREFIX,
                sizeof(SESSION_RESERVED_PREFIX) - 1) == 0) {
        snprintf(err, errlen, "--env %.*s: SLUICE_* variables are sluice's",
                 (int)klen, kv);
        return -1;
    }
    return 0;
}

void
session_env_build(const struct launch *l, const char *proxy_addr,
                  const char *token, struct argv *env)
{
    static const char *const names[] = {
        "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy",
        "ALL_PROXY",  "all_proxy",   "FTP_PROXY",  "ftp_proxy",
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        argv_pushf(env, "%s=http://%s:%s@%s:%u", names[i], l->session, token,
                   proxy_addr, l->proxy_port);
    /* Empty, and set, so that neither a default nor an engine fills them. */
    argv_push(env, "NO_PROXY=");
    argv_push(env, "no_proxy=");
    if (l->fetch_port != 0)
        argv_pushf(env, "SLUICE_FETCH_PROXY=http://%s:%s@%s:%u", l->session,
                   token, proxy_addr, l->fetch_port);
    argv_pushf(env, "SLUICE_SESSION=%s", l->session);
    argv_push(env, "HOME=" LAUNCH_AGENT_HOME);
    argv_append(env, &l->user_env);
}

int
session_state_dir(const char *session, char *out, size_t outlen)
{
    const char *xdg = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    int w;

    /* The XDG spec says a relative XDG_STATE_HOME is invalid: ignore it. */
    if (xdg != NULL && xdg[0] == '/')
        w = snprintf(out, outlen, "%s/sluice/%s", xdg, session);
    else if (home != NULL && home[0] == '/')
        w = snprintf(out, outlen, "%s/.local/state/sluice/%s", home, session);
    else
        return -1;
    return w < 0 || (size_t)w >= outlen ? -1 : 0;
}

int
session_mkdir_new(const char *dir)
{
    char path[LAUNCH_PATH_MAX];
    size_t len = strlen(dir);

    if (len == 0 || len >= sizeof(path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(path, dir, len + 1);
    for (char *p = path + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0700) == -1 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(dir, 0700);
}

static int
session_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n == -1) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int
session_write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd, saved;

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd == -1)
        return -1;
    if (session_write_all(fd, data, len) == -1 || fsync(fd) == -1) {
        saved = errno;
        close(fd);
        unlink(path);
        errno = saved;
        return -1;
    }
    if (close(fd) == -1) {
        saved = errno;
        unlink(path);
        errno = saved;
        return -1;
    }
    return 0;
}

/* Opens <path> with <flags> and takes its lock. The remover replaces the
 * file by rename, so a lock won on the old file protects nothing: when
 * <path> names another file once the lock is ours, start again. Returns
 * the locked descriptor, or -1 with errno set. */
static int
session_tokens_lock(const char *path, int flags)
{
    for (int tries = 0; tries < 100; tries++) {
        struct stat held, named;
        int fd = open(path, flags | O_CLOEXEC, 0600);

        if (fd == -1)
            return -1;
        if (flock(fd, LOCK_EX) == -1 || fstat(fd, &held) == -1) {
            int saved = errno;

            close(fd);
            errno = saved;
            return -1;
        }
        if (stat(path, &named) == 0 && named.st_dev == held.st_dev &&
            named.st_ino == held.st_ino)
            return fd;
        close(fd);
    }
    errno = EAGAIN;
    return -1;
}

int
session_tokens_add(const char *path, const char *session, const char *token)
{
    char line[SESSION_TOKENS_LINE_MAX];
    int fd, w, rc = -1;

    w = snprintf(line, sizeof(line), "%s:%s\n", session, token);
    if (w < 0 || (size_t)w >= sizeof(line))
        return -1;
    fd = session_tokens_lock(path, O_WRONLY | O_CREAT | O_APPEND);
    if (fd == -1)
        return -1;
    if (session_write_all(fd, line, (size_t)w) == 0 && fsync(fd) == 0)
        rc = 0;
    if (close(fd) == -1)
        rc = -1;
    return rc;
}

/* True if <line> belongs to <session> ("SESSION:..."). */
static bool
session_tokens_line_is(const char *line, const char *session)
{
    size_t n = strlen(session);

    return strncmp(line, session, n) == 0 && line[n] == ':';
}

int
session_tokens_remove(const char *path, const char *session)
{
    char tmp[LAUNCH_PATH_MAX], line[SESSION_TOKENS_LINE_MAX];
    struct stat st;
    FILE *in = NULL, *out = NULL;
    int fd, ofd = -1, w;

    w = snprintf(tmp, sizeof(tmp), "%s.sluice-tmp", path);
    if (w < 0 || (size_t)w >= sizeof(tmp))
        return -1;
    fd = session_tokens_lock(path, O_RDONLY);
    if (fd == -1)
        return errno == ENOENT ? 0 : -1;
    if (fstat(fd, &st) == -1)
        goto fail_fd;
    in = fdopen(fd, "r");
    if (in == NULL)
        goto fail_fd;
    ofd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (ofd == -1)
        goto fail_in;
    /* Same owner and mode as before: the proxy reading it is unchanged. */
    if (fchown(ofd, st.st_uid, st.st_gid) == -1 && errno != EPERM)
        goto fail_out;
    if (fchmod(ofd, st.st_mode & 07777) == -1)
        goto fail_out;
    out = fdopen(ofd, "w");
    if (out == NULL)
        goto fail_out;
    ofd = -1;
    while (fgets(line, sizeof(line), in) != NULL) {
        if (!session_tokens_line_is(line, session) && fputs(line, out) == EOF)
            goto fail_out;
    }
    if (ferror(in) || fflush(out) == EOF || fsync(fileno(out)) == -1)
        goto fail_out;
    if (fclose(out) == EOF) {
        out = NULL;
        goto fail_out;
    }
    out = NULL;
    if (rename(tmp, path) == -1)
        goto fail_out;
    fclose(in); /* releases the lock */
    return 0;

fail_out:
    if (out != NULL)
        fclose(out);
    if (ofd != -1)
        close(ofd);
    unlink(tmp);
fail_in:
    fclose(in);
    return -1;
fail_fd:
    close(fd);
    return -1;
}
