/* The worker pool of a model loaded with T threads (T-1 workers that spin briefly, then sleep) and the
 * operations a single image splits across it: convolutions by output rows, linear layers by output
 * columns, attention by heads. */
#define _POSIX_C_SOURCE 200809L
#include "nn/model_impl.h"

static inline void cpu_relax(void)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_ia32_pause();
#endif
}

/* ---- the worker pool ----------------------------------------------------------------------- */

static void *worker(void *arg)
{
    lane *L = arg;
    jp_nn_model *m = L->m;
    unsigned long seen = 0;
    for (;;) {
        unsigned long g = atomic_load(&m->generation);
        if (g == seen && !atomic_load(&m->quit)) {
            double t0 = jp_now();
            for (int i = 0; (g = atomic_load(&m->generation)) == seen && !atomic_load(&m->quit); i++) {
                cpu_relax();
                if ((i & 63) == 63 && jp_now() - t0 > SPIN_S) break;
            }
        }
        if (g == seen && !atomic_load(&m->quit)) {
            pthread_mutex_lock(&m->mu);
            while ((g = atomic_load(&m->generation)) == seen && !atomic_load(&m->quit)) pthread_cond_wait(&m->go, &m->mu);
            pthread_mutex_unlock(&m->mu);
        }
        if (atomic_load(&m->quit)) break;
        seen = g;
        if (L->index < m->task_lanes) m->task(m, L->index, m->task_lanes, m->task_arg);
        if (atomic_fetch_sub(&m->pending, 1) == 1) { /* the last one wakes the caller, should it sleep */
            pthread_mutex_lock(&m->mu);
            pthread_cond_signal(&m->done);
            pthread_mutex_unlock(&m->mu);
        }
    }
    return NULL;
}

/* Runs fn on lanes 0 .. lanes-1 (lane 0 on the calling thread) and waits for all of them. */
void jp_nnm_pool_run(jp_nn_model *m, task_fn fn, void *arg, int lanes)
{
    if (lanes <= 1 || !m->pool_ready) {
        fn(m, 0, 1, arg);
        return;
    }
    m->task = fn;
    m->task_arg = arg;
    m->task_lanes = lanes;
    atomic_store(&m->pending, m->threads - 1);
    pthread_mutex_lock(&m->mu);
    atomic_fetch_add(&m->generation, 1);
    pthread_cond_broadcast(&m->go);
    pthread_mutex_unlock(&m->mu);
    fn(m, 0, lanes, arg);
    /* spin briefly, then sleep: a worker that the scheduler has put aside gets the core sooner */
    double t0 = jp_now();
    for (int i = 0; atomic_load(&m->pending) > 0; i++) {
        cpu_relax();
        if ((i & 63) == 63 && jp_now() - t0 > SPIN_S) {
            pthread_mutex_lock(&m->mu);
            while (atomic_load(&m->pending) > 0) pthread_cond_wait(&m->done, &m->mu);
            pthread_mutex_unlock(&m->mu);
            break;
        }
    }
}


/* ---- operations that a single image splits across lanes ------------------------------------- */

/* The lanes that an operation of this many FLOPs, in this many units of work (rows, column groups,
 * heads), splits across: 0 when it runs on the calling lane alone (not a split image, too small to pay
 * for the hand-off, or a single unit). */
static int split_lanes(const jp_nn_model *m, double flops, int units)
{
    if (!m->intra || flops < PAR_MIN_FLOPS || units < 2) return 0;
    return m->threads < units ? m->threads : units;
}

struct conv_task {
    const jp_nn_conv *c;
    const float *in, *res;
    float *out;
    int n, h, w, rows, wino, pool;
    jp_nn_act act;
};

static void conv_task_fn(jp_nn_model *m, int li, int lanes, void *arg)
{
    struct conv_task *t = arg;
    int r0 = jp_nnm_split(t->rows, li, lanes), r1 = jp_nnm_split(t->rows, li + 1, lanes);
    if (t->pool)
        jp_nn_conv2d_wino_pool_rows(t->c, t->in, t->n, t->h, t->w, t->out, t->act, m->lanes[li].col, r0, r1);
    else if (t->wino) /* rows of 2x2 tiles, each lane in its own workspace */
        jp_nn_conv2d_wino_rows(t->c, t->in, t->n, t->h, t->w, t->out, t->res, t->act, m->lanes[li].col, r0, r1);
    else if (jp_nn_conv_is_implicit(t->c))
        jp_nn_conv2d_padded_rows(t->c, t->in, t->n, t->h, t->w, t->out, t->res, t->act, r0, r1);
    else
        jp_nn_conv2d_rows(t->c, t->in, t->n, t->h, t->w, t->out, t->res, t->act, m->lanes[li].col, r0, r1);
}

void jp_nnm_conv(jp_nn_model *m, lane *L, const jp_nn_conv *c, const float *in, int n, int h, int w, float *out,
                 const float *res, jp_nn_act act)
{
    int oh = jp_nn_out_size(h, c->k, c->stride, c->pad), ow = jp_nn_out_size(w, c->k, c->stride, c->pad);
    double flops = 2.0 * c->cout * n * oh * ow * (double)c->cin * c->k * c->k;
    struct conv_task t = {c, in, res, out, n, h, w, n * oh, 0, 0, act};
    if (c->wino && act != JP_ACT_GELU) { /* Winograd: the lanes take rows of 2x2 tiles */
        t.wino = 1;
        t.rows = jp_nn_wino_tile_rows(n, h);
    }
    int lanes = split_lanes(m, flops, t.rows);
    if (!lanes) {
        jp_nn_conv2d(c, in, n, h, w, out, res, act, L->col);
        return;
    }
    if (!t.wino && jp_nn_conv_is_implicit(c)) { /* pad once here; the lanes read the padded copy */
        jp_nn_conv_pad(c, in, n, h, w, L->col);
        t.in = L->col;
    }
    jp_nnm_pool_run(m, conv_task_fn, &t, lanes);
}

int jp_nnm_conv_pool(jp_nn_model *m, lane *L, const jp_nn_conv *c, const float *in, int n, int h, int w, float *out,
                     jp_nn_act act)
{
    if (!c->wino || (act != JP_ACT_NONE && act != JP_ACT_RELU) || h % 2 || w % 2) return 0;
    int rows = jp_nn_wino_tile_rows(n, h);
    int lanes = split_lanes(m, 2.0 * c->cout * n * h * w * (double)c->cin * 9, rows);
    if (!lanes) {
        jp_nn_conv2d_wino_pool_rows(c, in, n, h, w, out, act, L->col, 0, rows);
        return 1;
    }
    struct conv_task t = {c, in, NULL, out, n, h, w, rows, 1, 1, act};
    jp_nnm_pool_run(m, conv_task_fn, &t, lanes);
    return 1;
}

/* Columns o0 .. o1-1 of a linear layer over rows of x. */
static void lin_cols(const linear *l, const float *x, int rows, float *y, int acc, jp_nn_act act, int o0, int o1)
{
    if (o1 <= o0) return;
    if (l->wt && jp_nn_gemm512_ok()) {
        jp_nn_linear512(rows, o1 - o0, l->in, x, l->in, l->wt + o0, l->out, y + o0, l->out, l->b ? l->b + o0 : NULL,
                        acc, act == JP_ACT_GELU ? JP_ACT_NONE : act);
        if (act == JP_ACT_GELU)
            for (int r = 0; r < rows; r++) jp_nn_gelu(y + (size_t)r * l->out + o0, (size_t)(o1 - o0));
        return;
    }
    jp_nn_linear_cols(x, rows, l->in, l->w, l->b, l->out, y, acc, act, o0, o1);
}

struct lin_task {
    const linear *l;
    const float *x;
    float *y;
    int rows, acc;
    jp_nn_act act;
};

static void lin_task_fn(jp_nn_model *m, int li, int lanes, void *arg)
{
    (void)m;
    struct lin_task *t = arg;
    /* column ranges in multiples of 16 floats, so that no two lanes write one cache line */
    int out = t->l->out, units = (out + 15) / 16;
    int o0 = jp_nnm_split(units, li, lanes) * 16, o1 = jp_nnm_split(units, li + 1, lanes) * 16;
    lin_cols(t->l, t->x, t->rows, t->y, t->acc, t->act, o0, o1 < out ? o1 : out);
}

void jp_nnm_lin(jp_nn_model *m, const float *x, int rows, const linear *l, float *y, int acc, jp_nn_act act)
{
    double flops = 2.0 * rows * l->in * (double)l->out;
    int lanes = split_lanes(m, flops, (l->out + 15) / 16);
    if (!lanes) {
        lin_cols(l, x, rows, y, acc, act, 0, l->out);
        return;
    }
    struct lin_task t = {l, x, y, rows, acc, act};
    jp_nnm_pool_run(m, lin_task_fn, &t, lanes);
}

struct attn_task {
    const float *qkv;
    float *ctx;
    int n, t, d, heads;
};

static void attn_task_fn(jp_nn_model *m, int li, int lanes, void *arg)
{
    struct attn_task *a = arg;
    int pairs = a->n * a->heads;
    jp_nn_attention_range(a->qkv, a->n, a->t, a->d, a->heads, a->ctx, m->lanes[li].scores, jp_nnm_split(pairs, li, lanes),
                          jp_nnm_split(pairs, li + 1, lanes));
}

void jp_nnm_attn(jp_nn_model *m, lane *L, const float *qkv, int n, float *ctx)
{
    int pairs = n * m->heads;
    double flops = 4.0 * n * m->tokens * (double)m->tokens * m->dim;
    int lanes = split_lanes(m, flops, pairs);
    if (!lanes) {
        jp_nn_attention(qkv, n, m->tokens, m->dim, m->heads, ctx, L->scores);
        return;
    }
    struct attn_task a = {qkv, ctx, n, m->tokens, m->dim, m->heads};
    jp_nnm_pool_run(m, attn_task_fn, &a, lanes);
}

int jp_nnm_start_pool(jp_nn_model *m)
{
    if (m->threads < 2) return JP_OK;
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->go, NULL);
    pthread_cond_init(&m->done, NULL);
    atomic_init(&m->generation, 0);
    atomic_init(&m->pending, 0);
    atomic_init(&m->quit, 0);
    m->pool_ready = 1;
    for (int i = 1; i < m->threads; i++) {
        if (pthread_create(&m->lanes[i].thread, NULL, worker, &m->lanes[i]) != 0)
            return jp_fail(JP_ERR_THREAD, "could not start inference thread %d of %d", i + 1, m->threads);
        m->lanes[i].started = 1;
    }
    return JP_OK;
}

/* Stops and joins the workers (nothing when no pool was started). */
void jp_nnm_pool_stop(jp_nn_model *m)
{
    if (!m->pool_ready) return;
    pthread_mutex_lock(&m->mu);
    atomic_store(&m->quit, 1);
    pthread_cond_broadcast(&m->go);
    pthread_mutex_unlock(&m->mu);
    for (int i = 1; i < m->threads; i++)
        if (m->lanes[i].started) pthread_join(m->lanes[i].thread, NULL);
    pthread_mutex_destroy(&m->mu);
    pthread_cond_destroy(&m->go);
    pthread_cond_destroy(&m->done);
    m->pool_ready = 0;
}
