/* launcher/probe.c - containment probe directives and verdict. */
#include "config.h"
#include "launcher/probe.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "launcher/assets.h"

/* The address docker's embedded DNS answers on inside every container of
 * a user network (127.0.0.11 in the container's own namespace). */
#define PROBE_DOCKER_DNS "127.0.0.11"

const char *const probe_script = assets_probe_sh;

void
probe_push_directives(const struct launch *l, struct argv *out)
{
    const char *proxy = l->external_proxy ? l->proxy_host : l->sidecar_addr;
    char host[LAUNCH_ADDR_MAX];
    size_t len = strlen(proxy);

    /* The probe wants a bare address: strip "[...]" from IPv6. */
    if (len >= 2 && proxy[0] == '[' && proxy[len - 1] == ']')
        snprintf(host, sizeof(host), "%.*s", (int)(len - 2), proxy + 1);
    else
        snprintf(host, sizeof(host), "%s", proxy);
    if (l->fetch_port != 0)
        argv_pushf(out, "reach|proxy|%s|%u,%u", host, l->proxy_port,
                   l->fetch_port);
    else
        argv_pushf(out, "reach|proxy|%s|%u", host, l->proxy_port);
    if (!l->external_proxy) {
        argv_pushf(out, "dns|the sidecar|%s|", host);
        argv_pushf(out, "block|the sidecar's egress-side address|%s|%s",
                   l->sidecar_egress_addr, PROBE_BLOCK_PORTS);
        argv_pushf(out, "dns|the sidecar's egress-side address|%s|",
                   l->sidecar_egress_addr);
    }
    for (size_t i = 0; i < l->host_addrs.n; i++) {
        argv_pushf(out, "block|host address|%s|%s", l->host_addrs.v[i],
                   PROBE_BLOCK_PORTS);
        argv_pushf(out, "dns|host address|%s|", l->host_addrs.v[i]);
    }
    argv_pushf(out, "dns|the engine's resolver|%s|", PROBE_DOCKER_DNS);
    argv_append(out, &l->probe_targets);
}

int
probe_target_add(const char *text, struct argv *out, char *err, size_t errlen)
{
    char host[LAUNCH_ADDR_MAX], port[8], addr[LAUNCH_ADDR_MAX];
    const char *orig = text, *colon;
    struct addrinfo hints, *res = NULL;
    size_t hlen;
    int rc;

    if (text[0] == '[') {
        const char *close = strchr(text, ']');

        if (close == NULL || close[1] != ':') {
            snprintf(err, errlen, "--probe-target %s: write [IPv6]:PORT", text);
            return -1;
        }
        hlen = (size_t)(close - text - 1);
        colon = close + 1;
        text++;
    } else {
        colon = strrchr(text, ':');
        if (colon == NULL) {
            snprintf(err, errlen, "--probe-target %s: write HOST:PORT", text);
            return -1;
        }
        hlen = (size_t)(colon - text);
    }
    if (hlen == 0 || hlen >= sizeof(host) || strlen(colon + 1) == 0 ||
        strlen(colon + 1) >= sizeof(port) ||
        strspn(colon + 1, "0123456789") != strlen(colon + 1)) {
        snprintf(err, errlen, "--probe-target %s: write HOST:PORT", orig);
        return -1;
    }
    memcpy(host, text, hlen);
    host[hlen] = '\0';
    snprintf(port, sizeof(port), "%s", colon + 1);
    if (strtol(port, NULL, 10) < 1 || strtol(port, NULL, 10) > 65535) {
        snprintf(err, errlen, "--probe-target %s: port out of range", host);
        return -1;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "--probe-target %s: %s", host, gai_strerror(rc));
        return -1;
    }
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        if (getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof(addr), NULL,
                        0, NI_NUMERICHOST) != 0)
            continue;
        argv_pushf(out, "block|probe target %s:%s|%s|%s", host, port, addr,
                   port);
    }
    freeaddrinfo(res);
    if (argv_ok(out) == -1) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

void
probe_report_parse(const char *text, struct probe_report *r)
{
    const char *p = text;

    r->passed = 0;
    r->done = false;
    argv_init(&r->failures);
    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);

        if (len >= 3 && strncmp(p, "ok ", 3) == 0)
            r->passed++;
        else if (len >= 5 && strncmp(p, "FAIL ", 5) == 0)
            argv_pushf(&r->failures, "%.*s", (int)(len - 5), p + 5);
        else if (len == 4 && strncmp(p, "done", 4) == 0)
            r->done = true;
        p += len;
        if (*p == '\n')
            p++;
    }
}

bool
probe_report_holds(const struct probe_report *r)
{
    return r->done && r->failures.n == 0 && !r->failures.failed &&
           r->passed > 0;
}

void
probe_report_fini(struct probe_report *r)
{
    argv_fini(&r->failures);
}
