/* proxy/cmd_explain.c - `sluice explain`: decide one target without
 * serving, resolving it exactly as the proxy would. */
#include "config.h"
#include "proxy/cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "logging/jsonl.h"
#include "policy/policy.h"
#include "proxy/http_head.h"
#include "proxy/resolver.h"

struct explain {
    const struct policy *p;
    struct decision d;
    uint16_t port;
    enum reason reason;
    char why[128];
    struct addr addrs[RESOLVER_ADDRS_MAX];
    size_t n_addrs;
};

/* Splits TARGET ("host:port", "http://host[:port]/...",
 * "https://host[:port]/...") into host and port. */
static int
explain_parse_target(const char *target, struct slice *host, uint16_t *port)
{
    const char *p = target, *end;
    unsigned long v = 80;
    bool need_port = true;

    if (strncasecmp(p, "http://", 7) == 0) {
        p += 7;
        need_port = false;
    } else if (strncasecmp(p, "https://", 8) == 0) {
        p += 8;
        v = 443;
        need_port = false;
    }
    end = p + strcspn(p, "/?#");
    host->p = p;
    if (*p == '[') {
        const char *close = memchr(p, ']', (size_t)(end - p));

        if (close == NULL)
            return -1;
        host->len = (size_t)(close - p) + 1;
    } else {
        const char *colon = memchr(p, ':', (size_t)(end - p));

        host->len = colon != NULL ? (size_t)(colon - p) : (size_t)(end - p);
    }
    if (host->len == 0 || memchr(p, '@', (size_t)(end - p)) != NULL)
        return -1;
    if (p + host->len < end) {
        char *stop;

        if (p[host->len] != ':')
            return -1;
        v = strtoul(p + host->len + 1, &stop, 10);
        if (stop != end || v == 0 || v > 65535)
            return -1;
    } else if (need_port) {
        return -1;
    }
    *port = (uint16_t)v;
    return 0;
}

static void
explain_resolved_cb(enum resolver_status status, const struct addr *addrs,
                    size_t n, void *arg)
{
    struct explain *e = arg;

    if (status != RESOLVER_OK || n == 0) {
        e->reason = REASON_DNS_FAILURE;
        snprintf(e->why, sizeof(e->why), "%s",
                 status == RESOLVER_TIMEOUT    ? "timeout"
                 : status == RESOLVER_SERVFAIL ? "servfail"
                                               : "nxdomain");
        return;
    }
    e->n_addrs = n < RESOLVER_ADDRS_MAX ? n : RESOLVER_ADDRS_MAX;
    memcpy(e->addrs, addrs, e->n_addrs * sizeof(*addrs));
}

static int
explain_resolve(struct explain *e)
{
    struct event_base *base = event_base_new();
    struct resolver *r;
    char err[256];

    if (base == NULL)
        return -1;
    r = resolver_new(base, e->p->resolver_servers, e->p->n_resolver_servers,
                     e->p->resolver_timeout_ms, err, sizeof(err));
    if (r == NULL) {
        fprintf(stderr, "sluice: %s\n", err);
        event_base_free(base);
        return -1;
    }
    if (resolver_lookup(r, e->d.host, explain_resolved_cb, e) == NULL) {
        e->reason = REASON_DNS_FAILURE;
        snprintf(e->why, sizeof(e->why), "out of memory");
    } else {
        event_base_dispatch(base);
    }
    resolver_free(r);
    event_base_free(base);
    return 0;
}

static void
explain_print(const struct explain *e)
{
    struct jsonl j;
    char text[ADDR_TEXT_MAX];
    bool allow = reason_is_allow(e->reason);

    jsonl_init(&j);
    jsonl_begin(&j);
    jsonl_str(&j, "decision", allow ? "allow" : "deny");
    jsonl_str(&j, "reason", reason_name(e->reason));
    if (e->d.would_deny != REASON_ALLOWED)
        jsonl_str(&j, "would_deny", reason_name(e->d.would_deny));
    jsonl_str(&j, "tier", e->d.tier != NULL ? e->d.tier->name : NULL);
    jsonl_str(&j, "host", e->d.host[0] != '\0' ? e->d.host : NULL);
    jsonl_uint(&j, "port", e->port);
    /* Address texts are plain ASCII (digits, hex, '.', ':'): no escaping
     * needed inside the quotes. */
    {
        char raw[RESOLVER_ADDRS_MAX * (ADDR_TEXT_MAX + 3) + 3];
        size_t used = 0;

        raw[used++] = '[';
        for (size_t i = 0; i < e->n_addrs; i++) {
            addr_format(&e->addrs[i], text);
            used += (size_t)snprintf(raw + used, sizeof(raw) - used, "%s\"%s\"",
                                     i > 0 ? "," : "", text);
        }
        snprintf(raw + used, sizeof(raw) - used, "]");
        jsonl_raw(&j, "addrs", raw);
    }
    if (e->why[0] != '\0')
        jsonl_str(&j, "detail", e->why);
    jsonl_end(&j);
    fwrite(j.buf, 1, j.len, stdout);
    jsonl_fini(&j);
}

int
cmd_explain(int argc, char **argv)
{
    static const struct option opts[] = {
        { "listener", required_argument, NULL, 'l' },
        { "session", required_argument, NULL, 's' },
        { NULL, 0, NULL, 0 },
    };
    static const char usage[] = "usage: sluice explain [-c FILE] "
                                "[--listener NAME] [--session ID] TARGET\n";
    const char *path = NULL, *lname = NULL;
    const struct listener_conf *l;
    struct explain e;
    struct policy *p;
    struct slice host;
    int opt, rc;

    memset(&e, 0, sizeof(e));
    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case 'l':
            lname = optarg;
            break;
        case 's':
            /* Sessions only matter for caps, which explain does not
             * consume; accepted for symmetry with the proxy. */
            break;
        default:
            fputs(usage, stderr);
            return 2;
        }
    }
    if (optind + 1 != argc) {
        fputs(usage, stderr);
        return 2;
    }
    if (explain_parse_target(argv[optind], &host, &e.port) == -1) {
        fprintf(stderr,
                "sluice: bad target '%s': want host:port, http://host/... or "
                "https://host/...\n",
                argv[optind]);
        return 2;
    }
    p = cmd_load_policy(path);
    if (p == NULL)
        return 2;
    l = lname != NULL ? policy_find_listener(p, lname) : &p->listeners[0];
    if (l == NULL) {
        fprintf(stderr, "sluice: no listener named '%s' in the policy\n",
                lname);
        policy_unref(p);
        return 2;
    }
    e.p = p;
    e.reason = policy_check_host(p, l, host.p, host.len, e.port, &e.d);
    if (reason_is_allow(e.reason)) {
        if (e.d.is_literal) {
            e.addrs[0] = e.d.literal;
            e.n_addrs = 1;
        } else if (explain_resolve(&e) == -1) {
            policy_unref(p);
            return 1;
        }
        for (size_t i = 0; i < e.n_addrs && e.reason != REASON_DNS_FAILURE;
             i++) {
            if (policy_check_addr(p, &e.addrs[i]) != REASON_ALLOWED) {
                e.reason = REASON_DENIED_ADDRESS;
                break;
            }
        }
    }
    explain_print(&e);
    rc = reason_is_allow(e.reason) ? 0 : 1;
    policy_unref(p);
    return rc;
}
