/* balloon_sim.c - fuzz target: slipwayctl balloon-sim's scenario parser
 * (cli/balloon_sim.c) and the ballooning controller it drives (core/balloon.c).
 * Input: a scenario file (engines/README.md). Oracles: a refusal is
 * SW_EINVALID; every output line is a JSON object whose "t" grows; and, as
 * core/balloon.h promises, a ballooned guest (shares > 0, starting within
 * its bounds, its name not shared) never gets a target below its guarantee
 * or above its max. Scenarios whose run would take more than about 200k
 * controller steps are skipped: their cost is linear and operators run
 * this tool on their own files. */
#include "config.h"
#include "tests/fuzz/fuzz.h"
#include "cli/ctl.h"
#include "core/err.h"
#include "core/json.h"

#include <unistd.h>

static char path[] = "/tmp/sw-fuzz-balloon-XXXXXX";
static int fd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fd = mkstemp(path);
    if (fd < 0)
        abort();
    unlink(path); /* read back through /proc/self/fd below */
    return 0;
}

/* Steps the run would take, or 0 when the scenario will be refused anyway. */
static double cost(const json_t *sc)
{
    const json_t *guests = json_object_get(sc, "guests");
    double steps = 1;
    size_t i;
    const json_t *g;
    json_array_foreach(guests, i, g)
        steps += 1 + (double)json_array_size(json_object_get(g, "demand"));
    double d = (double)json_integer_value(json_object_get(sc, "duration_s"));
    return d / 5 * steps * (1 + (double)json_array_size(json_object_get(sc, "other_used")));
}

static void check_output(const char *out, size_t len, const json_t *sc)
{
    const json_t *guests = json_object_get(sc, "guests");
    json_int_t last_t = 0;
    const char *p = out;
    while (p < out + len) {
        const char *nl = memchr(p, '\n', (size_t)(out + len - p));
        SW_FUZZ_ASSERT(nl);
        json_error_t je;
        json_t *line = json_loadb(p, (size_t)(nl - p), 0, &je);
        SW_FUZZ_ASSERT(json_is_object(line));
        json_int_t t = json_integer_value(json_object_get(line, "t"));
        SW_FUZZ_ASSERT(t > last_t);
        last_t = t;
        const json_t *gs = json_object_get(line, "guests");
        size_t i, j;
        const json_t *g, *h;
        json_array_foreach(guests, i, g) {
            const char *name = json_string_value(json_object_get(g, "name"));
            json_int_t min = json_integer_value(json_object_get(g, "min_mb"));
            json_int_t max = json_integer_value(json_object_get(g, "max_mb"));
            const json_t *sh = json_object_get(g, "shares"), *cur = json_object_get(g, "current_mb");
            bool unique = true;
            json_array_foreach(guests, j, h)
                if (j != i && strcmp(name, json_string_value(json_object_get(h, "name"))) == 0)
                    unique = false;
            if (!unique || (sh && json_integer_value(sh) == 0) ||
                (cur && (json_integer_value(cur) < min || json_integer_value(cur) > max)))
                continue;
            json_int_t target =
                json_integer_value(json_object_get(json_object_get(gs, name), "target_mb"));
            if (target < min || target > max)
                fprintf(stderr, "guest %s: target %lld outside [%lld, %lld] at t=%lld\n", name,
                        (long long)target, (long long)min, (long long)max, (long long)t);
            SW_FUZZ_ASSERT(target >= min && target <= max);
        }
        json_decref(line);
        p = nl + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t je;
    json_t *sc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
    if (sc && cost(sc) > 200000) {
        json_decref(sc);
        return 0;
    }
    if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    char in[64];
    snprintf(in, sizeof in, "/proc/self/fd/%d", fd);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    struct sw_err err = {0};
    int rc = sw_ctl_balloon_sim(in, f, &err);
    fclose(f);
    if (rc < 0)
        SW_FUZZ_ASSERT(err.code == SW_EINVALID && err.msg[0]);
    else
        check_output(out, len, sc);
    free(out);
    json_decref(sc);
    return 0;
}
