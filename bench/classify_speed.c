/* classify_speed: the inference engine against PyTorch on every model of the zoo, in one run.
 *
 * For each model and each batch size (1 and 64 by default), on T threads (default 2): jouleprint's
 * engine (jp_nn_forward on pre-normalized images) and PyTorch (bench/classify_speed_torch.py, same
 * weights, same images, eval mode, inference_mode, torch.set_num_threads(T)) each run batches for S
 * seconds after a warm-up, with the meter running over exactly the timed loop. Reported: images per
 * second, achieved GFLOP/s and its share of the machine's measured sgemm peak on T threads, and energy
 * per image from the meter (on a machine without counters, the power model's whole-machine estimate,
 * the same method for both engines). Ends with a Markdown table for BENCHMARKS.md.
 *
 *     classify_speed [--threads T] [--seconds S] [--batch B]... [--model NAME]... [--models-dir D]
 *                    [--python PATH] [--no-torch]
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jouleprint.h"
#include "nn/blas.h"
#include "nn/nn.h"
#include "nn/ops.h"
#include "util.h"
#include "workload/classify.h"

struct figure {
    double ips, j_per_image, gflops;
    int ok;
};

static jp_meter *meter;

static int meter_begin(void) { return jp_meter_start(meter); }
static double meter_end(void)
{
    jp_meter_stop(meter);
    return jp_meter_joules(meter, JP_TOTAL);
}

static struct figure run_engine(const char *dir, int batch, int threads, double seconds, const float *images, int n_all,
                                double flops)
{
    struct figure f = {0};
    jp_nn_model *m;
    if (jp_nn_load(&m, dir, batch, threads) != JP_OK) {
        fprintf(stderr, "%s: %s\n", dir, jp_last_error());
        return f;
    }
    float *logits = malloc((size_t)batch * 10 * sizeof *logits);
    int nb = n_all / batch;
    /* warm-up */
    double t0 = jp_now();
    for (int k = 0; jp_now() - t0 < 0.5; k++) jp_nn_forward(m, images + (size_t)(k % nb) * batch * 784, batch, logits);
    long done = 0;
    meter_begin();
    t0 = jp_now();
    double el;
    for (int k = 0;; k++) {
        jp_nn_forward(m, images + (size_t)(k % nb) * batch * 784, batch, logits);
        done += batch;
        if ((el = jp_now() - t0) >= seconds) break;
    }
    double j = meter_end();
    f.ips = done / el;
    f.j_per_image = j / done;
    f.gflops = flops * f.ips / 1e9;
    f.ok = 1;
    free(logits);
    jp_nn_free(m);
    return f;
}

static struct figure run_torch(const char *python, const char *script, const char *dir, int batch, int threads,
                               double seconds, double flops)
{
    struct figure f = {0};
    int to_child[2], from_child[2];
    if (pipe(to_child) || pipe(from_child)) return f;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(to_child[0], 0);
        dup2(from_child[1], 1);
        close(to_child[1]);
        close(from_child[0]);
        char b[16], t[16], s[32];
        snprintf(b, sizeof b, "%d", batch);
        snprintf(t, sizeof t, "%d", threads);
        snprintf(s, sizeof s, "%g", seconds);
        execl(python, python, script, "--model-dir", dir, "--batch", b, "--threads", t, "--seconds", s, (char *)NULL);
        fprintf(stderr, "%s: %s\n", python, strerror(errno));
        _exit(127);
    }
    close(to_child[0]);
    close(from_child[1]);
    FILE *in = fdopen(from_child[0], "r");
    char line[256];
    long images = 0;
    double secs = 0;
    int started = 0;
    while (in && fgets(line, sizeof line, in)) {
        if (!strncmp(line, "READY", 5)) {
            meter_begin();
            started = 1;
            if (write(to_child[1], "GO\n", 3) != 3) break;
        } else if (!strncmp(line, "DONE", 4)) {
            double j = meter_end();
            started = 0;
            if (sscanf(line + 4, "%ld %lf", &images, &secs) == 2 && images > 0 && secs > 0) {
                f.ips = images / secs;
                f.j_per_image = j / images;
                f.gflops = flops * f.ips / 1e9;
                f.ok = 1;
            }
        }
    }
    if (started) meter_end();
    if (in) fclose(in);
    close(to_child[1]);
    int ws;
    waitpid(pid, &ws, 0);
    return f;
}

int main(int argc, char **argv)
{
    int threads = 2, nbatch = 0, batches[8], nmodels = 0, torch = 1;
    double seconds = 3.0;
    const char *models_dir = NULL, *python = "/usr/bin/python3", *only[32];
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc && nbatch < 8) batches[nbatch++] = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--model") && i + 1 < argc && nmodels < 32) only[nmodels++] = argv[++i];
        else if (!strcmp(argv[i], "--models-dir") && i + 1 < argc) models_dir = argv[++i];
        else if (!strcmp(argv[i], "--python") && i + 1 < argc) python = argv[++i];
        else if (!strcmp(argv[i], "--no-torch")) torch = 0;
        else {
            fprintf(stderr, "usage: %s [--threads T] [--seconds S] [--batch B]... [--model NAME]... [--models-dir D] "
                            "[--python PATH] [--no-torch]\n", argv[0]);
            return 2;
        }
    }
    if (!nbatch) {
        batches[nbatch++] = 1;
        batches[nbatch++] = 64;
    }
    if (threads < 1 || threads > 64 || seconds <= 0) return 2;
    signal(SIGPIPE, SIG_IGN);

    char zoo[PATH_MAX], script[PATH_MAX + 64];
    if (jp_classify_models_dir(models_dir, zoo, sizeof zoo) != JP_OK) {
        fprintf(stderr, "%s\n", jp_last_error());
        return 1;
    }
    snprintf(script, sizeof script, "%s/../bench/classify_speed_torch.py", zoo);
    if (torch && access(script, R_OK) != 0) {
        fprintf(stderr, "%s not found: running without PyTorch\n", script);
        torch = 0;
    }
    jp_classify_model_info z[32];
    int nz = jp_classify_list(zoo, z, 32);
    if (nz <= 0) {
        fprintf(stderr, "no models in %s\n", zoo);
        return 1;
    }
    jp_idx_images data;
    if (jp_fashion_mnist_read(NULL, true, &data) != JP_OK) {
        fprintf(stderr, "%s\n", jp_last_error());
        return 1;
    }
    jp_meter_config mc;
    jp_meter_config_init(&mc);
    mc.interval_s = 0.05;
    if (jp_meter_open(&meter, &mc) != JP_OK) {
        fprintf(stderr, "%s\n", jp_last_error());
        return 1;
    }

    char blas[512], cpu[256] = "?";
    jp_nn_blas_describe(blas, sizeof blas);
    jp_host_info host; /* the CPU's name, as the library reads it (JP_PROC_ROOT honoured) */
    if (jp_host_read(&host) == JP_OK && host.brand[0]) jp_strlcpy(cpu, host.brand, sizeof cpu);
    double peak1 = jp_nn_sgemm_gflops(1, 1536, 5), peakT = jp_nn_sgemm_gflops(threads, 1536, 5);
    printf("CPU: %s, %ld online CPUs\nBLAS: %s\n", cpu, sysconf(_SC_NPROCESSORS_ONLN), blas);
    printf("sgemm peak (1536^3, best of 5): %.1f GFLOP/s on 1 thread, %.1f GFLOP/s on %d threads\n", peak1, peakT, threads);
    printf("energy: %s%s\n", jp_meter_domain_count(meter) ? jp_meter_domain_source(meter, 0) : "?",
           jp_meter_estimated(meter) ? " (estimates from the power model: no counter can be read here)" : "");
    printf("%d threads, %.1f s timed per engine and setting, after a 0.5 s warm-up\n\n", threads, seconds);

    /* pre-normalized images, as the PyTorch side has them */
    size_t px = (size_t)data.n * 784;
    float *images = malloc(px * sizeof *images);
    for (size_t i = 0; i < px; i++) images[i] = ((float)data.pixels[i] / 255.0f - 0.2860f) / 0.3530f;

    struct row {
        const char *name;
        double flops;
        int batch;
        struct figure jp, pt;
    } rows[64];
    int nr = 0;
    for (int i = 0; i < nz; i++) {
        int want = !nmodels;
        for (int k = 0; k < nmodels; k++) want |= !strcmp(only[k], z[i].name);
        if (!want) continue;
        for (int b = 0; b < nbatch && nr < 64; b++) {
            struct row *r = &rows[nr++];
            r->name = z[i].name;
            r->flops = z[i].flops;
            r->batch = batches[b];
            r->jp = run_engine(z[i].dir, batches[b], threads, seconds, images, data.n, z[i].flops);
            if (torch) r->pt = run_torch(python, script, z[i].dir, batches[b], threads, seconds, z[i].flops);
            printf("%-9s batch %-3d  jouleprint %9.1f img/s %7.2f GFLOP/s %9.3f mJ/img   PyTorch %9.1f img/s %7.2f "
                   "GFLOP/s %9.3f mJ/img   speed-up %.2fx\n",
                   r->name, r->batch, r->jp.ips, r->jp.gflops, r->jp.j_per_image * 1e3, r->pt.ips, r->pt.gflops,
                   r->pt.j_per_image * 1e3, r->pt.ips > 0 ? r->jp.ips / r->pt.ips : 0);
            fflush(stdout);
        }
    }
    printf("\n| model | MFLOPs/image | batch | jouleprint img/s | GFLOP/s (%% of %d-thread peak) | mJ/image (est.) | "
           "PyTorch img/s | GFLOP/s | mJ/image (est.) | speed-up |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
           threads);
    for (int i = 0; i < nr; i++) {
        struct row *r = &rows[i];
        printf("| %s | %.2f | %d | %.0f | %.2f (%.0f%%) | %.3f | %.0f | %.2f | %.3f | %.2fx |\n", r->name, r->flops / 1e6,
               r->batch, r->jp.ips, r->jp.gflops, peakT > 0 ? 100 * r->jp.gflops / peakT : 0, r->jp.j_per_image * 1e3,
               r->pt.ips, r->pt.gflops, r->pt.j_per_image * 1e3, r->pt.ips > 0 ? r->jp.ips / r->pt.ips : 0);
    }
    free(images);
    jp_idx_free(&data);
    jp_meter_close(meter);
    return 0;
}
