/*
 * "device:PATH": raw bytes from a hardware RNG character device (/dev/hwrng, ID Quantique
 * Quantis /dev/qrandomN), a FIFO fed by a vendor tool, or a replay file. Each byte is one 8-bit
 * raw sample. The file is opened at qhw_rng_open (provider init, possibly as root) with
 * O_NONBLOCK, so opening a FIFO that has no writer yet never blocks; every wait for data is a
 * poll(2) bounded by rng.timeout_ms, so a silent device gives QKS_ERR_TIMEOUT, never a hang.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

typedef enum { DEV_FILE, DEV_FIFO, DEV_CHAR } DEV_TYPE;

typedef struct {
    QHW_RNG_SOURCE base;
    int fd;
    DEV_TYPE type;
    long timeout_ms;
    uint64_t bytes_read;
    uint64_t timeouts;
    char path[QHW_RNG_PATH_MAX];
} DEVICE;

static long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *type_name(DEV_TYPE t)
{
    return t == DEV_FILE ? "replay file" : t == DEV_FIFO ? "FIFO" : "character device";
}

static int dev_read(QHW_RNG_SOURCE *src, unsigned char *samples, size_t n)
{
    DEVICE *d = (DEVICE *)src;
    long deadline = now_ms() + d->timeout_ms;

    if (d->base.eof_latched)
        return qks_set_error(QKS_ERR_DEVICE,
                             "RNG device %s: end of file after %llu bytes "
                             "(replay file exhausted)",
                             d->path, (unsigned long long)d->bytes_read);
    while (n > 0) {
        ssize_t r = read(d->fd, samples, n);

        if (r > 0) {
            samples += r;
            n -= (size_t)r;
            d->bytes_read += (uint64_t)r;
            deadline = now_ms() + d->timeout_ms; /* the bound is on waiting without progress */
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return qks_set_error(QKS_ERR_DEVICE, "RNG device %s: read failed: %s", d->path,
                                 strerror(errno));
        if (r == 0 && d->type != DEV_FIFO) {
            if (d->type == DEV_FILE)
                d->base.eof_latched = 1;
            return qks_set_error(QKS_ERR_DEVICE, "RNG device %s: end of file after %llu bytes%s",
                                 d->path, (unsigned long long)d->bytes_read,
                                 d->type == DEV_FILE ? " (replay file exhausted)" : "");
        }
        /* Nothing there yet (EAGAIN, or a FIFO with no writer at the moment): wait for data,
         * within the deadline. */
        long left = deadline - now_ms();
        if (left <= 0) {
            d->timeouts++;
            return qks_set_error(QKS_ERR_TIMEOUT,
                                 "RNG device %s (%s) delivered no data within %ld ms "
                                 "(rng.timeout_ms)%s",
                                 d->path, type_name(d->type), d->timeout_ms,
                                 d->type == DEV_FIFO && r == 0 ? "; no writer has it open" : "");
        }
        struct pollfd pfd = {.fd = d->fd, .events = POLLIN};
        int pr = poll(&pfd, 1, (int)(left > 50 && d->type == DEV_CHAR ? 50 : left));
        if (pr < 0 && errno != EINTR)
            return qks_set_error(QKS_ERR_DEVICE, "RNG device %s: poll failed: %s", d->path,
                                 strerror(errno));
        if (pr > 0 && (pfd.revents & (POLLERR | POLLNVAL)))
            return qks_set_error(QKS_ERR_DEVICE, "RNG device %s: device error (poll)", d->path);
        /* a writer came and went: Linux reports POLLHUP (without POLLIN once drained) */
        if (pr > 0 && (pfd.revents & POLLHUP) && !(pfd.revents & POLLIN))
            return qks_set_error(QKS_ERR_DEVICE,
                                 "RNG device %s: end of file after %llu bytes (the FIFO's "
                                 "writer closed it)",
                                 d->path, (unsigned long long)d->bytes_read);
        /* Some hwrng drivers have no poll method (always "readable") yet answer EAGAIN: the
         * 50 ms poll slices above and this short pause keep that from spinning. */
        if (pr > 0 && d->type == DEV_CHAR) {
            struct timespec pause = {0, 1000000};
            nanosleep(&pause, NULL);
        }
    }
    return QKS_OK;
}

static int dev_after_fork(QHW_RNG_SOURCE *src)
{
    (void)src; /* nothing buffered here; the pipeline drops its buffers */
    return QKS_OK;
}

static int dev_status(QHW_RNG_SOURCE *src, json_t *out)
{
    DEVICE *d = (DEVICE *)src;

    json_object_set_new(out, "device_path", json_string(d->path));
    json_object_set_new(out, "device_type", json_string(type_name(d->type)));
    json_object_set_new(out, "device_bytes_read", json_integer((json_int_t)d->bytes_read));
    json_object_set_new(out, "device_timeouts", json_integer((json_int_t)d->timeouts));
    json_object_set_new(out, "device_eof", json_boolean(d->base.eof_latched));
    return QKS_OK;
}

static void dev_free(QHW_RNG_SOURCE *src)
{
    DEVICE *d = (DEVICE *)src;

    if (d == NULL)
        return;
    if (d->fd >= 0)
        close(d->fd);
    free(d);
}

static const QHW_RNG_SOURCE_METHOD device_method = {
    .name = "device",
    .read = dev_read,
    .after_fork = dev_after_fork,
    .status = dev_status,
    .free = dev_free,
};

/* Vendor devices that deliver post-processed (whitened) output: the Linux hwrng misc device
 * (major 10, minor 183) and ID Quantique Quantis (/dev/qrandomN). */
static int post_processed(const char *path, const struct stat *st)
{
    if (S_ISCHR(st->st_mode) && major(st->st_rdev) == 10 && minor(st->st_rdev) == 183)
        return 1;
    return strncmp(path, "/dev/hwrng", 10) == 0 || strncmp(path, "/dev/qrandom", 12) == 0;
}

int qhw_rng_device_open(const QHW_RNG_PARAMS *p, QHW_RNG_SOURCE **out)
{
    DEVICE *d = calloc(1, sizeof(*d));
    struct stat st;

    *out = NULL;
    if (d == NULL)
        return qks_set_error(QKS_ERR_NOMEM, "RNG device: out of memory");
    d->base.meth = &device_method;
    d->base.sample_bits = 8;
    d->base.default_min_entropy = QHW_DEVICE_MIN_ENTROPY;
    d->timeout_ms = p->timeout_ms;
    snprintf(d->path, sizeof(d->path), "%s", p->path);
    d->fd = open(p->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (d->fd < 0) {
        int e = errno;
        dev_free(&d->base);
        return qks_set_error(QKS_ERR_DEVICE, "RNG device %s: cannot open: %s", p->path,
                             strerror(e));
    }
    if (fstat(d->fd, &st) != 0 ||
        !(S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode))) {
        dev_free(&d->base);
        return qks_set_error(QKS_ERR_CONFIG,
                             "RNG device %s: not a character device, FIFO or "
                             "regular file",
                             p->path);
    }
    d->type = S_ISREG(st.st_mode) ? DEV_FILE : S_ISFIFO(st.st_mode) ? DEV_FIFO : DEV_CHAR;
    d->base.post_processed = post_processed(p->path, &st);
    *out = &d->base;
    return QKS_OK;
}
