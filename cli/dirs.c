/* The tool's default folders: the model zoo and the data folder, given to the workloads library with
 * jp_workloads_set_dirs. Found beside the executable, first in the build tree (build/ sees the source
 * tree's models/ and data/), then in an install (PREFIX/share/jouleprint/models and .../data, found
 * from the executable's own prefix, so that an install moved or staged with DESTDIR still finds them),
 * then in the data folder compiled in (JP_CLI_DATADIR, the configured prefix's). A flag or
 * $JP_MODELS_DIR / $JP_DATA_DIR still come first (the library's order). */
#define _DEFAULT_SOURCE /* realpath */
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "jouleprint/workloads.h"

#ifndef JP_CLI_DATADIR_REL
#define JP_CLI_DATADIR_REL "share/jouleprint" /* under the prefix; CMake passes ${CMAKE_INSTALL_DATADIR}/jouleprint */
#endif

static bool has_zoo(const char *dir) { return jp_workloads_is_zoo(dir); }

static bool has_words(const char *dir)
{
    char p[4096];
    return snprintf(p, sizeof p, "%s/ocr/words.txt", dir) < (int)sizeof p && access(p, R_OK) == 0;
}

/* The first candidate that ok() accepts, made absolute, into out; false if none. */
static bool first_of(const char *const *cand, size_t n, bool (*ok)(const char *), char *out, size_t len)
{
    for (size_t i = 0; i < n; i++) {
        if (!cand[i][0] || !ok(cand[i])) continue;
        char *real = realpath(cand[i], NULL);
        int w = snprintf(out, len, "%s", real ? real : cand[i]);
        free(real);
        return w > 0 && (size_t)w < len;
    }
    return false;
}

void cli_set_default_dirs(void)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash) *slash = '\0';
    /* the build tree (build/, build/sub/), the install relative to the executable (PREFIX/bin), the
     * configured install */
    enum { N = 5 };
    char models[N][4200], data[N][4200];
    const char *mc[N], *dc[N];
    static const char *const up[] = {"", "/..", "/../.."};
    for (size_t i = 0; i < 3; i++) {
        snprintf(models[i], sizeof models[i], "%s%s/models", exe, up[i]);
        snprintf(data[i], sizeof data[i], "%s%s/data", exe, up[i]);
    }
    snprintf(models[3], sizeof models[3], "%s/../%s/models", exe, JP_CLI_DATADIR_REL);
    snprintf(data[3], sizeof data[3], "%s/../%s/data", exe, JP_CLI_DATADIR_REL);
#ifdef JP_CLI_DATADIR
    snprintf(models[4], sizeof models[4], "%s/models", JP_CLI_DATADIR);
    snprintf(data[4], sizeof data[4], "%s/data", JP_CLI_DATADIR);
#else
    models[4][0] = data[4][0] = '\0';
#endif
    for (size_t i = 0; i < N; i++) {
        mc[i] = models[i];
        dc[i] = data[i];
    }
    char m[4096], d[4096];
    bool have_models = first_of(mc, N, has_zoo, m, sizeof m);
    bool have_data = first_of(dc, N, has_words, d, sizeof d);
    jp_workloads_set_dirs(have_models ? m : NULL, have_data ? d : NULL);
}
