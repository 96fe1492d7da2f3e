/* tests/fuzz/replay.c - main() for a fuzz target built without libFuzzer:
 * runs LLVMFuzzerTestOneInput() once on each file named on the command
 * line, or on each file of each directory named (in name order, dot files
 * skipped). Each input is copied into a heap block of exactly its size,
 * so that AddressSanitizer reports a read one byte past the end.
 *
 * tests/fuzz/replay.sh runs it over tests/fuzz/corpus/<target>/ on every
 * `make check`; by hand it reproduces one crash without clang:
 *   tests/fuzz/replay_http_head tests/fuzz/crashes/http_head/crash-...
 * Exit status: 0 when every input ran (a failing input aborts), 1 on an
 * unreadable path or an empty directory, 2 on bad usage. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* libFuzzer calls it when a target defines it; so do we. */
__attribute__((weak)) int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

#define REPLAY_INPUT_MAX (16 * 1024 * 1024)

/* Runs the target on the file at <path>. Returns 0, or -1 with a message. */
static int
replay_file(const char *path)
{
    struct stat st;
    uint8_t *buf;
    size_t got = 0;
    FILE *f;

    f = fopen(path, "rb");
    if (f == NULL || fstat(fileno(f), &st) == -1) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        if (f != NULL)
            fclose(f);
        return -1;
    }
    if (st.st_size > REPLAY_INPUT_MAX) {
        fprintf(stderr, "replay: %s: larger than %d bytes\n", path,
                REPLAY_INPUT_MAX);
        fclose(f);
        return -1;
    }
    /* malloc(0) may return NULL; libFuzzer never passes NULL. */
    buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
    if (buf == NULL) {
        fprintf(stderr, "replay: %s: out of memory\n", path);
        fclose(f);
        return -1;
    }
    if (st.st_size > 0)
        got = fread(buf, 1, (size_t)st.st_size, f);
    fclose(f);
    if (got != (size_t)st.st_size) {
        fprintf(stderr, "replay: %s: short read\n", path);
        free(buf);
        return -1;
    }
    /* Name it first: if the target aborts, the log says which input. */
    printf("replay: %s (%zu bytes)\n", path, got);
    fflush(stdout);
    LLVMFuzzerTestOneInput(buf, got);
    free(buf);
    return 0;
}

static int
replay_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file of directory <dir>. Returns the number run, or
 * -1 on an error. */
static long
replay_dir(const char *dir)
{
    char **names = NULL;
    size_t n = 0, cap = 0;
    long ran = 0;
    struct dirent *de;
    DIR *d = opendir(dir);

    if (d == NULL) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            char **v;

            cap = cap ? cap * 2 : 64;
            v = realloc(names, cap * sizeof(*v));
            if (v == NULL) {
                ran = -1;
                break;
            }
            names = v;
        }
        names[n] = strdup(de->d_name);
        if (names[n] == NULL) {
            ran = -1;
            break;
        }
        n++;
    }
    closedir(d);
    if (ran == 0 && n > 0)
        qsort(names, n, sizeof(*names), replay_name_cmp);
    for (size_t i = 0; i < n && ran >= 0; i++) {
        size_t len = strlen(dir) + strlen(names[i]) + 2;
        char *path = malloc(len);
        struct stat st;

        if (path == NULL) {
            ran = -1;
            break;
        }
        snprintf(path, len, "%s/%s", dir, names[i]);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            if (replay_file(path) == -1)
                ran = -1;
            else
                ran++;
        }
        free(path);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (ran == -1)
        fprintf(stderr, "replay: %s: failed\n", dir);
    return ran;
}

int
main(int argc, char **argv)
{
    int rc = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        struct stat st;
        long ran;

        if (stat(argv[i], &st) == -1) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            rc = 1;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (replay_file(argv[i]) == -1)
                rc = 1;
            continue;
        }
        ran = replay_dir(argv[i]);
        if (ran == 0)
            fprintf(stderr, "replay: %s: no inputs\n", argv[i]);
        if (ran <= 0)
            rc = 1;
        else
            printf("replay: %s: %ld inputs, no failure\n", argv[i], ran);
    }
    return rc;
}
