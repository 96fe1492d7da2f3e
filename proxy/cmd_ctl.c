/* proxy/cmd_ctl.c - `sluice ctl`: talk to a running proxy's admin socket
 * and print the answer readably (a table for sessions, indented JSON for
 * status), or the raw body with --json. Blocking I/O with timeouts: this
 * is a short-lived client, not the proxy. */
#include "config.h"
#include "proxy/cmd.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "policy/policy.h"

#define CTL_DEFAULT_SOCKET "/run/sluice/admin.sock"
#define CTL_TIMEOUT_S 10
/* Answers larger than this are cut: /sessions of a huge gateway. */
#define CTL_REPLY_MAX (64 * 1024 * 1024)

static const char ctl_usage[] =
    "usage: sluice ctl [-s SOCKET | -c POLICY] [--json] COMMAND [ID]\n"
    "  status | sessions | pause ID | resume ID | kill ID | reload | metrics\n"
    "  SOCKET defaults to $SLUICE_ADMIN_SOCKET, then " CTL_DEFAULT_SOCKET "\n";

struct ctl_reply {
    int status;
    char *buf; /* whole answer, NUL-terminated */
    const char *body;
};

static int
ctl_connect(const char *path)
{
    struct sockaddr_un sun;
    struct timeval tv = { CTL_TIMEOUT_S, 0 };
    int fd;

    if (strlen(path) >= sizeof(sun.sun_path)) {
        fprintf(stderr, "sluice: admin socket path too long: %s\n", path);
        return -1;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        fprintf(stderr, "sluice: socket: %s\n", strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, path, strlen(path) + 1);
    if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
        fprintf(stderr,
                "sluice: cannot reach the admin socket %s: %s (is sluice "
                "serving with admin.socket set?)\n",
                path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* Sends one request and reads the whole answer. Returns 0 or -1. */
static int
ctl_request(const char *sock, const char *method, const char *path,
            const char *accept, struct ctl_reply *r)
{
    char req[1024];
    size_t len = 0, cap = 8192;
    int fd, n;
    char *hdr_end;

    memset(r, 0, sizeof(*r));
    n = snprintf(req, sizeof(req),
                 "%s %s HTTP/1.1\r\nHost: sluice\r\nAccept: %s\r\n"
                 "Content-Length: 0\r\nConnection: close\r\n\r\n",
                 method, path, accept);
    if (n < 0 || (size_t)n >= sizeof(req)) {
        fprintf(stderr, "sluice: request too long\n");
        return -1;
    }
    fd = ctl_connect(sock);
    if (fd == -1)
        return -1;
    if (write(fd, req, (size_t)n) != n) {
        fprintf(stderr, "sluice: writing to %s: %s\n", sock, strerror(errno));
        close(fd);
        return -1;
    }
    r->buf = malloc(cap);
    while (r->buf != NULL) {
        ssize_t got;

        if (len + 1 >= cap) {
            char *nb = cap < CTL_REPLY_MAX ? realloc(r->buf, cap * 2) : NULL;

            if (nb == NULL)
                break;
            r->buf = nb;
            cap *= 2;
        }
        got = read(fd, r->buf + len, cap - len - 1);
        if (got == -1 && errno == EINTR)
            continue;
        if (got <= 0) {
            if (got == -1) {
                fprintf(stderr, "sluice: reading from %s: %s\n", sock,
                        strerror(errno));
                len = 0;
            }
            break;
        }
        len += (size_t)got;
    }
    close(fd);
    if (r->buf == NULL || len == 0) {
        if (r->buf != NULL)
            fprintf(stderr,
                    "sluice: the admin socket %s closed without an "
                    "answer\n",
                    sock);
        free(r->buf);
        r->buf = NULL;
        return -1;
    }
    r->buf[len] = '\0';
    hdr_end = strstr(r->buf, "\r\n\r\n");
    if (strncmp(r->buf, "HTTP/1.", 7) != 0 || hdr_end == NULL ||
        sscanf(r->buf + 9, "%3d", &r->status) != 1) {
        fprintf(stderr, "sluice: the admin socket %s did not answer HTTP\n",
                sock);
        free(r->buf);
        r->buf = NULL;
        return -1;
    }
    r->body = hdr_end + 4;
    return 0;
}

/* Prints <json> indented, two spaces a level. Strings are copied as they
 * are, escapes included. */
static void
ctl_pretty(const char *json)
{
    int depth = 0;
    bool in_str = false;

    for (const char *p = json; *p != '\0'; p++) {
        char ch = *p;

        if (in_str) {
            putchar(ch);
            if (ch == '\\' && p[1] != '\0')
                putchar(*++p);
            else if (ch == '"')
                in_str = false;
            continue;
        }
        switch (ch) {
        case '"':
            in_str = true;
            putchar(ch);
            break;
        case '{':
        case '[':
            putchar(ch);
            if (p[1] == '}' || p[1] == ']') {
                putchar(*++p);
                break;
            }
            printf("\n%*s", 2 * ++depth, "");
            break;
        case '}':
        case ']':
            printf("\n%*s%c", 2 * (depth > 0 ? --depth : 0), "", ch);
            break;
        case ',':
            printf(",\n%*s", 2 * depth, "");
            break;
        case ':':
            fputs(": ", stdout);
            break;
        case '\n':
        case '\r':
        case ' ':
        case '\t':
            break;
        default:
            putchar(ch);
        }
    }
    putchar('\n');
}

/* The "error" string of a JSON error body, for a one-line message. */
static void
ctl_print_error(const struct ctl_reply *r)
{
    const char *e = strstr(r->body, "\"error\":\"");
    const char *end;

    if (e == NULL) {
        fprintf(stderr, "sluice: the proxy answered %d\n", r->status);
        return;
    }
    e += 9;
    end = e;
    while (*end != '\0' && *end != '"') {
        if (*end == '\\' && end[1] != '\0')
            end++;
        end++;
    }
    fprintf(stderr, "sluice: %.*s (HTTP %d)\n", (int)(end - e), e, r->status);
}

/* "session ID: paused", from the answer's "state". */
static void
ctl_print_state(const char *id, const struct ctl_reply *r)
{
    const char *st = strstr(r->body, "\"state\":\"");
    size_t n = 0;

    if (st != NULL) {
        st += 9;
        n = strcspn(st, "\"");
    }
    printf("session %s: %.*s\n", id, (int)n, st != NULL ? st : "");
}

int
cmd_ctl(int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "socket", required_argument, NULL, 's' },
        { NULL, 0, NULL, 0 },
    };
    const char *sock = getenv("SLUICE_ADMIN_SOCKET");
    const char *policy_path = NULL, *cmd, *arg = NULL;
    struct policy *p = NULL;
    struct ctl_reply r;
    bool json = false;
    char path[512];
    const char *method = "GET", *accept = "application/json";
    int opt, rc;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "s:c:j", opts, NULL)) != -1) {
        switch (opt) {
        case 's':
            sock = optarg;
            break;
        case 'c':
            policy_path = optarg;
            break;
        case 'j':
            json = true;
            break;
        default:
            fputs(ctl_usage, stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        fputs(ctl_usage, stderr);
        return 2;
    }
    cmd = argv[optind];
    if (optind + 1 < argc)
        arg = argv[optind + 1];
    if (optind + 2 < argc) {
        fputs(ctl_usage, stderr);
        return 2;
    }
    if (strcmp(cmd, "status") == 0 || strcmp(cmd, "metrics") == 0 ||
        strcmp(cmd, "sessions") == 0) {
        snprintf(path, sizeof(path), "/%s", cmd);
        if (strcmp(cmd, "sessions") == 0 && !json)
            accept = "text/plain";
    } else if (strcmp(cmd, "reload") == 0) {
        snprintf(path, sizeof(path), "/reload");
        method = "POST";
    } else if (strcmp(cmd, "pause") == 0 || strcmp(cmd, "resume") == 0 ||
               strcmp(cmd, "kill") == 0) {
        if (arg == NULL || strlen(arg) > 128 ||
            strcspn(arg, "/?#% \t\r\n") != strlen(arg)) {
            fprintf(stderr, "sluice: ctl %s needs a session id\n", cmd);
            return 2;
        }
        snprintf(path, sizeof(path), "/sessions/%s/%s", arg, cmd);
        method = "POST";
    } else {
        fprintf(stderr, "sluice: unknown ctl command '%s'\n%s", cmd, ctl_usage);
        return 2;
    }
    if (arg != NULL && strcmp(method, "POST") != 0) {
        fputs(ctl_usage, stderr);
        return 2;
    }
    if (policy_path != NULL && sock == NULL) {
        p = cmd_load_policy(policy_path);
        if (p == NULL)
            return 2;
        if (p->admin_socket == NULL) {
            fprintf(stderr, "sluice: %s sets no admin.socket\n", policy_path);
            policy_unref(p);
            return 2;
        }
        sock = p->admin_socket;
    }
    if (sock == NULL)
        sock = CTL_DEFAULT_SOCKET;
    rc = ctl_request(sock, method, path, accept, &r);
    policy_unref(p);
    if (rc == -1)
        return 1;
    if (r.status < 200 || r.status > 299) {
        if (json)
            fputs(r.body, stdout);
        ctl_print_error(&r);
        free(r.buf);
        return 1;
    }
    if (json || strcmp(cmd, "metrics") == 0 || strcmp(cmd, "sessions") == 0)
        fputs(r.body, stdout);
    else if (strcmp(method, "POST") == 0 && arg != NULL)
        ctl_print_state(arg, &r);
    else if (strcmp(cmd, "reload") == 0)
        printf("reloaded\n");
    else
        ctl_pretty(r.body);
    free(r.buf);
    return fflush(stdout) == 0 ? 0 : 1;
}
