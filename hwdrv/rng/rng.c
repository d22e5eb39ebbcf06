/*
 * The RNG pipeline behind qhw_rng_*: one raw source (sim, device:PATH) ->
 * SP 800-90B 4.4 health tests on every raw sample (start-up test on the first 1,024) ->
 * SHA-256 vetted conditioning of blocks carrying >= 320 bits of assessed min-entropy ->
 * full-entropy output, buffered in locked memory so small requests (C_GenerateRandom of 32
 * bytes) cost a memcpy.
 *
 * Error latching (documented in docs/rng.md):
 *  - a continuous-test failure (RCT or APT) discards the batch of samples in flight and every
 *    buffered output byte, fails the call with QKS_ERR_HEALTH and latches "intermittent";
 *  - the next call re-runs the start-up test on 1,024 fresh samples: pass clears the latch, a
 *    failure latches QKS_ERR_HEALTH_PERMANENT, as does a failing start-up test. A permanent
 *    failure never clears (only a new qhw_rng_open).
 * Fork: the buffers live in qks_secure_alloc pages (MADV_WIPEONFORK); a canary in those pages
 * reads 0 in a child, which then drops its counters and re-seeds the source. The mutex may have
 * been held by another parent thread at fork (a draw in flight): the child's copy would then stay
 * locked forever. So every entry point first reads a word in another wiped-on-fork page; 0 means
 * a new process, and the first thread there re-initialises the mutex before anyone takes it
 * (others wait). No pthread_atfork: this code is in modules that can be unloaded (DESIGN.md).
 */
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qkey/secmem.h"
#include "agent/agent.h"
#include "diqrng.h"

#define OUTBUF          4096  /* buffered conditioned output */
#define RAWBUF          65536 /* raw samples per batch */
#define STARTUP_SAMPLES 1024  /* SP 800-90B 4.3 (1): at least 1,024 samples */
#define BLOCK           32    /* SHA-256 output */
#define BLOCK_ENTROPY   320   /* bits of input min-entropy per 256-bit block: 256 + 64 */

typedef enum { ST_OK = 0, ST_INTERMITTENT, ST_PERMANENT } HEALTH_STATE;

typedef struct {
    uint64_t alive;               /* 1 here; 0 in a forked child (MADV_WIPEONFORK) */
    unsigned char out[OUTBUF];    /* conditioned output; bytes [OUTBUF - avail, OUTBUF) unread */
    unsigned char raw[RAWBUF];    /* raw samples in flight */
    unsigned char tz_stage[1024]; /* Toeplitz output before SHA-256 */
    unsigned char tz_out[1024];   /* conditioned output of one Toeplitz block */
} SECRET;

typedef struct {
    _Atomic unsigned live;  /* 1 in the process that initialised the mutex; 0 in a forked child */
    _Atomic unsigned claim; /* 1 once a thread of this process (re-)initialised it */
} FORK_WORDS;

struct qhw_rng_st {
    pthread_mutex_t lock;
    FORK_WORDS *fw; /* wiped-on-fork page: re-initialise lock in a child */
    pid_t pid;      /* process that initialised lock */
    QHW_RNG_PARAMS p;
    QHW_RNG_SOURCE *src; /* sim/device: raw samples (NULL for DIQRNG: the engine owns its source) */
    QHW_DIQ *diq;        /* diqrng/diqrng-sim: the Bell-test engine */
    QAG_RNG *agent;      /* rng.source = agent: qkeyd runs the pipeline; nothing else is used */
    QHW_CONDITIONER *cond;
    QHW_RNG_TZ *tz;  /* rng.extractor = toeplitz on sim/device, else NULL */
    size_t tz_avail; /* unread bytes at the end of sec->tz_out */
    QHW_HEALTH health;
    SECRET *sec;
    size_t avail;
    double min_entropy;         /* bits per raw bit in force */
    unsigned samples_per_block; /* raw samples per 32-byte conditioned block */
    int started;                /* start-up test passed */
    HEALTH_STATE state;
    char last_failure[256]; /* no secrets: test name, counts, cutoffs */
    uint64_t bytes_out, intermittent_failures, recoveries, forks;
};

/* ---- the pipeline lock, re-initialised in a forked child ------------------------------ */
/* In a forked child (fw->live reads 0): the mutex copy may be held by a parent thread that does
 * not exist here. The first thread re-initialises it before any thread of the child can take
 * it; the others wait for that. */
static void relock_child(QHW_RNG *rng)
{
    unsigned expect = 0;

    if (atomic_compare_exchange_strong(&rng->fw->claim, &expect, 1)) {
        pthread_mutex_init(&rng->lock, NULL);
        rng->pid = getpid();
        atomic_store_explicit(&rng->fw->live, 1, memory_order_release);
        return;
    }
    while (atomic_load_explicit(&rng->fw->live, memory_order_acquire) != 1)
        sched_yield();
}

static void rng_lock(QHW_RNG *rng)
{
    if (atomic_load_explicit(&rng->fw->live, memory_order_acquire) != 1)
        relock_child(rng);
    pthread_mutex_lock(&rng->lock);
}

static const char *source_name(const QHW_RNG_PARAMS *p)
{
    switch (p->kind) {
    case QHW_SRC_SIM:
        return "sim";
    case QHW_SRC_DEVICE:
        return "device";
    case QHW_SRC_DIQRNG:
        return "diqrng";
    case QHW_SRC_DIQRNG_SIM:
        return "diqrng-sim";
    case QHW_SRC_AGENT:
        return "agent";
    }
    return "?";
}

int qhw_rng_open(const QKS_CONFIG *cfg, QHW_RNG **out)
{
    QHW_RNG *rng;
    int rc;

    if (out == NULL)
        return qks_set_error(QKS_ERR_INVALID, "qhw_rng_open: no output pointer");
    *out = NULL;
    if ((rng = calloc(1, sizeof(*rng))) == NULL)
        return qks_set_error(QKS_ERR_NOMEM, "RNG: out of memory");
    pthread_mutex_init(&rng->lock, NULL);
    if ((rc = qhw_rng_params_load(cfg, &rng->p)) != QKS_OK)
        goto err;
    if (rng->p.kind == QHW_SRC_AGENT) {
        /* the agent health-tests and conditions; this process holds no device */
        if ((rc = qag_rng_open(cfg, rng->p.timeout_ms, &rng->agent)) != QKS_OK)
            goto err;
        *out = rng;
        return QKS_OK;
    }
    if (rng->p.kind == QHW_SRC_DIQRNG || rng->p.kind == QHW_SRC_DIQRNG_SIM) {
        QHW_RNG_SOURCE *stream = NULL;
        rc = rng->p.kind == QHW_SRC_DIQRNG ? qhw_rng_device_open(&rng->p, &stream)
                                           : qhw_diq_sim_open(&rng->p, &stream);
        if (rc != QKS_OK || (rc = qhw_diq_new(&rng->p, stream, &rng->diq)) != QKS_OK)
            goto err;
    } else {
        rc = rng->p.kind == QHW_SRC_SIM ? qhw_rng_sim_open(&rng->p, &rng->src)
                                        : qhw_rng_device_open(&rng->p, &rng->src);
        if (rc != QKS_OK)
            goto err;
        rng->min_entropy =
            rng->p.min_entropy_set ? rng->p.min_entropy : rng->src->default_min_entropy;
        double h_sample = rng->min_entropy * rng->src->sample_bits;
        if ((rc = qhw_health_init(&rng->health, h_sample, rng->src->sample_bits,
                                  rng->p.alpha_log2)) != QKS_OK) {
            rc = qks_set_error(QKS_ERR_CONFIG, "rng.min_entropy = %g: out of range",
                               rng->min_entropy);
            goto err;
        }
        rng->samples_per_block = (unsigned)ceil(BLOCK_ENTROPY / h_sample - 1e-9);
        if (rng->p.extractor == QHW_EXT_TOEPLITZ &&
            (rc = qhw_rng_tz_new(&rng->p, rng->min_entropy, &rng->tz)) != QKS_OK)
            goto err;
    }
    if ((rc = qhw_conditioner_new(&rng->cond)) != QKS_OK)
        goto err;
    if ((rng->sec = qks_secure_alloc(sizeof(SECRET))) == NULL) {
        rc = qks_set_error(QKS_ERR_NOMEM, "RNG: cannot allocate %zu bytes of locked memory",
                           sizeof(SECRET));
        goto err;
    }
    rng->sec->alive = 1;
    if ((rng->fw = qks_secure_alloc(sizeof(FORK_WORDS))) == NULL) {
        rc = qks_set_error(QKS_ERR_NOMEM, "RNG: cannot allocate locked memory");
        goto err;
    }
    atomic_store(&rng->fw->claim, 1);
    atomic_store(&rng->fw->live, 1);
    rng->pid = getpid();
    *out = rng;
    return QKS_OK;
err:
    qhw_rng_free(rng);
    return rc;
}

void qhw_rng_free(QHW_RNG *rng)
{
    if (rng == NULL)
        return;
    if (rng->src != NULL)
        rng->src->meth->free(rng->src);
    qag_rng_free(rng->agent);
    qhw_diq_free(rng->diq);
    qhw_rng_tz_free(rng->tz);
    qhw_conditioner_free(rng->cond);
    qks_secure_free(rng->sec, sizeof(SECRET));
    qks_secure_free(rng->fw, sizeof(FORK_WORDS));
    pthread_mutex_destroy(&rng->lock);
    free(rng);
}

/* Under the lock. A forked child sees alive == 0 (MADV_WIPEONFORK) and whatever counters its
 * parent had: drop the buffer, re-seed the source, restart the tests. */
static void check_fork(QHW_RNG *rng)
{
    if (rng->sec->alive != 0)
        return;
    rng->avail = 0;
    rng->tz_avail = 0;
    qks_wipe(rng->sec, sizeof(SECRET));
    rng->sec->alive = 1;
    rng->forks++;
    qhw_health_reset(&rng->health);
    if (rng->diq != NULL) {
        qhw_diq_after_fork(rng->diq);
        return;
    }
    if (rng->src->meth->after_fork(rng->src) != QKS_OK && rng->state == ST_OK) {
        /* a source that cannot re-seed must not emit its parent's stream */
        rng->state = ST_PERMANENT;
        snprintf(rng->last_failure, sizeof(rng->last_failure),
                 "source could not re-seed after fork");
    }
}

void qhw_rng_after_fork(QHW_RNG *rng)
{
    if (rng == NULL)
        return;
    if (rng->agent != NULL) {
        qag_rng_after_fork(rng->agent);
        return;
    }
    if (atomic_load(&rng->fw->live) == 1 && getpid() != rng->pid) {
        /* a new process, yet the page was not wiped (kernel < 4.14): keysource's pid check
         * calls this before any other entry point of the child runs, so re-initialise here */
        pthread_mutex_init(&rng->lock, NULL);
        rng->pid = getpid();
    }
    rng_lock(rng);
    rng->sec->alive = 0;
    check_fork(rng);
    pthread_mutex_unlock(&rng->lock);
}

static const char *test_name(QHW_HEALTH_RESULT r)
{
    return r == QHW_HEALTH_RCT_FAIL ? "repetition count test (SP 800-90B 4.4.1)"
                                    : "adaptive proportion test (SP 800-90B 4.4.2)";
}

static void describe_failure(QHW_RNG *rng, const char *phase, QHW_HEALTH_RESULT r, unsigned count)
{
    const QHW_HEALTH *h = &rng->health;

    if (r == QHW_HEALTH_RCT_FAIL)
        snprintf(rng->last_failure, sizeof(rng->last_failure),
                 "%s: %s failed: one value repeated %u times in a row (cutoff %u for H = %.3f "
                 "bits/sample, alpha = 2^-%u)",
                 phase, test_name(r), count, h->rct_cutoff, h->h_sample, rng->p.alpha_log2);
    else
        snprintf(rng->last_failure, sizeof(rng->last_failure),
                 "%s: %s failed: one value %u times in a window of %u (cutoff %u for H = %.3f "
                 "bits/sample, alpha = 2^-%u)",
                 phase, test_name(r), count, h->apt_window, h->apt_cutoff, h->h_sample,
                 rng->p.alpha_log2);
}

static void drop_output(QHW_RNG *rng)
{
    qks_wipe(rng->sec->out, OUTBUF);
    qks_wipe(rng->sec->raw, RAWBUF);
    qks_wipe(rng->sec->tz_out, sizeof(rng->sec->tz_out));
    rng->avail = 0;
    rng->tz_avail = 0;
}

/* Start-up (first use) or recovery (after an intermittent failure) test: SP 800-90B 4.3 runs
 * the continuous tests on 1,024 consecutive samples, which are then discarded. */
static int startup_test(QHW_RNG *rng)
{
    const int recovery = rng->started;
    size_t at;
    unsigned count;
    int rc;

    if ((rc = rng->src->meth->read(rng->src, rng->sec->raw, STARTUP_SAMPLES)) != QKS_OK)
        return rc;
    qhw_health_reset(&rng->health);
    QHW_HEALTH_RESULT r = qhw_health_run(&rng->health, rng->sec->raw, STARTUP_SAMPLES, &at, &count);
    qks_wipe(rng->sec->raw, STARTUP_SAMPLES);
    if (r != QHW_HEALTH_PASS) {
        describe_failure(rng,
                         recovery ? "recovery test after an intermittent failure" : "start-up test",
                         r, count);
        rng->state = ST_PERMANENT;
        return qks_set_error(QKS_ERR_HEALTH_PERMANENT, "RNG %s: %s", source_name(&rng->p),
                             rng->last_failure);
    }
    if (rng->state == ST_INTERMITTENT)
        rng->recoveries++;
    rng->state = ST_OK;
    rng->started = 1;
    return QKS_OK;
}

/* Under the lock: the error a generate call gives before reading anything, or QKS_OK. */
static int latched_error(QHW_RNG *rng)
{
    if (rng->state == ST_PERMANENT)
        return qks_set_error(QKS_ERR_HEALTH_PERMANENT, "RNG %s: %s (permanent)",
                             source_name(&rng->p), rng->last_failure);
    if (rng->state == ST_INTERMITTENT)
        return qks_set_error(QKS_ERR_HEALTH,
                             "RNG %s: %s (intermittent: the next request "
                             "re-runs the start-up test)",
                             source_name(&rng->p), rng->last_failure);
    if (rng->diq != NULL)
        return qhw_diq_state(rng->diq);
    if (rng->src->eof_latched)
        return qks_set_error(QKS_ERR_DEVICE,
                             "RNG device %s: end of file (replay file "
                             "exhausted)",
                             rng->p.path);
    return QKS_OK;
}

/* Read n raw samples into sec->raw and run the continuous tests over them; a failure latches
 * "intermittent" and drops every buffered byte. */
static int read_tested(QHW_RNG *rng, size_t n)
{
    size_t at;
    unsigned count;
    int rc;

    if ((rc = rng->src->meth->read(rng->src, rng->sec->raw, n)) != QKS_OK)
        return rc;
    QHW_HEALTH_RESULT r = qhw_health_run(&rng->health, rng->sec->raw, n, &at, &count);
    if (r != QHW_HEALTH_PASS) {
        describe_failure(rng, "continuous test", r, count);
        rng->state = ST_INTERMITTENT;
        rng->intermittent_failures++;
        drop_output(rng);
        return qks_set_error(QKS_ERR_HEALTH, "RNG %s: %s", source_name(&rng->p), rng->last_failure);
    }
    return QKS_OK;
}

/* n (a multiple of BLOCK) SHA-256-conditioned bytes into dst. */
static int produce_sha(QHW_RNG *rng, unsigned char *dst, size_t n)
{
    const size_t spb = rng->samples_per_block, max_blocks = RAWBUF / spb;
    int rc;

    while (n > 0) {
        size_t blocks = n / BLOCK < max_blocks ? n / BLOCK : max_blocks;

        if ((rc = read_tested(rng, blocks * spb)) != QKS_OK)
            return rc;
        for (size_t b = 0; b < blocks; b++)
            if ((rc = qhw_condition(rng->cond, rng->sec->raw + b * spb, spb, dst + b * BLOCK)) !=
                QKS_OK)
                return rc;
        qks_wipe(rng->sec->raw, blocks * spb);
        dst += blocks * BLOCK;
        n -= blocks * BLOCK;
    }
    return QKS_OK;
}

/* n bytes through Toeplitz + SHA-256 (rng_toeplitz.c); a block's leftover is kept for the
 * next call in sec->tz_out. */
static int produce_tz(QHW_RNG *rng, unsigned char *dst, size_t n)
{
    int rc;

    while (n > 0) {
        if (rng->tz_avail == 0) {
            size_t got = 0;
            if ((rc = read_tested(rng, QHW_TZ_SAMPLES)) != QKS_OK)
                return rc;
            rc = qhw_rng_tz_block(rng->tz, rng->cond, rng->sec->raw, rng->sec->tz_stage,
                                  rng->sec->tz_out, &got);
            qks_wipe(rng->sec->raw, QHW_TZ_SAMPLES);
            if (rc != QKS_OK)
                return rc;
            /* keep the block's output at the end of tz_out, as for sec->out */
            memmove(rng->sec->tz_out + sizeof(rng->sec->tz_out) - got, rng->sec->tz_out, got);
            rng->tz_avail = got;
        }
        size_t take = n < rng->tz_avail ? n : rng->tz_avail;
        unsigned char *from = rng->sec->tz_out + sizeof(rng->sec->tz_out) - rng->tz_avail;
        memcpy(dst, from, take);
        qks_wipe(rng->sec->tz_out, sizeof(rng->sec->tz_out) - rng->tz_avail + take);
        rng->tz_avail -= take;
        dst += take;
        n -= take;
    }
    return QKS_OK;
}

/* The Toeplitz seed, when not from a file: the source's first SHA-256-conditioned output after
 * its start-up test; these bytes are never handed out. */
static int derive_tz_seed(QHW_RNG *rng)
{
    size_t need = qhw_rng_tz_seed_bytes(rng->tz), len = (need + BLOCK - 1) / BLOCK * BLOCK;
    unsigned char *seed;
    int rc;

    if (need == 0)
        return QKS_OK;
    if ((seed = qks_secure_alloc(len)) == NULL)
        return qks_set_error(QKS_ERR_NOMEM, "RNG: no memory for the Toeplitz seed");
    if ((rc = produce_sha(rng, seed, len)) == QKS_OK)
        rc = qhw_rng_tz_set_seed(rng->tz, seed);
    qks_secure_free(seed, len);
    return rc;
}

/* n (a multiple of BLOCK) full-entropy bytes into dst. */
static int produce(QHW_RNG *rng, unsigned char *dst, size_t n)
{
    int rc;

    if (rng->diq != NULL)
        return qhw_diq_produce(rng->diq, dst, n);
    if (rng->tz == NULL)
        return produce_sha(rng, dst, n);
    if ((rc = derive_tz_seed(rng)) != QKS_OK)
        return rc;
    return produce_tz(rng, dst, n);
}

int qhw_rng_generate(QHW_RNG *rng, unsigned char *out, size_t len)
{
    unsigned char *const start = out;
    const size_t total = len;
    int rc = QKS_OK;

    if (rng == NULL || (out == NULL && len > 0))
        return qks_set_error(QKS_ERR_INVALID, "qhw_rng_generate: NULL argument");
    if (rng->agent != NULL)
        return qag_rng_generate(rng->agent, out, len);
    rng_lock(rng);
    check_fork(rng);
    rc = latched_error(rng);
    if (rng->diq != NULL && rc == QKS_ERR_ENTROPY)
        rc = QKS_OK; /* a refused block is not latched: the next block is judged afresh */
    else if (rng->diq == NULL && (rc == QKS_ERR_HEALTH || (rc == QKS_OK && !rng->started)))
        rc = startup_test(rng);
    while (rc == QKS_OK && len > 0) {
        if (rng->avail > 0) {
            size_t take = len < rng->avail ? len : rng->avail;
            unsigned char *from = rng->sec->out + (OUTBUF - rng->avail);

            memcpy(out, from, take);
            qks_wipe(from, take); /* an output byte is handed out once */
            rng->avail -= take;
            out += take;
            len -= take;
        } else if (len >= OUTBUF) {
            size_t direct = len - len % BLOCK;

            if ((rc = produce(rng, out, direct)) == QKS_OK) {
                out += direct;
                len -= direct;
            }
        } else if ((rc = produce(rng, rng->sec->out, OUTBUF)) == QKS_OK) {
            rng->avail = OUTBUF;
        }
    }
    if (rc != QKS_OK)
        qks_wipe(start, total); /* fail closed: no partial output */
    else
        rng->bytes_out += total;
    pthread_mutex_unlock(&rng->lock);
    return rc;
}

int qhw_rng_state(QHW_RNG *rng)
{
    int rc;

    if (rng == NULL)
        return qks_set_error(QKS_ERR_INVALID, "qhw_rng_state: NULL");
    if (rng->agent != NULL)
        return qag_rng_state(rng->agent);
    rng_lock(rng);
    check_fork(rng);
    rc = latched_error(rng);
    pthread_mutex_unlock(&rng->lock);
    return rc;
}

unsigned qhw_rng_strength(const QHW_RNG *rng)
{
    (void)rng;
    /* SHA-256 vetted conditioning with >= 320 bits of input min-entropy; for DIQRNG, Toeplitz
     * output within 2^-eps_log2 (<= 2^-32) of uniform: full entropy as SP 800-90C defines it */
    return 256;
}

/* Health-test and conditioning figures of the SP 800-90B path (sim, device:). */
static void status_90b(QHW_RNG *rng, json_t *out)
{
    const QHW_HEALTH *h = &rng->health;

    json_object_set_new(out, "min_entropy_per_bit", json_real(rng->min_entropy));
    json_object_set_new(out, "sample_bits", json_integer(rng->src->sample_bits));
    json_object_set_new(out, "min_entropy_per_sample", json_real(h->h_sample));
    json_object_set_new(out, "alpha_log2", json_integer(rng->p.alpha_log2));
    json_object_set_new(out, "rct_cutoff", json_integer(h->rct_cutoff));
    json_object_set_new(out, "apt_window", json_integer(h->apt_window));
    json_object_set_new(out, "apt_cutoff", json_integer(h->apt_cutoff));
    json_object_set_new(out, "samples_tested", json_integer((json_int_t)h->samples));
    json_object_set_new(out, "rct_longest_run", json_integer(h->rct_max_run));
    json_object_set_new(out, "apt_highest_count", json_integer(h->apt_max_count));
    json_object_set_new(out, "intermittent_failures",
                        json_integer((json_int_t)rng->intermittent_failures));
    json_object_set_new(out, "recoveries", json_integer((json_int_t)rng->recoveries));
    if (rng->tz != NULL) {
        qhw_rng_tz_status(rng->tz, out);
    } else {
        json_object_set_new(out, "conditioning", json_string("sha256 (SP 800-90B vetted)"));
        json_object_set_new(out, "samples_per_block", json_integer(rng->samples_per_block));
    }
    json_object_set_new(out, "post_processed", json_boolean(rng->src->post_processed));
    if (rng->src->post_processed)
        json_object_set_new(out, "note",
                            json_string("the device whitens its output before we see it: the "
                                        "health tests can only catch gross failures"));
    if (rng->src->meth->status != NULL)
        rng->src->meth->status(rng->src, out);
}

int qhw_rng_status(QHW_RNG *rng, json_t *out)
{
    static const char *const states[] = {"ok", "intermittent failure", "permanent failure"};

    if (rng == NULL || out == NULL)
        return qks_set_error(QKS_ERR_INVALID, "qhw_rng_status: NULL");
    if (rng->agent != NULL) {
        json_object_set_new(out, "source", json_string("agent"));
        return qag_rng_status(rng->agent, out);
    }
    rng_lock(rng);
    check_fork(rng);
    json_object_set_new(out, "source", json_string(source_name(&rng->p)));
    if (rng->diq != NULL) {
        int st = qhw_diq_state(rng->diq);
        json_object_set_new(out, "health",
                            json_string(st == QKS_OK ? "ok (certified by the Bell test)"
                                        : st == QKS_ERR_ENTROPY
                                            ? "last block refused: Bell bound not above 2"
                                            : "record stream failed"));
        json_object_set_new(out, "extractor", json_string("toeplitz"));
        qhw_diq_status(rng->diq, out);
    } else {
        json_object_set_new(out, "health",
                            json_string(!rng->started && rng->state == ST_OK
                                            ? "start-up test pending"
                                            : states[rng->state]));
        if (rng->last_failure[0] != '\0')
            json_object_set_new(out, "last_failure", json_string(rng->last_failure));
        status_90b(rng, out);
    }
    json_object_set_new(out, "strength_bits", json_integer(qhw_rng_strength(rng)));
    json_object_set_new(out, "bytes_out", json_integer((json_int_t)rng->bytes_out));
    pthread_mutex_unlock(&rng->lock);
    return QKS_OK;
}
