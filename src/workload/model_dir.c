/* Reading a model folder's config.json, shared by classify, generate and summarize. */
#define _POSIX_C_SOURCE 200809L
#include "model_dir.h"

#include <limits.h>
#include <unistd.h>

#include "jouleprint.h"
#include "util.h"

int jp_model_dir_config(const char *dir, json_t **root)
{
    *root = NULL;
    char p[PATH_MAX];
    int rc = jp_pathf(p, sizeof p, "%s/config.json", dir);
    if (rc) return rc;
    json_error_t err;
    *root = json_load_file(p, 0, &err);
    if (!*root) {
        if (access(p, F_OK) != 0) return jp_fail(JP_ERR_NOTFOUND, "%s: no model here (no config.json)", dir);
        return jp_fail(JP_ERR_PARSE, "%s: line %d: %s", p, err.line, err.text);
    }
    return JP_OK;
}

double jp_json_num(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : 0;
}
