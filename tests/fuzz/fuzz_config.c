/* tests/fuzz/fuzz_config.c - libFuzzer target for the policy loader
 * (config_load_buffer() in policy/config.c) and the decisions over what it
 * builds (policy/policy.c).
 *
 * Input: policy YAML, optionally followed by a NUL byte and the text of a
 * domains file. The loader reads domains_files with open(2); this target
 * is linked with -Wl,--wrap=open, and while a load runs every open() gets
 * a memfd holding that text (ENOENT when the input has none), so no run
 * reads the machine's files, whatever path the YAML names.
 *
 * Properties: a refused policy has a message; a loaded one dumps as JSON,
 * dumps the same when loaded twice (no uninitialised or address-dependent
 * state), finds each listener by name, decides a few hosts consistently
 * (an allow names a tier that holds the port) and never lets an address
 * of the metadata services through, whatever allow_ranges says.
 * A failed property prints what broke and aborts. */
#define _GNU_SOURCE /* memfd_create() */
#include "config.h"
#include "policy/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/addr.h"
#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int __real_open(const char *path, int flags, ...);
int __wrap_open(const char *path, int flags, ...);

/* Bigger policies only make the fuzzer slower, not wiser. */
#define FUZZ_CONFIG_INPUT_MAX (64 * 1024)

/* What open() serves while a load runs. */
static struct {
    bool active;
    const char *text; /* NULL: ENOENT */
    size_t len;
    unsigned opens;
} fuzz_config_files;

int
__wrap_open(const char *path, int flags, ...)
{
    mode_t mode = 0;
    size_t off = 0;
    int fd;

    if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) {
        va_list ap;

        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    if (!fuzz_config_files.active)
        return __real_open(path, flags, mode);
    fuzz_config_files.opens++;
    if (fuzz_config_files.text == NULL) {
        errno = ENOENT;
        return -1;
    }
    fd = memfd_create("fuzz_config", MFD_CLOEXEC);
    if (fd == -1)
        return -1;
    while (off < fuzz_config_files.len) {
        ssize_t w = write(fd, fuzz_config_files.text + off,
                          fuzz_config_files.len - off);

        if (w <= 0) {
            close(fd);
            errno = EIO;
            return -1;
        }
        off += (size_t)w;
    }
    if (lseek(fd, 0, SEEK_SET) == -1) {
        close(fd);
        return -1;
    }
    return fd;
}

static void
fuzz_config_require(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_config: property failed: %s\n", what);
        abort();
    }
}

static struct policy *
fuzz_config_load(const char *text, size_t len, struct config_error *err)
{
    struct policy *p;

    fuzz_config_files.active = true;
    /* base_dir does not exist: a relative path could not be read anyway */
    p = config_load_buffer(text, len, "fuzz.yaml", "/nonexistent-fuzz-dir",
                           err);
    fuzz_config_files.active = false;
    return p;
}

/* The JSON dump of <p> as a new string (NULL if memory ran out). */
static char *
fuzz_config_dump(const struct policy *p)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    if (f == NULL)
        return NULL;
    fuzz_config_require(config_dump_json(p, f) == 0, "dump failed");
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    fuzz_config_require(buf != NULL && len > 2 && buf[0] == '{' &&
                            strlen(buf) == len,
                        "dump is not one JSON object");
    return buf;
}

static void
fuzz_config_decide(const struct policy *p)
{
    static const char *const hosts[] = {
        "example.com",  "www.github.com",  "github.com",       "127.0.0.1",
        "[::1]",        "169.254.169.254", "10.1.2.3",         "0x7f.1",
        "EXAMPLE.com.", "bad..host",       "[fe80::1%25eth0]", "a_b.c",
    };
    static const uint16_t ports[] = { 0, 80, 443, 8080, 65535 };
    static const char *const metadata[] = {
        "169.254.169.254", "169.254.170.2",          "169.254.170.23",
        "100.100.100.200", "168.63.129.16",          "fd00:ec2::254",
        "fd00:ec2::23",    "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe",
    };
    struct decision d;

    for (size_t i = 0; i < p->n_listeners; i++) {
        const struct listener_conf *l = &p->listeners[i];

        fuzz_config_require(policy_find_listener(p, l->name) != NULL,
                            "listener not found by its name");
        for (size_t t = 0; t < l->n_tiers; t++)
            fuzz_config_require(l->tiers[t] < p->n_tiers,
                                "listener names a tier out of range");
        for (size_t h = 0; h < sizeof(hosts) / sizeof(hosts[0]); h++) {
            for (size_t k = 0; k < sizeof(ports) / sizeof(ports[0]); k++) {
                enum reason r = policy_check_host(
                    p, l, hosts[h], strlen(hosts[h]), ports[k], &d);

                fuzz_config_require(r == d.reason && r < REASON_COUNT,
                                    "decision reason");
                if (r == REASON_ALLOWED) {
                    bool has_port = d.tier != NULL &&
                                    policy_tier_has_port(d.tier, ports[k]);

                    fuzz_config_require(has_port,
                                        "allowed without a tier and port");
                }
                if (h == 5) /* 169.254.169.254: never reachable */
                    fuzz_config_require(r != REASON_ALLOWED,
                                        "metadata literal allowed");
            }
        }
    }
    for (size_t i = 0; i < sizeof(metadata) / sizeof(metadata[0]); i++) {
        struct addr a;

        fuzz_config_require(addr_parse_strict(metadata[i], &a) == 0,
                            "metadata address table");
        fuzz_config_require(policy_check_addr(p, &a) == REASON_DENIED_ADDRESS,
                            "metadata address allowed");
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *nul = memchr(text, '\0', size);
    size_t len = nul != NULL ? (size_t)(nul - text) : size;
    struct config_error err;
    struct policy *p, *q;
    char msg[64];
    char *dump, *dump2;

    if (size > FUZZ_CONFIG_INPUT_MAX)
        return 0;
    fuzz_config_files.text = nul != NULL ? nul + 1 : NULL;
    fuzz_config_files.len = nul != NULL ? size - len - 1 : 0;
    fuzz_config_files.opens = 0;

    p = fuzz_config_load(text, len, &err);
    if (p == NULL) {
        fuzz_config_require(memchr(err.msg, '\0', sizeof(err.msg)) != NULL &&
                                err.msg[0] != '\0' &&
                                memchr(err.file, '\0', sizeof(err.file)),
                            "refusal without a message");
        config_error_format(&err, msg, sizeof(msg));
        fuzz_config_require(memchr(msg, '\0', sizeof(msg)) != NULL,
                            "formatted error not terminated");
        return 0;
    }
    for (size_t i = 0; i < p->n_tiers; i++)
        if (p->tiers[i].n_domains_files > 0)
            fuzz_config_require(fuzz_config_files.opens > 0,
                                "domains_files read without open(): "
                                "--wrap=open is not in effect");

    fuzz_config_decide(p);
    fuzz_config_require(policy_ref(p) == p, "policy_ref");
    policy_unref(p);

    dump = fuzz_config_dump(p);
    q = fuzz_config_load(text, len, &err);
    fuzz_config_require(q != NULL, "second load of the same text failed");
    dump2 = fuzz_config_dump(q);
    if (dump != NULL && dump2 != NULL && strcmp(dump, dump2) != 0) {
        fprintf(stderr, "fuzz_config: dumps differ:\n%s\n---\n%s\n", dump,
                dump2);
        abort();
    }
    free(dump);
    free(dump2);
    policy_unref(q);
    policy_unref(p);
    return 0;
}
