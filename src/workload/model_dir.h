/* What every built-in workload does with a model folder: read its config.json. */
#ifndef JP_WORKLOAD_MODEL_DIR_H
#define JP_WORKLOAD_MODEL_DIR_H

#include <jansson.h>

/* Loads dir/config.json into *root (the caller decrefs it): JP_ERR_NOTFOUND where the folder has
 * no config.json, JP_ERR_PARSE with the file and line where it is not JSON. */
int jp_model_dir_config(const char *dir, json_t **root);

/* The number under key in o, 0 where it is absent or not a number. */
double jp_json_num(const json_t *o, const char *key);

#endif
