/* Shared pieces of the jouleprint subcommands. */
#ifndef JP_CLI_H
#define JP_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "jouleprint.h"

struct jp_spec;
struct jp_bench_options;
struct jp_bench_run;

/* Exit codes of jouleprint itself (a measured command's own status is passed through). */
#define CLI_EXIT_FAIL 1   /* a measurement or I/O failure */
#define CLI_EXIT_USAGE 2  /* bad options */
#define CLI_EXIT_NOEXEC 127 /* the command could not be started (as in shells) */

/* Set (to "1") beside OMP_THREAD_LIMIT when the tool set that limit itself (cli/main.c). */
#define CLI_OMP_MARK "JP_OMP_LIMITED"

int cmd_sources(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_bench(int argc, char **argv);    /* cli/bench.c */
int cmd_study(int argc, char **argv);    /* cli/study.c */
/* Runs a validated spec with progress on stderr and Ctrl-C keeping what finished, in workdir (NULL:
 * a temporary folder, removed after), and stores it in db_path (NULL: not stored). Returns 0, or
 * CLI_EXIT_FAIL with a message printed (run->tasks is NULL when nothing was measured). */
int cli_bench_session(const char *cmd, const struct jp_spec *spec, struct jp_bench_options *o, const char *db_path,
                      const char *workdir, struct jp_bench_run *run);
/* Progress of a bench session as the tool shows it (cli/progress.c): cli_bench_progress is the
 * drawing half of the jp_bench_options.on_event callback (it ignores JP_BENCH_MODEL_END), with a
 * struct cli_progress as its argument. */
struct cli_progress {
    FILE *out;
    bool tty;         /* redraw one line with a bar, else a line per finished pass */
    double last_draw; /* monotonic seconds of the last redraw */
};
struct jp_bench_event;
void cli_progress_init(struct cli_progress *p, FILE *out);
void cli_bench_progress(const struct jp_bench_event *ev, void *arg);
/* The exit status a finished session deserves: 0, 4 (a model failed) or 130 (interrupted). */
int cli_bench_status(const struct jp_bench_run *run);
int cmd_ocr(int argc, char **argv);      /* cli/ocr.c */
int cmd_ocr_data(int argc, char **argv); /* cli/ocr_data.c */
int cmd_carbon(int argc, char **argv);  /* cli/carbon.c */
int cmd_regions(int argc, char **argv); /* cli/regions.c */
int cmd_plan(int argc, char **argv);    /* cli/plan.c */
int cmd_classify(int argc, char **argv); /* cli/classify.c */
int cmd_serve(int argc, char **argv);    /* cli/serve.c */
int cmd_generate(int argc, char **argv); /* cli/generate.c */
int cmd_summarize(int argc, char **argv); /* cli/summarize.c */

/* Carbon option parsers shared by every command (cli/carbon.c): each returns 0, or -1 with a message
 * printed. --year Y; --intensity G (gCO2e/kWh); --pue P (number or gcp, aws, azure; src
 * gets where the figure comes from). */
int cli_parse_year(const char *cmd, const char *arg, int *year);
/* --provider P: "gcp", "aws", "azure", "country" or "us-state" (and their other spellings); NULL with an
 * error printed for anything else. */
const char *cli_provider_name(const char *cmd, const char *arg);
int cli_parse_intensity(const char *cmd, const char *arg, double *g);
int cli_parse_pue(const char *cmd, const char *arg, double *pue, char *src, size_t len);
/* The carbon option group of every command that turns energy into carbon (stat, serve, bench, study,
 * classify, ocr, summarize, generate): one table, one help text, one parser, one resolve.
 * --region R, --year Y, --intensity G, --intensity-file F, --pue P. */
struct cli_carbon_opts {
    const char *region;   /* NULL: $JP_REGION, else the world average (jp_intensity_resolve) */
    jp_intensity_query q; /* --year, --intensity, --intensity-file */
    double pue;           /* 1.0 unless asked */
    char pue_src[160];    /* where the PUE comes from ("" when not asked) */
};
#define CLI_CARBON_LONGOPTS                                                                         \
    {"region", required_argument, NULL, 1100}, {"year", required_argument, NULL, 1101},            \
    {"intensity", required_argument, NULL, 1102}, {"intensity-file", required_argument, NULL, 1103}, \
    {"pue", required_argument, NULL, 1104}
#define CLI_CARBON_HELP                                                                             \
    "  --region R         carbon region (default: $JP_REGION, else the world average); see\n"        \
    "                     `jouleprint regions`\n"                                                    \
    "  --year Y           the region's figure for year Y (default: its latest)\n"                    \
    "  --intensity G      use G gCO2e/kWh instead of the built-in figure\n"                          \
    "  --intensity-file F a CSV of your own (region,g_per_kwh[,year][,source]), consulted first\n"   \
    "  --pue P            data centre PUE: a number (1.2) or gcp, aws, azure (default 1.0)\n"
void cli_carbon_opts_init(struct cli_carbon_opts *o);
/* 1 if opt was one of the group (consumed), 0 if not, -1 on a bad value (message printed). */
int cli_carbon_option(const char *cmd, struct cli_carbon_opts *o, int opt, const char *arg);
/* The intensity the options name, resolved once: 0, or -1 with a message printed. */
int cli_carbon_resolve(const char *cmd, const struct cli_carbon_opts *o, jp_intensity *out);
/* What a carbon figure rests on, for a report line: "gcp:us-east4: 323.0 gCO2e/kWh, <source>; PUE 1.0"
 * (with the PUE's source when one was asked). */
void cli_carbon_basis(char *buf, size_t len, const jp_intensity *ci, const struct cli_carbon_opts *o);
/* The intensity and PUE as JSON keys of obj (a json_t object): region, region_name,
 * intensity_g_per_kwh, intensity_source, intensity_year (null: the figure has no year), pue,
 * pue_source. */
struct json_t;
void cli_carbon_json(struct json_t *obj, const jp_intensity *ci, const struct cli_carbon_opts *o);
/* Prints s padded to width terminal columns (UTF-8 aware); the columns s takes. */
void cli_pad(FILE *out, const char *s, int width);
int cli_text_width(const char *s);
/* An intensity as published, at most 2 decimals: "448", "97.85". */
void cli_format_intensity(double g_per_kwh, char *buf, size_t len);

/* getopt_long for a subcommand: a mistyped option or one missing its value gets one line,
 * "jouleprint <cmd>: unknown option '--repat' (did you mean --repeat?); see jouleprint <cmd> --help",
 * and '?' is returned (the caller exits with CLI_EXIT_USAGE, printing nothing more). */
struct option;
int cli_getopt(const char *cmd, int argc, char **argv, const char *shortopts, const struct option *longopts);
/* The candidate closest to word by edit distance when it is close enough to be a slip (at most 2
 * edits, and fewer than half of word's letters), else NULL. */
const char *cli_closest(const char *word, const char *const *candidates, size_t n);
/* Finds the model zoo and the data folder beside the executable and makes them the workloads'
 * defaults (cli/dirs.c). */
void cli_set_default_dirs(void);

/* Prints "jouleprint <cmd>: <message>" to stderr. */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* snprintf into buf; 0, or -1 with a message printed when the text (a path) does not fit. */
int cli_pathf(const char *cmd, char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Runs argv as a child (jp_spawn_run); waits for it with the parent ignoring SIGINT/SIGQUIT meanwhile
 * (the child gets them). stdout_to_stderr: the command's stdout goes to stderr, for when the tool's
 * report goes to stdout (-o -, --export-json -) and stdout must carry the report alone. *status is the
 * shell-style exit status (128+signal when killed), *cpu_s the child tree's CPU time (user+system,
 * including waited-for descendants). deferred: a meter started with jp_meter_start_deferred, whose
 * sampling thread is started if the command outlives the meter's first interval (none for a short
 * command), or NULL. Returns 0, or -1 with a message printed when the command cannot be started, or -2
 * with a message printed when it ran but the meter's sampling thread could not be started. */
int cli_run(const char *cmd, char **argv, bool stdout_to_stderr, jp_meter *deferred, int *status, double *cpu_s);

/* Options shared by the measuring subcommands. Returns 1 if opt was one of them (consumed),
 * 0 if not, -1 on a bad value (message printed). */
struct cli_meter_opts {
    jp_meter_config cfg;
    double baseline_s;
};
void cli_meter_opts_init(struct cli_meter_opts *o);
int cli_meter_option(const char *cmd, struct cli_meter_opts *o, int opt, const char *arg);
/* The long options for the above, to append to a getopt table; values >= 1000. */
#define CLI_METER_LONGOPTS                                                                          \
    {"interval", required_argument, NULL, 1000}, {"source", required_argument, NULL, 1001},          \
    {"cpu-idle-w", required_argument, NULL, 1002}, {"cpu-max-w", required_argument, NULL, 1003},     \
    {"ram-w-per-gb", required_argument, NULL, 1004}, {"ram-gb", required_argument, NULL, 1005},      \
    {"curve", required_argument, NULL, 1006}, {"baseline", required_argument, NULL, 1007}
#define CLI_METER_HELP                                                                              \
    "  --interval DUR     sampling interval (1ms .. 1h; default 100ms; shortened automatically\n"      \
    "                     when a counter could wrap between two samples)\n"                          \
    "  --source NAME      use this energy source only (see `jouleprint sources`)\n"                 \
    "  --baseline DUR     measure idle power for DUR first; report energy above it too\n"           \
    "  --cpu-idle-w W, --cpu-max-w W, --curve K, --ram-w-per-gb W, --ram-gb GB\n"                   \
    "                     override the power model's parameters (used where no counter exists)\n"

/* The human report's lines on the power model, when m used it (its figures, their basis, and that
 * they are an estimate); nothing otherwise. */
void cli_print_model(FILE *out, const jp_meter *m);

/* The power model's parameters as a JSON object (cpu_idle_w, cpu_max_w, curve, ram_w_per_gb, ram_gb,
 * basis), or JSON null when m did not use the model. The json_t is jansson's. */
struct json_t;
struct json_t *cli_model_json(const jp_meter *m);

/* An output of a command (cli/common.c). A regular file is written to a temporary name beside it and
 * renamed over the path only once it is whole and flushed to disk, so that a full disk or a kill leaves
 * the old file (or none), never a cut one (a symbolic link is followed: the file it names is replaced). The caller owns the struct (one per output, usually on its
 * stack): nothing about open outputs is kept anywhere else. */
struct cli_out {
    FILE *f;        /* what to write to; NULL once closed or discarded */
    char tmp[4200]; /* the temporary file renamed over the path on close; "" when written in place
                       (stdout, a device, a FIFO) */
    char dest[4200]; /* what it is renamed to: the path, or the file a symbolic link there names */
};
/* Opens path for writing ("-" = stdout) into *o; returns o->f, or NULL with a message printed. */
FILE *cli_open_out(const char *cmd, const char *path, struct cli_out *o);
/* Closes what cli_open_out opened (stdout: flushed); returns 0, or -1 with a message if the write failed
 * (the temporary file removed, nothing written at path). */
int cli_close_out(const char *cmd, struct cli_out *o, const char *path);
/* Drops what cli_open_out opened without writing it (its temporary file removed); nothing if it was
 * closed already. */
void cli_discard_out(struct cli_out *o);

#endif
