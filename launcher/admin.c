/* launcher/admin.c - POST /reload over the proxy's admin socket. */
#include "config.h"
#include "launcher/admin.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

static const char admin_reload_request[] = "POST /reload HTTP/1.1\r\n"
                                           "Host: sluice\r\n"
                                           "Content-Length: 0\r\n"
                                           "Connection: close\r\n"
                                           "\r\n";

int
admin_reload(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sun;
    struct timeval tv = { .tv_sec = ADMIN_TIMEOUT_S, .tv_usec = 0 };
    char reply[128];
    size_t got = 0;
    int fd, status;

    if (strlen(path) >= sizeof(sun.sun_path)) {
        snprintf(err, errlen, "admin socket %s: path too long", path);
        return -1;
    }
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        snprintf(err, errlen, "admin socket: %s", strerror(errno));
        return -1;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1 ||
        connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
        send(fd, admin_reload_request, sizeof(admin_reload_request) - 1,
             MSG_NOSIGNAL) != (ssize_t)(sizeof(admin_reload_request) - 1)) {
        snprintf(err, errlen, "admin socket %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    while (got + 1 < sizeof(reply)) {
        ssize_t n = recv(fd, reply + got, sizeof(reply) - 1 - got, 0);

        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
        if (memchr(reply, '\n', got) != NULL)
            break;
    }
    close(fd);
    reply[got] = '\0';
    if (sscanf(reply, "HTTP/1.%*d %d", &status) != 1) {
        snprintf(err, errlen, "admin socket %s: no HTTP answer to reload",
                 path);
        return -1;
    }
    if (status < 200 || status > 299) {
        snprintf(err, errlen, "admin socket %s: reload answered %d", path,
                 status);
        return -1;
    }
    return 0;
}
