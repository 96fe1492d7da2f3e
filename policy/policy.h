/* policy/policy.h - decisions over an immutable policy snapshot
 * (SPEC section 3, steps 1-3 and 5). Pure: no sockets, no clock, no I/O.
 * Step 4 (session state and caps) belongs to the session layer.
 * Called by proxy/ for every request and by `sluice explain`. */
#ifndef POLICY_POLICY_H
#define POLICY_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/addr.h"
#include "policy/domain.h"
#include "policy/policy-t.h"
#include "policy/reason.h"

/* The outcome of judging a host and port on one listener. */
struct decision {
    enum reason reason;     /* REASON_ALLOWED, REASON_REPORT_ONLY or a denial */
    enum reason would_deny; /* with REASON_REPORT_ONLY: what enforce would say;
                               REASON_ALLOWED otherwise */
    /* Deciding tier; NULL if none matched. With REASON_REPORT_ONLY: the
     * tier whose caps still apply (the first that matched the host, else
     * the listener's first; NULL if it has none). */
    const struct tier *tier;
    char host[DOMAIN_NAME_MAX]; /* normalised host (IP literals canonical) */
    bool is_literal;            /* host was an IP literal */
    struct addr literal;        /* valid when is_literal */
};

/* Takes one more reference on <p> and returns it. */
struct policy *policy_ref(struct policy *p);

/* Drops one reference; frees the snapshot with the last. NULL is a no-op. */
void policy_unref(struct policy *p);

/* Returns the listener named <name>, or NULL. */
const struct listener_conf *policy_find_listener(const struct policy *p,
                                                 const char *name);

/* Steps 1-3 of SPEC section 3 for <host> (hostlen bytes, not
 * NUL-terminated, may be "[v6]") and <port> on listener <l>:
 *   1. normalise; a host that is neither a DNS name nor an IP literal is
 *      REASON_BAD_REQUEST;
 *   2. an IP literal is REASON_IP_LITERAL unless ip_literals: allow, and an
 *      allowed literal must also pass policy_check_addr();
 *   3. first tier of <l> whose patterns match the host and whose ports hold
 *      <port>; none gives REASON_NOT_ALLOWLISTED or REASON_PORT_NOT_ALLOWED
 *      (a tier matched the host but not the port) - or on a report-mode
 *      listener REASON_REPORT_ONLY with <would_deny> set.
 * Fills <d> completely and returns d->reason. */
enum reason policy_check_host(const struct policy *p,
                              const struct listener_conf *l, const char *host,
                              size_t hostlen, uint16_t port,
                              struct decision *d);

/* Step 5 for one resolved (or literal) address: REASON_ALLOWED, or
 * REASON_DENIED_ADDRESS if the address is in a built-in or deny_ranges
 * block and not exempted by allow_ranges (metadata is never exempt). */
enum reason policy_check_addr(const struct policy *p, const struct addr *a);

/* True if <port> is in <t>'s port list. */
bool policy_tier_has_port(const struct tier *t, uint16_t port);

#endif /* POLICY_POLICY_H */
