/* The tool's default folders: the model zoo and the data folder found beside its executable (the build
 * folder finds the source tree's models/ and data/; an installed tool PREFIX/share/jouleprint), given
 * to the workloads library with jp_workloads_set_dirs. A flag or $JP_MODELS_DIR / $JP_DATA_DIR still
 * come first (the library's order). */
#define _DEFAULT_SOURCE /* realpath */
#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "jouleprint/workloads.h"

/* A folder holding at least one model folder (NAME/config.json). */
static int is_zoo(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    int found = 0;
    while (!found && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char p[4096];
        if (snprintf(p, sizeof p, "%s/%s/config.json", dir, e->d_name) < (int)sizeof p && access(p, R_OK) == 0)
            found = 1;
    }
    closedir(d);
    return found;
}

static int has_words(const char *dir)
{
    char p[4096];
    return snprintf(p, sizeof p, "%s/ocr/words.txt", dir) < (int)sizeof p && access(p, R_OK) == 0;
}

/* The first of exe_dir/rel[i] that ok() accepts, made absolute, into out; 0 if none. */
static int first_of(const char *exe_dir, const char *const *rel, size_t n, int (*ok)(const char *), char *out,
                    size_t len)
{
    for (size_t i = 0; i < n; i++) {
        char cand[4096];
        if (snprintf(cand, sizeof cand, "%s/%s", exe_dir, rel[i]) >= (int)sizeof cand || !ok(cand)) continue;
        char *real = realpath(cand, NULL);
        int w = snprintf(out, len, "%s", real ? real : cand);
        free(real);
        return w > 0 && (size_t)w < len;
    }
    return 0;
}

void cli_set_default_dirs(void)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash) *slash = '\0';
    static const char *const models_rel[] = {"models", "../models", "../share/jouleprint/models", "../../models"};
    static const char *const data_rel[] = {"data", "../data", "../../data", "../share/jouleprint"};
    char models[4096], data[4096];
    int have_models = first_of(exe, models_rel, sizeof models_rel / sizeof *models_rel, is_zoo, models, sizeof models);
    int have_data = first_of(exe, data_rel, sizeof data_rel / sizeof *data_rel, has_words, data, sizeof data);
    jp_workloads_set_dirs(have_models ? models : NULL, have_data ? data : NULL);
}
