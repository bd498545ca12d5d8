/*
 * Benchmark specs: a YAML file naming tasks, their items, references, scorer and models.
 *
 *   region: gcp:us-west1        # optional: carbon region (default $JP_REGION, else the world)
 *   project: 100000000          # optional: items to project to
 *   repeats: 3                  # optional defaults for every model
 *   warmup: 1
 *   timeout: 10min
 *   baseline: 5s                # optional: idle power measured once before the session
 *   tasks:
 *     - name: classification
 *       items: items.txt        # one item per line (paths relative to the spec's folder)
 *       references: labels.txt  # one reference per line, same order
 *       time: 2500              # items per measured run
 *       score: 10000            # items scored (default: as many as timed)
 *       scorer: accuracy        # accuracy | exact_match | ocr | rouge | none
 *       tolerance: 0.01         # score within which a model counts as "as accurate"
 *       models:
 *         - name: small
 *           command: ./small --in {inputs} --out {outputs} --n {n}
 *         - name: mlp
 *           builtin: classify
 *           options: {model: mlp, threads: 2}
 *
 * Commands are split into words (single and double quotes group words) and run directly, with the
 * spec's folder as working directory; {inputs} is a file listing the items, {outputs} where the
 * command writes one prediction per line, {n} the item count. A command may print a line
 * "JOULEPRINT PHASE <name>" to split its energy into phases ("load", "infer").
 */
#ifndef JP_SPEC_H
#define JP_SPEC_H

#include <stddef.h>

#include "util.h"

struct jp_spec_option {
    char key[32];
    char value[256];
};

struct jp_spec_model {
    char name[64];
    char command[1024];  /* "" for a builtin */
    char builtin[32];    /* "" for a command */
    size_t noptions;
    struct jp_spec_option options[8];
    int repeats, warmup;
    double timeout_s;
    int line;
};

struct jp_spec_task {
    char name[64];
    char items[PATH_MAX];      /* resolved against the spec's folder; "" for builtin-only tasks */
    char references[PATH_MAX];
    long n_time, n_score;
    long n_items;              /* lines in the items file */
    char scorer[32];
    double tolerance;
    size_t nmodels;
    struct jp_spec_model *models;
    int line;
};

struct jp_spec {
    char path[PATH_MAX];
    char dir[PATH_MAX];
    char region[64];
    double project_n;
    double baseline_s;
    size_t ntasks;
    struct jp_spec_task *tasks;
};

/* Parses and validates the whole spec (files exist, commands can be found, builtins exist, scorers
 * are known) before anything runs. Errors name the file, line and key. */
int jp_spec_load(const char *path, struct jp_spec *out);
/* The same, listing every error found, not only the first: validation goes on wherever what follows
 * does not depend on what failed. errors (if not NULL) gets them one per line, as much as len holds;
 * *nerrors (if not NULL) how many there were. jp_last_error() gives the first. */
int jp_spec_load_all(const char *path, struct jp_spec *out, char *errors, size_t len, int *nerrors);
/* jp_spec_load on a spec already in memory (len bytes of text); path names it in messages, and relative
 * item paths are resolved against its folder. */
int jp_spec_parse(const char *path, const char *text, size_t len, struct jp_spec *out);
void jp_spec_free(struct jp_spec *spec);

/* Splits a command into words and substitutes the placeholders. Returns a NULL-terminated argv
 * (free with jp_spec_argv_free) or NULL with the error set. */
char **jp_spec_argv(const char *command, const char *inputs, const char *outputs, long n);
void jp_spec_argv_free(char **argv);

/* Builtin workloads known to this build (the harness registry). */
bool jp_spec_builtin_known(const char *name);

#endif
