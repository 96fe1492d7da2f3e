/* policy/config.c - loads a YAML policy (SPEC section 2) into an immutable
 * struct policy, and writes the effective policy as JSON for `sluice check`.
 *
 * The only user of libyaml. It reads files (the policy and its
 * domains_files) but opens no socket and reads no clock. Every rejection
 * carries FILE:LINE:COL from libyaml's marks: a policy is a security
 * boundary, so nothing is ignored and nothing is guessed.
 *
 * The schema is data: each mapping of the file has a table of keys, and a
 * key is either a leaf of a known kind (integer, size, rate, path...) stored
 * at an offset of the object being built, or a handler for nested structure.
 *
 * Called by proxy/main.c (serve, check, explain, reload) and by the
 * launcher's policy check. policy/policy.c calls config_policy_free(). */

/* <config.h>, not "config.h": the quoted form finds this file's own header
 * policy/config.h first, and the autoconf header would be skipped. */
#include <config.h>
#include "policy/config.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <yaml.h>

#include "policy/addr.h"
#include "policy/domain.h"

#define CONFIG_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Listener, tier and session names end up in log lines, metric labels and
 * admin URLs (/sessions/ID/pause): a short URL-safe alphabet keeps all of
 * them free of escaping. */
#define CONFIG_NAME_MAX 64
#define CONFIG_NAME_CHARS                                                      \
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"

/* A policy nests five levels at most; anything deeper is an attack on the
 * parser, not a policy. */
#define CONFIG_DEPTH_MAX 16

/* Longest key path in a message ("tiers.NAME.limits.requests_per_minute",
 * "listeners[12].tiers[3]"), with room to spare. */
#define CONFIG_KEYPATH_MAX 192

/* Widest mapping of the schema (the top level has 10 keys). */
#define CONFIG_KEYS_MAX 16

/* A pattern longer than a DNS name or a CIDR is a typo. */
#define CONFIG_PATTERN_MAX (DOMAIN_NAME_MAX + 2)

/* Default ports of a tier that lists none: what "web access" means. */
static const uint16_t config_default_ports[] = { 80, 443 };

/* Bounds that the proxy relies on. A header block under 1 KiB cannot hold a
 * real request line plus Host; one over 1 MiB is a memory attack. */
#define CONFIG_HEADER_BYTES_MIN 1024
#define CONFIG_HEADER_BYTES_MAX (1024 * 1024)

/* sun_path of struct sockaddr_un, less its NUL. */
#define CONFIG_SOCKET_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

struct config_ctx {
    yaml_document_t *doc;
    struct policy *p; /* being built; owned by config_load_buffer() */
    struct config_error *err;
    const char *name;     /* shown in errors for the policy itself */
    const char *base_dir; /* for relative paths; NULL: the cwd */
};

/* ---- errors ------------------------------------------------------------ */

static void config_vfail_at(struct config_error *err, const char *file,
                            unsigned line, unsigned col, const char *fmt,
                            va_list ap) __attribute__((format(printf, 5, 0)));

static void
config_vfail_at(struct config_error *err, const char *file, unsigned line,
                unsigned col, const char *fmt, va_list ap)
{
    snprintf(err->file, sizeof(err->file), "%s", file);
    err->line = line;
    err->col = col;
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

static int config_fail_at(struct config_error *err, const char *file,
                          unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Fills <err> and returns -1, so that callers can `return config_fail...`. */
static int
config_fail_at(struct config_error *err, const char *file, unsigned line,
               unsigned col, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    config_vfail_at(err, file, line, col, fmt, ap);
    va_end(ap);
    return -1;
}

static int config_fail_mark(struct config_ctx *cx, yaml_mark_t mark,
                            const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* libyaml's marks count from 0; editors and compilers count from 1. */
static int
config_fail_mark(struct config_ctx *cx, yaml_mark_t mark, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    config_vfail_at(cx->err, cx->name, (unsigned)mark.line + 1,
                    (unsigned)mark.column + 1, fmt, ap);
    va_end(ap);
    return -1;
}

static int config_fail(struct config_ctx *cx, const yaml_node_t *node,
                       const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
config_fail(struct config_ctx *cx, const yaml_node_t *node, const char *fmt,
            ...)
{
    va_list ap;

    va_start(ap, fmt);
    config_vfail_at(cx->err, cx->name, (unsigned)node->start_mark.line + 1,
                    (unsigned)node->start_mark.column + 1, fmt, ap);
    va_end(ap);
    return -1;
}

static int
config_oom(struct config_ctx *cx)
{
    return config_fail_at(cx->err, cx->name, 0, 0, "out of memory");
}

void
config_error_format(const struct config_error *err, char *out, size_t outlen)
{
    if (outlen == 0)
        return;
    /* A whole-file problem (too big, unreadable) has no position. */
    if (err->line == 0)
        snprintf(out, outlen, "%s: %s", err->file, err->msg);
    else
        snprintf(out, outlen, "%s:%u:%u: %s", err->file, err->line, err->col,
                 err->msg);
}

/* ---- scalars ----------------------------------------------------------- */

static const char *
config_kind_name(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_SCALAR_NODE:
        return "a scalar";
    case YAML_SEQUENCE_NODE:
        return "a list";
    case YAML_MAPPING_NODE:
        return "a mapping";
    case YAML_NO_NODE:
        break;
    }
    return "nothing";
}

static yaml_node_t *
config_node(struct config_ctx *cx, yaml_node_item_t id)
{
    return yaml_document_get_node(cx->doc, id);
}

static const char *
config_text(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

/* YAML 1.1 nulls; only unquoted ones: "null" in quotes is a string. */
static bool
config_is_null(const yaml_node_t *n)
{
    static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };

    if (n->type != YAML_SCALAR_NODE ||
        n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    for (size_t i = 0; i < CONFIG_ARRAY_LEN(nulls); i++) {
        if (strcmp(config_text(n), nulls[i]) == 0)
            return true;
    }
    return false;
}

/* The text of scalar <n>, or NULL with the error set. <want> names what
 * was expected ("a string", "an integer"). A NUL inside a scalar ("\0" in
 * double quotes) would make C see a different string than YAML did. */
static const char *
config_scalar(struct config_ctx *cx, const yaml_node_t *n, const char *path,
              const char *want)
{
    if (n->type != YAML_SCALAR_NODE) {
        config_fail(cx, n, "%s: must be %s, not %s", path, want,
                    config_kind_name(n));
        return NULL;
    }
    if (strlen(config_text(n)) != n->data.scalar.length) {
        config_fail(cx, n, "%s: contains a NUL byte", path);
        return NULL;
    }
    return config_text(n);
}

/* A non-empty string, not null. */
static const char *
config_string(struct config_ctx *cx, const yaml_node_t *n, const char *path)
{
    const char *s;

    if (config_is_null(n)) {
        config_fail(cx, n, "%s: must be a string, not null", path);
        return NULL;
    }
    s = config_scalar(cx, n, path, "a string");
    if (s != NULL && *s == '\0') {
        config_fail(cx, n, "%s: must not be empty", path);
        return NULL;
    }
    return s;
}

/* Decimal digits only: no sign, no '_' and no leading zero (YAML 1.1 reads
 * 010 as octal 8; a policy should not depend on which YAML a reader
 * speaks). Returns the number of digits used, 0 if none or on overflow. */
static size_t
config_parse_digits(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    for (i = 0; s[i] >= '0' && s[i] <= '9'; i++) {
        unsigned d = (unsigned)(s[i] - '0');

        if (i == 1 && s[0] == '0')
            return 0;
        if (v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    *out = v;
    return i;
}

/* Units of a size (SPEC section 2). Binary units are powers of 2, SI units
 * powers of 10, as in IEC 80000-13; "kB" is the SI spelling of "KB". */
static const struct {
    const char *unit;
    uint64_t bytes;
} config_size_units[] = {
    { "", 1 },
    { "B", 1 },
    { "KiB", UINT64_C(1) << 10 },
    { "MiB", UINT64_C(1) << 20 },
    { "GiB", UINT64_C(1) << 30 },
    { "TiB", UINT64_C(1) << 40 },
    { "KB", UINT64_C(1000) },
    { "kB", UINT64_C(1000) },
    { "MB", UINT64_C(1000000) },
    { "GB", UINT64_C(1000000000) },
    { "TB", UINT64_C(1000000000000) },
};

/* Parses <len> bytes of <s> as a size ("5MiB", "1 KB", "512"). Returns 0,
 * or -1 with <why> set. */
static int
config_parse_size(const char *s, size_t len, uint64_t *out, const char **why)
{
    char buf[32];
    uint64_t n;
    size_t used;
    const char *unit;

    if (len >= sizeof(buf)) {
        *why = "is not a size (write it as 512, 64KiB, 5MiB, 2GB, ...)";
        return -1;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    used = config_parse_digits(buf, &n);
    if (used == 0) {
        *why = buf[0] >= '0' && buf[0] <= '9'
                   ? "is too large or has a leading zero"
                   : "is not a size (write it as 512, 64KiB, 5MiB, 2GB, ...)";
        return -1;
    }
    unit = buf + used;
    while (*unit == ' ')
        unit++;
    for (size_t i = 0; i < CONFIG_ARRAY_LEN(config_size_units); i++) {
        if (strcmp(unit, config_size_units[i].unit) != 0)
            continue;
        if (n > UINT64_MAX / config_size_units[i].bytes) {
            *why = "is too large";
            return -1;
        }
        *out = n * config_size_units[i].bytes;
        return 0;
    }
    *why = "has an unknown unit (use B, KiB, MiB, GiB, TiB, KB, MB, GB "
           "or TB)";
    return -1;
}

/* ---- the schema -------------------------------------------------------- */

typedef int config_fn(struct config_ctx *cx, yaml_node_t *val, const char *path,
                      void *obj);

enum config_kind {
    CONFIG_U32,      /* plain decimal integer into a uint32_t */
    CONFIG_SIZE_U32, /* size into a uint32_t */
    CONFIG_SIZE,     /* size into a uint64_t */
    CONFIG_RATE,     /* "SIZE/s" into a uint64_t */
    CONFIG_PERCENT,  /* "NN%" into a uint32_t */
    CONFIG_PATH,     /* non-empty string, copied into a char * */
    CONFIG_SECTION,  /* nested mapping filling the same object */
    CONFIG_FN        /* anything else: fn does it all */
};

struct config_key {
    const char *name;
    enum config_kind kind;
    bool required;
    bool nullable;     /* null keeps the default (0 or NULL) */
    size_t off;        /* of the field in the object being filled */
    uint64_t min, max; /* numbers: range; CONFIG_PATH: max length (0: any) */
    config_fn *fn;
    const struct config_key *sub; /* CONFIG_SECTION */
    size_t n_sub;
};

static int config_walk(struct config_ctx *cx, yaml_node_t *map,
                       const char *path, const struct config_key *keys,
                       size_t n_keys, void *obj);

/* "tiers" + "core" -> "tiers.core"; the top level has an empty path. */
static void
config_keypath(char out[CONFIG_KEYPATH_MAX], const char *path, const char *key)
{
    if (*path == '\0')
        snprintf(out, CONFIG_KEYPATH_MAX, "%s", key);
    else
        snprintf(out, CONFIG_KEYPATH_MAX, "%s.%s", path, key);
}

/* Checks a number against a key's range. */
static int
config_check_range(struct config_ctx *cx, const struct config_key *k,
                   const yaml_node_t *v, const char *path, uint64_t n)
{
    if (n < k->min)
        return config_fail(cx, v, "%s: must be at least %" PRIu64 ", not %.40s",
                           path, k->min, config_text(v));
    if (n > k->max)
        return config_fail(cx, v, "%s: must be at most %" PRIu64 ", not %.40s",
                           path, k->max, config_text(v));
    return 0;
}

static int
config_leaf_number(struct config_ctx *cx, const struct config_key *k,
                   yaml_node_t *v, const char *path, uint64_t *out)
{
    const char *s, *why;
    size_t len, used;

    s = config_scalar(cx, v, path,
                      k->kind == CONFIG_U32 ? "an integer" : "a string");
    if (s == NULL)
        return -1;
    len = v->data.scalar.length;
    switch (k->kind) {
    case CONFIG_U32:
        /* "80" in quotes is a string in YAML; accepting it would make the
         * file mean different things to different readers. */
        if (v->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
            return config_fail(cx, v,
                               "%s: must be an integer, not a quoted "
                               "string",
                               path);
        used = config_parse_digits(s, out);
        if (used == 0 || used != len)
            return config_fail(cx, v,
                               "%s: '%s' is not a decimal integer "
                               "(digits only, no leading zero)",
                               path, s);
        break;
    case CONFIG_SIZE:
    case CONFIG_SIZE_U32:
        if (config_parse_size(s, len, out, &why) == -1)
            return config_fail(cx, v, "%s: '%s' %s", path, s, why);
        break;
    case CONFIG_RATE:
        if (len < 3 || strcmp(s + len - 2, "/s") != 0)
            return config_fail(cx, v,
                               "%s: '%s' is not a rate (write it as SIZE/s, "
                               "e.g. 2MiB/s)",
                               path, s);
        if (config_parse_size(s, len - 2, out, &why) == -1)
            return config_fail(cx, v, "%s: '%s' %s", path, s, why);
        break;
    case CONFIG_PERCENT:
        used = config_parse_digits(s, out);
        if (used == 0 || used + 1 != len || s[used] != '%')
            return config_fail(cx, v,
                               "%s: '%s' is not a percentage (write it as "
                               "NN%%, e.g. 80%%)",
                               path, s);
        break;
    case CONFIG_PATH:
    case CONFIG_SECTION:
    case CONFIG_FN:
        assert(!"not a number kind");
        return -1;
    }
    return config_check_range(cx, k, v, path, *out);
}

/* Stores one value according to its key's kind. */
static int
config_leaf(struct config_ctx *cx, const struct config_key *k, yaml_node_t *v,
            const char *path, void *obj)
{
    char *field = (char *)obj + k->off;
    const char *s;
    uint64_t n;
    char *copy;

    if (k->kind == CONFIG_FN)
        return k->fn(cx, v, path, obj);
    if (k->kind == CONFIG_SECTION)
        return config_walk(cx, v, path, k->sub, k->n_sub, obj);
    if (config_is_null(v)) {
        if (k->nullable)
            return 0;
        return config_fail(cx, v, "%s: must not be null", path);
    }
    switch (k->kind) {
    case CONFIG_U32:
    case CONFIG_SIZE_U32:
    case CONFIG_PERCENT:
        if (config_leaf_number(cx, k, v, path, &n) == -1)
            return -1;
        *(uint32_t *)(void *)field = (uint32_t)n;
        return 0;
    case CONFIG_SIZE:
    case CONFIG_RATE:
        if (config_leaf_number(cx, k, v, path, &n) == -1)
            return -1;
        *(uint64_t *)(void *)field = n;
        return 0;
    case CONFIG_PATH:
        s = config_string(cx, v, path);
        if (s == NULL)
            return -1;
        if (k->max != 0 && strlen(s) > k->max)
            return config_fail(cx, v,
                               "%s: path is longer than %" PRIu64 " bytes",
                               path, k->max);
        copy = strdup(s);
        if (copy == NULL)
            return config_oom(cx);
        *(char **)(void *)field = copy;
        return 0;
    case CONFIG_SECTION:
    case CONFIG_FN:
        break;
    }
    return 0;
}

/* Walks mapping <map> against <keys>: every key must be known and appear
 * once. Values are then handled in table order, not file order, so that a
 * handler may rely on an earlier entry (listeners need the tiers). A null
 * mapping ("auth:" with nothing under it) is an empty one. */
static int
config_walk(struct config_ctx *cx, yaml_node_t *map, const char *path,
            const struct config_key *keys, size_t n_keys, void *obj)
{
    yaml_node_t *found[CONFIG_KEYS_MAX] = { NULL };
    yaml_node_t *found_key[CONFIG_KEYS_MAX] = { NULL };
    char sub[CONFIG_KEYPATH_MAX];
    const char *where = *path == '\0' ? "the policy" : path;

    assert(n_keys <= CONFIG_KEYS_MAX);
    if (map->type != YAML_MAPPING_NODE && !config_is_null(map))
        return config_fail(cx, map, "%s: must be a mapping, not %s", where,
                           config_kind_name(map));
    if (map->type == YAML_MAPPING_NODE) {
        for (yaml_node_pair_t *pair = map->data.mapping.pairs.start;
             pair < map->data.mapping.pairs.top; pair++) {
            yaml_node_t *k = config_node(cx, pair->key);
            const char *name;
            size_t i;

            if (k->type != YAML_SCALAR_NODE)
                return config_fail(cx, k, "%s: keys must be strings, not %s",
                                   where, config_kind_name(k));
            name = config_text(k);
            for (i = 0; i < n_keys; i++) {
                if (strcmp(name, keys[i].name) == 0)
                    break;
            }
            if (i == n_keys) {
                char expected[CONFIG_ERROR_MAX / 2] = "";
                size_t used = 0;

                for (size_t j = 0; j < n_keys && used < sizeof(expected); j++) {
                    int w = snprintf(expected + used, sizeof(expected) - used,
                                     "%s%s", j == 0 ? "" : ", ", keys[j].name);
                    if (w < 0)
                        break;
                    used += (size_t)w;
                }
                return config_fail(cx, k,
                                   "%s: unknown key '%.64s' (expected one of: "
                                   "%s)",
                                   where, name, expected);
            }
            if (found[i] != NULL)
                return config_fail(
                    cx, k, "%s: duplicate key '%s' (first at line %u)", where,
                    name, (unsigned)found_key[i]->start_mark.line + 1);
            found[i] = config_node(cx, pair->value);
            found_key[i] = k;
        }
    }
    for (size_t i = 0; i < n_keys; i++) {
        if (found[i] == NULL) {
            if (keys[i].required)
                return config_fail(cx, map, "%s: missing required key '%s'",
                                   where, keys[i].name);
            continue;
        }
        config_keypath(sub, path, keys[i].name);
        if (config_leaf(cx, &keys[i], found[i], sub, obj) == -1)
            return -1;
    }
    return 0;
}

/* The items of list <v>, or NULL with <n> = 0 for null or an empty list.
 * Sets the error and returns NULL with <n> = SIZE_MAX if <v> is no list. */
static yaml_node_item_t *
config_list(struct config_ctx *cx, yaml_node_t *v, const char *path, size_t *n)
{
    *n = 0;
    if (config_is_null(v))
        return NULL;
    if (v->type != YAML_SEQUENCE_NODE) {
        config_fail(cx, v, "%s: must be a list, not %s", path,
                    config_kind_name(v));
        *n = SIZE_MAX;
        return NULL;
    }
    *n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    return v->data.sequence.items.start;
}

/* Maps a scalar onto one of <names> (NULL-terminated); returns the index,
 * or -1 with the error set. */
static int
config_enum(struct config_ctx *cx, yaml_node_t *v, const char *path,
            const char *const *names)
{
    const char *s = config_string(cx, v, path);
    char expected[128] = "";
    size_t used = 0;

    if (s == NULL)
        return -1;
    for (int i = 0; names[i] != NULL; i++) {
        if (strcmp(s, names[i]) == 0)
            return i;
    }
    for (int i = 0; names[i] != NULL && used < sizeof(expected); i++) {
        int w = snprintf(expected + used, sizeof(expected) - used, "%s%s",
                         i == 0 ? "" : " or ", names[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    config_fail(cx, v, "%s: '%.64s' is not valid (expected %s)", path, s,
                expected);
    return -1;
}

static bool
config_name_is_valid(const char *s)
{
    size_t len = strlen(s);

    return len > 0 && len <= CONFIG_NAME_MAX &&
           strspn(s, CONFIG_NAME_CHARS) == len;
}

/* A listener, tier or session name. */
static const char *
config_name(struct config_ctx *cx, yaml_node_t *v, const char *path)
{
    const char *s = config_string(cx, v, path);

    if (s != NULL && !config_name_is_valid(s)) {
        config_fail(cx, v,
                    "%s: '%.64s' is not a valid name (1 to %d characters "
                    "of A-Z a-z 0-9 _ . -)",
                    path, s, CONFIG_NAME_MAX);
        return NULL;
    }
    return s;
}

/* Joins a relative <path> to the policy's directory. Absolute paths and
 * loads without a directory keep <path> as it is (relative to the cwd). */
static int
config_resolve(struct config_ctx *cx, const char *path, char *out,
               size_t outlen)
{
    int w;

    if (path[0] == '/' || cx->base_dir == NULL)
        w = snprintf(out, outlen, "%s", path);
    else
        w = snprintf(out, outlen, "%s/%s", cx->base_dir, path);
    return w < 0 || (size_t)w >= outlen ? -1 : 0;
}

enum config_read {
    CONFIG_READ_OK = 0,
    CONFIG_READ_FAILED, /* errno says why */
    CONFIG_READ_TOO_BIG
};

/* Reads all of regular file <path>, refusing one over CONFIG_FILE_MAX_BYTES
 * before reading it (and again while reading: it may grow). On success
 * <out> is a new NUL-terminated buffer the caller frees. */
static enum config_read
config_read_file(const char *path, char **out, size_t *len)
{
    struct stat st;
    char *buf = NULL;
    size_t used = 0;
    ssize_t r;
    int fd, saved;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return CONFIG_READ_FAILED;
    if (fstat(fd, &st) == -1)
        goto fail_close;
    if (S_ISDIR(st.st_mode)) {
        errno = EISDIR;
        goto fail_close;
    }
    if (st.st_size > CONFIG_FILE_MAX_BYTES) {
        close(fd);
        return CONFIG_READ_TOO_BIG;
    }
    /* One byte over the cap tells a file that grew since fstat(). */
    buf = malloc(CONFIG_FILE_MAX_BYTES + 2);
    if (buf == NULL)
        goto fail_close;
    for (;;) {
        r = read(fd, buf + used, CONFIG_FILE_MAX_BYTES + 1 - used);
        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1)
            goto fail_free;
        if (r == 0)
            break;
        used += (size_t)r;
        if (used > CONFIG_FILE_MAX_BYTES) {
            free(buf);
            close(fd);
            return CONFIG_READ_TOO_BIG;
        }
    }
    close(fd);
    buf[used] = '\0';
    *out = buf;
    *len = used;
    return CONFIG_READ_OK;

fail_free:
    free(buf);
fail_close:
    saved = errno;
    close(fd);
    errno = saved;
    return CONFIG_READ_FAILED;
}

/* ---- tiers ------------------------------------------------------------- */

/* Adds one pattern of a tier. IP addresses and CIDRs go to the tier's
 * literal set, everything else to its domain set. Returns NULL, or why the
 * pattern is refused. */
static const char *
config_tier_add_pattern(struct tier *t, const char *pat, size_t len)
{
    char buf[CONFIG_PATTERN_MAX + 1];
    struct addr a;
    int r;

    if (len == 0)
        return "is empty";
    if (len > CONFIG_PATTERN_MAX)
        return "is too long for a domain pattern";
    memcpy(buf, pat, len);
    buf[len] = '\0';
    if (memchr(buf, '/', len) != NULL || memchr(buf, ':', len) != NULL) {
        if (cidr_set_add(t->literals, buf) == -1)
            return "is not a valid IP address or CIDR block (host bits "
                   "must be zero: 10.0.0.0/8, fd00::/8)";
        return NULL;
    }
    r = addr_parse_literal(buf, len, &a);
    if (r == 1) {
        /* "127.1" would match, but a reader of the policy would not see
         * 127.0.0.1 in it: ask for the form everyone reads alike. */
        if (addr_parse_strict(buf, &a) == -1)
            return "is an IP address in a short or numeric form (write it "
                   "as a dotted quad, e.g. 127.0.0.1)";
        if (cidr_set_add(t->literals, buf) == -1)
            return "could not be added (out of memory)";
        return NULL;
    }
    if (r == -1)
        return "is neither a valid IP address nor a domain pattern";
    if (domain_set_add(t->domains, buf, len) == -1)
        return "is not a valid domain pattern (forms: example.com, "
               "*.example.com, .example.com, *)";
    return NULL;
}

/* A domains_files entry: one pattern a line, '#' starts a comment, blank
 * lines are skipped (the format of Squid's dstdomain files). */
static int
config_tier_load_file(struct config_ctx *cx, struct tier *t, yaml_node_t *at,
                      const char *path, const char *written)
{
    char full[PATH_MAX];
    char *buf, *line, *end;
    size_t len;
    unsigned lineno = 0;

    if (config_resolve(cx, written, full, sizeof(full)) == -1)
        return config_fail(cx, at, "%s: path is too long", path);
    switch (config_read_file(full, &buf, &len)) {
    case CONFIG_READ_OK:
        break;
    case CONFIG_READ_TOO_BIG:
        return config_fail(cx, at, "%s: domains file '%s' is larger than 1 MiB",
                           path, full);
    case CONFIG_READ_FAILED:
        return config_fail(cx, at, "%s: cannot read domains file '%s': %s",
                           path, full, strerror(errno));
    }
    for (line = buf; line < buf + len; line = end + 1) {
        char *s, *e, *hash;
        const char *why;

        lineno++;
        end = memchr(line, '\n', (size_t)(buf + len - line));
        if (end == NULL)
            end = buf + len;
        /* A pattern never holds '#', so a comment may start anywhere. */
        hash = memchr(line, '#', (size_t)(end - line));
        e = hash != NULL ? hash : end;
        s = line;
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
            e--;
        if (s == e)
            continue;
        why = config_tier_add_pattern(t, s, (size_t)(e - s));
        if (why != NULL) {
            config_fail_at(cx->err, full, lineno, (unsigned)(s - line) + 1,
                           "'%.*s' %s", (int)((e - s) > 80 ? 80 : (e - s)), s,
                           why);
            free(buf);
            return -1;
        }
    }
    free(buf);
    return 0;
}

static int
config_tier_domains(struct config_ctx *cx, yaml_node_t *v, const char *path,
                    void *obj)
{
    struct tier *t = obj;
    yaml_node_item_t *items;
    size_t n;

    items = config_list(cx, v, path, &n);
    if (n == SIZE_MAX)
        return -1;
    if (n == 0)
        return 0;
    t->patterns = calloc(n, sizeof(*t->patterns));
    if (t->patterns == NULL)
        return config_oom(cx);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = config_node(cx, items[i]);
        char ipath[CONFIG_KEYPATH_MAX];
        const char *s, *why;

        snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
        s = config_string(cx, item, ipath);
        if (s == NULL)
            return -1;
        why = config_tier_add_pattern(t, s, item->data.scalar.length);
        if (why != NULL)
            return config_fail(cx, item, "%s: '%.80s' %s", ipath, s, why);
        t->patterns[i] = strdup(s);
        if (t->patterns[i] == NULL)
            return config_oom(cx);
        t->n_patterns = i + 1;
    }
    return 0;
}

static int
config_tier_domains_files(struct config_ctx *cx, yaml_node_t *v,
                          const char *path, void *obj)
{
    struct tier *t = obj;
    yaml_node_item_t *items;
    size_t n;

    items = config_list(cx, v, path, &n);
    if (n == SIZE_MAX)
        return -1;
    if (n == 0)
        return 0;
    t->domains_files = calloc(n, sizeof(*t->domains_files));
    if (t->domains_files == NULL)
        return config_oom(cx);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = config_node(cx, items[i]);
        char ipath[CONFIG_KEYPATH_MAX];
        const char *s;

        snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
        s = config_string(cx, item, ipath);
        if (s == NULL)
            return -1;
        t->domains_files[i] = strdup(s);
        if (t->domains_files[i] == NULL)
            return config_oom(cx);
        t->n_domains_files = i + 1;
        if (config_tier_load_file(cx, t, item, ipath, s) == -1)
            return -1;
    }
    return 0;
}

static int
config_port_cmp(const void *a, const void *b)
{
    uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;

    return (x > y) - (x < y);
}

static int
config_tier_ports(struct config_ctx *cx, yaml_node_t *v, const char *path,
                  void *obj)
{
    static const struct config_key port_key = {
        .name = "port", .kind = CONFIG_U32, .min = 1, .max = UINT16_MAX
    };
    struct tier *t = obj;
    yaml_node_item_t *items;
    size_t n, kept = 0;

    items = config_list(cx, v, path, &n);
    if (n == SIZE_MAX)
        return -1;
    if (n == 0)
        return config_fail(cx, v,
                           "%s: a tier needs at least one port (omit the key "
                           "for 80 and 443)",
                           path);
    t->ports = calloc(n, sizeof(*t->ports));
    if (t->ports == NULL)
        return config_oom(cx);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = config_node(cx, items[i]);
        char ipath[CONFIG_KEYPATH_MAX];
        uint64_t port;

        snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
        if (config_is_null(item))
            return config_fail(cx, item, "%s: must be a port, not null", ipath);
        if (config_leaf_number(cx, &port_key, item, ipath, &port) == -1)
            return -1;
        t->ports[i] = (uint16_t)port;
    }
    qsort(t->ports, n, sizeof(*t->ports), config_port_cmp);
    for (size_t i = 0; i < n; i++) {
        if (kept == 0 || t->ports[kept - 1] != t->ports[i])
            t->ports[kept++] = t->ports[i];
    }
    t->n_ports = kept;
    return 0;
}

/* Per session, per tier caps: all optional, null or absent = no cap.
 * 0 would read as "no cap" in struct tier_limits, so it is refused rather
 * than silently meaning the opposite of what was written. */
static const struct config_key config_limit_keys[] = {
    { .name = "bytes_up",
      .kind = CONFIG_SIZE,
      .nullable = true,
      .off = offsetof(struct tier_limits, bytes_up),
      .min = 1,
      .max = UINT64_MAX },
    { .name = "bytes_down",
      .kind = CONFIG_SIZE,
      .nullable = true,
      .off = offsetof(struct tier_limits, bytes_down),
      .min = 1,
      .max = UINT64_MAX },
    { .name = "requests_per_minute",
      .kind = CONFIG_U32,
      .nullable = true,
      .off = offsetof(struct tier_limits, requests_per_minute),
      .min = 1,
      .max = UINT32_MAX },
    { .name = "bandwidth",
      .kind = CONFIG_RATE,
      .nullable = true,
      .off = offsetof(struct tier_limits, bandwidth_bps),
      .min = 1,
      .max = UINT64_MAX },
    { .name = "connections",
      .kind = CONFIG_U32,
      .nullable = true,
      .off = offsetof(struct tier_limits, connections),
      .min = 1,
      .max = UINT32_MAX },
    { .name = "alert_at",
      .kind = CONFIG_PERCENT,
      .nullable = true,
      .off = offsetof(struct tier_limits, alert_at_pct),
      .min = 1,
      .max = 100 },
};

static int
config_tier_limits(struct config_ctx *cx, yaml_node_t *v, const char *path,
                   void *obj)
{
    struct tier *t = obj;

    return config_walk(cx, v, path, config_limit_keys,
                       CONFIG_ARRAY_LEN(config_limit_keys), &t->limits);
}

static const struct config_key config_tier_keys[] = {
    { .name = "domains", .kind = CONFIG_FN, .fn = config_tier_domains },
    { .name = "domains_files",
      .kind = CONFIG_FN,
      .fn = config_tier_domains_files },
    { .name = "ports", .kind = CONFIG_FN, .fn = config_tier_ports },
    { .name = "limits", .kind = CONFIG_FN, .fn = config_tier_limits },
};

static int
config_tiers(struct config_ctx *cx, yaml_node_t *v, const char *path, void *obj)
{
    struct policy *p = obj;
    size_t n;

    if (config_is_null(v))
        return 0;
    if (v->type != YAML_MAPPING_NODE)
        return config_fail(cx, v, "%s: must be a mapping of tier names, not %s",
                           path, config_kind_name(v));
    n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
    if (n == 0)
        return 0;
    p->tiers = calloc(n, sizeof(*p->tiers));
    if (p->tiers == NULL)
        return config_oom(cx);
    for (size_t i = 0; i < n; i++) {
        yaml_node_pair_t *pair = v->data.mapping.pairs.start + i;
        yaml_node_t *k = config_node(cx, pair->key);
        struct tier *t = &p->tiers[i];
        char tpath[CONFIG_KEYPATH_MAX];
        const char *name;

        /* Counted first: config_policy_free() must see what is half built. */
        p->n_tiers = i + 1;
        name = config_name(cx, k, path);
        if (name == NULL)
            return -1;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(p->tiers[j].name, name) == 0)
                return config_fail(cx, k, "%s: duplicate tier '%s'", path,
                                   name);
        }
        t->name = strdup(name);
        t->domains = domain_set_new();
        t->literals = cidr_set_new();
        if (t->name == NULL || t->domains == NULL || t->literals == NULL)
            return config_oom(cx);
        config_keypath(tpath, path, name);
        if (config_walk(cx, config_node(cx, pair->value), tpath,
                        config_tier_keys, CONFIG_ARRAY_LEN(config_tier_keys),
                        t) == -1)
            return -1;
        if (t->ports == NULL) {
            t->ports = malloc(sizeof(config_default_ports));
            if (t->ports == NULL)
                return config_oom(cx);
            memcpy(t->ports, config_default_ports,
                   sizeof(config_default_ports));
            t->n_ports = CONFIG_ARRAY_LEN(config_default_ports);
        }
    }
    return 0;
}

/* ---- addresses --------------------------------------------------------- */

/* Parses "ip:port", "[v6]:port", and when <port_optional> also "ip", "[v6]"
 * and a bare "v6" (which cannot carry a port without brackets). Only
 * numeric addresses: a name would need DNS before the policy is loaded.
 * A missing port is left 0. Returns 0, or -1 with <why> set. */
static int
config_parse_hostport(const char *text, bool port_optional,
                      struct sockaddr_storage *ss, socklen_t *sslen,
                      const char **why)
{
    char host[INET6_ADDRSTRLEN];
    const char *h = text, *port = NULL, *colon;
    size_t hlen;
    bool v6 = false;
    uint64_t n = 0;

    if (text[0] == '[') {
        const char *close = strchr(text, ']');

        if (close == NULL) {
            *why = "has '[' without ']'";
            return -1;
        }
        h = text + 1;
        hlen = (size_t)(close - h);
        v6 = true;
        if (close[1] == ':')
            port = close + 2;
        else if (close[1] != '\0') {
            *why = "has something other than ':PORT' after ']'";
            return -1;
        }
    } else if ((colon = strchr(text, ':')) != NULL &&
               strchr(colon + 1, ':') != NULL) {
        hlen = strlen(text); /* bare IPv6 */
        v6 = true;
    } else if (colon != NULL) {
        hlen = (size_t)(colon - text);
        port = colon + 1;
    } else {
        hlen = strlen(text);
    }
    if (hlen == 0 || hlen >= sizeof(host)) {
        *why = "is not a numeric IP address";
        return -1;
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';

    if (port == NULL && !port_optional) {
        *why = v6 ? "has no port (write [ADDRESS]:PORT for IPv6)"
                  : "has no port (write ADDRESS:PORT)";
        return -1;
    }
    if (port != NULL) {
        size_t used = config_parse_digits(port, &n);

        if (used == 0 || port[used] != '\0' || n > UINT16_MAX) {
            *why = "has a bad port (0 to 65535)";
            return -1;
        }
        if (n == 0 && port_optional) {
            *why = "has port 0 (1 to 65535)";
            return -1;
        }
    }

    memset(ss, 0, sizeof(*ss));
    if (!v6) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;

        if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
            *why = "is not a numeric IPv4 address (names are not allowed; "
                   "IPv6 goes in brackets: [::1]:3128)";
            return -1;
        }
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)n);
        *sslen = sizeof(*sin);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

        if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
            *why = "is not a numeric IPv6 address";
            return -1;
        }
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)n);
        *sslen = sizeof(*sin6);
    }
    return 0;
}

/* ---- listeners --------------------------------------------------------- */

static int
config_listener_name(struct config_ctx *cx, yaml_node_t *v, const char *path,
                     void *obj)
{
    struct listener_conf *l = obj;
    const char *name = config_name(cx, v, path);

    if (name == NULL)
        return -1;
    for (struct listener_conf *o = cx->p->listeners; o < l; o++) {
        if (strcmp(o->name, name) == 0)
            return config_fail(cx, v, "%s: duplicate listener name '%s'", path,
                               name);
    }
    l->name = strdup(name);
    return l->name == NULL ? config_oom(cx) : 0;
}

static int
config_listener_listen(struct config_ctx *cx, yaml_node_t *v, const char *path,
                       void *obj)
{
    struct listener_conf *l = obj;
    const char *s = config_string(cx, v, path), *why;

    if (s == NULL)
        return -1;
    if (config_parse_hostport(s, false, &l->addr, &l->addrlen, &why) == -1)
        return config_fail(cx, v, "%s: '%.64s' %s", path, s, why);
    /* Port 0 asks the kernel for any free port, so two of those never
     * clash; two equal fixed addresses always would, at bind time. */
    for (struct listener_conf *o = cx->p->listeners; o < l; o++) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&l->addr;
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&l->addr;
        uint16_t port =
            l->addr.ss_family == AF_INET ? sin->sin_port : sin6->sin6_port;

        if (port != 0 && o->addrlen == l->addrlen &&
            memcmp(&o->addr, &l->addr, l->addrlen) == 0)
            return config_fail(cx, v,
                               "%s: '%s' is already the address of listener "
                               "'%s'",
                               path, s, o->name);
    }
    l->listen = strdup(s);
    return l->listen == NULL ? config_oom(cx) : 0;
}

static int
config_listener_tiers(struct config_ctx *cx, yaml_node_t *v, const char *path,
                      void *obj)
{
    struct listener_conf *l = obj;
    const struct policy *p = cx->p;
    yaml_node_item_t *items;
    size_t n;

    items = config_list(cx, v, path, &n);
    if (n == SIZE_MAX)
        return -1;
    if (n == 0)
        return config_fail(cx, v, "%s: a listener needs at least one tier",
                           path);
    l->tiers = calloc(n, sizeof(*l->tiers));
    if (l->tiers == NULL)
        return config_oom(cx);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = config_node(cx, items[i]);
        char ipath[CONFIG_KEYPATH_MAX];
        const char *name;
        size_t t;

        snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
        name = config_string(cx, item, ipath);
        if (name == NULL)
            return -1;
        for (t = 0; t < p->n_tiers; t++) {
            if (strcmp(p->tiers[t].name, name) == 0)
                break;
        }
        if (t == p->n_tiers)
            return config_fail(cx, item,
                               "%s: unknown tier '%.64s' (not defined under "
                               "'tiers')",
                               ipath, name);
        for (size_t j = 0; j < i; j++) {
            if (l->tiers[j] == t)
                return config_fail(cx, item, "%s: tier '%s' is listed twice",
                                   ipath, name);
        }
        l->tiers[i] = t;
        l->n_tiers = i + 1;
    }
    return 0;
}

static int
config_listener_session(struct config_ctx *cx, yaml_node_t *v, const char *path,
                        void *obj)
{
    struct listener_conf *l = obj;
    const char *s;

    if (config_is_null(v))
        return 0;
    s = config_name(cx, v, path);
    if (s == NULL)
        return -1;
    l->session = strdup(s);
    return l->session == NULL ? config_oom(cx) : 0;
}

static int
config_listener_mode(struct config_ctx *cx, yaml_node_t *v, const char *path,
                     void *obj)
{
    /* Indexed by enum listener_mode. */
    static const char *const modes[] = { "enforce", "report", NULL };
    struct listener_conf *l = obj;
    int i = config_enum(cx, v, path, modes);

    if (i == -1)
        return -1;
    l->mode = (enum listener_mode)i;
    return 0;
}

static const struct config_key config_listener_keys[] = {
    { .name = "name",
      .kind = CONFIG_FN,
      .required = true,
      .fn = config_listener_name },
    { .name = "listen",
      .kind = CONFIG_FN,
      .required = true,
      .fn = config_listener_listen },
    { .name = "tiers",
      .kind = CONFIG_FN,
      .required = true,
      .fn = config_listener_tiers },
    { .name = "session", .kind = CONFIG_FN, .fn = config_listener_session },
    { .name = "mode", .kind = CONFIG_FN, .fn = config_listener_mode },
};

static int
config_listeners(struct config_ctx *cx, yaml_node_t *v, const char *path,
                 void *obj)
{
    struct policy *p = obj;
    yaml_node_item_t *items;
    size_t n;

    items = config_list(cx, v, path, &n);
    if (n == SIZE_MAX)
        return -1;
    if (n == 0)
        return config_fail(cx, v, "%s: at least one listener is required",
                           path);
    p->listeners = calloc(n, sizeof(*p->listeners));
    if (p->listeners == NULL)
        return config_oom(cx);
    for (size_t i = 0; i < n; i++) {
        char ipath[CONFIG_KEYPATH_MAX];

        p->n_listeners = i + 1;
        snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
        if (config_walk(
                cx, config_node(cx, items[i]), ipath, config_listener_keys,
                CONFIG_ARRAY_LEN(config_listener_keys), &p->listeners[i]) == -1)
            return -1;
    }
    return 0;
}

/* ---- the other sections ------------------------------------------------ */

static int
config_version(struct config_ctx *cx, yaml_node_t *v, const char *path,
               void *obj)
{
    static const struct config_key version_key = {
        .name = "version", .kind = CONFIG_U32, .min = 0, .max = UINT32_MAX
    };
    uint64_t n;

    (void)obj;
    if (config_is_null(v))
        return config_fail(cx, v, "%s: must be 1, not null", path);
    if (config_leaf_number(cx, &version_key, v, path, &n) == -1)
        return -1;
    if (n != 1)
        return config_fail(cx, v,
                           "%s: unsupported version %" PRIu64
                           " (this sluice reads version 1)",
                           path, n);
    return 0;
}

static int
config_auth_mode(struct config_ctx *cx, yaml_node_t *v, const char *path,
                 void *obj)
{
    static const char *const modes[] = { "none", "basic", NULL };
    struct policy *p = obj;
    int i = config_enum(cx, v, path, modes);

    if (i == -1)
        return -1;
    p->auth_mode = i == 1 ? AUTH_BASIC : AUTH_NONE;
    return 0;
}

static const struct config_key config_auth_keys[] = {
    { .name = "mode", .kind = CONFIG_FN, .fn = config_auth_mode },
    { .name = "tokens_file",
      .kind = CONFIG_PATH,
      .nullable = true,
      .off = offsetof(struct policy, tokens_file) },
};

static int
config_auth(struct config_ctx *cx, yaml_node_t *v, const char *path, void *obj)
{
    struct policy *p = obj;
    char full[PATH_MAX];

    if (config_walk(cx, v, path, config_auth_keys,
                    CONFIG_ARRAY_LEN(config_auth_keys), p) == -1)
        return -1;
    if (p->auth_mode == AUTH_BASIC && p->tokens_file == NULL)
        return config_fail(cx, v, "%s: mode basic needs a tokens_file", path);
    /* The proxy re-reads the file on every reload, maybe from another
     * directory: resolve it now, like domains_files. */
    if (p->tokens_file != NULL && p->tokens_file[0] != '/' &&
        cx->base_dir != NULL) {
        char *copy;

        if (config_resolve(cx, p->tokens_file, full, sizeof(full)) == -1)
            return config_fail(cx, v, "%s: tokens_file path is too long", path);
        copy = strdup(full);
        if (copy == NULL)
            return config_oom(cx);
        free(p->tokens_file);
        p->tokens_file = copy;
    }
    return 0;
}

static int
config_resolver_servers(struct config_ctx *cx, yaml_node_t *v, const char *path,
                        void *obj)
{
    struct policy *p = obj;
    yaml_node_item_t *items;
    size_t n;

    items = config_list(cx, v, path, &n);
    if (n == SIZE_MAX)
        return -1;
    if (n == 0)
        return 0;
    if (n > POLICY_RESOLVER_SERVERS_MAX)
        return config_fail(cx, v, "%s: at most %d servers", path,
                           POLICY_RESOLVER_SERVERS_MAX);
    p->resolver_servers = calloc(n, sizeof(*p->resolver_servers));
    if (p->resolver_servers == NULL)
        return config_oom(cx);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = config_node(cx, items[i]);
        char ipath[CONFIG_KEYPATH_MAX];
        struct sockaddr_storage ss;
        socklen_t sslen;
        const char *s, *why;

        snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
        s = config_string(cx, item, ipath);
        if (s == NULL)
            return -1;
        if (config_parse_hostport(s, true, &ss, &sslen, &why) == -1)
            return config_fail(cx, item, "%s: '%.64s' %s", ipath, s, why);
        p->resolver_servers[i] = strdup(s);
        if (p->resolver_servers[i] == NULL)
            return config_oom(cx);
        p->n_resolver_servers = i + 1;
    }
    return 0;
}

static const struct config_key config_resolver_keys[] = {
    { .name = "servers", .kind = CONFIG_FN, .fn = config_resolver_servers },
    { .name = "timeout_ms",
      .kind = CONFIG_U32,
      .off = offsetof(struct policy, resolver_timeout_ms),
      .min = 1,
      .max = UINT32_MAX },
};

static int
config_cidr_list(struct config_ctx *cx, yaml_node_t *v, const char *path,
                 struct cidr_set *set)
{
    yaml_node_item_t *items;
    size_t n;

    items = config_list(cx, v, path, &n);
    if (n == SIZE_MAX)
        return -1;
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = config_node(cx, items[i]);
        char ipath[CONFIG_KEYPATH_MAX];
        const char *s;

        snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
        s = config_string(cx, item, ipath);
        if (s == NULL)
            return -1;
        if (cidr_set_add(set, s) == -1)
            return config_fail(cx, item,
                               "%s: '%.64s' is not a valid CIDR block (host "
                               "bits must be zero: 10.0.0.0/8, fd00::/8)",
                               ipath, s);
    }
    return 0;
}

static int
config_allow_ranges(struct config_ctx *cx, yaml_node_t *v, const char *path,
                    void *obj)
{
    struct policy *p = obj;

    return config_cidr_list(cx, v, path, p->allow_ranges);
}

static int
config_deny_ranges(struct config_ctx *cx, yaml_node_t *v, const char *path,
                   void *obj)
{
    struct policy *p = obj;

    return config_cidr_list(cx, v, path, p->deny_ranges);
}

static int
config_ip_literals(struct config_ctx *cx, yaml_node_t *v, const char *path,
                   void *obj)
{
    static const char *const modes[] = { "deny", "allow", NULL };
    struct policy *p = obj;
    int i = config_enum(cx, v, path, modes);

    if (i == -1)
        return -1;
    p->ip_literals_allow = i == 1;
    return 0;
}

static const struct config_key config_network_keys[] = {
    { .name = "allow_ranges", .kind = CONFIG_FN, .fn = config_allow_ranges },
    { .name = "deny_ranges", .kind = CONFIG_FN, .fn = config_deny_ranges },
    { .name = "ip_literals", .kind = CONFIG_FN, .fn = config_ip_literals },
};

static const struct config_key config_log_keys[] = {
    { .name = "access",
      .kind = CONFIG_PATH,
      .off = offsetof(struct policy, log_access) },
    { .name = "events",
      .kind = CONFIG_PATH,
      .off = offsetof(struct policy, log_events) },
};

static const struct config_key config_admin_keys[] = {
    { .name = "socket",
      .kind = CONFIG_PATH,
      .nullable = true,
      .off = offsetof(struct policy, admin_socket),
      .max = CONFIG_SOCKET_PATH_MAX },
};

static const struct config_key config_timeout_keys[] = {
    { .name = "connect_ms",
      .kind = CONFIG_U32,
      .off = offsetof(struct policy, connect_timeout_ms),
      .min = 1,
      .max = UINT32_MAX },
    { .name = "header_ms",
      .kind = CONFIG_U32,
      .off = offsetof(struct policy, header_timeout_ms),
      .min = 1,
      .max = UINT32_MAX },
    { .name = "idle_ms",
      .kind = CONFIG_U32,
      .off = offsetof(struct policy, idle_timeout_ms),
      .min = 1,
      .max = UINT32_MAX },
    /* 0 is meaningful here: stop at once. */
    { .name = "shutdown_grace_ms",
      .kind = CONFIG_U32,
      .off = offsetof(struct policy, shutdown_grace_ms),
      .min = 0,
      .max = UINT32_MAX },
};

static const struct config_key config_global_limit_keys[] = {
    { .name = "max_connections",
      .kind = CONFIG_U32,
      .off = offsetof(struct policy, max_connections),
      .min = 1,
      .max = UINT32_MAX },
    { .name = "max_header_bytes",
      .kind = CONFIG_SIZE_U32,
      .off = offsetof(struct policy, max_header_bytes),
      .min = CONFIG_HEADER_BYTES_MIN,
      .max = CONFIG_HEADER_BYTES_MAX },
};

#define CONFIG_SECTION_OF(t)                                                   \
    .kind = CONFIG_SECTION, .sub = t, .n_sub = CONFIG_ARRAY_LEN(t)

/* Handled in this order: version first (a version 2 file should be told
 * so, not be drowned in unknown keys of its values), tiers before the
 * listeners that name them. */
static const struct config_key config_top_keys[] = {
    { .name = "version",
      .kind = CONFIG_FN,
      .required = true,
      .fn = config_version },
    { .name = "tiers", .kind = CONFIG_FN, .fn = config_tiers },
    { .name = "listeners",
      .kind = CONFIG_FN,
      .required = true,
      .fn = config_listeners },
    { .name = "auth", .kind = CONFIG_FN, .fn = config_auth },
    { .name = "resolver", CONFIG_SECTION_OF(config_resolver_keys) },
    { .name = "network", CONFIG_SECTION_OF(config_network_keys) },
    { .name = "log", CONFIG_SECTION_OF(config_log_keys) },
    { .name = "admin", CONFIG_SECTION_OF(config_admin_keys) },
    { .name = "timeouts", CONFIG_SECTION_OF(config_timeout_keys) },
    { .name = "limits", CONFIG_SECTION_OF(config_global_limit_keys) },
};

/* ---- loading ----------------------------------------------------------- */

/* Turns a libyaml parser error into ours. Reader errors (bad UTF-8, control
 * characters) carry a byte offset instead of a mark. */
static int
config_fail_parser(struct config_ctx *cx, const yaml_parser_t *parser,
                   const char *text, size_t len)
{
    const char *problem = parser->problem ? parser->problem : "syntax error";
    yaml_mark_t mark = parser->problem_mark;

    if (parser->error == YAML_MEMORY_ERROR)
        return config_oom(cx);
    if (parser->error == YAML_READER_ERROR) {
        size_t end =
            parser->problem_offset < len ? parser->problem_offset : len;

        memset(&mark, 0, sizeof(mark));
        for (size_t i = 0; i < end; i++) {
            if (text[i] == '\n') {
                mark.line++;
                mark.column = 0;
            } else {
                mark.column++;
            }
        }
        return config_fail_mark(cx, mark, "not UTF-8 text: %s", problem);
    }
    if (parser->context != NULL)
        return config_fail_mark(cx, mark,
                                "YAML syntax error: %s (%s that starts at "
                                "line %u, column %u)",
                                problem, parser->context,
                                (unsigned)parser->context_mark.line + 1,
                                (unsigned)parser->context_mark.column + 1);
    return config_fail_mark(cx, mark, "YAML syntax error: %s", problem);
}

/* A first pass over the events, before any node is built: syntax errors,
 * anchors and aliases (billion laughs: a few lines that expand to
 * gigabytes in a reader that follows them), nesting depth, and a second
 * document, which would otherwise be silently ignored. */
static int
config_scan(struct config_ctx *cx, const char *text, size_t len)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    unsigned depth = 0, docs = 0;
    int rc = -1;

    if (!yaml_parser_initialize(&parser))
        return config_oom(cx);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    for (;;) {
        const char *bad = NULL;
        bool done = false;

        if (!yaml_parser_parse(&parser, &ev)) {
            config_fail_parser(cx, &parser, text, len);
            break;
        }
        switch (ev.type) {
        case YAML_ALIAS_EVENT:
            bad = "aliases (*name) are not allowed in a policy";
            break;
        case YAML_SCALAR_EVENT:
            if (ev.data.scalar.anchor != NULL)
                bad = "anchors (&name) are not allowed in a policy";
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            if ((ev.type == YAML_SEQUENCE_START_EVENT
                     ? ev.data.sequence_start.anchor
                     : ev.data.mapping_start.anchor) != NULL)
                bad = "anchors (&name) are not allowed in a policy";
            else if (++depth > CONFIG_DEPTH_MAX)
                bad = "nested too deeply";
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            depth--;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1)
                bad = "a policy is one YAML document; remove the second "
                      "'---'";
            break;
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_NO_EVENT:
        case YAML_STREAM_START_EVENT:
        case YAML_DOCUMENT_END_EVENT:
            break;
        }
        if (bad != NULL)
            config_fail_mark(cx, ev.start_mark, "%s", bad);
        yaml_event_delete(&ev);
        if (bad != NULL)
            break;
        if (done) {
            rc = 0;
            break;
        }
    }
    yaml_parser_delete(&parser);
    return rc;
}

/* A new policy holding the defaults of policy-t.h, or NULL on OOM. */
static struct policy *
config_policy_new(const char *name)
{
    struct policy *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return NULL;
    p->refs = 1;
    p->resolver_timeout_ms = POLICY_DEFAULT_RESOLVER_TIMEOUT_MS;
    p->connect_timeout_ms = POLICY_DEFAULT_CONNECT_TIMEOUT_MS;
    p->header_timeout_ms = POLICY_DEFAULT_HEADER_TIMEOUT_MS;
    p->idle_timeout_ms = POLICY_DEFAULT_IDLE_TIMEOUT_MS;
    p->shutdown_grace_ms = POLICY_DEFAULT_SHUTDOWN_GRACE_MS;
    p->max_connections = POLICY_DEFAULT_MAX_CONNECTIONS;
    p->max_header_bytes = POLICY_DEFAULT_MAX_HEADER_BYTES;
    p->allow_ranges = cidr_set_new();
    p->deny_ranges = cidr_set_new();
    if (p->allow_ranges == NULL || p->deny_ranges == NULL)
        goto fail;
    if (name != NULL && (p->path = strdup(name)) == NULL)
        goto fail;
    return p;

fail:
    config_policy_free(p);
    return NULL;
}

struct policy *
config_load_buffer(const char *text, size_t len, const char *name,
                   const char *base_dir, struct config_error *err)
{
    struct config_ctx cx = { 0 };
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_node_t *root;
    struct policy *p;
    int rc;

    memset(err, 0, sizeof(*err));
    cx.err = err;
    cx.name = name != NULL ? name : "<embedded>";
    cx.base_dir = base_dir;
    if (len > CONFIG_FILE_MAX_BYTES) {
        config_fail_at(err, cx.name, 0, 0,
                       "policy is larger than 1 MiB (%zu bytes)", len);
        return NULL;
    }
    if (config_scan(&cx, text, len) == -1)
        return NULL;

    p = config_policy_new(name);
    if (p == NULL)
        goto fail_oom;
    if (!yaml_parser_initialize(&parser))
        goto fail_policy_oom;
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        config_fail_parser(&cx, &parser, text, len);
        goto fail_parser;
    }
    cx.doc = &doc;
    cx.p = p;
    root = yaml_document_get_root_node(&doc);
    if (root == NULL) {
        config_fail_at(err, cx.name, 1, 1,
                       "the policy is empty (it needs at least 'version: 1' "
                       "and 'listeners')");
        rc = -1;
    } else {
        rc = config_walk(&cx, root, "", config_top_keys,
                         CONFIG_ARRAY_LEN(config_top_keys), p);
    }
    yaml_document_delete(&doc);
    if (rc == -1)
        goto fail_parser;
    yaml_parser_delete(&parser);

    if (p->log_access == NULL && (p->log_access = strdup("-")) == NULL)
        goto fail_policy_oom;
    if (p->log_events == NULL && (p->log_events = strdup("-")) == NULL)
        goto fail_policy_oom;
    return p;

fail_parser:
    yaml_parser_delete(&parser);
    config_policy_free(p);
    return NULL;
fail_policy_oom:
    config_policy_free(p);
fail_oom:
    config_oom(&cx);
    return NULL;
}

const char *
config_base_dir(const char *path, char *buf, size_t size)
{
    const char *slash = strrchr(path, '/');
    size_t n;

    if (slash == NULL)
        return NULL;
    n = slash == path ? 1 : (size_t)(slash - path);
    if (n >= size)
        return NULL;
    memcpy(buf, path, n);
    buf[n] = '\0';
    return buf;
}

struct policy *
config_load_file(const char *path, struct config_error *err)
{
    char dir[PATH_MAX];
    const char *base_dir;
    struct policy *p;
    char *text;
    size_t len;

    memset(err, 0, sizeof(*err));
    switch (config_read_file(path, &text, &len)) {
    case CONFIG_READ_OK:
        break;
    case CONFIG_READ_TOO_BIG:
        config_fail_at(err, path, 0, 0, "policy is larger than 1 MiB");
        return NULL;
    case CONFIG_READ_FAILED:
        config_fail_at(err, path, 0, 0, "cannot read: %s", strerror(errno));
        return NULL;
    }
    base_dir = config_base_dir(path, dir, sizeof(dir));
    if (base_dir == NULL && strchr(path, '/') != NULL) {
        free(text);
        config_fail_at(err, path, 0, 0, "path is too long");
        return NULL;
    }
    p = config_load_buffer(text, len, path, base_dir, err);
    free(text);
    return p;
}

struct policy *
config_load_default(struct config_error *err)
{
    return config_load_buffer(config_default_yaml, strlen(config_default_yaml),
                              NULL, NULL, err);
}

static void
config_tier_fini(struct tier *t)
{
    for (size_t i = 0; i < t->n_patterns; i++)
        free(t->patterns[i]);
    free(t->patterns);
    for (size_t i = 0; i < t->n_domains_files; i++)
        free(t->domains_files[i]);
    free(t->domains_files);
    if (t->domains != NULL)
        domain_set_free(t->domains);
    if (t->literals != NULL)
        cidr_set_free(t->literals);
    free(t->ports);
    free(t->name);
}

void
config_policy_free(struct policy *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n_listeners; i++) {
        struct listener_conf *l = &p->listeners[i];

        free(l->name);
        free(l->listen);
        free(l->tiers);
        free(l->session);
    }
    free(p->listeners);
    free(p->tokens_file);
    for (size_t i = 0; i < p->n_resolver_servers; i++)
        free(p->resolver_servers[i]);
    free(p->resolver_servers);
    if (p->allow_ranges != NULL)
        cidr_set_free(p->allow_ranges);
    if (p->deny_ranges != NULL)
        cidr_set_free(p->deny_ranges);
    for (size_t i = 0; i < p->n_tiers; i++)
        config_tier_fini(&p->tiers[i]);
    free(p->tiers);
    free(p->log_access);
    free(p->log_events);
    free(p->admin_socket);
    free(p->path);
    free(p);
}

/* ---- JSON dump --------------------------------------------------------- */

/* SPEC section 3, for the reader of `sluice check`. policy/addr.c holds
 * the table that decides; this one only describes it. */
static const char *const config_builtin_deny[] = {
    "0.0.0.0/8",      "10.0.0.0/8",     "100.64.0.0/10",   "127.0.0.0/8",
    "169.254.0.0/16", "172.16.0.0/12",  "192.0.0.0/24",    "192.0.2.0/24",
    "192.168.0.0/16", "198.18.0.0/15",  "198.51.100.0/24", "203.0.113.0/24",
    "224.0.0.0/4",    "240.0.0.0/4",    "::/128",          "::1/128",
    "fc00::/7",       "fe80::/10",      "ff00::/8",        "2001:db8::/32",
    "100::/64",       "64:ff9b:1::/48",
};

/* Never exempt, whatever allow_ranges says. */
static const char *const config_metadata_endpoints[] = {
    "169.254.169.254", "169.254.170.2",   "169.254.170.23", "fd00:ec2::254",
    "fd00:ec2::23",    "100.100.100.200", "168.63.129.16",
};

/* Judged by the IPv4 address they embed. */
static const char *const config_embedded_v4[] = {
    "::ffff:0:0/96",  "::ffff:0:0:0/96", "64:ff9b::/96",
    "64:ff9b:1::/96", "2002::/16",       "::/96",
};

/* JSON string escapes for the bytes that need one (RFC 8259 section 7). */
static const char *const config_json_short_escapes[0x20] = {
    ['\b'] = "\\b", ['\f'] = "\\f", ['\n'] = "\\n",
    ['\r'] = "\\r", ['\t'] = "\\t",
};

static void
config_json_str(FILE *out, const char *s)
{
    if (s == NULL) {
        fputs("null", out);
        return;
    }
    putc('"', out);
    for (const unsigned char *c = (const unsigned char *)s; *c != '\0'; c++) {
        if (*c == '"' || *c == '\\') {
            putc('\\', out);
            putc(*c, out);
        } else if (*c < 0x20 && config_json_short_escapes[*c] != NULL) {
            fputs(config_json_short_escapes[*c], out);
        } else if (*c < 0x20 || *c == 0x7f) {
            fprintf(out, "\\u%04x", *c);
        } else {
            putc(*c, out);
        }
    }
    putc('"', out);
}

/* A list of strings, one a line at <indent> spaces, or [] when empty. */
static void
config_json_strv(FILE *out, int indent, const char *const *v, size_t n)
{
    if (n == 0) {
        fputs("[]", out);
        return;
    }
    fputs("[\n", out);
    for (size_t i = 0; i < n; i++) {
        fprintf(out, "%*s", indent + 2, "");
        config_json_str(out, v[i]);
        fputs(i + 1 < n ? ",\n" : "\n", out);
    }
    fprintf(out, "%*s]", indent, "");
}

static void
config_json_cidrs(FILE *out, int indent, const struct cidr_set *set)
{
    size_t n = set != NULL ? cidr_set_count(set) : 0;
    char text[ADDR_TEXT_MAX + 8];

    if (n == 0) {
        fputs("[]", out);
        return;
    }
    fputs("[\n", out);
    for (size_t i = 0; i < n; i++) {
        cidr_set_format(set, i, text, sizeof(text));
        fprintf(out, "%*s", indent + 2, "");
        config_json_str(out, text);
        fputs(i + 1 < n ? ",\n" : "\n", out);
    }
    fprintf(out, "%*s]", indent, "");
}

/* A cap: its number, or null when unset. */
static void
config_json_cap(FILE *out, const char *key, uint64_t v, bool last)
{
    fprintf(out, "        \"%s\": ", key);
    if (v == 0)
        fputs("null", out);
    else
        fprintf(out, "%" PRIu64, v);
    fputs(last ? "\n" : ",\n", out);
}

static void
config_json_tier(FILE *out, const struct tier *t, bool last)
{
    fputs("    ", out);
    config_json_str(out, t->name);
    fputs(": {\n      \"domains\": ", out);
    config_json_strv(out, 6, (const char *const *)t->patterns, t->n_patterns);
    fputs(",\n      \"domains_files\": ", out);
    config_json_strv(out, 6, (const char *const *)t->domains_files,
                     t->n_domains_files);
    fprintf(out, ",\n      \"dns_patterns\": %zu",
            t->domains != NULL ? domain_set_count(t->domains) : 0);
    fputs(",\n      \"ip_patterns\": ", out);
    config_json_cidrs(out, 6, t->literals);
    fputs(",\n      \"ports\": [", out);
    for (size_t i = 0; i < t->n_ports; i++)
        fprintf(out, "%s%u", i == 0 ? "" : ", ", (unsigned)t->ports[i]);
    fputs("],\n      \"limits\": {\n", out);
    config_json_cap(out, "bytes_up", t->limits.bytes_up, false);
    config_json_cap(out, "bytes_down", t->limits.bytes_down, false);
    config_json_cap(out, "requests_per_minute", t->limits.requests_per_minute,
                    false);
    config_json_cap(out, "bandwidth_bytes_per_second", t->limits.bandwidth_bps,
                    false);
    config_json_cap(out, "connections", t->limits.connections, false);
    config_json_cap(out, "alert_at_percent", t->limits.alert_at_pct, true);
    fprintf(out, "      }\n    }%s\n", last ? "" : ",");
}

static void
config_json_listener(FILE *out, const struct policy *p,
                     const struct listener_conf *l, bool last)
{
    fputs("    {\n      \"name\": ", out);
    config_json_str(out, l->name);
    fputs(",\n      \"listen\": ", out);
    config_json_str(out, l->listen);
    fputs(",\n      \"tiers\": [", out);
    for (size_t i = 0; i < l->n_tiers; i++) {
        fputs(i == 0 ? "" : ", ", out);
        config_json_str(out, p->tiers[l->tiers[i]].name);
    }
    fputs("],\n      \"session\": ", out);
    config_json_str(out, l->session);
    fprintf(out, ",\n      \"mode\": \"%s\"\n    }%s\n",
            l->mode == LISTENER_REPORT ? "report" : "enforce", last ? "" : ",");
}

int
config_dump_json(const struct policy *p, FILE *out)
{
    fputs("{\n  \"version\": 1,\n  \"path\": ", out);
    config_json_str(out, p->path);
    fputs(",\n  \"sha256\": ", out);
    config_json_str(out, p->sha256[0] != '\0' ? p->sha256 : NULL);

    fputs(",\n  \"listeners\": [\n", out);
    for (size_t i = 0; i < p->n_listeners; i++)
        config_json_listener(out, p, &p->listeners[i], i + 1 == p->n_listeners);
    fputs("  ],\n", out);

    fprintf(out, "  \"auth\": {\n    \"mode\": \"%s\",\n    \"tokens_file\": ",
            p->auth_mode == AUTH_BASIC ? "basic" : "none");
    config_json_str(out, p->tokens_file);
    fputs("\n  },\n", out);

    fputs("  \"resolver\": {\n    \"servers\": ", out);
    config_json_strv(out, 4, (const char *const *)p->resolver_servers,
                     p->n_resolver_servers);
    fprintf(out, ",\n    \"timeout_ms\": %" PRIu32 "\n  },\n",
            p->resolver_timeout_ms);

    fputs("  \"network\": {\n    \"allow_ranges\": ", out);
    config_json_cidrs(out, 4, p->allow_ranges);
    fputs(",\n    \"deny_ranges\": ", out);
    config_json_cidrs(out, 4, p->deny_ranges);
    fputs(",\n    \"builtin_deny_ranges\": ", out);
    config_json_strv(out, 4, config_builtin_deny,
                     CONFIG_ARRAY_LEN(config_builtin_deny));
    fputs(",\n    \"metadata_endpoints\": ", out);
    config_json_strv(out, 4, config_metadata_endpoints,
                     CONFIG_ARRAY_LEN(config_metadata_endpoints));
    fputs(",\n    \"embedded_ipv4_ranges\": ", out);
    config_json_strv(out, 4, config_embedded_v4,
                     CONFIG_ARRAY_LEN(config_embedded_v4));
    fprintf(out, ",\n    \"ip_literals\": \"%s\"\n  },\n",
            p->ip_literals_allow ? "allow" : "deny");

    fputs("  \"tiers\": {", out);
    for (size_t i = 0; i < p->n_tiers; i++) {
        fputs(i == 0 ? "\n" : "", out);
        config_json_tier(out, &p->tiers[i], i + 1 == p->n_tiers);
    }
    fputs(p->n_tiers == 0 ? "},\n" : "  },\n", out);

    fputs("  \"log\": {\n    \"access\": ", out);
    config_json_str(out, p->log_access);
    fputs(",\n    \"events\": ", out);
    config_json_str(out, p->log_events);
    fputs("\n  },\n  \"admin\": {\n    \"socket\": ", out);
    config_json_str(out, p->admin_socket);
    fputs("\n  },\n", out);

    fprintf(out,
            "  \"timeouts\": {\n"
            "    \"connect_ms\": %" PRIu32 ",\n"
            "    \"header_ms\": %" PRIu32 ",\n"
            "    \"idle_ms\": %" PRIu32 ",\n"
            "    \"shutdown_grace_ms\": %" PRIu32 "\n"
            "  },\n"
            "  \"limits\": {\n"
            "    \"max_connections\": %" PRIu32 ",\n"
            "    \"max_header_bytes\": %" PRIu32 "\n"
            "  }\n"
            "}\n",
            p->connect_timeout_ms, p->header_timeout_ms, p->idle_timeout_ms,
            p->shutdown_grace_ms, p->max_connections, p->max_header_bytes);
    if (fflush(out) == EOF || ferror(out))
        return -1;
    return 0;
}
