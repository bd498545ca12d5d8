/* How `jouleprint bench` and `study` show a run's progress: one redrawn line with a bar on a terminal,
 * a line per finished pass otherwise, and the runner's notes, all on stderr. The runner reports
 * (jp_bench_options.on_event); this draws. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "jouleprint/bench.h"

void cli_progress_init(struct cli_progress *p, FILE *out)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->tty = out && isatty(fileno(out));
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void fmt_clock(double s, char *buf, size_t len)
{
    if (!(s >= 0) || s > 359999) s = 0;
    snprintf(buf, len, "%d:%02d", (int)s / 60, (int)s % 60);
}

void cli_bench_progress(const struct jp_bench_event *ev, void *arg)
{
    struct cli_progress *p = arg;
    if (!p || !p->out || ev->kind == JP_BENCH_MODEL_END) return;
    if (ev->kind == JP_BENCH_NOTE) {
        fprintf(p->out, "bench: %s\n", ev->text);
        fflush(p->out);
        return;
    }
    bool final = ev->kind == JP_BENCH_PASS_END;
    double now = now_s();
    if (!final && now - p->last_draw < 0.2) return; /* a redraw at most every 0.2 s */
    p->last_draw = final ? 0 : now;
    char e[16], left[16] = "?";
    fmt_clock(ev->elapsed_s, e, sizeof e);
    if (ev->done > 0 && ev->done < ev->total)
        fmt_clock(ev->elapsed_s / (double)ev->done * (double)(ev->total - ev->done), left, sizeof left);
    if (final) snprintf(left, sizeof left, "0:00");
    if (p->tty) {
        long done = ev->done > ev->total ? ev->total : ev->done;
        int width = 24, fill = ev->total > 0 ? (int)((double)width * (double)done / (double)ev->total) : 0;
        char bar[64];
        for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
        bar[width] = '\0';
        fprintf(p->out, "\r\033[K%s / %-14.14s %-9s [%s] %ld/%ld items  %s elapsed  ~%s left", ev->task, ev->model,
                ev->pass, bar, ev->done, ev->total, e, left);
        if (final) fputc('\n', p->out);
        fflush(p->out);
    } else if (final) {
        fprintf(p->out, "bench: %s / %s: %s: %ld items in %s\n", ev->task, ev->model, ev->pass, ev->done, e);
        fflush(p->out);
    }
}
