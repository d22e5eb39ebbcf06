/*
 * DIQRNG engine: collect a block of N Bell-test rounds from the record stream (diqrng:PATH or
 * diqrng-sim), bound the CHSH value from the spot-checked test rounds, certify min-entropy with
 * Pironio et al.'s bound and extract with the Toeplitz hash. No output at all from a block whose
 * lower bound on S is not above 2.
 *
 * Statistics (docs/rng.md): per round K_i = t_i c_i / q, c_i = (-1)^(a ^ b ^ (x & y)), so
 * E[K_i | past] = I_i / 4 with I_i the CHSH value of the devices' strategy in round i (the
 * test choice is independent of the devices). Freedman's martingale inequality with increments
 * bounded by 1/q + 1 and predictable variance <= N/q bounds sum I_i / N from below except with
 * probability 2^-conf_log2; f(S) = 1 - log2(1 + sqrt(2 - S^2/4)) is convex and increasing, so
 * the N rounds carry at least N f(S_lower) bits of min-entropy (Pironio et al., Nature 464,
 * 1021 (2010)). Alice's N outcome bits go into a Toeplitz matrix with
 * m = N f(S_lower) - 2 eps_log2 rows (leftover hash lemma).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "qkey/secmem.h"
#include "diqrng.h"

#define RECORD_CHUNK 65536

struct qhw_diq_st {
    QHW_RNG_SOURCE *src;
    unsigned conf_log2, eps_log2;
    size_t rounds;    /* N, rounds per block */
    QHW_TOEPLITZ *tz; /* n = N, m_max = N */
    char seed_origin[QHW_RNG_PATH_MAX + 32];
    int header_read;
    QHW_DIQ_HEADER hdr;
    int broken; /* malformed stream: every call fails with `broken_detail` */
    char broken_detail[256];
    unsigned char *records; /* secure, RECORD_CHUNK */
    unsigned char *a_bits;  /* secure, N / 8: Alice's outcomes of the block */
    unsigned char *out;     /* secure, N / 8: extracted bytes of the last block */
    size_t out_len, out_pos;
    /* figures */
    QHW_BELL_TALLY last_tally;
    QHW_BELL_RESULT last;
    int have_last, last_refused;
    uint64_t blocks, blocks_refused, bytes_out, rounds_total;
    double extracted_bits_total, setting_bits_total;
    double seconds; /* spent collecting and extracting */
};

double qhw_chsh_min_entropy(double s)
{
    if (!(s > 2.0))
        return 0.0;
    if (s > 2.0 * M_SQRT2)
        s = 2.0 * M_SQRT2;
    double r = 2.0 - s * s / 4.0;
    return 1.0 - log2(1.0 + sqrt(r > 0 ? r : 0));
}

static double binary_entropy(double q)
{
    return q <= 0 || q >= 1 ? 0 : -q * log2(q) - (1 - q) * log2(1 - q);
}

void qhw_bell_evaluate(const QHW_BELL_TALLY *t, uint32_t test_prob_q32, unsigned conf_log2,
                       unsigned eps_log2, QHW_BELL_RESULT *r)
{
    const double n = (double)t->rounds, q = test_prob_q32 / 4294967296.0;

    memset(r, 0, sizeof(*r));
    r->q = q;
    for (int x = 0; x < 2; x++)
        for (int y = 0; y < 2; y++) {
            double same = (double)t->n[x][y][0], diff = (double)t->n[x][y][1];
            double e = same + diff > 0 ? (same - diff) / (same + diff) : 0;
            r->s_observed += (x & y) ? -e : e;
        }
    r->setting_bits = n * binary_entropy(q) + 2.0 * (double)t->test_rounds;
    if (t->rounds == 0)
        return;
    r->s_estimate = 4.0 * (double)t->chsh_sum / (q * n);
    /* Freedman: P(sum X_i >= d, V <= v) <= exp(-d^2 / (2 (v + b d / 3))) */
    double L = conf_log2 * M_LN2, b = 1.0 / q + 1.0, v = n / q;
    double d = b * L / 3.0 + sqrt((b * L / 3.0) * (b * L / 3.0) + 2.0 * v * L);
    r->s_lower = 4.0 * ((double)t->chsh_sum / q - d) / n;
    r->h_per_round = qhw_chsh_min_entropy(r->s_lower);
    r->h_total = n * r->h_per_round;
    if (r->s_lower > 2.0) {
        size_t m = qhw_lhl_output_bits(r->h_total, eps_log2);
        r->out_bits = m - m % 8;
    }
}

/* The public Toeplitz seed: rng.toeplitz_seed_file, else getrandom(2) at open. */
static int load_seed(QHW_DIQ *d, const QHW_RNG_PARAMS *p, unsigned char *seed, size_t len)
{
    if (p->toeplitz_seed_file[0] != '\0') {
        char why[96];
        int rc;
        snprintf(why, sizeof(why), "a block of %zu rounds", d->rounds);
        if ((rc = qhw_rng_read_seed_file(p->toeplitz_seed_file, seed, len, why)) != QKS_OK)
            return rc;
        snprintf(d->seed_origin, sizeof(d->seed_origin), "file %s", p->toeplitz_seed_file);
        return QKS_OK;
    }
    for (size_t got = 0; got < len;) {
        ssize_t r = getrandom(seed + got, len - got > 65536 ? 65536 : len - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return qks_set_error(QKS_ERR_IO, "DIQRNG: getrandom for the Toeplitz seed: %s",
                                 strerror(errno));
        got += (size_t)r;
    }
    snprintf(d->seed_origin, sizeof(d->seed_origin), "getrandom(2) at open");
    return QKS_OK;
}

void qhw_diq_free(QHW_DIQ *d)
{
    if (d == NULL)
        return;
    if (d->src != NULL)
        d->src->meth->free(d->src);
    qhw_toeplitz_free(d->tz);
    qks_secure_free(d->records, RECORD_CHUNK);
    qks_secure_free(d->a_bits, d->rounds / 8);
    qks_secure_free(d->out, d->rounds / 8);
    free(d);
}

int qhw_diq_new(const QHW_RNG_PARAMS *p, QHW_RNG_SOURCE *src, QHW_DIQ **out)
{
    QHW_DIQ *d = calloc(1, sizeof(*d));
    unsigned char *seed = NULL;
    size_t seed_len;
    int rc;

    *out = NULL;
    if (d == NULL) {
        src->meth->free(src);
        return qks_set_error(QKS_ERR_NOMEM, "DIQRNG: out of memory");
    }
    d->src = src;
    d->conf_log2 = p->diqrng_conf_log2;
    d->eps_log2 = p->eps_log2;
    d->rounds = (size_t)p->diqrng_block_rounds & ~(size_t)63;
    seed_len = qhw_toeplitz_seed_bytes(d->rounds, d->rounds);
    d->records = qks_secure_alloc(RECORD_CHUNK);
    d->a_bits = qks_secure_alloc(d->rounds / 8);
    d->out = qks_secure_alloc(d->rounds / 8);
    seed = malloc(seed_len);
    if (d->records == NULL || d->a_bits == NULL || d->out == NULL || seed == NULL) {
        rc = qks_set_error(QKS_ERR_NOMEM, "DIQRNG: out of memory for a block of %zu rounds",
                           d->rounds);
        goto err;
    }
    if ((rc = load_seed(d, p, seed, seed_len)) != QKS_OK ||
        (rc = qhw_toeplitz_new(d->rounds, d->rounds, seed, seed_len, &d->tz)) != QKS_OK)
        goto err;
    free(seed);
    *out = d;
    return QKS_OK;
err:
    free(seed);
    qhw_diq_free(d);
    return rc;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int stream_broken(QHW_DIQ *d, int rc)
{
    d->broken = rc;
    snprintf(d->broken_detail, sizeof(d->broken_detail), "%s", qks_last_error());
    return rc;
}

/* Collect, evaluate and extract one block into d->out. */
static int run_block(QHW_DIQ *d)
{
    QHW_BELL_TALLY t;
    double t0 = now_s();
    int rc;

    if (!d->header_read) {
        if ((rc = d->src->meth->read(d->src, d->records, QHW_DIQ_HEADER_LEN)) != QKS_OK)
            return rc;
        if ((rc = qhw_diq_parse_header(d->records, QHW_DIQ_HEADER_LEN, &d->hdr)) != QKS_OK)
            return stream_broken(d, rc);
        d->header_read = 1;
    }
    memset(&t, 0, sizeof(t));
    memset(d->a_bits, 0, d->rounds / 8);
    while (t.rounds < d->rounds) {
        size_t n = d->rounds - t.rounds < RECORD_CHUNK ? d->rounds - t.rounds : RECORD_CHUNK;
        if ((rc = d->src->meth->read(d->src, d->records, n)) != QKS_OK)
            goto done; /* device error: the partial block is dropped */
        if ((rc = qhw_diq_parse_records(d->records, n, &t, d->a_bits)) != QKS_OK) {
            stream_broken(d, rc);
            goto done;
        }
    }
    d->rounds_total += t.rounds;
    d->blocks++;
    d->last_tally = t;
    d->have_last = 1;
    qhw_bell_evaluate(&t, d->hdr.test_prob_q32, d->conf_log2, d->eps_log2, &d->last);
    d->setting_bits_total += d->last.setting_bits; /* spent whether or not the block passes */
    if (d->last.out_bits == 0) {
        d->blocks_refused++;
        d->last_refused = 1;
        rc = qks_set_error(QKS_ERR_ENTROPY,
                           "DIQRNG block of %zu rounds: S = %.3f, lower bound %.3f (confidence "
                           "1 - 2^-%u) is not above 2: no certified randomness, block discarded",
                           d->rounds, d->last.s_observed, d->last.s_lower, d->conf_log2);
        goto done;
    }
    d->last_refused = 0;
    d->extracted_bits_total += (double)d->last.out_bits;
    if ((rc = qhw_toeplitz_extract(d->tz, d->a_bits, d->last.out_bits, d->out)) != QKS_OK)
        goto done;
    d->out_len = d->last.out_bits / 8;
    d->out_pos = 0;
done:
    qks_wipe(d->a_bits, d->rounds / 8);
    qks_wipe(d->records, RECORD_CHUNK);
    d->seconds += now_s() - t0;
    return rc;
}

int qhw_diq_produce(QHW_DIQ *d, unsigned char *out, size_t n)
{
    int rc;

    while (n > 0) {
        if (d->broken)
            return qks_set_error(d->broken, "%s (the record stream is not read further)",
                                 d->broken_detail);
        if (d->out_pos == d->out_len && (rc = run_block(d)) != QKS_OK)
            return rc;
        size_t take = d->out_len - d->out_pos < n ? d->out_len - d->out_pos : n;
        memcpy(out, d->out + d->out_pos, take);
        qks_wipe(d->out + d->out_pos, take);
        d->out_pos += take;
        d->bytes_out += take;
        out += take;
        n -= take;
    }
    return QKS_OK;
}

int qhw_diq_state(QHW_DIQ *d)
{
    if (d->broken)
        return qks_set_error(d->broken, "%s", d->broken_detail);
    if (d->last_refused)
        return qks_set_error(QKS_ERR_ENTROPY,
                             "DIQRNG: the last block's bound on S (%.3f) was not above 2",
                             d->last.s_lower);
    return QKS_OK;
}

void qhw_diq_after_fork(QHW_DIQ *d)
{
    /* the buffers are wiped-on-fork pages: forget what they held; the source re-seeds */
    d->out_len = d->out_pos = 0;
    (void)d->src->meth->after_fork(d->src); /* the sim re-keys; a stream has nothing to do */
}

int qhw_diq_status(QHW_DIQ *d, json_t *o)
{
    const QHW_BELL_RESULT *r = &d->last;

    json_object_set_new(o, "diqrng_rounds_per_block", json_integer((json_int_t)d->rounds));
    json_object_set_new(o, "diqrng_confidence_log2", json_integer(d->conf_log2));
    json_object_set_new(o, "diqrng_eps_log2", json_integer(d->eps_log2));
    json_object_set_new(o, "diqrng_toeplitz_seed", json_string(d->seed_origin));
    json_object_set_new(o, "diqrng_blocks", json_integer((json_int_t)d->blocks));
    json_object_set_new(o, "diqrng_blocks_refused", json_integer((json_int_t)d->blocks_refused));
    if (d->have_last) {
        double n = (double)d->last_tally.rounds;
        json_object_set_new(o, "diqrng_test_prob", json_real(r->q));
        json_object_set_new(o, "diqrng_test_rounds",
                            json_integer((json_int_t)d->last_tally.test_rounds));
        json_object_set_new(o, "diqrng_S", json_real(r->s_observed));
        json_object_set_new(o, "diqrng_S_estimate", json_real(r->s_estimate));
        json_object_set_new(o, "diqrng_S_lower_bound", json_real(r->s_lower));
        json_object_set_new(o, "diqrng_certified_bits_per_round", json_real(r->h_per_round));
        json_object_set_new(o, "diqrng_extracted_bits_per_round", json_real(r->out_bits / n));
        json_object_set_new(o, "diqrng_setting_bits_per_round", json_real(r->setting_bits / n));
        json_object_set_new(o, "diqrng_net_bits_per_round",
                            json_real(((double)r->out_bits - r->setting_bits) / n));
    }
    if (d->seconds > 0) {
        json_object_set_new(o, "diqrng_output_bytes_per_s",
                            json_real(d->extracted_bits_total / 8.0 / d->seconds));
        json_object_set_new(
            o, "diqrng_net_output_bytes_per_s",
            json_real((d->extracted_bits_total - d->setting_bits_total) / 8.0 / d->seconds));
    }
    json_object_set_new(o, "diqrng_bytes_out", json_integer((json_int_t)d->bytes_out));
    if (d->broken)
        json_object_set_new(o, "diqrng_stream_error", json_string(d->broken_detail));
    if (d->src->meth->status != NULL)
        d->src->meth->status(d->src, o);
    return QKS_OK;
}
