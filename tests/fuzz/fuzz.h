/* fuzz.h - what every fuzz target in tests/fuzz defines and may use.
 *
 * A target defines LLVMFuzzerTestOneInput (and may define
 * LLVMFuzzerInitialize). Built with --enable-fuzz (clang), libFuzzer drives
 * it (scripts/fuzz); in every other build tests/fuzz/main.c replays the
 * files given on the command line, so make check runs each target over its
 * committed corpus (tests/fuzz/replay.sh) in the plain and sanitizer builds.
 */
#ifndef SW_FUZZ_H
#define SW_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* An oracle: a broken property is a crash the fuzzer records. */
#define SW_FUZZ_ASSERT(cond)                                                           \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "%s:%d: fuzz oracle failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                   \
        }                                                                              \
    } while (0)

/* A NUL-terminated copy of data (embedded NULs end the string early, as
 * they would for the C code under test). Returns owned (free()). */
static inline char *sw_fuzz_str(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

#endif
