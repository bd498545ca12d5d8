/*
 * The jouleprint tool end to end: `stat`, `record` and `sources` as a user runs them, on the power
 * model (as on machines with no counters, over a fake /proc) and on a fake powercap tree that the
 * measured command advances; figures checked, not just exit codes, and none depends on free CPU.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_tree.h"
#include "util.h"
#include "proc.h"
#include "source/model_power.h"

static const char *cli;
static char self[4096];
static char *empty_root; /* no counters: the model path, even on a machine that has RAPL */
static char tmpdir[4096];

/* Runs jouleprint with args; stderr to errfile (if not NULL), stdout nowhere. */
static int run_cli(const char *errfile, const char *const *args) { return ft_run_cli(NULL, errfile, args); }

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("%s: cannot read", path);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static json_t *load_json(const char *path)
{
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    if (!j) fail_msg("%s: not JSON: %s (line %d)", path, err.text, err.line);
    return j;
}

static double num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_number(v)) fail_msg("JSON key %s: missing or not a number", key);
    return json_number_value(v);
}

static void path_in_tmp(char *buf, size_t len, const char *name) { snprintf(buf, len, "%s/%s", tmpdir, name); }

/* ---- the model path ------------------------------------------------------------------------------ */

/*
 * The power model estimates the whole machine from its utilization, which other work on a shared
 * machine would change: these tests give it a fake /proc (JP_PROC_ROOT) whose CPU counters the test
 * and the measured command set, and check attribution against CPU time actually consumed.
 */
static char fake_proc[4096];

static void make_fake_proc(void)
{
    char *root = ft_mkroot("proc");
    snprintf(fake_proc, sizeof fake_proc, "%s", root);
    free(root);
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "cp /proc/cpuinfo /proc/meminfo '%s'/", fake_proc);
    assert_int_equal(system(cmd), 0);
    /* user nice system idle iowait irq softirq steal guest guest_nice */
    ft_write(fake_proc, "stat", "cpu  1000 0 0 5000 0 0 0 0 0 0\n");
    setenv("JP_PROC_ROOT", fake_proc, 1);
}

static void drop_fake_proc(void)
{
    unsetenv("JP_PROC_ROOT");
    char *root = strdup(fake_proc);
    ft_rmroot(root);
}

static void model_bounds(json_t *model, double *lo, double *hi)
{
    jp_model_params p;
    jp_model_params_init(&p);
    p.cpu_idle_w = num(model, "cpu_idle_w");
    p.cpu_max_w = num(model, "cpu_max_w");
    p.curve = num(model, "curve");
    p.ram_w_per_gb = num(model, "ram_w_per_gb");
    p.ram_gb = num(model, "ram_gb");
    *lo = jp_model_cpu_watts(&p, 0) + jp_model_ram_watts(&p);
    *hi = jp_model_cpu_watts(&p, 1) + jp_model_ram_watts(&p);
}

static void test_model_estimate_and_attribution(void **state)
{
    (void)state;
    setenv("JP_SYSFS_ROOT", empty_root, 1);
    setenv("JP_DEV_ROOT", empty_root, 1);
    make_fake_proc();
    char js[4200], rep[4200];
    path_in_tmp(js, sizeof js, "spin.json");
    path_in_tmp(rep, sizeof rep, "spin.txt");
    char helper[4200];
    snprintf(helper, sizeof helper, "%s/spin_helper", getenv("JP_TEST_BIN_DIR"));
    const char *args[] = {"stat", "--json", "-o", js, "--", helper, "20000000", rep, NULL};
    assert_int_equal(run_cli(NULL, args), 0);
    double spin_cpu = 0;
    long added = 0;
    FILE *f = fopen(rep, "r");
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%lf %ld", &spin_cpu, &added), 2);
    fclose(f);
    json_t *j = load_json(js);
    /* the JSON contract */
    assert_true(json_is_true(json_object_get(j, "estimated")));
    assert_string_equal(json_string_value(json_object_get(j, "region")), "world");
    assert_int_equal(num(j, "exit_status"), 0);
    assert_int_equal(num(j, "runs"), 1);
    json_t *doms = json_object_get(j, "domains");
    assert_true(json_array_size(doms) >= 1);
    for (size_t i = 0; i < json_array_size(doms); i++) {
        json_t *d = json_array_get(doms, i);
        assert_non_null(json_string_value(json_object_get(d, "name")));
        assert_string_equal(json_string_value(json_object_get(d, "source")), "model");
        assert_true(json_is_true(json_object_get(d, "estimated")));
        assert_true(json_is_number(json_object_get(d, "joules")));
    }
    double e = num(j, "energy_j"), d = num(j, "duration_s");
    /* carbon = energy x world intensity */
    assert_float_equal(num(j, "carbon_g"), e / 3.6e6 * num(j, "intensity_g_per_kwh"), 1e-9);
    json_t *model = json_object_get(j, "model");
    assert_true(json_is_object(model));
    assert_true(strlen(json_string_value(json_object_get(model, "basis"))) > 10);
    /* the model's power lies between its idle and its full-load figure, whatever the utilization */
    double lo, hi;
    model_bounds(model, &lo, &hi);
    /* (10%: the model integrates between its own reads, the duration runs from the meter's first
     * read to its last, and a read preempted on a busy machine separates the two) */
    assert_true(e / d >= lo * 0.9 && e / d <= hi * 1.1);
    /* attribution: the command's CPU time as it measured it itself (the tool reads it from wait4,
     * so only what ran after the report was written can differ), and its share of the machine's busy
     * time, which the command made about twice its own on the fake /proc */
    json_t *attr = json_object_get(j, "attribution");
    assert_true(json_is_object(attr));
    double tree = num(attr, "tree_cpu_s");
    print_message("spin: %.3f s of CPU (tool: %.3f s), %ld busy jiffies added; share %.4f; %.3f J over %.3f s\n",
                  spin_cpu, tree, added, num(attr, "share"), e, d);
    assert_true(spin_cpu > 0);
    /* the tool also counts the command's exit, which the command cannot report: spin_helper is built
     * without sanitizers even in the sanitizer build, so its exit costs well under 10 ms */
    assert_true(tree >= spin_cpu - 1e-6 && tree <= spin_cpu + 0.01);
    double share = tree / ((double)added / jp_proc_hz());
    assert_float_equal(num(attr, "share"), share > 1 ? 1 : share, 1e-4);
    assert_float_equal(num(attr, "energy_j"), num(attr, "share") * e, 1e-6 * e + 1e-9);
    json_decref(j);
    drop_fake_proc();
}

static void test_model_sleep_is_idle(void **state)
{
    (void)state;
    setenv("JP_SYSFS_ROOT", empty_root, 1);
    setenv("JP_DEV_ROOT", empty_root, 1);
    /* a machine whose CPU counters do not move: utilization 0, so the model's idle power exactly */
    make_fake_proc();
    char js[4200];
    path_in_tmp(js, sizeof js, "sleep.json");
    const char *args[] = {"stat", "--json", "-o", js, "--", "sleep", "0.5", NULL};
    assert_int_equal(run_cli(NULL, args), 0);
    json_t *j = load_json(js);
    double lo, hi;
    model_bounds(json_object_get(j, "model"), &lo, &hi);
    double w = num(j, "mean_power_w");
    print_message("sleep: %.4f W; the model's idle %.4f W\n", w, lo);
    /* the model integrates between its own reads, the duration runs from the meter's first read to
     * its last: they differ by microseconds, or by a few ms where a read is preempted on a busy
     * machine (10% of 0.5 s); the full-load figure is far further off */
    assert_true(fabs(w - lo) < 0.1 * lo);
    assert_true(hi > 1.2 * lo);
    /* sleep itself used next to no CPU */
    assert_true(num(json_object_get(j, "attribution"), "tree_cpu_s") < 0.05);
    json_decref(j);
    drop_fake_proc();
}

/* ---- a fake powercap tree, advanced by the measured command ------------------------------------ */

/* a real-size range, so that the meter keeps the asked interval (wrapping: see test_powercap) */
#define BIG_RANGE 262143328850ULL
#define PKG_FILE "class/powercap/intel-rapl:0/energy_uj"
#define DRAM_FILE "class/powercap/intel-rapl:0:0/energy_uj"

/* Adds joules to a counter of the fake tree in JP_SYSFS_ROOT. */
static int add_energy(const char *file, double joules)
{
    const char *root = getenv("JP_SYSFS_ROOT");
    char path[4200], text[64] = "";
    snprintf(path, sizeof path, "%s/%s", root ? root : "", file);
    FILE *f = fopen(path, "r");
    if (!f || !fgets(text, sizeof text, f)) return 1;
    fclose(f);
    ft_write(root, file, "%llu\n", strtoull(text, NULL, 10) + (unsigned long long)llround(joules * 1e6));
    return 0;
}

/*
 * The measured command: adds 1.5 J to the package and 0.3 J to dram (36 W over 50 ms). Each counter
 * moves once, at least `wait` ms after the meter's first read (it reads before starting the
 * command), so that no change can look faster than the 1.5 kW that would make it a glitch.
 */
static int deposit_main(long wait_ms, long apart_ms)
{
    usleep((useconds_t)wait_ms * 1000);
    int rc = add_energy(PKG_FILE, 1.5);
    usleep((useconds_t)apart_ms * 1000);
    return rc + add_energy(DRAM_FILE, 0.3);
}

static char *make_fake_powercap(void)
{
    char *root = ft_mkroot("cli-powercap");
    ft_write(root, "class/powercap/intel-rapl:0/name", "package-0\n");
    ft_write(root, "class/powercap/intel-rapl:0/max_energy_range_uj", "%llu\n", BIG_RANGE);
    ft_write(root, PKG_FILE, "1000000\n");
    ft_write(root, "class/powercap/intel-rapl:0:0/name", "dram\n");
    ft_write(root, "class/powercap/intel-rapl:0:0/max_energy_range_uj", "%llu\n", BIG_RANGE);
    ft_write(root, DRAM_FILE, "0\n");
    setenv("JP_SYSFS_ROOT", root, 1);
    return root;
}

static void test_stat_on_fake_powercap(void **state)
{
    (void)state;
    char *root = make_fake_powercap();
    char js[4200];
    path_in_tmp(js, sizeof js, "powercap.json");
    const char *args[] = {"stat", "-r", "2", "--json", "-o", js, "--", self, "--deposit", "50", "0", NULL};
    assert_int_equal(run_cli(NULL, args), 0);
    ft_rmroot(root);
    json_t *j = load_json(js);
    double e = num(j, "energy_j"), d = num(j, "duration_s");
    print_message("fake powercap: %.6f J per run over %.3f s\n", e, d);
    assert_float_equal(e, 1.8, 1e-6); /* each run: 1.5 J + 0.3 J */
    assert_true(d >= 0.05);
    assert_float_equal(num(j, "mean_power_w"), e / d, 1e-3 * e / d);
    assert_false(json_is_true(json_object_get(j, "estimated")));
    assert_int_equal(num(j, "runs"), 2);
    assert_int_equal(json_array_size(json_object_get(j, "samples")), 2);
    json_t *doms = json_object_get(j, "domains");
    assert_int_equal(json_array_size(doms), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(doms, 0), "source")), "rapl-powercap");
    assert_float_equal(num(json_array_get(doms, 0), "joules"), 1.5, 1e-6);
    assert_float_equal(num(json_array_get(doms, 1), "joules"), 0.3, 1e-6);
    assert_true(json_is_null(json_object_get(j, "model")));
    json_decref(j);
}

static void test_record_timeline(void **state)
{
    (void)state;
    char *root = make_fake_powercap();
    char csv[4200];
    path_in_tmp(csv, sizeof csv, "timeline.csv");
    const char *args[] = {"record", "--interval", "50ms", "-o", csv, "--", self, "--deposit", "100", "100", NULL};
    assert_int_equal(run_cli(NULL, args), 0);
    ft_rmroot(root);
    char *text = slurp(csv);
    assert_true(strncmp(text, "t_s,phase,total_w,package-0_w,dram-0_w\n", 39) == 0);
    int rows = 0;
    double last_t = 0, energy = 0, pkg = 0;
    for (char *line = strchr(text, '\n') + 1; *line; line = strchr(line, '\n') + 1) {
        double t, total, p0;
        char phase[32];
        assert_int_equal(sscanf(line, "%lf,%31[^,],%lf,%lf", &t, phase, &total, &p0), 4);
        assert_string_equal(phase, "run");
        energy += total * (t - last_t);
        pkg += p0 * (t - last_t);
        last_t = t;
        rows++;
        if (!strchr(line, '\n')) break;
    }
    print_message("record: %d rows, %.6f J integrated over %.3f s\n", rows, energy, last_t);
    /* one row per sample: the interval asked, never a burst */
    assert_true(last_t >= 0.2);
    assert_true(rows >= 2 && rows <= (int)(last_t / 0.05) + 2);
    /* the timeline adds up to what the command spent, to the 6 decimals the CSV is written with */
    assert_float_equal(energy, 1.8, 1e-4);
    assert_float_equal(pkg, 1.5, 1e-4);
}

/* A meter that cannot be opened leaves nothing where the timeline was to go: the temporary file the
 * output is written through is removed too (it was left behind, out.csv.tmp-XXXXXX). */
static void test_record_failure_leaves_no_file(void **state)
{
    (void)state;
    setenv("JP_SYSFS_ROOT", empty_root, 1);
    char dir[4200], csv[4300], err[4200];
    path_in_tmp(dir, sizeof dir, "record-fails");
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(csv, sizeof csv, "%s/out.csv", dir);
    path_in_tmp(err, sizeof err, "record-fails.err");
    const char *args[] = {"record", "--source", "nope", "-o", csv, "--", "true", NULL};
    assert_int_equal(run_cli(err, args), 1);
    char *said = slurp(err);
    if (!strstr(said, "unknown source")) fail_msg("record said: %s", said);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) fail_msg("left behind: %s/%s", dir, e->d_name);
    closedir(d);
}

/* ---- errors and exit status ------------------------------------------------------------------- */

static void test_exit_status_and_errors(void **state)
{
    (void)state;
    setenv("JP_SYSFS_ROOT", empty_root, 1);
    char err[4200];
    path_in_tmp(err, sizeof err, "stderr.txt");
    const char *exit7[] = {"stat", "--", "sh", "-c", "exit 7", NULL};
    assert_int_equal(run_cli(err, exit7), 7);
    assert_non_null(strstr(slurp(err), "exited with status 7"));

    const char *missing[] = {"stat", "--", "/nonexistent/command", NULL};
    assert_int_equal(run_cli(err, missing), 127);
    assert_non_null(strstr(slurp(err), "cannot run '/nonexistent/command'"));

    const char *nounit[] = {"stat", "--interval", "5", "--", "true", NULL};
    assert_int_equal(run_cli(err, nounit), 2);
    assert_non_null(strstr(slurp(err), "unit"));

    const char *zero[] = {"stat", "-r", "0", "--", "true", NULL};
    assert_int_equal(run_cli(err, zero), 2);

    const char *nocmd[] = {"stat", "--json", NULL};
    assert_int_equal(run_cli(err, nocmd), 2);
    assert_non_null(strstr(slurp(err), "no command"));

    const char *badsrc[] = {"stat", "--source", "rapl-powercap", "--", "true", NULL};
    assert_int_equal(run_cli(err, badsrc), 1);
    assert_non_null(strstr(slurp(err), "powercap"));

    setenv("JP_PROC_ROOT", "/nonexistent", 1);
    const char *badroot[] = {"sources", NULL};
    assert_int_equal(run_cli(err, badroot), 1);
    assert_non_null(strstr(slurp(err), "JP_PROC_ROOT=/nonexistent: expected an existing directory"));
    unsetenv("JP_PROC_ROOT");
}

static void test_csv_and_human_output(void **state)
{
    (void)state;
    setenv("JP_SYSFS_ROOT", empty_root, 1);
    char out[4200], err[4200];
    path_in_tmp(out, sizeof out, "runs.csv");
    path_in_tmp(err, sizeof err, "human.txt");
    const char *csv[] = {"stat", "-r", "2", "--csv", "-o", out, "--", "true", NULL};
    assert_int_equal(run_cli(NULL, csv), 0);
    char *text = slurp(out);
    assert_true(strncmp(text, "run,energy_j,duration_s,mean_power_w,peak_power_w,carbon_g,region,exit_status,estimated", 85) == 0);
    assert_non_null(strstr(text, "\n1,"));
    assert_non_null(strstr(text, "\n2,"));
    assert_null(strstr(text, "\n3,"));
    const char *human[] = {"stat", "--", "true", NULL};
    assert_int_equal(run_cli(err, human), 0);
    text = slurp(err);
    assert_non_null(strstr(text, "cpu-model"));
    assert_non_null(strstr(text, "ESTIMATED"));
    assert_non_null(strstr(text, "CO2e"));
}

/* -o naming a FIFO or a device (/dev/null) writes into it: the output is not renamed over it (which
 * replaced /dev/null itself with a regular file when the tests ran as root) */
static void test_output_to_fifo(void **state)
{
    (void)state;
    setenv("JP_SYSFS_ROOT", empty_root, 1);
    char fifo[4200], got[4200], cmd[9000];
    path_in_tmp(fifo, sizeof fifo, "out.fifo");
    path_in_tmp(got, sizeof got, "from-fifo.json");
    unlink(fifo);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    /* the reader: what stat writes into the FIFO, kept in a file (timeout: no hang if nothing comes) */
    snprintf(cmd, sizeof cmd, "timeout 60 cat '%s' > '%s' &", fifo, got);
    assert_int_equal(system(cmd), 0);
    const char *args[] = {"stat", "--json", "-o", fifo, "--", "true", NULL};
    assert_int_equal(run_cli(NULL, args), 0);
    struct stat st;
    assert_int_equal(stat(fifo, &st), 0);
    assert_true(S_ISFIFO(st.st_mode)); /* still the FIFO */
    /* the reader got the report once the writer closed */
    for (int i = 0; i < 500; i++) {
        if (access(got, R_OK) == 0 && strstr(slurp(got), "}\n")) break;
        usleep(20000);
    }
    json_t *j = load_json(got);
    assert_true(num(j, "energy_j") >= 0);
    json_decref(j);
    unlink(fifo);
}

static void test_sources_explains(void **state)
{
    (void)state;
    setenv("JP_SYSFS_ROOT", empty_root, 1);
    setenv("JP_DEV_ROOT", empty_root, 1);
    char out[4200];
    path_in_tmp(out, sizeof out, "sources.json");
    /* stdout goes to /dev/null in run_cli: use a shell redirect instead */
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "'%s' sources --json > '%s'", cli, out);
    assert_int_equal(system(cmd), 0);
    json_t *j = load_json(out);
    assert_true(json_array_size(j) >= 4);
    const char *order[] = {"rapl-powercap", "rapl-msr", "rapl-perf"};
    for (size_t i = 0; i < 3; i++) {
        json_t *s = json_array_get(j, i);
        assert_string_equal(json_string_value(json_object_get(s, "name")), order[i]);
        assert_false(json_is_true(json_object_get(s, "usable")));
        assert_true(strlen(json_string_value(json_object_get(s, "detail"))) > 20); /* says why */
    }
    json_decref(j);
}

static int setup(void **state)
{
    (void)state;
    cli = getenv("JP_CLI");
    if (!cli) {
        fprintf(stderr, "JP_CLI is not set: run under ctest\n");
        return -1;
    }
    empty_root = ft_mkroot("empty");
    char *t = ft_mkroot("cli");
    snprintf(tmpdir, sizeof tmpdir, "%s", t);
    free(t);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ft_rmroot(empty_root);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    /* the commands the tests measure */
    if (argc == 4 && !strcmp(argv[1], "--deposit")) return deposit_main(atol(argv[2]), atol(argv[3]));
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return 1;
    self[n] = '\0';
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_estimate_and_attribution),
        cmocka_unit_test(test_model_sleep_is_idle),
        cmocka_unit_test(test_stat_on_fake_powercap),
        cmocka_unit_test(test_record_timeline),
        cmocka_unit_test(test_record_failure_leaves_no_file),
        cmocka_unit_test(test_exit_status_and_errors),
        cmocka_unit_test(test_csv_and_human_output),
        cmocka_unit_test(test_output_to_fifo),
        cmocka_unit_test(test_sources_explains),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
