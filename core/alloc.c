#include "config.h"
#include "core/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void sw_oom(size_t n)
{
    /* No logger here: the logger itself allocates. */
    fprintf(stderr, "level=fatal event=oom bytes=%zu\n", n);
    abort();
}

void *sw_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        sw_oom(n);
    return p;
}

void *sw_calloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        sw_oom(count * size);
    return p;
}

void *sw_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        sw_oom(n);
    return q;
}

char *sw_strdup(const char *s)
{
    size_t n = strlen(s);
    char *d = sw_malloc(n + 1);
    memcpy(d, s, n + 1);
    return d;
}

char *sw_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *d = sw_malloc(len + 1);
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

char *sw_vasprintf(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        sw_oom(0);
    char *s = sw_malloc((size_t)n + 1);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

char *sw_asprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = sw_vasprintf(fmt, ap);
    va_end(ap);
    return s;
}

void sw_freep(void *p)
{
    void **pp = p;
    free(*pp);
    *pp = NULL;
}
