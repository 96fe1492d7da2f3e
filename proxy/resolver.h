/* proxy/resolver.h - asynchronous A + AAAA lookups with c-ares, driven by
 * the proxy's libevent loop (no getaddrinfo, no threads). Answers are
 * returned as parsed addresses; judging them is the caller's job
 * (policy_check_addr). Called by proxy/conn.c and `sluice explain`. */
#ifndef PROXY_RESOLVER_H
#define PROXY_RESOLVER_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "policy/addr.h"

/* Answers beyond this many addresses are dropped (bounded memory). */
#define RESOLVER_ADDRS_MAX 32

enum resolver_status {
    RESOLVER_OK = 0,
    RESOLVER_NXDOMAIN, /* the name does not exist, or has no A/AAAA */
    RESOLVER_SERVFAIL, /* server failure, refused, bad answer */
    RESOLVER_TIMEOUT,  /* no answer within timeout_ms */
    RESOLVER_CANCELLED /* resolver_free() ran first */
};

/* Called once per lookup. <addrs> (n entries, IPv4 answers first, then
 * IPv6, duplicates removed) is borrowed for the duration of the call. */
typedef void resolver_done_fn(enum resolver_status status,
                              const struct addr *addrs, size_t n, void *arg);

struct resolver;
struct resolver_query;

/* Returns a new resolver on <base>. <servers> (n entries of "ip",
 * "ip:port" or "[v6]:port") replace the system configuration when n > 0;
 * /etc/hosts is then not consulted either (it is with the system
 * configuration, as libc does). <timeout_ms> bounds each whole lookup.
 * NULL with <err> filled on failure (bad server address, c-ares init
 * failure). */
struct resolver *resolver_new(struct event_base *base, char *const *servers,
                              size_t n, uint32_t timeout_ms, char *err,
                              size_t errlen);

/* Cancels every pending lookup (their callbacks run with
 * RESOLVER_CANCELLED, from inside this call) and frees <r>. Those
 * callbacks may cancel other lookups but must not start new ones on <r>
 * or free it again. May be called from any other <done> callback.
 * NULL is a no-op. */
void resolver_free(struct resolver *r);

/* Starts a lookup of A and AAAA records for <name> (NUL-terminated, a
 * normalised DNS name; the host's search domains are never appended).
 * <done> runs exactly once, always later from the event loop, never
 * before this function returns (not even for an IP literal or an immediate
 * failure), and never from inside c-ares: it may start, cancel or free
 * anything, resolver_free(r) included. Returns a handle that can be passed
 * to resolver_cancel() until <done> has run, or NULL if out of memory (then
 * <done> never runs). */
struct resolver_query *resolver_lookup(struct resolver *r, const char *name,
                                       resolver_done_fn *done, void *arg);

/* Detaches <q>: its <done> will never run. The lookup itself finishes in
 * the background and is then freed. */
void resolver_cancel(struct resolver_query *q);

/* Statistics for /metrics and tests. */
unsigned long resolver_lookups(const struct resolver *r);

#endif /* PROXY_RESOLVER_H */
