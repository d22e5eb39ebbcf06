/*
 * DIQRNG: the Bell bound and its entropy accounting, the CHSH simulation (output at the
 * certified rate near S = 2.7, nothing at S <= 2, no post-selection with lossy detectors), record
 * files (diqrng:PATH) and every error path of the record parser.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diqrng.h"
#include "helpers.h"

static void test_chsh_min_entropy(void)
{
    CU_ASSERT_DOUBLE_EQUAL(qhw_chsh_min_entropy(2.0), 0.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(qhw_chsh_min_entropy(1.5), 0.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(qhw_chsh_min_entropy(2.0 * M_SQRT2), 1.0, 1e-9);
    /* Pironio et al. 2010: about 0.49 bit per round at S = 2.7 */
    CU_ASSERT_DOUBLE_EQUAL(qhw_chsh_min_entropy(2.7), 0.49278, 1e-4);
}

/* A hand-checked block: N = 10^6, q = 1/2, mean score S/4 = 0.675. Freedman with b = 3,
 * v = 2 * 10^6, L = 100 ln 2 gives d = 16720.6, S_lower = 4 (675000 - d) / 10^6 = 2.63312,
 * f(S_lower) = 0.39935 bits, m = floor(399346.2 - 200) rounded down to bytes. */
static void test_bound_by_hand(void)
{
    QHW_BELL_TALLY t = {.rounds = 1000000, .test_rounds = 500000, .chsh_sum = 337500};
    QHW_BELL_RESULT r;

    qhw_bell_evaluate(&t, 0x80000000u, 100, 100, &r);
    CU_ASSERT_DOUBLE_EQUAL(r.q, 0.5, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(r.s_estimate, 2.7, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(r.s_lower, 2.633118, 1e-5);
    CU_ASSERT_DOUBLE_EQUAL(r.h_per_round, 0.399346, 1e-5);
    CU_ASSERT_EQUAL(r.out_bits, 399144);
    /* settings: N h(1/2) + 2 T = 10^6 + 10^6 bits: this q spends more than it makes */
    CU_ASSERT_DOUBLE_EQUAL(r.setting_bits, 2e6, 1e-3);
    /* a weaker confidence requirement gives a tighter bound */
    QHW_BELL_RESULT r40;
    qhw_bell_evaluate(&t, 0x80000000u, 40, 100, &r40);
    CU_ASSERT(r40.s_lower > r.s_lower && r40.s_lower < r.s_estimate);
    /* a local (S = 2) block certifies nothing */
    t.chsh_sum = 250000;
    qhw_bell_evaluate(&t, 0x80000000u, 100, 100, &r);
    CU_ASSERT(r.s_lower < 2.0);
    CU_ASSERT_EQUAL(r.out_bits, 0);
}

static QHW_DIQ *open_sim_engine(const char *visibility, const char *efficiency, const char *rounds)
{
    QKS_CONFIG *cfg = rng_test_config("rng.source", "diqrng-sim", "rng.diqrng_visibility",
                                      visibility, "rng.diqrng_efficiency", efficiency,
                                      "rng.diqrng_block_rounds", rounds, NULL);
    QHW_RNG_PARAMS p;
    QHW_RNG_SOURCE *src = NULL;
    QHW_DIQ *d = NULL;

    if (qhw_rng_params_load(cfg, &p) != QKS_OK || qhw_diq_sim_open(&p, &src) != QKS_OK ||
        qhw_diq_new(&p, src, &d) != QKS_OK)
        d = NULL;
    qks_config_free(cfg);
    return d;
}

static double jnum(json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

/* Near S = 2.7 (V = 0.96): one block yields exactly floor(N f(S_lower) - 2 * 100) bits, rounded
 * down to bytes, and the next byte needs a new block. */
static void test_sim_certified_rate(void)
{
    const size_t n = 1 << 20;
    QHW_DIQ *d = open_sim_engine("0.96", "1", "1048576");
    json_t *st = json_object();
    unsigned char *out = malloc(n / 8);

    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_EQUAL_FATAL(qhw_diq_produce(d, out, 1), QKS_OK);
    qhw_diq_status(d, st);
    double s = jnum(st, "diqrng_S"), lower = jnum(st, "diqrng_S_lower_bound");
    double h = jnum(st, "diqrng_certified_bits_per_round");
    CU_ASSERT_DOUBLE_EQUAL(s, qhw_diq_sim_expected_s(0.96, 1.0), 0.2); /* sd 0.035 */
    CU_ASSERT(lower > 2.0 && lower < jnum(st, "diqrng_S_estimate"));
    CU_ASSERT_DOUBLE_EQUAL(h, qhw_chsh_min_entropy(lower), 1e-9);
    size_t bits = (size_t)floor(n * h - 200);
    bits -= bits % 8;
    CU_ASSERT_DOUBLE_EQUAL(jnum(st, "diqrng_extracted_bits_per_round") * n, bits, 1e-6);
    CU_ASSERT(jnum(st, "diqrng_net_bits_per_round") < jnum(st, "diqrng_extracted_bits_per_round"));
    /* the rest of the block, then one more byte: a second block */
    CU_ASSERT_EQUAL(qhw_diq_produce(d, out, bits / 8 - 1), QKS_OK);
    json_object_clear(st);
    qhw_diq_status(d, st);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(st, "diqrng_blocks")), 1);
    CU_ASSERT_EQUAL(qhw_diq_produce(d, out, 1), QKS_OK);
    json_object_clear(st);
    qhw_diq_status(d, st);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(st, "diqrng_blocks")), 2);
    json_decref(st);
    free(out);
    qhw_diq_free(d);
}

/* V = 0.7: S = 1.98, no certified randomness: the call fails and hands out nothing. */
static void test_local_refused(void)
{
    QHW_RNG *rng = NULL;
    unsigned char out[64];
    json_t *st = json_object();

    CU_ASSERT_EQUAL_FATAL(rng_test_open(&rng, "rng.source", "diqrng-sim", "rng.diqrng_visibility",
                                        "0.7", "rng.diqrng_block_rounds", "262144", NULL),
                          QKS_OK);
    memset(out, 0xee, sizeof(out));
    CU_ASSERT_EQUAL(qhw_rng_generate(rng, out, sizeof(out)), QKS_ERR_ENTROPY);
    CU_ASSERT_PTR_NOT_NULL(strstr(qks_last_error(), "not above 2"));
    for (size_t i = 0; i < sizeof(out); i++)
        CU_ASSERT_EQUAL(out[i], 0);
    CU_ASSERT_EQUAL(qhw_rng_state(rng), QKS_ERR_ENTROPY);
    qhw_rng_status(rng, st);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(st, "diqrng_blocks_refused")), 1);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(st, "bytes_out")), 0);
    CU_ASSERT(jnum(st, "diqrng_S") < 2.25); /* 1.98 +- 0.07 (2,621 test rounds) */
    json_decref(st);
    qhw_rng_free(rng);
}

/* Lossy detectors: a no-click is outcome 0, every round counts: S = 2 sqrt2 V eta^2 + 2 (1-eta)^2
 * (2.311 at V = 1, eta = 0.9), not the post-selected 2 sqrt2. */
static void test_no_postselection(void)
{
    QHW_DIQ *d = open_sim_engine("1", "0.9", "1048576");
    unsigned char out[16];
    json_t *st = json_object();

    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    (void)qhw_diq_produce(d, out,
                          sizeof(out)); /* the bound may or may not pass: S is what we test */
    qhw_diq_status(d, st);
    CU_ASSERT_DOUBLE_EQUAL(jnum(st, "diqrng_S"), qhw_diq_sim_expected_s(1.0, 0.9), 0.2);
    CU_ASSERT_DOUBLE_EQUAL(qhw_diq_sim_expected_s(1.0, 0.9), 2.311, 0.001);
    json_decref(st);
    qhw_diq_free(d);
}

/* A record file written from the simulator at q = 1/2 (header + rounds). */
static const char *record_file(const char *name, const char *visibility, size_t rounds,
                               long corrupt_at, unsigned char corrupt_byte)
{
    QKS_CONFIG *cfg = rng_test_config("rng.source", "diqrng-sim", "rng.diqrng_visibility",
                                      visibility, "rng.diqrng_test_prob", "0.5", NULL);
    QHW_RNG_PARAMS p;
    QHW_RNG_SOURCE *src = NULL;
    unsigned char *buf = malloc(QHW_DIQ_HEADER_LEN + rounds);
    const char *path = NULL;

    if (qhw_rng_params_load(cfg, &p) == QKS_OK && qhw_diq_sim_open(&p, &src) == QKS_OK &&
        src->meth->read(src, buf, QHW_DIQ_HEADER_LEN + rounds) == QKS_OK) {
        if (corrupt_at >= 0)
            buf[QHW_DIQ_HEADER_LEN + corrupt_at] = corrupt_byte;
        path = rng_test_file(name, buf, QHW_DIQ_HEADER_LEN + rounds);
    }
    if (src != NULL)
        src->meth->free(src);
    qks_config_free(cfg);
    free(buf);
    return path;
}

static char srcbuf[700];
static const char *diqrng_path(const char *path)
{
    snprintf(srcbuf, sizeof(srcbuf), "diqrng:%s", path);
    return srcbuf;
}

static void test_record_file(void)
{
    const char *path = record_file("good.diq", "0.98", 3 * 65536, -1, 0);
    QHW_RNG *rng = NULL;
    unsigned char out[256];
    json_t *st = json_object();

    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    CU_ASSERT_EQUAL_FATAL(rng_test_open(&rng, "rng.source", diqrng_path(path),
                                        "rng.diqrng_block_rounds", "65536", NULL),
                          QKS_OK);
    CU_ASSERT_EQUAL(qhw_rng_generate(rng, out, sizeof(out)), QKS_OK);
    qhw_rng_status(rng, st);
    CU_ASSERT_DOUBLE_EQUAL(jnum(st, "diqrng_test_prob"), 0.5, 1e-9);
    CU_ASSERT(jnum(st, "diqrng_S_lower_bound") > 2.0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(st, "device_type")), "replay file");
    /* three blocks in the file: a fourth runs into its end */
    unsigned char *big = malloc(65536);
    int rc = QKS_OK;
    for (int i = 0; i < 4 && rc == QKS_OK; i++)
        rc = qhw_rng_generate(rng, big, 65536);
    CU_ASSERT_EQUAL(rc, QKS_ERR_DEVICE);
    CU_ASSERT_PTR_NOT_NULL(strstr(qks_last_error(), "end of file"));
    free(big);
    json_decref(st);
    qhw_rng_free(rng);
}

static void expect_stream_error(const char *path, const char *needle)
{
    QHW_RNG *rng = NULL;
    unsigned char out[32];

    CU_ASSERT_EQUAL_FATAL(rng_test_open(&rng, "rng.source", diqrng_path(path),
                                        "rng.diqrng_block_rounds", "65536", NULL),
                          QKS_OK);
    CU_ASSERT_EQUAL(qhw_rng_generate(rng, out, sizeof(out)), QKS_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(qks_last_error(), needle));
    /* latched: the stream is not read further */
    CU_ASSERT_EQUAL(qhw_rng_generate(rng, out, sizeof(out)), QKS_ERR_INVALID);
    CU_ASSERT_EQUAL(qhw_rng_state(rng), QKS_ERR_INVALID);
    qhw_rng_free(rng);
}

static void test_parser_errors(void)
{
    unsigned char h[QHW_DIQ_HEADER_LEN];
    QHW_DIQ_HEADER hdr;
    QHW_BELL_TALLY t;
    unsigned char rec;

    qhw_diq_make_header(0x01000000u, h);
    CU_ASSERT_EQUAL(qhw_diq_parse_header(h, sizeof(h), &hdr), QKS_OK);
    CU_ASSERT_EQUAL(hdr.test_prob_q32, 0x01000000u);
    CU_ASSERT_EQUAL(qhw_diq_parse_header(h, 15, &hdr), QKS_ERR_INVALID);
    h[0] = 'X';
    CU_ASSERT_EQUAL(qhw_diq_parse_header(h, sizeof(h), &hdr), QKS_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(qks_last_error(), "magic"));
    qhw_diq_make_header(0x01000000u, h);
    h[8] = 2;
    CU_ASSERT_EQUAL(qhw_diq_parse_header(h, sizeof(h), &hdr), QKS_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(qks_last_error(), "version 2"));
    qhw_diq_make_header(0x01000000u, h);
    h[10] = 1;
    CU_ASSERT_EQUAL(qhw_diq_parse_header(h, sizeof(h), &hdr), QKS_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(qks_last_error(), "reserved"));
    qhw_diq_make_header(0, h);
    CU_ASSERT_EQUAL(qhw_diq_parse_header(h, sizeof(h), &hdr), QKS_ERR_INVALID);
    qhw_diq_make_header(0x80000001u, h);
    CU_ASSERT_EQUAL(qhw_diq_parse_header(h, sizeof(h), &hdr), QKS_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(qks_last_error(), "test probability"));
    qhw_diq_make_header(0x80000000u, h);
    CU_ASSERT_EQUAL(qhw_diq_parse_header(h, sizeof(h), &hdr), QKS_OK);

    memset(&t, 0, sizeof(t));
    rec = 0x20;
    CU_ASSERT_EQUAL(qhw_diq_parse_records(&rec, 1, &t, NULL), QKS_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(qks_last_error(), "record 0: reserved bits"));
    rec = 0x01; /* generation round with x = 1 */
    CU_ASSERT_EQUAL(qhw_diq_parse_records(&rec, 1, &t, NULL), QKS_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(qks_last_error(), "generation round"));
    rec = 0x1f; /* test round x = y = 1, a = b = 1: scores -1 */
    CU_ASSERT_EQUAL(qhw_diq_parse_records(&rec, 1, &t, NULL), QKS_OK);
    CU_ASSERT_EQUAL(t.chsh_sum, -1);
    CU_ASSERT_EQUAL(t.n[1][1][0], 1);

    /* through the pipeline: a bad record in the middle of a file, a bad header, a short file */
    expect_stream_error(record_file("bad-record.diq", "0.98", 65536, 40000, 0x41),
                        "record 40000: reserved bits");
    expect_stream_error(record_file("bad-setting.diq", "0.98", 65536, 123, 0x02),
                        "record 123: generation round");
    qhw_diq_make_header(0x80000000u, h);
    h[8] = 9;
    expect_stream_error(rng_test_file("bad-header.diq", h, sizeof(h)), "version 9");
    QHW_RNG *rng = NULL;
    unsigned char out[32];
    CU_ASSERT_EQUAL_FATAL(
        rng_test_open(&rng, "rng.source", diqrng_path(rng_test_file("short.diq", h, 10)), NULL),
        QKS_OK);
    CU_ASSERT_EQUAL(qhw_rng_generate(rng, out, sizeof(out)), QKS_ERR_DEVICE);
    qhw_rng_free(rng);
}

static void test_seed_file(void)
{
    unsigned char seed[2 * 16384 / 8];
    QHW_RNG *rng = NULL;
    json_t *st = json_object();

    rng_test_random(seed, sizeof(seed));
    const char *path = rng_test_file("seed.bin", seed, sizeof(seed));
    CU_ASSERT_EQUAL(rng_test_open(&rng, "rng.source", "diqrng-sim", "rng.diqrng_block_rounds",
                                  "32768", "rng.toeplitz_seed_file", path, NULL),
                    QKS_ERR_CONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(qks_last_error(), "rng.toeplitz_seed_file"));
    CU_ASSERT_EQUAL_FATAL(rng_test_open(&rng, "rng.source", "diqrng-sim", "rng.diqrng_block_rounds",
                                        "16384", "rng.toeplitz_seed_file", path, NULL),
                          QKS_OK);
    qhw_rng_status(rng, st);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(json_string_value(json_object_get(st, "diqrng_toeplitz_seed")), path));
    json_decref(st);
    qhw_rng_free(rng);
    CU_ASSERT_EQUAL(
        rng_test_open(&rng, "rng.source", "diqrng-sim", "rng.extractor", "sha256", NULL),
        QKS_ERR_CONFIG);
}

int rng_suite_diqrng(void)
{
    CU_pSuite s = CU_add_suite("rng_diqrng", NULL, NULL);

    if (s == NULL || !CU_add_test(s, "CHSH min-entropy bound", test_chsh_min_entropy) ||
        !CU_add_test(s, "Freedman bound by hand", test_bound_by_hand) ||
        !CU_add_test(s, "sim: output at the certified rate", test_sim_certified_rate) ||
        !CU_add_test(s, "sim: S <= 2 gives nothing", test_local_refused) ||
        !CU_add_test(s, "sim: no post-selection", test_no_postselection) ||
        !CU_add_test(s, "record file", test_record_file) ||
        !CU_add_test(s, "record parser error paths", test_parser_errors) ||
        !CU_add_test(s, "Toeplitz seed file", test_seed_file))
        return CU_get_error();
    return CUE_SUCCESS;
}
