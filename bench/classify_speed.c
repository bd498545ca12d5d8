/* classify_speed: the classification engine (jp_nn_forward, src/nn/) against PyTorch on the zoo's
 * classifiers (models/mlp, cnn, vit, resnet-s, resnet-m), measured so that a skeptic can check it.
 *
 * For each model, batch size (1 and 64 by default) and thread count (1 and 2 by default), both sides
 * get the same weights (the model's model.safetensors) and the very same images: the Fashion-MNIST test
 * set, normalized here once and handed to PyTorch as a float32 file, run in order in whole batches,
 * cycling. The two sides run in interleaved windows of S seconds (default 1), engine then PyTorch, R
 * rounds (default 5), after one warm-up window each, so that the load of the machine falls on both
 * alike; each window starts after GAP_S of quiet, so that the other side's threads, which spin a while
 * after their last task (OpenBLAS's for about 0.1 s), have gone to sleep before it. Reported per
 * setting: the median images/s of each side with the lowest and highest window, the ratio of the
 * medians, the median of the per-round ratios, and the engine's GFLOP/s (the model card's FLOPs per
 * image times its median images/s) with its share of the FMA peak and of the sgemm peak measured on as
 * many threads. The engine's model is loaded before its windows; they time jp_nn_forward only.
 *
 * PyTorch (bench/classify_speed_torch.py, run by Debian's /usr/bin/python3) is one child per setting,
 * kept alive for all its windows and driven over pipes (bench_util.h): traced, frozen and optimized for
 * inference, channels_last for the convolutional nets, in inference_mode, on T threads with
 * OPENBLAS_NUM_THREADS = OMP_NUM_THREADS = MKL_NUM_THREADS = T set before torch is imported; it checks
 * the traced module against eager mode (the largest difference is printed) and runs untimed batches
 * before it says READY.
 *
 * The machine comes first: the CPU (name, family/model/stepping, the flags that matter here), its cores,
 * OPENBLAS_CORETYPE (read, never set: it changes the kernels OpenBLAS picks, on both sides), OpenBLAS's
 * build and kernel, the cost of a page fault, the FMA peak (a loop of independent FMA chains held in
 * registers, AVX-512 or AVX2 as the CPU has, on 1 and T threads: what the arithmetic units can do) and
 * OpenBLAS's sgemm peak (what a tuned library reaches), and the load average before and after. With
 * --json FILE all of it, every window included, is also written as JSON, for BENCHMARKS.md.
 *
 *     classify_speed [--model NAME]... [--batch B]... [--threads T]... [--rounds R] [--seconds S]
 *                    [--models-dir D] [--python PATH] [--torch-memory-format F] [--no-torch] [--json FILE]
 */
#define _GNU_SOURCE /* MAP_ANONYMOUS, MADV_NOHUGEPAGE, pthread barriers */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "jouleprint.h"
#include "jouleprint/workloads.h"
#include "nn/blas.h"
#include "nn/nn.h"
#include "nn/ops.h"
#include "util.h"
#include "workload/classify.h"

#include "bench_util.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_X86 1
#endif

#define MAX_ROUNDS 32
#define MAX_THREADS 64
#define MAX_BATCH 4096
#define GAP_S 0.25       /* quiet before each window */
#define FMA_SECONDS 0.2  /* each FMA peak measurement */
#define SGEMM_SIZE 1536
#define PIXELS 784

static const char USAGE[] = "[--model NAME]... [--batch B]... [--threads T]... [--rounds R] [--seconds S] "
                            "[--models-dir D] [--python PATH] [--torch-memory-format auto|channels_last|contiguous] "
                            "[--no-torch] [--json FILE]";
static const char *const WITH_VALUE[] = {"--model", "--batch", "--threads", "--rounds", "--seconds", "--models-dir", "--python", "--json",
                                                    "--torch-memory-format", NULL};
static const char *prog = "classify_speed";

static _Noreturn void bad_usage(const char *what) { bench_bad_usage(prog, USAGE, what); }

/* ---- the machine ------------------------------------------------------------------------------- */

/* The machine as bench_util.h reads it, and what is measured here. */
struct machine {
    struct bench_machine b;
    double fault_cpu_us, fault_wall_us; /* per minor fault of a fresh 4 KiB page; 0 if unknown */
    const char *fma_isa;       /* the FMA loop's instructions, NULL if it cannot run here */
    double fma_peak[MAX_THREADS + 1], sgemm_peak[MAX_THREADS + 1]; /* GFLOP/s by thread count; 0: not measured */
};

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The cost of a page fault: first writes to fresh anonymous pages (huge pages declined, so that each
 * 4 KiB page is one fault), divided by the minor faults getrusage counted meanwhile; median of 3. It is
 * what the kernel charges a program that allocates as it goes, against one (as the engine) that
 * allocates at load. Both this thread's CPU time (the kernel's work, whatever else runs) and the
 * elapsed time (with a busy machine's waits) are kept. 0 if it cannot be measured. */
static void page_fault_us(double *cpu_us, double *wall_us)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), len = 16384 * page;
    double cpu[3], wall[3];
    *cpu_us = *wall_us = 0;
    for (int r = 0; r < 3; r++) {
        char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return;
        madvise(p, len, MADV_NOHUGEPAGE);
        struct rusage u0, u1;
        getrusage(RUSAGE_SELF, &u0);
        double t0 = jp_now(), c0 = thread_cpu_s();
        for (size_t i = 0; i < len; i += page) ((volatile char *)p)[i] = 1;
        double t1 = jp_now(), c1 = thread_cpu_s();
        getrusage(RUSAGE_SELF, &u1);
        munmap(p, len);
        long faults = u1.ru_minflt - u0.ru_minflt;
        if (faults <= 0) return;
        cpu[r] = (c1 - c0) * 1e6 / (double)faults;
        wall[r] = (t1 - t0) * 1e6 / (double)faults;
    }
    *cpu_us = bench_median(cpu, 3);
    *wall_us = bench_median(wall, 3);
}

/* The FMA peak. Twelve independent chains of vfmadd231ps (acc += x * y) held in registers: an FMA's
 * result is needed by the next of its chain only, and twelve in flight cover its latency (4 cycles) on
 * two FMA pipes, so the loop runs at the pipes' throughput. x and y come from volatile variables and
 * the sums end in a volatile sink, so that the compiler can neither fold the loop nor drop it; the
 * chains start from different values, so that it cannot merge them. Tiny products keep every value a
 * normal float (no denormal slow path). */
#define FMA_CHAINS 12
#define X12(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11)
#define FMA_CHUNK 65536L /* iterations per call: about 0.3 ms */

static volatile float fma_x = 1e-8f, fma_y = 1e-8f, fma_sink;
typedef double (*fma_fn)(long iters);

#ifdef HAVE_X86
__attribute__((target("avx512f"))) static double fma_avx512(long iters)
{
    const __m512 x = _mm512_set1_ps(fma_x), y = _mm512_set1_ps(fma_y);
#define DECL(i) __m512 a##i = _mm512_set1_ps((float)(i));
    X12(DECL)
#undef DECL
    for (long n = 0; n < iters; n++) {
#define STEP(i) a##i = _mm512_fmadd_ps(x, y, a##i);
        X12(STEP)
#undef STEP
    }
    __m512 s = _mm512_setzero_ps();
#define SUM(i) s = _mm512_add_ps(s, a##i);
    X12(SUM)
#undef SUM
    float lanes[16], t = 0;
    _mm512_storeu_ps(lanes, s);
    for (int i = 0; i < 16; i++) t += lanes[i];
    fma_sink = t;
    return (double)iters * FMA_CHAINS * 16 * 2;
}

__attribute__((target("avx2,fma"))) static double fma_avx2(long iters)
{
    const __m256 x = _mm256_set1_ps(fma_x), y = _mm256_set1_ps(fma_y);
#define DECL(i) __m256 a##i = _mm256_set1_ps((float)(i));
    X12(DECL)
#undef DECL
    for (long n = 0; n < iters; n++) {
#define STEP(i) a##i = _mm256_fmadd_ps(x, y, a##i);
        X12(STEP)
#undef STEP
    }
    __m256 s = _mm256_setzero_ps();
#define SUM(i) s = _mm256_add_ps(s, a##i);
    X12(SUM)
#undef SUM
    float lanes[8], t = 0;
    _mm256_storeu_ps(lanes, s);
    for (int i = 0; i < 8; i++) t += lanes[i];
    fma_sink = t;
    return (double)iters * FMA_CHAINS * 8 * 2;
}
#endif

/* The widest FMA loop this CPU runs (as the CPU and the kernel say: __builtin_cpu_supports also checks
 * that the OS saves the registers), or NULL. */
static fma_fn fma_pick(const char **isa)
{
#ifdef HAVE_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) {
        *isa = "avx512f (zmm)";
        return fma_avx512;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        *isa = "avx2+fma (ymm)";
        return fma_avx2;
    }
#endif
    *isa = NULL;
    return NULL;
}

struct fma_job {
    fma_fn fn;
    pthread_barrier_t *start;
    double flops, t0, t1;
};

static void *fma_thread(void *arg)
{
    struct fma_job *j = arg;
    pthread_barrier_wait(j->start);
    j->flops = 0;
    j->t0 = jp_now();
    do j->flops += j->fn(FMA_CHUNK);
    while ((j->t1 = jp_now()) - j->t0 < FMA_SECONDS);
    return NULL;
}

/* GFLOP/s of `threads` threads (one pthread each, released together) running the loop for about
 * FMA_SECONDS: all their FLOPs over the span from the first start to the last end; best of 3. */
static double fma_peak(fma_fn fn, int threads)
{
    double best = 0;
    for (int r = 0; r < 3; r++) {
        struct fma_job jobs[MAX_THREADS];
        pthread_t tid[MAX_THREADS];
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, (unsigned)threads);
        int n = 0;
        for (; n < threads; n++) {
            jobs[n] = (struct fma_job){fn, &start, 0, 0, 0};
            if (pthread_create(&tid[n], NULL, fma_thread, &jobs[n])) break;
        }
        if (n < threads) { /* the barrier would never open: give up (none of them has started) */
            fprintf(stderr, "fma peak: cannot start %d threads\n", threads);
            exit(1);
        }
        double flops = 0, t0 = 1e300, t1 = 0;
        for (int i = 0; i < n; i++) {
            pthread_join(tid[i], NULL);
            flops += jobs[i].flops;
            if (jobs[i].t0 < t0) t0 = jobs[i].t0;
            if (jobs[i].t1 > t1) t1 = jobs[i].t1;
        }
        pthread_barrier_destroy(&start);
        if (t1 > t0 && flops / (t1 - t0) / 1e9 > best) best = flops / (t1 - t0) / 1e9;
    }
    return best;
}

static void measure_machine(struct machine *m, const int *threads, int nthreads)
{
    memset(m, 0, sizeof *m);
    bench_machine_read(&m->b);

    /* Page faults and the FMA loop before OpenBLAS is loaded: its pool threads spin for a while when
     * they start, and would share the cores with these. */
    page_fault_us(&m->fault_cpu_us, &m->fault_wall_us);
    fma_fn fn = fma_pick(&m->fma_isa);
    if (fn) {
        m->fma_peak[1] = fma_peak(fn, 1);
        for (int i = 0; i < nthreads; i++)
            if (!m->fma_peak[threads[i]]) m->fma_peak[threads[i]] = fma_peak(fn, threads[i]);
    }
    jp_nn_blas_describe(m->b.blas, sizeof m->b.blas);
    m->sgemm_peak[1] = jp_nn_sgemm_gflops(1, SGEMM_SIZE, 3);
    for (int i = 0; i < nthreads; i++)
        if (!m->sgemm_peak[threads[i]]) m->sgemm_peak[threads[i]] = jp_nn_sgemm_gflops(threads[i], SGEMM_SIZE, 3);
    jp_nn_blas_threads(1); /* as the engine has it (jp_nn_load sets it again) */
}

static void print_machine(const struct machine *m, const int *threads, int nthreads)
{
    bench_machine_print(&m->b);
    if (m->fault_cpu_us > 0)
        printf("page fault: %.2f us of CPU (%.2f us elapsed) per fresh 4 KiB page\n", m->fault_cpu_us,
               m->fault_wall_us);
    else printf("page fault: not measured\n");
    printf("FMA peak (%s, %d chains, %.1f s, best of 3): %.1f GFLOP/s on 1 thread", m->fma_isa ? m->fma_isa : "none",
           FMA_CHAINS, FMA_SECONDS, m->fma_peak[1]);
    for (int i = 0; i < nthreads; i++)
        if (threads[i] != 1 && (i == 0 || threads[i] != threads[i - 1]))
            printf(", %.1f on %d", m->fma_peak[threads[i]], threads[i]);
    printf("\nsgemm peak (OpenBLAS, %d^3, best of 3): %.1f GFLOP/s on 1 thread", SGEMM_SIZE, m->sgemm_peak[1]);
    for (int i = 0; i < nthreads; i++)
        if (threads[i] != 1 && (i == 0 || threads[i] != threads[i - 1]))
            printf(", %.1f on %d", m->sgemm_peak[threads[i]], threads[i]);
    printf("\n");
}

/* ---- the settings ------------------------------------------------------------------------------ */

struct side {
    double warmup, w[MAX_ROUNDS]; /* images/s of the warm-up window and of each round; -1: failed */
    double median, lo, hi;
    int ok;
};

struct row {
    jp_classify_model_info info;
    int batch, threads;
    struct side jp, pt;
    char how[512];            /* PyTorch's configuration, or why it did not run */
    double ratio[MAX_ROUNDS]; /* engine / PyTorch per round */
    double ratio_median, gflops, pct_fma, pct_sgemm;
    char load0[128], load1[128];
};

static void summarize(struct side *s, int rounds)
{
    s->ok = 1;
    for (int k = 0; k < rounds; k++)
        if (!(s->w[k] > 0)) s->ok = 0;
    if (!s->ok) return;
    s->median = bench_median(s->w, rounds);
    bench_spread(s->w, rounds, &s->lo, &s->hi);
}

/* One engine window: whole batches, cycling through the images from *next on, until `seconds` have
 * passed; images/s, or -1. The same loop as the PyTorch side's. */
static double engine_window(jp_nn_model *m, const float *images, int nbatches, int batch, double seconds, long *next,
                            float *logits)
{
    long done = 0;
    double el, t0 = jp_now();
    do {
        if (jp_nn_forward(m, images + (size_t)(*next % nbatches) * batch * PIXELS, batch, logits) != JP_OK) {
            fprintf(stderr, "%s\n", jp_last_error());
            return -1;
        }
        ++*next;
        done += batch;
    } while ((el = jp_now() - t0) < seconds);
    return (double)done / el;
}

struct run {
    int rounds;
    double seconds;
    const char *python, *script, *images_path, *memory_format;
    const float *images;
    int nimages, torch;
};

static void run_setting(const struct run *u, const struct machine *mach, struct row *r)
{
    bench_loadavg(r->load0, sizeof r->load0);
    for (int k = 0; k < MAX_ROUNDS; k++) r->jp.w[k] = r->pt.w[k] = -1;
    r->jp.warmup = r->pt.warmup = -1;

    jp_nn_model *m = NULL;
    if (jp_nn_load(&m, r->info.dir, r->batch, r->threads) != JP_OK) {
        fprintf(stderr, "%s: %s\n", r->info.dir, jp_last_error());
        return;
    }
    jp_nn_info ni;
    jp_nn_info_get(m, &ni);
    float *logits = malloc((size_t)r->batch * (size_t)ni.num_labels * sizeof *logits);
    if (ni.channels * ni.height * ni.width != PIXELS || !logits) {
        fprintf(stderr, "%s: not a model of 28x28 grey images\n", r->info.dir);
        free(logits);
        jp_nn_free(m);
        return;
    }

    struct bench_child tc = {0};
    char b[16], t[16];
    snprintf(b, sizeof b, "%d", r->batch);
    snprintf(t, sizeof t, "%d", r->threads);
    const char *argv_torch[] = {u->python, u->script, "--model-dir", r->info.dir, "--batch", b, "--threads", t,
                                "--images", u->images_path, "--memory-format", u->memory_format, NULL};
    int torch = bench_child_start_or_say(&tc, u->torch, argv_torch, r->threads, r->how, sizeof r->how);
    printf("%-9s batch %-4d threads %-2d PyTorch: %s\n", r->info.name, r->batch, r->threads, r->how);
    fflush(stdout);

    int nb = u->nimages / r->batch;
    long next = 0;
    bench_sleep(GAP_S);
    r->jp.warmup = engine_window(m, u->images, nb, r->batch, u->seconds, &next, logits);
    if (torch) {
        bench_sleep(GAP_S);
        r->pt.warmup = bench_child_window(&tc, u->seconds);
    }
    for (int k = 0; k < u->rounds; k++) {
        bench_sleep(GAP_S);
        r->jp.w[k] = engine_window(m, u->images, nb, r->batch, u->seconds, &next, logits);
        if (torch) {
            bench_sleep(GAP_S);
            r->pt.w[k] = bench_child_window(&tc, u->seconds);
        }
    }
    if (torch) bench_child_stop(&tc);
    jp_nn_free(m);
    free(logits);
    bench_loadavg(r->load1, sizeof r->load1);

    summarize(&r->jp, u->rounds);
    summarize(&r->pt, u->rounds);
    if (r->jp.ok) {
        r->gflops = r->info.flops * r->jp.median / 1e9;
        r->pct_fma = mach->fma_peak[r->threads] > 0 ? 100 * r->gflops / mach->fma_peak[r->threads] : -1;
        r->pct_sgemm = mach->sgemm_peak[r->threads] > 0 ? 100 * r->gflops / mach->sgemm_peak[r->threads] : -1;
    }
    if (r->jp.ok && r->pt.ok) {
        for (int k = 0; k < u->rounds; k++) r->ratio[k] = r->jp.w[k] / r->pt.w[k];
        r->ratio_median = bench_median(r->ratio, u->rounds);
    }
}

/* ---- output ------------------------------------------------------------------------------------ */

static void side_text(char *buf, size_t len, const struct side *s)
{
    bench_stats_text(buf, len, s->ok, s->median, s->lo, s->hi);
}

static void print_row(const struct row *r)
{
    char e[128], p[128];
    side_text(e, sizeof e, &r->jp);
    side_text(p, sizeof p, &r->pt);
    printf("%-9s batch %-4d threads %-2d engine %s img/s  PyTorch %s img/s", r->info.name, r->batch, r->threads, e, p);
    if (r->jp.ok && r->pt.ok)
        printf("  ratio %.2fx (per-round median %.2fx)", r->jp.median / r->pt.median, r->ratio_median);
    if (r->jp.ok)
        printf("  engine %.1f GFLOP/s = %.0f%% of FMA peak, %.0f%% of sgemm", r->gflops, r->pct_fma, r->pct_sgemm);
    printf("\n");
    fflush(stdout);
}

static void print_table(const struct row *rows, int nr)
{
    printf("\n| model | MFLOPs/image | batch | threads | engine img/s (median, lowest-highest) | PyTorch img/s "
           "(median, lowest-highest) | ratio of medians | per-round ratio (median) | engine GFLOP/s | %% of FMA peak | "
           "%% of sgemm peak |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < nr; i++) {
        const struct row *r = &rows[i];
        char e[128], p[128];
        side_text(e, sizeof e, &r->jp);
        side_text(p, sizeof p, &r->pt);
        printf("| %s | %.2f | %d | %d | %s | %s | ", r->info.name, r->info.flops / 1e6, r->batch, r->threads, e, p);
        if (r->jp.ok && r->pt.ok) printf("%.2fx | %.2fx | ", r->jp.median / r->pt.median, r->ratio_median);
        else printf("- | - | ");
        if (r->jp.ok) printf("%.1f | %.0f%% | %.0f%% |\n", r->gflops, r->pct_fma, r->pct_sgemm);
        else printf("- | - | - |\n");
    }
}

static json_t *side_json(const struct side *s, int rounds, int ran)
{
    if (!ran) return json_null();
    json_t *o = json_object(), *w = json_array();
    for (int k = 0; k < rounds; k++) json_array_append_new(w, bench_jnum(s->w[k]));
    json_object_set_new(o, "warmup_images_per_s", bench_jnum(s->warmup));
    json_object_set_new(o, "windows_images_per_s", w);
    json_object_set_new(o, "median", s->ok ? bench_jnum(s->median) : json_null());
    json_object_set_new(o, "lowest", s->ok ? bench_jnum(s->lo) : json_null());
    json_object_set_new(o, "highest", s->ok ? bench_jnum(s->hi) : json_null());
    return o;
}

static json_t *peaks_json(const double *peak)
{
    json_t *o = json_object();
    for (int t = 1; t <= MAX_THREADS; t++)
        if (peak[t] > 0) {
            char k[16];
            snprintf(k, sizeof k, "%d", t);
            json_object_set_new(o, k, json_real(peak[t]));
        }
    return o;
}

static int write_json(const char *path, int argc, char **argv, const struct machine *m, const struct run *u,
                      const struct row *rows, int nr)
{
    json_t *root = bench_json_root("classify_speed", argc, argv, &m->b), *mj = bench_machine_json(&m->b),
           *method = bench_json_method(u->rounds, u->seconds, GAP_S), *settings = json_array();
    json_object_set_new(mj, "page_fault_cpu_us", m->fault_cpu_us > 0 ? bench_jnum(m->fault_cpu_us) : json_null());
    json_object_set_new(mj, "page_fault_elapsed_us", m->fault_wall_us > 0 ? bench_jnum(m->fault_wall_us) : json_null());
    json_object_set_new(mj, "fma_isa", m->fma_isa ? bench_jstr(m->fma_isa) : json_null());
    json_object_set_new(mj, "fma_chains", json_integer(FMA_CHAINS));
    json_object_set_new(mj, "fma_peak_gflops", peaks_json(m->fma_peak));
    json_object_set_new(mj, "sgemm_size", json_integer(SGEMM_SIZE));
    json_object_set_new(mj, "sgemm_peak_gflops", peaks_json(m->sgemm_peak));
    json_object_set_new(root, "machine", mj);

    json_object_set_new(method, "images", json_integer(u->nimages));
    json_object_set_new(method, "torch_memory_format", bench_jstr(u->memory_format));
    json_object_set_new(root, "method", method);

    for (int i = 0; i < nr; i++) {
        const struct row *r = &rows[i];
        json_t *s = json_object();
        json_object_set_new(s, "model", bench_jstr(r->info.name));
        json_object_set_new(s, "flops_per_image", json_real(r->info.flops));
        json_object_set_new(s, "batch", json_integer(r->batch));
        json_object_set_new(s, "threads", json_integer(r->threads));
        bench_json_comparison(s, r->load0, r->load1, r->how, side_json(&r->jp, u->rounds, 1),
                              side_json(&r->pt, u->rounds, r->pt.warmup > 0 || r->pt.ok), r->jp.ok && r->pt.ok,
                              r->jp.median / r->pt.median, r->ratio, u->rounds, r->ratio_median);
        json_object_set_new(s, "engine_gflops", r->jp.ok ? bench_jnum(r->gflops) : json_null());
        json_object_set_new(s, "engine_pct_of_fma_peak", r->jp.ok ? bench_jnum(r->pct_fma) : json_null());
        json_object_set_new(s, "engine_pct_of_sgemm_peak", r->jp.ok ? bench_jnum(r->pct_sgemm) : json_null());
        json_object_set_new(s, "pytorch_gflops", r->pt.ok ? bench_jnum(r->info.flops * r->pt.median / 1e9) : json_null());
        json_array_append_new(settings, s);
    }
    json_object_set_new(root, "settings", settings);
    return bench_json_write(root, path);
}

/* ---- main -------------------------------------------------------------------------------------- */

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

int main(int argc, char **argv)
{
    struct bench_settings set = {.rounds = 5, .seconds = 1.0, .max_batch = MAX_BATCH, .max_threads = MAX_THREADS,
                                 .max_rounds = MAX_ROUNDS};
    int torch = 1;
    const char *models_dir = NULL, *python = "/usr/bin/python3", *json_path = NULL, *memory_format = "auto";
    char what[256];
    if (argc > 0 && argv[0][0]) prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--no-torch")) {
            torch = 0;
            continue;
        }
        const char *v = bench_option_value(prog, USAGE, argc, argv, &i, WITH_VALUE);
        if (bench_settings_arg(&set, prog, USAGE, a, v)) continue;
        if (!strcmp(a, "--models-dir")) {
            models_dir = v;
        } else if (!strcmp(a, "--python")) {
            python = v;
        } else if (!strcmp(a, "--json")) {
            json_path = v;
        } else {
            if (strcmp(v, "auto") && strcmp(v, "channels_last") && strcmp(v, "contiguous")) {
                snprintf(what, sizeof what, "bad argument '%s %s' (auto, channels_last or contiguous)", a, v);
                bad_usage(what);
            }
            memory_format = v;
        }
    }
    bench_default_settings(set.batches, &set.nbatch, 64, set.threads, &set.nthreads);
    signal(SIGPIPE, SIG_IGN);

    char zoo[PATH_MAX], script[PATH_MAX + 64];
    if (jp_classify_models_dir(models_dir, zoo, sizeof zoo) != JP_OK) {
        fprintf(stderr, "%s\n", jp_last_error());
        return 1;
    }
    /* the models: the named ones in the order given, else the zoo's classifiers in order of FLOPs */
    jp_classify_model_info *models = calloc(32, sizeof *models);
    int nm = 0;
    if (!models) return 1;
    if (set.nmodels) {
        for (int i = 0; i < set.nmodels; i++)
            if (jp_classify_find(zoo, set.models[i], &models[nm++]) != JP_OK) {
                snprintf(what, sizeof what, "bad argument '--model %s' (%s)", set.models[i], jp_last_error());
                bad_usage(what);
            }
    } else {
        jp_classify_model_info all[32];
        int n = jp_classify_list(zoo, all, 32);
        for (int i = 0; i < n && i < 32; i++)
            if (!strcmp(all[i].type, "mlp") || !strcmp(all[i].type, "cnn") || !strcmp(all[i].type, "resnet") ||
                !strcmp(all[i].type, "vit"))
                models[nm++] = all[i];
        if (!nm) {
            fprintf(stderr, "no classification models in %s\n", zoo);
            return 1;
        }
    }
    snprintf(script, sizeof script, "%s/../bench/classify_speed_torch.py", zoo);
    if (torch && access(script, R_OK) != 0) {
        fprintf(stderr, "%s not found (--no-torch runs the engine alone)\n", script);
        return 1;
    }
    jp_idx_images data;
    if (jp_fashion_mnist_read(NULL, true, &data) != JP_OK) {
        fprintf(stderr, "%s\n", jp_last_error());
        return 1;
    }
    for (int i = 0; i < set.nbatch; i++)
        if (set.batches[i] > data.n) {
            snprintf(what, sizeof what, "bad argument '--batch %d' (more than the %d test images)", set.batches[i],
                     data.n);
            bad_usage(what);
        }

    /* The images, normalized as the models were trained ((p/255 - 0.2860) / 0.3530). PyTorch reads the
     * very same floats from a file that is already unlinked: the child opens /dev/fd/N, our descriptor,
     * so that nothing is left behind however the run ends. */
    size_t px = (size_t)data.n * PIXELS;
    float *images = malloc(px * sizeof *images);
    if (!images) return 1;
    for (size_t i = 0; i < px; i++) images[i] = ((float)data.pixels[i] / 255.0f - 0.2860f) / 0.3530f;
    char images_path[64] = "";
    if (torch) {
        const char *tmp = getenv("TMPDIR");
        char tmpl[PATH_MAX];
        snprintf(tmpl, sizeof tmpl, "%s/classify_speed-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        int fd = mkstemp(tmpl);
        FILE *f = fd >= 0 ? fdopen(dup(fd), "wb") : NULL;
        int ok = f && fwrite(images, sizeof *images, px, f) == px;
        if (f && fclose(f)) ok = 0;
        if (fd >= 0) unlink(tmpl);
        if (!ok) {
            fprintf(stderr, "%s: %s\n", tmpl, strerror(errno));
            return 1;
        }
        snprintf(images_path, sizeof images_path, "/dev/fd/%d", fd);
    }

    /* thread counts in increasing order, for the peaks */
    int sorted_threads[8];
    memcpy(sorted_threads, set.threads, sizeof sorted_threads);
    qsort(sorted_threads, (size_t)set.nthreads, sizeof *sorted_threads, cmp_int);
    struct machine mach;
    measure_machine(&mach, sorted_threads, set.nthreads);
    print_machine(&mach, sorted_threads, set.nthreads);
    printf("method: %d rounds of %g s windows, engine then PyTorch, after one warm-up window each, %.2f s of quiet "
           "before each window; %d test images, whole batches\n\n", set.rounds, set.seconds, GAP_S, data.n);
    fflush(stdout);

    struct run u = {set.rounds, set.seconds, python, script, images_path, memory_format, images, data.n, torch};
    int cap = nm * set.nbatch * set.nthreads, nr = 0;
    struct row *rows = calloc((size_t)cap, sizeof *rows);
    if (!rows) return 1;
    for (int mi = 0; mi < nm; mi++)
        for (int ti = 0; ti < set.nthreads; ti++)
            for (int bi = 0; bi < set.nbatch; bi++) {
                struct row *r = &rows[nr++];
                r->info = models[mi];
                r->batch = set.batches[bi];
                r->threads = set.threads[ti];
                run_setting(&u, &mach, r);
                print_row(r);
            }
    bench_loadavg(mach.b.load1, sizeof mach.b.load1);
    printf("\nload average at the end: %s\n", mach.b.load1);
    print_table(rows, nr);

    int rc = 0;
    if (json_path) {
        if (write_json(json_path, argc, argv, &mach, &u, rows, nr)) rc = 1;
        else printf("\nwritten: %s\n", json_path);
    }
    free(rows);
    free(models);
    free(images);
    jp_idx_free(&data);
    return rc;
}
