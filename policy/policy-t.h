/* policy/policy-t.h - the immutable policy snapshot (SPEC section 2).
 * Built by policy/config.c, read by everyone, never modified after load.
 * A reload builds a new snapshot; connections keep a reference to the one
 * that decided them (policy_ref/policy_unref in policy/policy.h). */
#ifndef POLICY_POLICY_T_H
#define POLICY_POLICY_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct domain_set;
struct cidr_set;

/* Per session, per tier caps. 0 means "not set" for every field. */
struct tier_limits {
    uint64_t bytes_up;            /* client -> server bytes */
    uint64_t bytes_down;          /* server -> client bytes */
    uint32_t requests_per_minute; /* new requests and tunnels */
    uint64_t bandwidth_bps;       /* bytes per second, both directions */
    uint32_t connections;         /* open at once */
    uint32_t alert_at_pct;        /* 1..100 */
};

struct tier {
    char *name;
    char **patterns; /* as written in the file, for `check` */
    size_t n_patterns;
    char **domains_files; /* paths as written */
    size_t n_domains_files;
    struct domain_set *domains; /* DNS-name patterns, including files */
    struct cidr_set *literals;  /* IP/CIDR patterns: match IP literals */
    uint16_t *ports;            /* sorted, unique */
    size_t n_ports;
    struct tier_limits limits;
};

enum listener_mode { LISTENER_ENFORCE = 0, LISTENER_REPORT };

struct listener_conf {
    char *name;
    char *listen; /* "host:port" as written */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    size_t *tiers; /* indices into policy->tiers, in order */
    size_t n_tiers;
    char *session; /* fixed session id, or NULL */
    enum listener_mode mode;
};

enum auth_mode { AUTH_NONE = 0, AUTH_BASIC };

#define POLICY_RESOLVER_SERVERS_MAX 16

struct policy {
    unsigned refs;
    char *path;      /* file it came from; NULL for the embedded default */
    char sha256[65]; /* hex digest of the source text */

    struct listener_conf *listeners;
    size_t n_listeners;

    enum auth_mode auth_mode;
    char *tokens_file; /* NULL if unset */

    char **resolver_servers; /* "ip" or "ip:port" / "[v6]:port" */
    size_t n_resolver_servers;
    uint32_t resolver_timeout_ms;

    struct cidr_set *allow_ranges;
    struct cidr_set *deny_ranges;
    bool ip_literals_allow;

    struct tier *tiers;
    size_t n_tiers;

    char *log_access; /* path or "-" */
    char *log_events;
    char *admin_socket; /* NULL = off */

    uint32_t connect_timeout_ms;
    uint32_t header_timeout_ms;
    uint32_t idle_timeout_ms;
    uint32_t shutdown_grace_ms;
    uint32_t max_connections;
    uint32_t max_header_bytes;
};

/* Defaults, SPEC section 2. */
#define POLICY_DEFAULT_RESOLVER_TIMEOUT_MS 2000
#define POLICY_DEFAULT_CONNECT_TIMEOUT_MS 10000
#define POLICY_DEFAULT_HEADER_TIMEOUT_MS 10000
#define POLICY_DEFAULT_IDLE_TIMEOUT_MS 300000
#define POLICY_DEFAULT_SHUTDOWN_GRACE_MS 10000
#define POLICY_DEFAULT_MAX_CONNECTIONS 10000
#define POLICY_DEFAULT_MAX_HEADER_BYTES 32768

#endif /* POLICY_POLICY_T_H */
