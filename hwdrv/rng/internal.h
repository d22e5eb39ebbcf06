/*
 * hwdrv/rng private header: the pieces of the quantum randomness pipeline
 *   raw source -> SP 800-90B health tests -> conditioning / extraction -> buffered output
 * shared between the files of hwdrv/rng/ and its unit tests. Not a public interface.
 */
#ifndef QKEY_HWDRV_RNG_INTERNAL_H
#define QKEY_HWDRV_RNG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "qhw.h"

/* ---- configuration (rng.* keys) ------------------------------------------------------- */
typedef enum {
    QHW_SRC_SIM = 1,    /* "sim": simulated vacuum-noise homodyne QRNG */
    QHW_SRC_DEVICE,     /* "device:PATH": /dev/hwrng, /dev/qrandomN, FIFO, replay file */
    QHW_SRC_DIQRNG,     /* "diqrng:PATH": recorded Bell-test rounds */
    QHW_SRC_DIQRNG_SIM, /* "diqrng-sim": simulated CHSH experiment */
    QHW_SRC_AGENT       /* "agent": qkeyd's pipeline over agent.socket (hwdrv/agent/) */
} QHW_SRC_KIND;

typedef enum {
    QHW_EXT_SHA256 = 1, /* SP 800-90B vetted conditioning (default for sim/device) */
    QHW_EXT_TOEPLITZ    /* Toeplitz hashing (then SHA-256 for sim/device, see docs/rng.md) */
} QHW_EXT_KIND;

#define QHW_RNG_PATH_MAX 4096

typedef struct {
    QHW_SRC_KIND kind;
    char path[QHW_RNG_PATH_MAX]; /* device:/diqrng: path */
    double min_entropy;          /* rng.min_entropy: bits per raw bit, (0, 1] */
    int min_entropy_set;         /* 1 if given in config (else the source default) */
    unsigned alpha_log2;         /* rng.alpha_log2: health-test false-positive 2^-a */
    QHW_EXT_KIND extractor;      /* rng.extractor */
    unsigned eps_log2;           /* rng.eps_log2: extractor distance 2^-e */
    long timeout_ms;             /* rng.timeout_ms: longest wait for a device byte */
    /* diqrng-sim */
    double diqrng_visibility;  /* rng.diqrng_visibility */
    double diqrng_efficiency;  /* rng.diqrng_efficiency */
    double diqrng_test_prob;   /* rng.diqrng_test_prob */
    long diqrng_block_rounds;  /* rng.diqrng_block_rounds */
    unsigned diqrng_conf_log2; /* rng.diqrng_conf_log2: the bound on S fails w.p. 2^-c */
    char toeplitz_seed_file[QHW_RNG_PATH_MAX]; /* rng.toeplitz_seed_file ("" = derive) */
} QHW_RNG_PARAMS;

/* Parse and validate every rng.* key; QKS_ERR_CONFIG with a detail naming the key. */
int qhw_rng_params_load(const QKS_CONFIG *cfg, QHW_RNG_PARAMS *p);

/* ---- SP 800-90B 4.4 health tests ------------------------------------------------------ */
/* 90B 4.4.1: C = 1 + ceil(alpha_log2 / H), H = min-entropy per sample. */
unsigned qhw_rct_cutoff(double h_sample, unsigned alpha_log2);
/* 90B 4.4.2: C = 1 + CRITBINOM(W, 2^-H, 1 - 2^-alpha_log2), from the exact binomial tail. */
unsigned qhw_apt_cutoff(unsigned window, double h_sample, unsigned alpha_log2);
/* 90B 4.4.2: W = 512 for binary samples, 1024 otherwise. */
unsigned qhw_apt_window(unsigned sample_bits);

typedef enum { QHW_HEALTH_PASS = 0, QHW_HEALTH_RCT_FAIL, QHW_HEALTH_APT_FAIL } QHW_HEALTH_RESULT;

typedef struct {
    /* parameters */
    unsigned rct_cutoff;
    unsigned apt_cutoff;
    unsigned apt_window;
    double h_sample;
    /* 90B 4.4.1 state: A (last sample) and B (run length); run == 0 before the first sample */
    unsigned rct_last, rct_run;
    /* 90B 4.4.2 state: A (first sample of the window), B (its count), position in window */
    unsigned apt_base, apt_count, apt_pos;
    /* figures for status */
    uint64_t samples;
    unsigned rct_max_run;   /* longest run seen */
    unsigned apt_max_count; /* highest window count seen */
} QHW_HEALTH;

int qhw_health_init(QHW_HEALTH *h, double h_sample, unsigned sample_bits, unsigned alpha_log2);
/* Restart both tests (keeps parameters and figures). */
void qhw_health_reset(QHW_HEALTH *h);
/* Feed n raw samples in order. On failure stops at the failing sample: *fail_at (if not NULL)
 * is its index, *count the run length / window count that reached the cutoff. */
QHW_HEALTH_RESULT qhw_health_run(QHW_HEALTH *h, const unsigned char *s, size_t n, size_t *fail_at,
                                 unsigned *count);

/* ---- raw sources ---------------------------------------------------------------------- */
typedef struct qhw_rng_source_st QHW_RNG_SOURCE;

typedef struct {
    /* required: source family ("sim", "device") */
    const char *name;
    /* required: fill n raw samples, one per byte (values < 2^sample_bits). Blocks at most
     * rng.timeout_ms without progress. QKS_OK, QKS_ERR_DEVICE, QKS_ERR_TIMEOUT, QKS_ERR_IO */
    int (*read)(QHW_RNG_SOURCE *src, unsigned char *samples, size_t n);
    /* required: in a forked child, re-seed / drop state shared with the parent */
    int (*after_fork)(QHW_RNG_SOURCE *src);
    /* optional: add source fields to a status object */
    int (*status)(QHW_RNG_SOURCE *src, json_t *out);
    /* required: release, wiping secrets */
    void (*free)(QHW_RNG_SOURCE *src);
} QHW_RNG_SOURCE_METHOD;

/* Every source context starts with these members. */
struct qhw_rng_source_st {
    const QHW_RNG_SOURCE_METHOD *meth;
    unsigned sample_bits;       /* bits per raw sample, 1..8 */
    double default_min_entropy; /* bits per raw bit when rng.min_entropy is not set */
    int post_processed;         /* 1: the device whitens its output (health tests weaker) */
    int eof_latched;            /* 1: a replay file is exhausted; every read fails */
};

/* Simulated homodyne QRNG: sigma (ADC units) of the 8-bit Gaussian vacuum noise. */
#define QHW_SIM_SIGMA 32.0
/* Documented min-entropy of the simulated samples, bits per raw bit (see docs/rng.md):
 * -log2(817/65536) / 8 = 0.79072...; the default rng.min_entropy for sim rounds it down. */
#define QHW_SIM_MIN_ENTROPY 0.79
/* Default rng.min_entropy for device: sources (assessment left to the operator). */
#define QHW_DEVICE_MIN_ENTROPY 0.5

int qhw_rng_sim_open(const QHW_RNG_PARAMS *p, QHW_RNG_SOURCE **out);
/* The sim's sample distribution: counts[v] of 65536 for each 8-bit value v. */
void qhw_rng_sim_table(unsigned counts[256]);
int qhw_rng_device_open(const QHW_RNG_PARAMS *p, QHW_RNG_SOURCE **out);

/* ---- conditioning (SP 800-90B 3.1.5.1.1 vetted: SHA-256) -------------------------------- */
typedef struct qhw_conditioner_st QHW_CONDITIONER;

int qhw_conditioner_new(QHW_CONDITIONER **out);
void qhw_conditioner_free(QHW_CONDITIONER *c);
/* out[32] = SHA-256(in[0..n)) in the conditioner's private OSSL_LIB_CTX */
int qhw_condition(QHW_CONDITIONER *c, const unsigned char *in, size_t n, unsigned char out[32]);

/* ---- Toeplitz extractor (toeplitz.c) ----------------------------------------------------- */
typedef struct qhw_toeplitz_st QHW_TOEPLITZ;

/* Seed bytes for an n-bit input and up to m_max output bits: ceil((n + m_max - 1) / 8). */
size_t qhw_toeplitz_seed_bytes(size_t n, size_t m_max);
/* An extractor for n input bits (n >= 128) and up to m_max <= n output bits. The seed is
 * copied; it is public (not secret) but must be independent of the inputs. */
int qhw_toeplitz_new(size_t n, size_t m_max, const unsigned char *seed, size_t seed_bytes,
                     QHW_TOEPLITZ **out);
void qhw_toeplitz_free(QHW_TOEPLITZ *t);
/* out[0 .. ceil(m/8)) = first m bits of T x, x = the n bits of in (bit j = in[j/8] >> j%8). */
int qhw_toeplitz_extract(QHW_TOEPLITZ *t, const unsigned char *in, size_t m, unsigned char *out);
/* Kernels, fastest last; qhw_toeplitz_new picks the fastest the CPU has (checked at run time). */
typedef enum {
    QHW_TZ_PORTABLE = 0,   /* shift-and-xor 64 x 64 carry-less multiply */
    QHW_TZ_PCLMUL1 = 1,    /* PCLMULQDQ, one word pair per step, chunked full Karatsuba */
    QHW_TZ_PCLMUL = 2,     /* PCLMULQDQ + AVX, the vector kernels' algorithm on 128 bits */
    QHW_TZ_VPCLMUL256 = 3, /* VPCLMULQDQ + AVX2 */
    QHW_TZ_VPCLMUL512 = 4, /* VPCLMULQDQ + AVX-512F */
} QHW_TZ_KERNEL;
#define QHW_TZ_NKERNELS 5
/* Use kernel k; returns 1 if this CPU has it (else nothing changes and 0). */
int qhw_toeplitz_use_kernel(QHW_TOEPLITZ *t, QHW_TZ_KERNEL k);
QHW_TZ_KERNEL qhw_toeplitz_kernel(const QHW_TOEPLITZ *t);
/* The vector kernels' transposed Karatsuba split (toeplitz_tkara.c): base-block words (a multiple
 * of 16) and levels, 0 levels = none; seed_tree: precomputed derived seeds (else derived during
 * each extraction, as for very large n). qhw_toeplitz_new picks a split by a cost model; tests
 * and benchmarks set others (the output does not change). */
int qhw_toeplitz_set_split(QHW_TOEPLITZ *t, size_t base, size_t levels, int seed_tree);
void qhw_toeplitz_get_split(const QHW_TOEPLITZ *t, size_t *base, size_t *levels, int *seed_tree);
int qhw_toeplitz_cpu_has(QHW_TZ_KERNEL k);
QHW_TZ_KERNEL qhw_toeplitz_best_kernel(void);
const char *qhw_toeplitz_kernel_name(QHW_TZ_KERNEL k);
/* The vector kernels (toeplitz_simd.c): q[2i], q[2i + 1] ^= lo, hi of
 * XOR_{a < nx} clmul(x[a], R[a - i]) for i < rows (R: reversed seed words, see there). */
#define QHW_TZ_XPAD 16 /* nx: a multiple of this */
typedef void (*QHW_TZ_ROWS)(uint64_t *q, const uint64_t *x, size_t nx, const uint64_t *R,
                            size_t rows);
void qhw_tz_rows_vpclmul512(uint64_t *q, const uint64_t *x, size_t nx, const uint64_t *R,
                            size_t rows);
void qhw_tz_rows_vpclmul256(uint64_t *q, const uint64_t *x, size_t nx, const uint64_t *R,
                            size_t rows);
void qhw_tz_rows_pclmul(uint64_t *q, const uint64_t *x, size_t nx, const uint64_t *R, size_t rows);
/* d[i] = a[i] ^ b[i], i < n (d may equal a) */
typedef void (*QHW_TZ_XOR)(uint64_t *d, const uint64_t *a, const uint64_t *b, size_t n);
void qhw_tz_xor_avx512(uint64_t *d, const uint64_t *a, const uint64_t *b, size_t n);
void qhw_tz_xor_avx2(uint64_t *d, const uint64_t *a, const uint64_t *b, size_t n);
void qhw_tz_xor_sse2(uint64_t *d, const uint64_t *a, const uint64_t *b, size_t n);
typedef struct {
    QHW_TZ_ROWS rows;
    QHW_TZ_XOR xorw;
} QHW_TZ_OPS;
/* Transposed Karatsuba over those (toeplitz_tkara.c). levels = 0: no split (one rows call);
 * else tr x tc tiles of size x size words, size = base << levels. */
typedef struct {
    size_t base, levels, size, tr, tc;
} QHW_TZ_PLAN;
void qhw_tz_plan(QHW_TZ_PLAN *pl, size_t rows, size_t nw);
size_t qhw_tz_scratch_words(size_t size);
size_t qhw_tz_scratch_used(size_t size, int with_tree);
size_t qhw_tz_tree_words(size_t base, size_t size);
void qhw_tz_tree_build(const QHW_TZ_OPS *ops, uint64_t *tree, const uint64_t *R, size_t size,
                       size_t base);
void qhw_tz_tkara(const QHW_TZ_OPS *ops, size_t base, uint64_t *q, const uint64_t *x,
                  const uint64_t *R, size_t size, const uint64_t *tree, uint64_t *scratch);
int qhw_tz_cpu_vpclmul(int bits);
/* Plain O(nm) definition, for tests. */
void qhw_toeplitz_reference(const unsigned char *seed, size_t n, size_t m, const unsigned char *in,
                            unsigned char *out);
/* Leftover hash lemma output length: floor(k - 2 * eps_log2), 0 if not positive. */
size_t qhw_lhl_output_bits(double min_entropy_bits, unsigned eps_log2);

/* ---- rng.extractor = toeplitz on sim/device (rng_toeplitz.c) ---------------------------- */
#define QHW_TZ_SAMPLES 1024 /* 8-bit samples per Toeplitz block */
typedef struct qhw_rng_tz_st QHW_RNG_TZ;

int qhw_rng_tz_new(const QHW_RNG_PARAMS *p, double min_entropy, QHW_RNG_TZ **out);
void qhw_rng_tz_free(QHW_RNG_TZ *z);
/* Seed bytes still needed (0 once seeded). */
size_t qhw_rng_tz_seed_bytes(const QHW_RNG_TZ *z);
int qhw_rng_tz_set_seed(QHW_RNG_TZ *z, const unsigned char *seed);
/* QHW_TZ_SAMPLES tested samples -> *out_len full-entropy bytes in out (<= 1024); stage is
 * scratch of 1024 bytes. */
int qhw_rng_tz_block(QHW_RNG_TZ *z, QHW_CONDITIONER *c, const unsigned char *samples,
                     unsigned char *stage, unsigned char *out, size_t *out_len);
int qhw_rng_tz_status(const QHW_RNG_TZ *z, json_t *o);
/* Read exactly len bytes of rng.toeplitz_seed_file (QKS_ERR_CONFIG naming it otherwise). */
int qhw_rng_read_seed_file(const char *path, unsigned char *seed, size_t len, const char *why);

#endif /* QKEY_HWDRV_RNG_INTERNAL_H */
