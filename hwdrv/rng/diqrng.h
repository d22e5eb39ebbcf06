/*
 * DIQRNG: device-independent randomness from CHSH Bell tests with spot-checking. Private to
 * hwdrv/rng and its tests. See docs/rng.md for the model, the bounds and the record format.
 */
#ifndef QKEY_HWDRV_RNG_DIQRNG_H
#define QKEY_HWDRV_RNG_DIQRNG_H

#include "internal.h"

#define QHW_DIQ_MAGIC      "QKDIQRNG"
#define QHW_DIQ_VERSION    1
#define QHW_DIQ_HEADER_LEN 16

typedef struct {
    uint32_t test_prob_q32; /* q * 2^32 */
} QHW_DIQ_HEADER;

/* Tallies of one block of rounds. */
typedef struct {
    uint64_t rounds;      /* all rounds */
    uint64_t test_rounds; /* rounds with t = 1 */
    uint64_t n[2][2][2];  /* test rounds by x, y, a ^ b */
    int64_t chsh_sum;     /* sum over test rounds of (-1)^(a ^ b ^ (x & y)) */
} QHW_BELL_TALLY;

/* Parse and check the 16-byte header (QKS_ERR_INVALID with a detail on any defect). */
int qhw_diq_parse_header(const unsigned char *buf, size_t len, QHW_DIQ_HEADER *h);
void qhw_diq_make_header(uint32_t test_prob_q32, unsigned char out[QHW_DIQ_HEADER_LEN]);
/* Parse n records into the tally; Alice's outcome of round t->rounds goes to bit
 * t->rounds of a_bits (zeroed by the caller; may be NULL). QKS_ERR_INVALID names the round. */
int qhw_diq_parse_records(const unsigned char *rec, size_t n, QHW_BELL_TALLY *t,
                          unsigned char *a_bits);

/* ---- the Bell bound and entropy accounting (diqrng.c) ---------------------------------- */
typedef struct {
    double q;            /* test probability */
    double s_observed;   /* E00 + E01 + E10 - E11 from the test rounds' correlators */
    double s_estimate;   /* 4 * chsh_sum / (q N): unbiased for the mean Bell value */
    double s_lower;      /* lower confidence bound, holds except with prob. 2^-conf_log2 */
    double h_per_round;  /* certified min-entropy per round, f(s_lower) */
    double h_total;      /* N * h_per_round */
    size_t out_bits;     /* extracted bits (leftover hash lemma, whole bytes) */
    double setting_bits; /* randomness spent choosing settings: N h(q) + 2 T */
} QHW_BELL_RESULT;

/* Pironio et al. 2010: H_min per round >= 1 - log2(1 + sqrt(2 - S^2/4)); 0 for S <= 2. */
double qhw_chsh_min_entropy(double s);
/* Evaluate a block: Freedman's martingale inequality gives the lower bound on S at
 * confidence 1 - 2^-conf_log2; output length from the leftover hash lemma at eps_log2. */
void qhw_bell_evaluate(const QHW_BELL_TALLY *t, uint32_t test_prob_q32, unsigned conf_log2,
                       unsigned eps_log2, QHW_BELL_RESULT *r);

/* ---- the engine (diqrng.c) ------------------------------------------------------------ */
typedef struct qhw_diq_st QHW_DIQ;

/* Build from params; src delivers the record stream (header first) and is owned by the
 * engine afterwards. */
int qhw_diq_new(const QHW_RNG_PARAMS *p, QHW_RNG_SOURCE *src, QHW_DIQ **out);
void qhw_diq_free(QHW_DIQ *d);
/* n bytes of extracted output; QKS_ERR_ENTROPY when a block's bound is <= 2 (the block is
 * discarded), QKS_ERR_INVALID on a malformed record, device errors from the source. */
int qhw_diq_produce(QHW_DIQ *d, unsigned char *out, size_t n);
/* QKS_OK or QKS_ERR_ENTROPY if the last block was refused. */
int qhw_diq_state(QHW_DIQ *d);
void qhw_diq_after_fork(QHW_DIQ *d);
int qhw_diq_status(QHW_DIQ *d, json_t *out);

/* diqrng-sim: a record stream from a simulated CHSH experiment. */
int qhw_diq_sim_open(const QHW_RNG_PARAMS *p, QHW_RNG_SOURCE **out);
/* The CHSH value the simulation is set up to give: 2 sqrt(2) V eta^2 + 2 (1 - eta)^2. */
double qhw_diq_sim_expected_s(double visibility, double efficiency);

#endif
