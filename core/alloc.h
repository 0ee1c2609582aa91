/* alloc.h - allocation wrappers that abort on out-of-memory.
 *
 * Every allocation in slipway goes through these, so there are no untested
 * NULL paths: running out of memory is fatal and logged once.
 */
#ifndef SW_ALLOC_H
#define SW_ALLOC_H

#include <stddef.h>
#include <stdarg.h>

/* Returns owned memory; free with free(). Never NULL. */
void *sw_malloc(size_t n);
void *sw_calloc(size_t count, size_t size);
void *sw_realloc(void *p, size_t n);
char *sw_strdup(const char *s);
char *sw_strndup(const char *s, size_t n);
/* Returns an owned, formatted string; free with free(). */
char *sw_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *sw_vasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Frees *(void **)p; for __attribute__((cleanup)). */
void sw_freep(void *p);
#define SW_AUTOFREE __attribute__((cleanup(sw_freep)))

/* Returns the pointer and clears the variable (g_steal_pointer). */
#define SW_STEAL(pp) ({ __typeof__(*(pp)) sw_tmp_ = *(pp); *(pp) = NULL; sw_tmp_; })

#endif
