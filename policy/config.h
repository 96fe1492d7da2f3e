/* policy/config.h - the YAML policy loader (SPEC section 2) and the
 * effective-policy dump of `sluice check`. The only user of libyaml.
 * Reads files (the policy, its domains_files); no sockets, no clock. */
#ifndef POLICY_CONFIG_H
#define POLICY_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "policy/policy-t.h"

#define CONFIG_ERROR_MAX 512
/* Policy files and domains_files larger than this are refused. */
#define CONFIG_FILE_MAX_BYTES (1024 * 1024)

/* Where and why loading failed. <file> is the file at fault (the policy or
 * one of its domains_files); line and col are 1-based, 0 if unknown. */
struct config_error {
    char file[256];
    unsigned line, col;
    char msg[CONFIG_ERROR_MAX];
};

/* Loads the policy file at <path>. Returns a new snapshot with one
 * reference (release with policy_unref()), or NULL with <err> filled:
 * unknown keys, wrong types, bad sizes, bad CIDRs, bad patterns, duplicate
 * names, unknown tiers, missing required keys, files over 1 MiB. */
struct policy *config_load_file(const char *path, struct config_error *err);

/* The directory relative file names in the policy at <path> are resolved
 * against (domains_files, tokens_file): that of <path> as given (a
 * symlink's own), "/" at the root; written into <buf> of <size> bytes.
 * NULL when <path> has no directory part (the working directory) or it
 * does not fit. */
const char *config_base_dir(const char *path, char *buf, size_t size);

/* Same, from <len> bytes of YAML text; <name> is used in errors and as the
 * policy's path (NULL: "<embedded>", and policy->path stays NULL).
 * Relative domains_files are resolved against <base_dir> (NULL: cwd). */
struct policy *config_load_buffer(const char *text, size_t len,
                                  const char *name, const char *base_dir,
                                  struct config_error *err);

/* The embedded default policy of SPEC section 7, as YAML text. */
extern const char config_default_yaml[];

/* Loads the embedded default. NULL only on OOM (it is tested to parse). */
struct policy *config_load_default(struct config_error *err);

/* Formats <err> as "FILE:LINE:COL: message" into <out>. */
void config_error_format(const struct config_error *err, char *out,
                         size_t outlen);

/* Writes the effective policy (defaults filled in, built-in deny ranges
 * listed, sizes in bytes) as one pretty JSON object to <out>. Returns 0, or
 * -1 on a write error. */
int config_dump_json(const struct policy *p, FILE *out);

/* Frees a snapshot's contents; used by policy_unref(). */
void config_policy_free(struct policy *p);

#endif /* POLICY_CONFIG_H */
