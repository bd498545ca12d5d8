/* generate_speed: the text-to-image engine (jp_generate_run: the UNet of src/nn/unet.c, the DDIM sampler
 * of src/workload/generate.c) against PyTorch on the zoo's generation models, in one run.
 *
 * For each model, batch size (1 and 16 by default) and thread count (1 and 2 by default): the same
 * weights (the model's model.safetensors), the same sampler settings (20 DDIM steps, guidance 5: two
 * network evaluations a step), a whole batch of images per sample, fixed noise on each side (the
 * engine's from its seed, PyTorch's from torch.manual_seed). The two sides run in interleaved windows
 * of S seconds, engine then PyTorch, R rounds (default 5), so that the load of the machine falls on
 * both alike; reported are the median images/s of each side with the spread (lowest-highest window),
 * the ratio of the medians and the median of the per-round ratios, the machine, and the load average
 * before and after. PyTorch (bench/generate_speed_torch.py, run by /usr/bin/python3) is kept alive for
 * all the rounds of a setting, traced, frozen and optimized for inference, in inference_mode, on T
 * threads with OPENBLAS_NUM_THREADS = OMP_NUM_THREADS = T. The engine's windows count its sampling time
 * only (infer_s, not the load of the weights), PyTorch's its sampling loop only.
 *
 *     generate_speed [--model NAME]... [--batch B]... [--threads T]... [--rounds R] [--seconds S]
 *                    [--steps N] [--guidance G] [--models-dir D] [--python PATH]
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jouleprint.h"
#include "jouleprint/workloads.h"
#include "nn/blas.h"
#include "util.h"

#include "bench_util.h"

#define MAX_ROUNDS 32

/* One engine window: whole batches until S seconds of sampling; images/s, or -1. */
static double engine_window(const char *dir, int batch, int threads, int steps, double guidance, double seconds)
{
    const char *prompts[JP_GENERATE_MAX_PROMPTS];
    for (int i = 0; i < batch; i++) prompts[i] = jp_classify_label_name(i % 10);
    double infer = 0;
    long images = 0;
    while (infer < seconds) {
        jp_generate_config c;
        jp_generate_config_init(&c);
        c.model = dir;
        c.prompts = prompts;
        c.nprompts = batch;
        c.n = 1;
        c.steps = steps;
        c.guidance = guidance;
        c.seed = 1;
        c.batch = batch;
        c.threads = threads;
        jp_generate_result r;
        if (jp_generate_run(&c, NULL, &r) != JP_OK) {
            fprintf(stderr, "%s: %s\n", dir, jp_last_error());
            return -1;
        }
        infer += r.infer_s;
        images += r.n;
        jp_generate_result_free(&r);
    }
    return images / infer;
}

int main(int argc, char **argv)
{
    int nmodels = 0, nbatch = 0, nthreads = 0, batches[8], threads_list[8], rounds = 5, steps = 20;
    double seconds = 2.0, guidance = 5.0;
    const char *models_dir = NULL, *python = "/usr/bin/python3", *only[8];
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc && nmodels < 8) only[nmodels++] = argv[++i];
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc && nbatch < 8) batches[nbatch++] = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc && nthreads < 8) threads_list[nthreads++] = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--guidance") && i + 1 < argc) guidance = atof(argv[++i]);
        else if (!strcmp(argv[i], "--models-dir") && i + 1 < argc) models_dir = argv[++i];
        else if (!strcmp(argv[i], "--python") && i + 1 < argc) python = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--model NAME]... [--batch B]... [--threads T]... [--rounds R] [--seconds S] "
                            "[--steps N] [--guidance G] [--models-dir D] [--python PATH]\n", argv[0]);
            return 2;
        }
    }
    if (!nmodels) {
        only[nmodels++] = "gen-s";
        only[nmodels++] = "gen-m";
    }
    bench_default_settings(batches, &nbatch, 16, threads_list, &nthreads);
    for (int i = 0; i < nbatch; i++)
        if (batches[i] < 1 || batches[i] > JP_GENERATE_MAX_PROMPTS) return fprintf(stderr, "--batch: 1..%d\n", JP_GENERATE_MAX_PROMPTS), 2;
    for (int i = 0; i < nthreads; i++)
        if (threads_list[i] < 1 || threads_list[i] > 64) return fprintf(stderr, "--threads: 1..64\n"), 2;
    if (rounds < 1 || rounds > MAX_ROUNDS || seconds <= 0 || seconds > 600 || steps < 1 || guidance < 0)
        return fprintf(stderr, "--rounds 1..%d, --seconds (0, 600], --steps >= 1, --guidance >= 0\n", MAX_ROUNDS), 2;
    signal(SIGPIPE, SIG_IGN);

    char zoo[PATH_MAX], script[PATH_MAX + 64];
    if (jp_classify_models_dir(models_dir, zoo, sizeof zoo) != JP_OK) {
        fprintf(stderr, "%s\n", jp_last_error());
        return 1;
    }
    snprintf(script, sizeof script, "%s/../bench/generate_speed_torch.py", zoo);
    if (access(script, R_OK) != 0) {
        fprintf(stderr, "%s not found\n", script);
        return 1;
    }
    char blas[512], cpu[256] = "?", load0[128], load1[128];
    jp_nn_blas_describe(blas, sizeof blas);
    jp_host_info host; /* the CPU's name, as the library reads it (JP_PROC_ROOT honoured) */
    if (jp_host_read(&host) == JP_OK && host.brand[0]) jp_strlcpy(cpu, host.brand, sizeof cpu);
    bench_loadavg(load0, sizeof load0);
    printf("CPU: %s, %ld online CPUs\nBLAS (engine): %s\nload average at the start: %s\n", cpu,
           sysconf(_SC_NPROCESSORS_ONLN), blas, load0);
    printf("%d DDIM steps, guidance %g (%d network evaluations per image); %d rounds of %.1f s windows, engine "
           "then PyTorch\n\n", steps, guidance, guidance == 1.0 ? steps : 2 * steps, rounds, seconds);
    fflush(stdout);

    struct row {
        char model[64];
        int batch, threads;
        double jp[MAX_ROUNDS], pt[MAX_ROUNDS];
        int ok;
    } rows[64];
    int nr = 0;
    for (int mi = 0; mi < nmodels; mi++) {
        jp_generate_model_info info;
        if (jp_generate_find(zoo, only[mi], &info) != JP_OK) {
            fprintf(stderr, "%s\n", jp_last_error());
            return 1;
        }
        for (int ti = 0; ti < nthreads; ti++)
            for (int bi = 0; bi < nbatch && nr < 64; bi++) {
                struct row *r = &rows[nr++];
                memset(r, 0, sizeof *r);
                jp_strlcpy(r->model, info.name, sizeof r->model);
                r->batch = batches[bi];
                r->threads = threads_list[ti];
                char b[16], t[16], st[16], g[32];
                snprintf(b, sizeof b, "%d", r->batch);
                snprintf(t, sizeof t, "%d", r->threads);
                snprintf(st, sizeof st, "%d", steps);
                snprintf(g, sizeof g, "%g", guidance);
                const char *argv_torch[] = {python, script, "--model-dir", info.dir, "--batch", b, "--threads", t,
                                            "--steps", st, "--guidance", g, NULL};
                struct bench_child tc;
                if (bench_child_start(&tc, argv_torch, r->threads)) {
                    fprintf(stderr, "%s: PyTorch did not start\n", info.name);
                    bench_child_stop(&tc);
                    continue;
                }
                if (nr == 1) printf("PyTorch: %s\n\n", tc.how);
                /* warm-up of the engine (one sample), then the rounds */
                if (engine_window(info.dir, r->batch, r->threads, steps, guidance, 1e-9) < 0) {
                    bench_child_stop(&tc);
                    continue;
                }
                r->ok = 1;
                for (int k = 0; k < rounds && r->ok; k++) {
                    r->jp[k] = engine_window(info.dir, r->batch, r->threads, steps, guidance, seconds);
                    r->pt[k] = bench_child_window(&tc, seconds);
                    if (r->jp[k] <= 0 || r->pt[k] <= 0) r->ok = 0;
                }
                bench_child_stop(&tc);
                if (!r->ok) {
                    fprintf(stderr, "%s batch %d threads %d: a window failed\n", r->model, r->batch, r->threads);
                    continue;
                }
                double ratio[MAX_ROUNDS], jl, jh, pl, ph;
                for (int k = 0; k < rounds; k++) ratio[k] = r->jp[k] / r->pt[k];
                bench_spread(r->jp, rounds, &jl, &jh);
                bench_spread(r->pt, rounds, &pl, &ph);
                double jm = bench_median(r->jp, rounds), pm = bench_median(r->pt, rounds);
                printf("%-6s batch %-3d threads %d  engine %8.2f img/s (%.2f-%.2f)  PyTorch %8.2f img/s (%.2f-%.2f)  "
                       "ratio %.2fx (per-round median %.2fx)\n",
                       r->model, r->batch, r->threads, jm, jl, jh, pm, pl, ph, jm / pm, bench_median(ratio, rounds));
                fflush(stdout);
            }
    }
    bench_loadavg(load1, sizeof load1);
    printf("\nload average at the end: %s\n\n", load1);
    printf("| model | batch | threads | engine img/s (median, spread) | PyTorch img/s (median, spread) | ratio | "
           "per-round ratio (median) |\n|---|---:|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < nr; i++) {
        struct row *r = &rows[i];
        if (!r->ok) continue;
        double ratio[MAX_ROUNDS], jl, jh, pl, ph;
        for (int k = 0; k < rounds; k++) ratio[k] = r->jp[k] / r->pt[k];
        bench_spread(r->jp, rounds, &jl, &jh);
        bench_spread(r->pt, rounds, &pl, &ph);
        double jm = bench_median(r->jp, rounds), pm = bench_median(r->pt, rounds);
        printf("| %s | %d | %d | %.2f (%.2f-%.2f) | %.2f (%.2f-%.2f) | %.2fx | %.2fx |\n", r->model, r->batch, r->threads,
               jm, jl, jh, pm, pl, ph, jm / pm, bench_median(ratio, rounds));
    }
    return 0;
}
