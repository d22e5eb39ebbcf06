/*
 * rng.feed_kernel = yes: qkeyd mixes health-tested QRNG output into the kernel's input pool
 * with ioctl(RNDADDENTROPY) on /dev/random, as rngd does for a hwrng, so programs that never
 * touch OpenSSL (getrandom(2), /dev/urandom) draw from it too.
 *
 * Crediting rule (docs/agent.md): the pipeline's output is full entropy by its SP 800-90B
 * assessment (>= 320 bits of assessed min-entropy per 256 output bits); the kernel is credited
 * half of that, 4 bits per byte, so an assessment that is off by a factor of two still never
 * over-credits. Every rng.feed_interval_ms, rng.feed_bytes bytes.
 *
 * Stops at once, and stays stopped until the agent restarts, on the first failure it sees:
 * the pipeline in any health-failure state before a draw, a failed draw, a failed ioctl. The
 * state and the reason are in the status.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/random.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "qkey/secmem.h"
#include "qkeyd.h"

#define FEED_MAX 512 /* bytes per RNDADDENTROPY */

int qkd_feed_config(QKD_AGENT *a, char *why, size_t why_len)
{
    const QKS_CONFIG *cfg = a->cfg;
    const char *on = qks_config_get(cfg, "rng.feed_kernel");
    QKD_FEED *f = &a->feed;

    snprintf(f->state, sizeof(f->state), "off");
    f->credit_per_byte_num = 4; /* bits credited per byte fed */
    f->credit_per_byte_den = 1;
    if (qks_config_get_long(cfg, "rng.feed_bytes", 64, 16, FEED_MAX, &f->bytes_per_feed) !=
            QKS_OK ||
        qks_config_get_long(cfg, "rng.feed_interval_ms", 1000, 1, 3600000, &f->interval_ms) !=
            QKS_OK) {
        snprintf(why, why_len, "rng.feed_bytes (16-%d) or rng.feed_interval_ms (1-3600000): %s",
                 FEED_MAX, qks_last_error());
        return QKS_ERR_CONFIG;
    }
    if (on == NULL || strcmp(on, "no") == 0)
        return QKS_OK;
    if (strcmp(on, "yes") != 0) {
        snprintf(why, why_len, "rng.feed_kernel = '%s': expected yes or no", on);
        return QKS_ERR_CONFIG;
    }
    snprintf(f->state, sizeof(f->state), "starting");
    return QKS_OK;
}

/* Latch the feed off with the reason ("stopped: <why>", at most 200 bytes of it). */
static void feed_stop_with(QKD_AGENT *a, const char *why)
{
    pthread_mutex_lock(&a->lock);
    snprintf(a->feed.state, sizeof(a->feed.state), "stopped: %.200s", why);
    pthread_mutex_unlock(&a->lock);
    atomic_store(&a->feed.running, 0);
}

static void sleep_interval(QKD_AGENT *a)
{
    long left = a->feed.interval_ms;

    while (left > 0 && !atomic_load(&a->stop)) {
        long step = left < 100 ? left : 100;
        struct timespec ts = {step / 1000, (step % 1000) * 1000000L};
        (void)nanosleep(&ts, NULL); /* a signal only shortens one step */
        left -= step;
    }
}

static void *feed_main(void *arg)
{
    QKD_AGENT *a = arg;
    QKD_FEED *f = &a->feed;
    const size_t n = (size_t)f->bytes_per_feed;
    struct rand_pool_info *rpi = qks_secure_alloc(sizeof(*rpi) + FEED_MAX);
    int fd = open("/dev/random", O_WRONLY | O_CLOEXEC), rc;
    char detail[300];

    if (rpi == NULL || fd < 0) {
        snprintf(detail, sizeof(detail), "cannot open /dev/random (%s)",
                 fd < 0 ? strerror(errno) : "no memory");
        feed_stop_with(a, detail);
        goto done;
    }
    while (!atomic_load(&a->stop) && atomic_load(&f->running)) {
        if ((rc = qks_rng_state(a->ks)) != QKS_OK ||
            (rc = qks_random(a->ks, (unsigned char *)rpi->buf, n)) != QKS_OK) {
            snprintf(detail, sizeof(detail), "%s: %s", qks_strerror(rc), qks_last_error());
            feed_stop_with(a, detail);
            break;
        }
        rpi->buf_size = (int)n;
        rpi->entropy_count =
            (int)(n * (size_t)f->credit_per_byte_num / (size_t)f->credit_per_byte_den);
        if (ioctl(fd, RNDADDENTROPY, rpi) != 0) {
            snprintf(detail, sizeof(detail), "RNDADDENTROPY failed: %s (needs CAP_SYS_ADMIN)",
                     strerror(errno));
            feed_stop_with(a, detail);
            break;
        }
        qks_wipe(rpi->buf, n);
        pthread_mutex_lock(&a->lock);
        f->bytes += n;
        f->entropy_bits += (uint64_t)rpi->entropy_count;
        f->calls++;
        pthread_mutex_unlock(&a->lock);
        sleep_interval(a);
    }
done:
    if (fd >= 0)
        close(fd);
    qks_secure_free(rpi, sizeof(*rpi) + FEED_MAX);
    return NULL;
}

int qkd_feed_start(QKD_AGENT *a)
{
    if (strcmp(a->feed.state, "starting") != 0)
        return QKS_OK;
    snprintf(a->feed.state, sizeof(a->feed.state), "running");
    atomic_store(&a->feed.running, 1);
    if (pthread_create(&a->feed.thread, NULL, feed_main, a) != 0) {
        atomic_store(&a->feed.running, 0);
        snprintf(a->feed.state, sizeof(a->feed.state), "stopped: cannot start its thread");
        return QKS_ERR_NOMEM;
    }
    a->feed.started = 1;
    return QKS_OK;
}

void qkd_feed_stop(QKD_AGENT *a)
{
    if (!a->feed.started)
        return;
    atomic_store(&a->feed.running, 0);
    pthread_join(a->feed.thread, NULL);
    a->feed.started = 0;
}

json_t *qkd_feed_json(QKD_AGENT *a)
{
    json_t *o;

    pthread_mutex_lock(&a->lock);
    o = json_pack("{s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:s}", "state", a->feed.state, "running",
                  atomic_load(&a->feed.running), "bytes", (json_int_t)a->feed.bytes, "entropy_bits",
                  (json_int_t)a->feed.entropy_bits, "calls", (json_int_t)a->feed.calls,
                  "bytes_per_feed", (json_int_t)a->feed.bytes_per_feed, "interval_ms",
                  (json_int_t)a->feed.interval_ms, "crediting",
                  "4 bits per byte (half the pipeline's full-entropy claim)");
    pthread_mutex_unlock(&a->lock);
    return o;
}
