/* The folders the workloads fall back on when a call names none (jp_workloads_set_dirs). Set once by
 * the program before it runs workloads; read by classify (the zoo) and ocr (the word list, tessdata). */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <string.h>
#include <unistd.h>

#include "util.h"
#include "workload/dirs.h"

static char models_default[PATH_MAX], data_default[PATH_MAX];

static int set_one(char *dst, const char *src, const char *what)
{
    if (!src || !*src) {
        dst[0] = '\0';
        return JP_OK;
    }
    if (strlen(src) >= PATH_MAX) return jp_fail(JP_ERR_RANGE, "%s folder: path longer than %d bytes", what, PATH_MAX - 1);
    jp_strlcpy(dst, src, PATH_MAX);
    return JP_OK;
}

int jp_workloads_set_dirs(const char *models_dir, const char *data_dir)
{
    int rc = set_one(models_default, models_dir, "models");
    if (rc == JP_OK) rc = set_one(data_default, data_dir, "data");
    return rc;
}

bool jp_workloads_is_zoo(const char *dir)
{
    if (!dir || !*dir) return false;
    DIR *d = opendir(dir);
    if (!d) return false;
    struct dirent *e;
    bool found = false;
    while (!found && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char p[PATH_MAX];
        if (jp_pathf(p, sizeof p, "%s/%s/config.json", dir, e->d_name) == JP_OK && access(p, R_OK) == 0) found = true;
    }
    closedir(d);
    return found;
}

const char *jp_workloads_models_default(void) { return models_default[0] ? models_default : NULL; }
const char *jp_workloads_data_default(void) { return data_default[0] ? data_default : NULL; }
