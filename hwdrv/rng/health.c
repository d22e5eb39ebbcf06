/*
 * SP 800-90B section 4.4 continuous health tests on raw samples: the repetition count test
 * (4.4.1) and the adaptive proportion test (4.4.2), with cutoffs computed from the assessed
 * min-entropy H per sample and the false-positive probability alpha = 2^-alpha_log2.
 */
#include <math.h>
#include <string.h>

#include "internal.h"

/* SP 800-90B 4.4.1: C = 1 + ceil(-log2(alpha) / H). */
unsigned qhw_rct_cutoff(double h_sample, unsigned alpha_log2)
{
    /* the epsilon keeps exact quotients (30 / 0.3 = 100) from rounding up a whole sample */
    double q = ceil((double)alpha_log2 / h_sample - 1e-9);
    return 1 + (unsigned)q;
}

unsigned qhw_apt_window(unsigned sample_bits)
{
    return sample_bits == 1 ? 512 : 1024; /* SP 800-90B 4.4.2 */
}

/*
 * SP 800-90B 4.4.2: C = 1 + CRITBINOM(W, 2^-H, 1 - alpha), i.e. the smallest k with
 * P[X >= k] <= alpha for X ~ Binomial(W, p = 2^-H). The upper tail is summed term by term from
 * k = W down in long double (no 1 - CDF cancellation), so the comparison with alpha is exact to
 * about 1e-15 relative: far below the gap between neighbouring tail values.
 */
unsigned qhw_apt_cutoff(unsigned window, double h_sample, unsigned alpha_log2)
{
    long double p = powl(2.0L, -(long double)h_sample);
    long double alpha = powl(2.0L, -(long double)alpha_log2);
    long double lp = logl(p), lq = log1pl(-p);
    long double lw = lgammal((long double)window + 1);
    long double tail = 0;
    unsigned k;

    if (p >= 1.0L)
        return window; /* H == 0: nothing can fail honestly; keep the test able to fire */
    for (k = window; k > 0; k--) {
        long double lpmf = lw - lgammal((long double)k + 1) -
                           lgammal((long double)(window - k) + 1) + k * lp + (window - k) * lq;
        tail += expl(lpmf);
        if (tail > alpha)
            break;
    }
    /* tail(k) > alpha, tail(k + 1) <= alpha: the cutoff is k + 1 (capped at W so the test can
     * still fail, as FIPS 140-3 IG D.K requires) */
    return k + 1 > window ? window : k + 1;
}

int qhw_health_init(QHW_HEALTH *h, double h_sample, unsigned sample_bits, unsigned alpha_log2)
{
    memset(h, 0, sizeof(*h));
    if (!(h_sample > 0) || h_sample > sample_bits || sample_bits < 1 || sample_bits > 8)
        return QKS_ERR_INVALID;
    h->h_sample = h_sample;
    h->rct_cutoff = qhw_rct_cutoff(h_sample, alpha_log2);
    h->apt_window = qhw_apt_window(sample_bits);
    h->apt_cutoff = qhw_apt_cutoff(h->apt_window, h_sample, alpha_log2);
    return QKS_OK;
}

void qhw_health_reset(QHW_HEALTH *h)
{
    h->rct_run = 0;
    h->apt_pos = 0;
    h->apt_count = 0;
}

static QHW_HEALTH_RESULT health_exact(QHW_HEALTH *h, const unsigned char *s, size_t n,
                                      size_t *fail_at, unsigned *count);

/*
 * Fast pass: the same two tests without branches on the data, an APT window segment at a time.
 * It only answers "no failure in these n samples" (then its state is the result); if a cutoff
 * is reached, qhw_health_run re-runs the exact pass from the old state to find the sample.
 */
static int health_fast(QHW_HEALTH *h, const unsigned char *s, size_t n)
{
    unsigned last = h->rct_last, run = h->rct_run, max_run = h->rct_run; /* longest run here */
    unsigned base = h->apt_base, acount = h->apt_count, pos = h->apt_pos;
    unsigned max_count = h->apt_max_count;
    const unsigned w = h->apt_window;
    size_t i = 0;

    while (i < n) {
        size_t seg = n - i < w - pos ? n - i : w - pos;
        if (pos == 0) {
            base = s[i];
            acount = 0; /* the loop counts the window's first sample itself */
        }
        for (size_t k = 0; k < seg; k++) {
            unsigned x = s[i + k];
            run = x == last ? run + 1 : 1; /* run == 0 (no sample yet) also gives 1 */
            last = x;
            max_run = run > max_run ? run : max_run;
            acount += x == base;
        }
        i += seg;
        pos += (unsigned)seg;
        if (acount >= h->apt_cutoff || max_run >= h->rct_cutoff)
            return 0;
        if (pos == w) {
            max_count = acount > max_count ? acount : max_count;
            pos = 0;
        }
    }
    h->rct_last = last;
    h->rct_run = run;
    if (max_run > h->rct_max_run)
        h->rct_max_run = max_run;
    h->apt_base = base;
    h->apt_count = acount;
    h->apt_pos = pos;
    h->apt_max_count = max_count;
    h->samples += n;
    return 1;
}

QHW_HEALTH_RESULT qhw_health_run(QHW_HEALTH *h, const unsigned char *s, size_t n, size_t *fail_at,
                                 unsigned *count)
{
    if (health_fast(h, s, n))
        return QHW_HEALTH_PASS;
    return health_exact(h, s, n, fail_at, count);
}

/* The exact pass, sample by sample as SP 800-90B 4.4.1 and 4.4.2 state the tests. */
static QHW_HEALTH_RESULT health_exact(QHW_HEALTH *h, const unsigned char *s, size_t n,
                                      size_t *fail_at, unsigned *count)
{
    unsigned last = h->rct_last, run = h->rct_run;
    unsigned base = h->apt_base, acount = h->apt_count, pos = h->apt_pos;
    const unsigned rct_c = h->rct_cutoff, apt_c = h->apt_cutoff, w = h->apt_window;
    QHW_HEALTH_RESULT res = QHW_HEALTH_PASS;
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned x = s[i];

        /* 4.4.1: B counts consecutive repetitions of A; B >= C is a failure */
        if (run != 0 && x == last) {
            if (++run >= rct_c) {
                res = QHW_HEALTH_RCT_FAIL;
                break;
            }
        } else {
            if (run > h->rct_max_run)
                h->rct_max_run = run;
            last = x;
            run = 1;
        }
        /* 4.4.2: A = first sample of a window of W, B = its count in the window */
        if (pos == 0) {
            base = x;
            acount = 1;
        } else if (x == base && ++acount >= apt_c) {
            res = QHW_HEALTH_APT_FAIL;
            break;
        }
        if (++pos == w) {
            if (acount > h->apt_max_count)
                h->apt_max_count = acount;
            pos = 0;
        }
    }
    if (res != QHW_HEALTH_PASS) {
        if (fail_at != NULL)
            *fail_at = i;
        if (count != NULL)
            *count = res == QHW_HEALTH_RCT_FAIL ? run : acount;
        if (res == QHW_HEALTH_RCT_FAIL && run > h->rct_max_run)
            h->rct_max_run = run;
        if (res == QHW_HEALTH_APT_FAIL && acount > h->apt_max_count)
            h->apt_max_count = acount;
        i++;
    }
    h->samples += i;
    h->rct_last = last;
    h->rct_run = run;
    h->apt_base = base;
    h->apt_count = acount;
    h->apt_pos = pos;
    return res;
}
