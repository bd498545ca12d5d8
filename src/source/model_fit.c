/* Fitting and scoring the power model on recorded load profiles: see model_fit.h. */
#define _POSIX_C_SOURCE 200809L
#include "model_fit.h"
#include "../csv.h"

#include "cpu_table.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- what /proc/cpuinfo would show on the profiled machines ------------------------------------ */

/* The profiles give the CPU name and, in the all_cores files, the number of logical CPUs, but not
 * the socket count. /proc/cpuinfo would show it as distinct "physical id"s: a package has a fixed
 * number of threads (vendor specifications), so sockets = logical CPUs / threads per package. The
 * E5-2620 v3 is a 6-core/12-thread part and its machine has 24 logical CPUs: 2 sockets. The others
 * have exactly one package's worth of threads. */
static const struct {
    const char *brand_part; /* a substring of the /proc brand */
    int cores, threads;     /* per package */
} package_specs[] = {
    {"E5-2620 v3", 6, 12},             /* Intel ARK: 6 cores, 12 threads */
    {"E3-1240 V2", 4, 8},              /* Intel ARK: 4 cores, 8 threads */
    {"EPYC 8024P", 8, 16},             /* AMD: 8 cores, 16 threads */
    {"Threadripper 1950X", 16, 32},    /* AMD: 16 cores, 32 threads */
};

static void describe(struct jp_fit_machine *m)
{
    int cores = 0, threads = 0;
    for (size_t i = 0; i < sizeof package_specs / sizeof *package_specs; i++)
        if (strstr(m->cpu, package_specs[i].brand_part)) {
            cores = package_specs[i].cores;
            threads = package_specs[i].threads;
        }
    m->sockets = threads > 0 ? (m->logical_cpus + threads - 1) / threads : 1;
    if (m->sockets < 1) m->sockets = 1;
    memset(&m->info, 0, sizeof m->info);
    jp_strlcpy(m->info.brand, m->cpu, sizeof m->info.brand);
    m->info.logical_cpus = m->logical_cpus;
    m->info.sockets = m->sockets;
    m->info.cores = cores * m->sockets;
    m->info.hypervisor = false;
    m->info.mem_gb = 0;
    m->match = jp_cpu_tdp_match(m->cpu);
}

/* ---- reading the profiles ---------------------------------------------------------------------- */

static int col(char **f, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(f[i], name)) return i;
    return -1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names in dir (no dot entries) that are directories (want_dir) or regular files. */
static int list_dir(const char *dir, bool want_dir, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return jp_fail(JP_ERR_IO, "%s: cannot open the folder: %s", dir, strerror(errno));
    char **v = NULL;
    size_t cnt = 0, cap = 0;
    int rc = JP_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char path[PATH_MAX];
        if (jp_pathf(path, sizeof path, "%s/%s", dir, e->d_name) != JP_OK) {
            rc = JP_ERR_RANGE;
            break;
        }
        struct stat st;
        if (stat(path, &st) != 0) continue;
        if (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) continue;
        if (cnt == cap) {
            size_t nc = cap ? cap * 2 : 16;
            char **nv = realloc(v, nc * sizeof *nv);
            if (!nv) {
                rc = jp_fail(JP_ERR_NOMEM, "%s: out of memory", dir);
                break;
            }
            v = nv;
            cap = nc;
        }
        v[cnt] = strdup(e->d_name);
        if (!v[cnt]) {
            rc = jp_fail(JP_ERR_NOMEM, "%s: out of memory", dir);
            break;
        }
        cnt++;
    }
    closedir(d);
    if (rc != JP_OK) {
        for (size_t i = 0; i < cnt; i++) free(v[i]);
        free(v);
        return rc;
    }
    if (cnt) qsort(v, cnt, sizeof *v, cmp_str);
    *out = v;
    *n = cnt;
    return JP_OK;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

static int add_row(struct jp_fit_machine *m, size_t *cap, struct jp_fit_row r)
{
    if (m->nrows == *cap) {
        size_t nc = *cap ? *cap * 2 : 32;
        struct jp_fit_row *nr = realloc(m->rows, nc * sizeof *nr);
        if (!nr) return jp_fail(JP_ERR_NOMEM, "out of memory");
        m->rows = nr;
        *cap = nc;
    }
    m->rows[m->nrows++] = r;
    return JP_OK;
}

static int parse_field(const char *path, long line_no, const char *name, const char *text, double lo,
                       double hi, double *out)
{
    if (jp_parse_double(text, out) != JP_OK || *out < lo || *out > hi)
        return jp_fail(JP_ERR_PARSE, "%s:%ld: %s: expected a number in %g..%g, found \"%.40s\"", path,
                       line_no, name, lo, hi, text);
    return JP_OK;
}

static int load_file(const char *path, struct jp_fit_machine *m, size_t *cap)
{
    int orc;
    FILE *f = jp_fopen_read(path, &orc);
    if (!f) return orc;
    char *line = NULL;
    size_t lcap = 0;
    long line_no = 0;
    int rc = JP_OK;
    int c_name = -1, c_cores = -1, c_load = -1, c_rapl = -1, c_est = -1, ncols = 0;
    enum { MAXF = 64 };
    char *fl[MAXF];
    while (getline(&line, &lcap, f) >= 0) {
        line_no++;
        size_t len = strlen(line);
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if (!len) continue;
        int n = jp_csv_split(line, fl, MAXF, 0);
        if (n < 0) {
            rc = jp_fail(JP_ERR_PARSE, "%s:%ld: malformed CSV: %s (at most %d)", path, line_no, jp_csv_strerror(n), MAXF);
            break;
        }
        if (c_name < 0) {
            c_name = col(fl, n, "cpu_name");
            c_cores = col(fl, n, "cores_used");
            c_load = col(fl, n, "cpu_load");
            c_rapl = col(fl, n, "rapl_power");
            c_est = col(fl, n, "estimated_power");
            ncols = n;
            if (c_name < 0 || c_cores < 0 || c_load < 0 || c_rapl < 0 || c_est < 0) {
                rc = jp_fail(JP_ERR_PARSE,
                             "%s:%ld: expected a header with cpu_name, cores_used, cpu_load, rapl_power, "
                             "estimated_power",
                             path, line_no);
                break;
            }
            continue;
        }
        if (n != ncols) {
            rc = jp_fail(JP_ERR_PARSE, "%s:%ld: expected %d fields, found %d", path, line_no, ncols, n);
            break;
        }
        double cores, load, rapl, est;
        if ((rc = parse_field(path, line_no, "cores_used", fl[c_cores], 0, 1e6, &cores)) != JP_OK) break;
        if ((rc = parse_field(path, line_no, "cpu_load", fl[c_load], 0, 100, &load)) != JP_OK) break;
        if ((rc = parse_field(path, line_no, "rapl_power", fl[c_rapl], 0, 1e5, &rapl)) != JP_OK) break;
        if ((rc = parse_field(path, line_no, "estimated_power", fl[c_est], 0, 1e5, &est)) != JP_OK) break;
        if (!m->cpu[0]) {
            jp_strlcpy(m->cpu, fl[c_name], sizeof m->cpu);
        } else if (strcmp(m->cpu, fl[c_name])) {
            rc = jp_fail(JP_ERR_PARSE, "%s:%ld: cpu_name \"%.60s\" differs from \"%.60s\" in the same machine",
                         path, line_no, fl[c_name], m->cpu);
            break;
        }
        if ((int)cores > m->logical_cpus) m->logical_cpus = (int)cores;
        rc = add_row(m, cap, (struct jp_fit_row){load / 100.0, rapl, est});
        if (rc != JP_OK) break;
    }
    free(line);
    fclose(f);
    if (rc == JP_OK && c_name < 0) rc = jp_fail(JP_ERR_PARSE, "%s: empty, expected a CSV header", path);
    return rc;
}

void jp_fit_free(struct jp_fit_set *set)
{
    if (!set) return;
    for (size_t i = 0; i < set->n; i++) free(set->m[i].rows);
    free(set->m);
    set->m = NULL;
    set->n = 0;
}

int jp_fit_load(const char *dir, struct jp_fit_set *set)
{
    set->n = 0;
    set->m = NULL;
    char **subs;
    size_t nsub;
    int rc = list_dir(dir, true, &subs, &nsub);
    if (rc != JP_OK) return rc;
    if (nsub == 0) {
        free_list(subs, nsub);
        return jp_fail(JP_ERR_NOTFOUND, "%s: no machine folders", dir);
    }
    set->m = calloc(nsub, sizeof *set->m);
    if (!set->m) {
        free_list(subs, nsub);
        return jp_fail(JP_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < nsub && rc == JP_OK; i++) {
        struct jp_fit_machine *m = &set->m[set->n++];
        jp_strlcpy(m->name, subs[i], sizeof m->name);
        char sub[PATH_MAX];
        if ((rc = jp_pathf(sub, sizeof sub, "%s/%s", dir, subs[i])) != JP_OK) break;
        char **files;
        size_t nfiles;
        if ((rc = list_dir(sub, false, &files, &nfiles)) != JP_OK) break;
        size_t cap = 0;
        for (size_t j = 0; j < nfiles && rc == JP_OK; j++) {
            if (!ends_with(files[j], ".csv") || ends_with(files[j], "-tasks.csv")) continue;
            char path[PATH_MAX];
            if ((rc = jp_pathf(path, sizeof path, "%s/%s", sub, files[j])) != JP_OK) break;
            rc = load_file(path, m, &cap);
        }
        free_list(files, nfiles);
        if (rc == JP_OK && m->nrows == 0) rc = jp_fail(JP_ERR_NOTFOUND, "%s: no profile rows", sub);
        if (rc == JP_OK && m->logical_cpus < 1)
            rc = jp_fail(JP_ERR_PARSE, "%s: cores_used never above 0: expected an all_cores file", sub);
        if (rc == JP_OK) describe(m);
    }
    free_list(subs, nsub);
    if (rc != JP_OK) jp_fit_free(set);
    return rc;
}

/* ---- scoring ----------------------------------------------------------------------------------- */

double jp_fit_predict(const struct jp_fit_machine *m, const struct jp_model_fractions *fr, double load)
{
    jp_model_params p = {-1, -1, -1, -1, -1, ""};
    p.ram_gb = 0; /* no memory in the profiles; keeps resolve from reading anything else */
    jp_model_resolve_with(&m->info, fr, &p);
    return jp_model_cpu_watts(&p, load);
}

double jp_fit_mae(const struct jp_fit_machine *m, const struct jp_model_fractions *fr)
{
    jp_model_params p = {-1, -1, -1, -1, 0, ""};
    jp_model_resolve_with(&m->info, fr, &p);
    double s = 0;
    for (size_t i = 0; i < m->nrows; i++) s += fabs(jp_model_cpu_watts(&p, m->rows[i].load) - m->rows[i].rapl_w);
    return m->nrows ? s / (double)m->nrows : 0;
}

double jp_fit_cc_mae(const struct jp_fit_machine *m)
{
    double s = 0;
    for (size_t i = 0; i < m->nrows; i++) s += fabs(m->rows[i].cc_w - m->rows[i].rapl_w);
    return m->nrows ? s / (double)m->nrows : 0;
}

/* ---- fitting ----------------------------------------------------------------------------------- */

struct pts {
    size_t n;
    double *u, *y, *scale, *w, *f; /* load, measured W, sockets x TDP, weight, curve value */
};

static double loss(const struct pts *p, double a, double b)
{
    double s = 0;
    for (size_t i = 0; i < p->n; i++) s += p->w[i] * fabs(p->scale[i] * (a + (b - a) * p->f[i]) - p->y[i]);
    return s;
}

static void curve_values(struct pts *p, double k)
{
    for (size_t i = 0; i < p->n; i++) p->f[i] = 1.0 - pow(1.0 - p->u[i], k);
}

#define A_MAX 0.5
#define B_MIN 0.2
#define B_MAX 1.6
#define K_MIN 0.5
#define K_MAX 6.0

/* Searches the grid a0 + i*da (i = 0..na-1), likewise b and k, keeping b >= a and the bounds. */
static void grid(struct pts *p, double a0, double da, int na, double b0, double db, int nb, double k0,
                 double dk, int nk, struct jp_model_fractions *best, double *best_loss)
{
    for (int l = 0; l < nk; l++) {
        double k = k0 + dk * l;
        if (k < K_MIN - 1e-12 || k > K_MAX + 1e-12) continue;
        curve_values(p, k);
        for (int i = 0; i < na; i++) {
            double a = a0 + da * i;
            if (a < -1e-12 || a > A_MAX + 1e-12) continue;
            for (int j = 0; j < nb; j++) {
                double b = b0 + db * j;
                if (b < B_MIN - 1e-12 || b > B_MAX + 1e-12 || b < a) continue;
                double v = loss(p, a, b);
                if (v < *best_loss - 1e-12) {
                    *best_loss = v;
                    best->idle_frac = a;
                    best->max_frac = b;
                    best->curve = k;
                }
            }
        }
    }
}

int jp_fit_search(const struct jp_fit_set *set, size_t skip, struct jp_model_fractions *out)
{
    return jp_fit_search_curve(set, skip, -1, out);
}

int jp_fit_search_curve(const struct jp_fit_set *set, size_t skip, double curve, struct jp_model_fractions *out)
{
    size_t total = 0;
    for (size_t i = 0; i < set->n; i++)
        if (i != skip && set->m[i].match) total += set->m[i].nrows;
    if (total == 0) return jp_fail(JP_ERR_INVAL, "no machine with a known TDP to fit on");
    struct pts p = {0};
    double *mem = calloc(total * 5, sizeof *mem);
    if (!mem) return jp_fail(JP_ERR_NOMEM, "out of memory");
    p.u = mem;
    p.y = mem + total;
    p.scale = mem + 2 * total;
    p.w = mem + 3 * total;
    p.f = mem + 4 * total;
    for (size_t i = 0; i < set->n; i++) {
        const struct jp_fit_machine *m = &set->m[i];
        if (i == skip || !m->match) continue;
        double scale = m->sockets * m->match->tdp_w;
        for (size_t r = 0; r < m->nrows; r++) {
            p.u[p.n] = m->rows[r].load;
            p.y[p.n] = m->rows[r].rapl_w;
            p.scale[p.n] = scale;
            p.w[p.n] = 1.0 / ((double)m->nrows * scale); /* each machine: MAE as a fraction of TDP */
            p.n++;
        }
    }
    struct jp_model_fractions best = {0, 1, 1};
    double best_loss = INFINITY;
    bool fixed = curve > 0;
    /* coarse: steps 0.02, 0.02, 0.1 */
    grid(&p, 0.0, 0.02, 26, B_MIN, 0.02, 71, fixed ? curve : K_MIN, 0.1, fixed ? 1 : 56, &best, &best_loss);
    /* fine: steps 0.005, 0.005, 0.02 within one coarse step around the best */
    struct jp_model_fractions c = best;
    grid(&p, c.idle_frac - 0.02, 0.005, 9, c.max_frac - 0.02, 0.005, 9, fixed ? curve : c.curve - 0.1, 0.02,
         fixed ? 1 : 11, &best, &best_loss);
    free(mem);
    *out = best;
    return JP_OK;
}
