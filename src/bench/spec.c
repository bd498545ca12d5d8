/* Benchmark spec parsing and validation with libyaml (document API, for line numbers). */
#define _POSIX_C_SOURCE 200809L
#include "bench/spec.h"

#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "bench/builtin.h"
#include "bench/score.h"

/* Validation goes on after an error wherever what follows does not depend on what failed, so that
 * one run of bench --check lists every error in the spec; each is one line in errs. */
struct ctx {
    const char *path;
    yaml_document_t *doc;
    char *errs; /* NULL: not kept */
    size_t errlen, erroff;
    int nerr;
    char first[1024];
    yaml_node_t *task_node; /* the task being read */
};

/* Records the error jp_last_error() holds now; returns its code. */
static int record(struct ctx *c, int rc)
{
    const char *e = jp_last_error();
    if (c->nerr++ == 0) jp_strlcpy(c->first, e, sizeof c->first);
    if (c->errs && c->erroff < c->errlen) {
        int n = snprintf(c->errs + c->erroff, c->errlen - c->erroff, "%s\n", e);
        if (n > 0) c->erroff += (size_t)n;
        if (c->erroff >= c->errlen) c->erroff = c->errlen; /* full: the rest is counted, not kept */
    }
    return rc;
}

#define LINE(node) ((int)(node)->start_mark.line + 1)

static int err_at(struct ctx *c, yaml_node_t *n, const char *where, const char *fmt, ...) JP_PRINTF(4, 5);

static int err_at(struct ctx *c, yaml_node_t *n, const char *where, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    jp_fail(JP_ERR_PARSE, "%s:%d: %s: %s", c->path, n ? LINE(n) : 0, where, msg);
    return record(c, JP_ERR_PARSE);
}

static const char *scalar(yaml_node_t *n) { return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL; }

/* The value of key in a mapping node, or NULL. */
static yaml_node_t *get(struct ctx *c, yaml_node_t *map, const char *key)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        const char *k = scalar(yaml_document_get_node(c->doc, p->key));
        if (k && !strcmp(k, key)) return yaml_document_get_node(c->doc, p->value);
    }
    return NULL;
}

/* Every key of map must be in allowed (NULL-terminated). */
static int only_keys(struct ctx *c, yaml_node_t *map, const char *where, const char *const *allowed)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(c->doc, p->key);
        const char *k = scalar(kn);
        if (!k) return err_at(c, kn, where, "keys must be plain words");
        bool ok = false;
        for (const char *const *a = allowed; *a; a++)
            if (!strcmp(*a, k)) ok = true;
        if (!ok) {
            char list[256] = "";
            for (const char *const *a = allowed; *a; a++) {
                strncat(list, *a, sizeof list - strlen(list) - 1);
                if (a[1]) strncat(list, ", ", sizeof list - strlen(list) - 1);
            }
            return err_at(c, kn, where, "unknown key \"%s\" (expected one of: %s)", k, list);
        }
    }
    return JP_OK;
}

static int get_string(struct ctx *c, yaml_node_t *map, const char *key, const char *where, bool required,
                      char *dst, size_t len)
{
    yaml_node_t *n = get(c, map, key);
    char w[160];
    snprintf(w, sizeof w, "%s.%s", where, key);
    if (!n) {
        if (required) return err_at(c, map, where, "missing key \"%s\"", key);
        return JP_OK;
    }
    const char *v = scalar(n);
    if (!v) return err_at(c, n, w, "expected a text value");
    if (strlen(v) >= len) return err_at(c, n, w, "too long (%s bytes at most)", len == 64 ? "63" : "the limit");
    jp_strlcpy(dst, v, len);
    return JP_OK;
}

static int get_long(struct ctx *c, yaml_node_t *map, const char *key, const char *where, long min, long max,
                    long *dst)
{
    yaml_node_t *n = get(c, map, key);
    if (!n) return JP_OK;
    char w[160];
    snprintf(w, sizeof w, "%s.%s", where, key);
    const char *v = scalar(n);
    char *end;
    errno = 0;
    double d = v ? strtod(v, &end) : 0;
    if (!v || end == v || *end || errno || d != floor(d) || d < (double)min || d > (double)max) {
        return err_at(c, n, w, "expected a whole number from %ld to %ld, found \"%s\"", min, max, v ? v : "(not a value)");
    }
    *dst = (long)d;
    return JP_OK;
}

/* A model's time limit: at most a week. The idle baseline measured before a run: at most an hour. */
#define MAX_TIMEOUT_S (7 * 24 * 3600.0)
#define MAX_BASELINE_S 3600.0

/* A duration from min_s (inclusive; or above it when above) to max_s: a timeout of 0s would fail every
 * model at once and a baseline of 10000h would never end, so both are refused here, before a run. */
static int get_duration(struct ctx *c, yaml_node_t *map, const char *key, const char *where, double min_s, bool above,
                        double max_s, double *dst)
{
    yaml_node_t *n = get(c, map, key);
    if (!n) return JP_OK;
    char w[160];
    snprintf(w, sizeof w, "%s.%s", where, key);
    const char *v = scalar(n);
    double d;
    if (!v || jp_parse_duration(v, &d) != JP_OK) {
        char why[256];
        jp_strlcpy(why, v ? jp_last_error() : "expected a duration", sizeof why);
        return err_at(c, n, w, "%s", why);
    }
    if (d < min_s || (above && d <= min_s) || d > max_s)
        return err_at(c, n, w, "%s is out of range: expected %s %gs and at most %gs (%g hours)", v,
                      above ? "more than" : "at least", min_s, max_s, max_s / 3600);
    *dst = d;
    return JP_OK;
}

static int resolve(const char *dir, const char *rel, char *out, size_t len)
{
    if (rel[0] == '/') return jp_pathf(out, len, "%s", rel);
    return jp_pathf(out, len, "%s/%s", dir, rel);
}

/* Lines of a regular file (not a FIFO or /dev/zero, which would never end); -1 with jp_last_error(). */
static long count_lines(const char *path)
{
    int orc;
    FILE *f = jp_fopen_read(path, &orc);
    if (!f) return -1;
    long n = 0;
    int ch, last = '\n';
    while ((ch = getc(f)) != EOF) {
        if (ch == '\n') n++;
        last = ch;
    }
    if (last != '\n') n++;
    fclose(f);
    return n;
}

/* Whether argv0 can be executed: a path (relative to dir) or a name on PATH. */
static bool can_exec(const char *dir, const char *argv0)
{
    char p[PATH_MAX];
    if (strchr(argv0, '/')) {
        if (resolve(dir, argv0, p, sizeof p) != JP_OK) return false;
        return access(p, X_OK) == 0;
    }
    const char *path = getenv("PATH");
    if (!path) path = "/usr/bin:/bin";
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);
        if (len && len < sizeof p - 2 - strlen(argv0)) {
            snprintf(p, sizeof p, "%.*s/%s", (int)len, path, argv0);
            struct stat st;
            if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0) return true;
        }
        path += len + (colon ? 1 : 0);
    }
    return false;
}

static int parse_model(struct ctx *c, const struct jp_spec *spec, struct jp_spec_task *t, yaml_node_t *n,
                       const char *where, struct jp_spec_model *m, long def_repeats, long def_warmup, double def_timeout)
{
    static const char *const keys[] = {"name", "command", "builtin", "options", "repeats", "warmup", "timeout", NULL};
    if (n->type != YAML_MAPPING_NODE) return err_at(c, n, where, "expected a mapping with name and command or builtin");
    int rc, bad = JP_OK;
#define KEEP(call) \
    if ((rc = (call)) != JP_OK) bad = rc
    KEEP(only_keys(c, n, where, keys));
    m->line = LINE(n);
    KEEP(get_string(c, n, "name", where, true, m->name, sizeof m->name));
    KEEP(get_string(c, n, "command", where, false, m->command, sizeof m->command));
    KEEP(get_string(c, n, "builtin", where, false, m->builtin, sizeof m->builtin));
    if (!m->command[0] == !m->builtin[0] && !get(c, n, "command") == !get(c, n, "builtin"))
        bad = err_at(c, n, where, "needs exactly one of \"command\" (an external program) or \"builtin\" (%s)",
                     jp_bench_builtin_names());
    long repeats = def_repeats, warmup = def_warmup;
    KEEP(get_long(c, n, "repeats", where, 1, 1000, &repeats));
    KEEP(get_long(c, n, "warmup", where, 0, 1000, &warmup));
    m->repeats = (int)repeats;
    m->warmup = (int)warmup;
    m->timeout_s = def_timeout;
    KEEP(get_duration(c, n, "timeout", where, 0, true, MAX_TIMEOUT_S, &m->timeout_s));
    yaml_node_t *opts = get(c, n, "options");
    if (opts && opts->type != YAML_MAPPING_NODE) {
        bad = err_at(c, opts, where, "options: expected a mapping of key: value");
    } else if (opts) {
        for (yaml_node_pair_t *p = opts->data.mapping.pairs.start; p < opts->data.mapping.pairs.top; p++) {
            const char *k = scalar(yaml_document_get_node(c->doc, p->key));
            const char *v = scalar(yaml_document_get_node(c->doc, p->value));
            if (!k || !v) {
                bad = err_at(c, opts, where, "options: expected plain key: value pairs");
                break;
            }
            if (m->noptions == sizeof m->options / sizeof m->options[0]) {
                bad = err_at(c, opts, where, "options: at most 8");
                break;
            }
            jp_strlcpy(m->options[m->noptions].key, k, sizeof m->options[0].key);
            jp_strlcpy(m->options[m->noptions].value, v, sizeof m->options[0].value);
            m->noptions++;
        }
    }
#undef KEEP
    if (m->builtin[0]) {
        const struct jp_bench_builtin *b = jp_bench_builtin_find(m->builtin);
        if (!b)
            return err_at(c, get(c, n, "builtin"), where, "unknown builtin \"%s\" (this build has: %s)", m->builtin,
                          jp_bench_builtin_names());
        char why[256] = "";
        if (bad == JP_OK && b->check && b->check(m->options, m->noptions, why, sizeof why) != JP_OK)
            return err_at(c, get(c, n, "builtin"), where, "builtin %s: %s", m->builtin, why);
        return bad;
    }
    if (!m->command[0]) return bad;
    /* a command: its words, placeholders and program must make sense now, not after an hour */
    char **argv = jp_spec_argv(m->command, "INPUTS", "OUTPUTS", 1);
    if (!argv) {
        char why[256];
        jp_strlcpy(why, jp_last_error(), sizeof why);
        return err_at(c, get(c, n, "command"), where, "command: %s", why);
    }
    bool exec_ok = argv[0] && can_exec(spec->dir, argv[0]);
    char prog[256];
    jp_strlcpy(prog, argv[0] ? argv[0] : "", sizeof prog);
    jp_spec_argv_free(argv);
    if (!exec_ok)
        bad = err_at(c, get(c, n, "command"), where, "command: \"%s\" is not an executable program (looked in %s)", prog,
                     strchr(prog, '/') ? "the spec's folder" : "PATH");
    if (strcmp(t->scorer, "none") && !strstr(m->command, "{outputs}"))
        bad = err_at(c, get(c, n, "command"), where,
                     "command: no {outputs} placeholder, so there are no predictions to score (scorer %s)", t->scorer);
    if (t->items[0] == '\0' && !get(c, c->task_node, "items"))
        bad = err_at(c, n, where, "a command needs the task's \"items\" file to read");
    return bad;
}

static int parse_task(struct ctx *c, struct jp_spec *spec, yaml_node_t *n, size_t idx, struct jp_spec_task *t,
                      long def_repeats, long def_warmup, double def_timeout)
{
    static const char *const keys[] = {"name", "items", "references", "time", "score", "scorer", "tolerance", "models", NULL};
    char where[96];
    snprintf(where, sizeof where, "tasks[%zu]", idx);
    if (n->type != YAML_MAPPING_NODE) return err_at(c, n, where, "expected a mapping (name, items, scorer, models, ...)");
    c->task_node = n;
    int rc, bad = JP_OK;
#define KEEP(call) \
    if ((rc = (call)) != JP_OK) bad = rc
    KEEP(only_keys(c, n, where, keys));
    t->line = LINE(n);
    KEEP(get_string(c, n, "name", where, true, t->name, sizeof t->name));
    if (t->name[0]) snprintf(where, sizeof where, "tasks[%zu] (%s)", idx, t->name);
    jp_strlcpy(t->scorer, "accuracy", sizeof t->scorer);
    KEEP(get_string(c, n, "scorer", where, false, t->scorer, sizeof t->scorer));
    if (!jp_scorer_main_metric(t->scorer)) {
        bad = err_at(c, get(c, n, "scorer"), where, "unknown scorer \"%s\" (expected one of: %s)", t->scorer, jp_scorer_names());
        jp_strlcpy(t->scorer, "none", sizeof t->scorer); /* checked once: the models are not faulted for it */
    }
    char rel[PATH_MAX] = "";
    KEEP(get_string(c, n, "items", where, false, rel, sizeof rel));
    bool items_ok = false;
    if (rel[0]) {
        if ((rc = resolve(spec->dir, rel, t->items, sizeof t->items)) != JP_OK) {
            bad = record(c, rc);
        } else {
            t->n_items = count_lines(t->items);
            if (t->n_items < 0) bad = err_at(c, get(c, n, "items"), where, "items: cannot read: %s", jp_last_error());
            else if (t->n_items == 0) bad = err_at(c, get(c, n, "items"), where, "items: %s is empty", t->items);
            else items_ok = true;
        }
    }
    rel[0] = '\0';
    KEEP(get_string(c, n, "references", where, false, rel, sizeof rel));
    bool refs_ok = false;
    if (rel[0]) {
        if ((rc = resolve(spec->dir, rel, t->references, sizeof t->references)) != JP_OK) bad = record(c, rc);
        else if (count_lines(t->references) <= 0)
            bad = err_at(c, get(c, n, "references"), where, "references: cannot read %s, or it is empty", t->references);
        else refs_ok = true;
    }
    t->n_time = t->items[0] ? (t->n_items > 0 ? t->n_items : 1) : 100; /* default: every item (builtins: 100) */
    KEEP(get_long(c, n, "time", where, 1, 1000000000L, &t->n_time));
    t->n_score = t->n_time;
    KEEP(get_long(c, n, "score", where, 0, 1000000000L, &t->n_score));
    /* in the main metric's unit: a fraction's (0.01 is 1 point), or FID's own */
    const char *mm = jp_scorer_main_metric(t->scorer);
    bool fraction = jp_metric_is_fraction(mm);
    t->tolerance = jp_metric_default_tolerance(mm);
    yaml_node_t *tol = get(c, n, "tolerance");
    if (tol) {
        const char *v = scalar(tol);
        double hi = fraction ? 1 : 1e6;
        if (!v || jp_parse_double(v, &t->tolerance) != JP_OK || !(t->tolerance >= 0 && t->tolerance <= hi))
            bad = err_at(c, tol, where, "tolerance: expected a number from 0 to %s (%s), found \"%s\"", fraction ? "1" : "1000000",
                         fraction ? "score points: 0.01 is 1 point" : "in the metric's own unit", v ? v : "");
    }
    if (items_ok && t->n_time > t->n_items)
        bad = err_at(c, get(c, n, "time") ? get(c, n, "time") : n, where, "time: %ld items to time but %ld in %s", t->n_time,
                     t->n_items, t->items);
    if (items_ok && t->n_score > t->n_items)
        bad = err_at(c, get(c, n, "score") ? get(c, n, "score") : n, where, "score: %ld items to score but %ld in %s",
                     t->n_score, t->n_items, t->items);
#undef KEEP
    yaml_node_t *models = get(c, n, "models");
    if (!models) return err_at(c, n, where, "missing key \"models\"");
    if (models->type != YAML_SEQUENCE_NODE || models->data.sequence.items.top == models->data.sequence.items.start)
        return err_at(c, models, where, "models: expected a list of one or more models");
    size_t nm = (size_t)(models->data.sequence.items.top - models->data.sequence.items.start);
    t->models = calloc(nm, sizeof *t->models);
    if (!t->models) return jp_fail(JP_ERR_NOMEM, "out of memory");
    bool has_command = false;
    for (size_t i = 0; i < nm; i++) {
        yaml_node_t *mn = yaml_document_get_node(c->doc, models->data.sequence.items.start[i]);
        char mw[160];
        snprintf(mw, sizeof mw, "%s.models[%zu]", where, i);
        t->nmodels = i + 1;
        if ((rc = parse_model(c, spec, t, mn, mw, &t->models[i], def_repeats, def_warmup, def_timeout)) != JP_OK) bad = rc;
        for (size_t k = 0; k < i; k++)
            if (t->models[i].name[0] && !strcmp(t->models[k].name, t->models[i].name))
                bad = err_at(c, mn, mw, "a second model named \"%s\"", t->models[i].name);
        if (t->models[i].command[0]) has_command = true;
    }
    if (has_command && strcmp(t->scorer, "none") && !t->references[0])
        bad = err_at(c, n, where, "scorer %s needs \"references\" (one reference per item)", t->scorer);
    if (refs_ok && t->n_score > count_lines(t->references))
        bad = err_at(c, get(c, n, "references"), where, "references: %ld items to score but %s has %ld lines", t->n_score,
                     t->references, count_lines(t->references));
    return bad;
}

int jp_spec_load(const char *path, struct jp_spec *spec) { return jp_spec_load_all(path, spec, NULL, 0, NULL); }

static int parse_all(const char *path, const char *text, size_t tlen, struct jp_spec *spec, char *errors, size_t len,
                     int *nerrors);

/* A spec is a page of YAML: a megabyte is far more than any needs. */
#define MAX_SPEC_BYTES (1u << 20)

int jp_spec_load_all(const char *path, struct jp_spec *spec, char *errors, size_t len, int *nerrors)
{
    memset(spec, 0, sizeof *spec);
    if (errors && len) errors[0] = '\0';
    if (nerrors) *nerrors = 0;
    unsigned char *text;
    size_t tlen;
    int rc = jp_read_file(path, MAX_SPEC_BYTES, &text, &tlen);
    if (rc != JP_OK) {
        struct ctx c = {path, NULL, errors, len, 0, 0, "", NULL};
        int e = record(&c, rc);
        if (nerrors) *nerrors = 1;
        return e;
    }
    rc = parse_all(path, (const char *)text, tlen, spec, errors, len, nerrors);
    free(text);
    return rc;
}

int jp_spec_parse(const char *path, const char *text, size_t len, struct jp_spec *spec)
{
    return parse_all(path, text, len, spec, NULL, 0, NULL);
}

static int parse_all(const char *path, const char *text, size_t tlen, struct jp_spec *spec, char *errors, size_t len,
                     int *nerrors)
{
    memset(spec, 0, sizeof *spec);
    if (errors && len) errors[0] = '\0';
    if (nerrors) *nerrors = 0;
    struct ctx c = {path, NULL, errors, len, 0, 0, "", NULL};
    jp_strlcpy(spec->path, path, sizeof spec->path);
    char tmp[PATH_MAX];
    jp_strlcpy(tmp, path, sizeof tmp);
    jp_strlcpy(spec->dir, dirname(tmp), sizeof spec->dir);
    spec->project_n = 1e8;
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, tlen);
    int rc = JP_OK;
    if (!yaml_parser_load(&parser, &doc)) {
        rc = record(&c, jp_fail(JP_ERR_PARSE, "%s:%zu: not valid YAML: %s%s%s", path, parser.problem_mark.line + 1,
                                parser.problem ? parser.problem : "syntax error", parser.context ? " " : "",
                                parser.context ? parser.context : ""));
        yaml_parser_delete(&parser);
        if (nerrors) *nerrors = c.nerr;
        return rc;
    }
    c.doc = &doc;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    static const char *const keys[] = {"region", "project", "repeats", "warmup", "timeout", "baseline", "tasks", NULL};
    long repeats = 3, warmup = 1, project = 100000000L;
    double timeout = 600;
    if (!root || root->type != YAML_MAPPING_NODE) {
        rc = record(&c, jp_fail(JP_ERR_PARSE, "%s:1: expected a mapping with \"tasks\" at the top", path));
        goto out;
    }
    int r;
#define KEEP(call) \
    if ((r = (call)) != JP_OK) rc = r
    KEEP(only_keys(&c, root, "spec", keys));
    KEEP(get_string(&c, root, "region", "spec", false, spec->region, sizeof spec->region));
    KEEP(get_long(&c, root, "project", "spec", 1, 1000000000000000L, &project));
    KEEP(get_long(&c, root, "repeats", "spec", 1, 1000, &repeats));
    KEEP(get_long(&c, root, "warmup", "spec", 0, 1000, &warmup));
    KEEP(get_duration(&c, root, "timeout", "spec", 0, true, MAX_TIMEOUT_S, &timeout));
    KEEP(get_duration(&c, root, "baseline", "spec", 0, false, MAX_BASELINE_S, &spec->baseline_s));
#undef KEEP
    spec->project_n = (double)project;
    if (spec->region[0]) {
        jp_intensity ci;
        if (jp_intensity_lookup(spec->region, &ci) != JP_OK) {
            char why[512];
            jp_strlcpy(why, jp_last_error(), sizeof why);
            rc = err_at(&c, get(&c, root, "region"), "spec.region", "%s", why);
        }
    }
    yaml_node_t *tasks = get(&c, root, "tasks");
    if (!tasks) {
        rc = err_at(&c, root, "spec", "missing key \"tasks\"");
        goto out;
    }
    if (tasks->type != YAML_SEQUENCE_NODE || tasks->data.sequence.items.top == tasks->data.sequence.items.start) {
        rc = err_at(&c, tasks, "spec.tasks", "expected a list of one or more tasks");
        goto out;
    }
    size_t nt = (size_t)(tasks->data.sequence.items.top - tasks->data.sequence.items.start);
    spec->tasks = calloc(nt, sizeof *spec->tasks);
    if (!spec->tasks) {
        rc = record(&c, jp_fail(JP_ERR_NOMEM, "out of memory"));
        goto out;
    }
    for (size_t i = 0; i < nt; i++) {
        spec->ntasks = i + 1;
        yaml_node_t *tn = yaml_document_get_node(&doc, tasks->data.sequence.items.start[i]);
        int tr = parse_task(&c, spec, tn, i, &spec->tasks[i], repeats, warmup, timeout);
        if (tr != JP_OK) rc = tr;
        if (tr == JP_ERR_NOMEM) break;
    }
out:
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    if (nerrors) *nerrors = c.nerr;
    if (rc != JP_OK) {
        jp_spec_free(spec);
        /* the first error is the one jp_last_error() gives (later checks may have failed since) */
        if (c.nerr) jp_fail(rc, "%s", c.first);
    }
    return rc;
}

void jp_spec_free(struct jp_spec *spec)
{
    for (size_t i = 0; i < spec->ntasks; i++) free(spec->tasks[i].models);
    free(spec->tasks);
    spec->tasks = NULL;
    spec->ntasks = 0;
}

void jp_spec_argv_free(char **argv)
{
    if (!argv) return;
    for (char **a = argv; *a; a++) free(*a);
    free(argv);
}

/* Appends text to a growing word. */
static int word_add(char **w, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t nc = (*cap ? *cap * 2 : 64) + n;
        char *p = realloc(*w, nc);
        if (!p) return -1;
        *w = p;
        *cap = nc;
    }
    memcpy(*w + *len, s, n);
    *len += n;
    (*w)[*len] = '\0';
    return 0;
}

char **jp_spec_argv(const char *command, const char *inputs, const char *outputs, long n)
{
    size_t argc = 0, acap = 8;
    char **argv = calloc(acap + 1, sizeof *argv);
    if (!argv) return NULL;
    char nbuf[32];
    snprintf(nbuf, sizeof nbuf, "%ld", n);
    const char *p = command;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n') p++;
        if (!*p) break;
        char *w = NULL;
        size_t len = 0, cap = 0;
        char quote = 0;
        int bad = 0;
        while (*p && (quote || (*p != ' ' && *p != '\t' && *p != '\n'))) {
            if (!quote && (*p == '\'' || *p == '"')) {
                quote = *p++;
                bad |= word_add(&w, &len, &cap, "", 0);
                continue;
            }
            if (quote && *p == quote) {
                quote = 0;
                p++;
                continue;
            }
            if (*p == '{') {
                const char *close = strchr(p, '}');
                size_t k = close ? (size_t)(close - p + 1) : 0;
                const char *sub = NULL;
                if (k == 8 && !strncmp(p, "{inputs}", 8)) sub = inputs;
                else if (k == 9 && !strncmp(p, "{outputs}", 9)) sub = outputs;
                else if (k == 3 && !strncmp(p, "{n}", 3)) sub = nbuf;
                if (!sub) {
                    jp_spec_argv_free(argv);
                    free(w);
                    jp_fail(JP_ERR_PARSE, "unknown placeholder \"%.*s\" (expected {inputs}, {outputs} or {n})",
                            close ? (int)k : 16, p);
                    return NULL;
                }
                bad |= word_add(&w, &len, &cap, sub, strlen(sub));
                p += k;
                continue;
            }
            bad |= word_add(&w, &len, &cap, p, 1);
            p++;
        }
        if (quote) {
            free(w);
            jp_spec_argv_free(argv);
            jp_fail(JP_ERR_PARSE, "unterminated %c quote", quote);
            return NULL;
        }
        if (bad || !w) {
            free(w);
            jp_spec_argv_free(argv);
            jp_fail(JP_ERR_NOMEM, "out of memory");
            return NULL;
        }
        if (argc == acap) {
            char **na = realloc(argv, (2 * acap + 1) * sizeof *na);
            if (!na) {
                free(w);
                jp_spec_argv_free(argv);
                return NULL;
            }
            argv = na;
            acap *= 2;
        }
        argv[argc++] = w;
        argv[argc] = NULL;
    }
    if (argc == 0) {
        jp_spec_argv_free(argv);
        jp_fail(JP_ERR_PARSE, "empty command");
        return NULL;
    }
    return argv;
}

bool jp_spec_builtin_known(const char *name) { return jp_bench_builtin_find(name) != NULL; }
