/*
 * qcall media: 20 ms PCMU frames of a 400 Hz tone as SRTP (AES-256-GCM, 16-byte tag) over UDP.
 *
 * A media socket exists before the keys do (its port travels in signalling), but nothing is
 * ever sent on it until qcall_media_start() installed both SRTP sessions: there is no
 * unencrypted path. The receiver counts every datagram: frames that authenticate and carry the
 * expected payload, and rejects by reason (authentication failure, replay).
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <srtp2/srtp.h>
#include "qcall.h"

#define RTP_HEADER   12
#define RTP_PT_PCMU  0
#define PACKET_BYTES (RTP_HEADER + QCALL_FRAME_SAMPLES + SRTP_MAX_TRAILER_LEN)

struct QCALL_MEDIA {
    int fd;
    srtp_t tx, rx;
    uint16_t seq;
    uint32_t timestamp, ssrc;
    double next_tick_ms;
    uint8_t first[PACKET_BYTES];
    size_t first_len;
    QCALL_STATS stats;
};

static uint8_t tone[QCALL_FRAME_SAMPLES];
static srtp_t keepalive; /* see qcall_media_global_init */

/* ITU-T G.711 mu-law encoding of one 16-bit sample. */
static uint8_t ulaw(int sample)
{
    int sign = 0, exponent = 7, mantissa;

    if (sample < 0) {
        sign = 0x80;
        sample = -sample;
    }
    if (sample > 32635)
        sample = 32635;
    sample += 0x84;
    for (int mask = 0x4000; (sample & mask) == 0 && exponent > 0; mask >>= 1)
        exponent--;
    mantissa = (sample >> (exponent + 3)) & 0x0f;
    return (uint8_t) ~(sign | (exponent << 4) | mantissa);
}

static int session(srtp_t *s, int inbound, const uint8_t *master);

int qcall_media_global_init(void)
{
    uint8_t unused[QCALL_SRTP_MASTER];
    int ok;

    /* 400 Hz at 8 kHz: 20 samples a period, so every 160-sample frame is the same. */
    for (int i = 0; i < QCALL_FRAME_SAMPLES; i++)
        tone[i] = ulaw((int)(8000.0 * sin(2.0 * M_PI * 400.0 * i / 8000.0)));
    if (srtp_init() != srtp_err_status_ok)
        return 0;
    /*
     * libsrtp2 built on NSS (as Debian's is) initialises NSS per cipher context and shuts it
     * down with the last one, reloading its crypto modules from disk for every call. One idle
     * session held for the life of the process keeps the backend loaded. Its key is random
     * and the session never sees a packet.
     */
    ok = RAND_bytes(unused, sizeof(unused)) == 1 && session(&keepalive, 1, unused);
    OPENSSL_cleanse(unused, sizeof(unused));
    return ok;
}

void qcall_media_global_done(void)
{
    if (keepalive != NULL)
        srtp_dealloc(keepalive);
    keepalive = NULL;
    (void)srtp_shutdown(); /* nothing to do about a failure at exit */
}

double qcall_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

double qcall_media_cpu_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

QCALL_MEDIA *qcall_media_new(uint16_t *port, char *err, size_t errlen)
{
    QCALL_MEDIA *m = calloc(1, sizeof(*m));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t salen = sizeof(sa);

    if (m == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (m->fd < 0 || bind(m->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        getsockname(m->fd, (struct sockaddr *)&sa, &salen) != 0) {
        snprintf(err, errlen, "media socket: %s", strerror(errno));
        qcall_media_free(m);
        return NULL;
    }
    *port = ntohs(sa.sin_port);
    return m;
}

static int session(srtp_t *s, int inbound, const uint8_t *master)
{
    srtp_policy_t policy;
    uint8_t key[QCALL_SRTP_MASTER];
    srtp_err_status_t rc;

    memset(&policy, 0, sizeof(policy));
    srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtp);
    srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtcp);
    policy.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
    memcpy(key, master, sizeof(key)); /* libsrtp expands it into its own heap (see docs) */
    policy.key = key;
    policy.window_size = 128;
    policy.allow_repeat_tx = 0;
    rc = srtp_create(s, &policy);
    OPENSSL_cleanse(key, sizeof(key));
    return rc == srtp_err_status_ok;
}

int qcall_media_start(QCALL_MEDIA *m, uint16_t peer_port, const uint8_t *tx_master,
                      const uint8_t *rx_master, char *err, size_t errlen)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                             .sin_port = htons(peer_port)};

    if (!session(&m->tx, 0, tx_master) || !session(&m->rx, 1, rx_master)) {
        snprintf(err, errlen, "libsrtp2 refused the AES-256-GCM session");
        return 0;
    }
    if (connect(m->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        snprintf(err, errlen, "media connect: %s", strerror(errno));
        return 0;
    }
    if (RAND_bytes((uint8_t *)&m->ssrc, sizeof(m->ssrc)) != 1 ||
        RAND_bytes((uint8_t *)&m->seq, sizeof(m->seq)) != 1) {
        snprintf(err, errlen, "no randomness for SSRC and sequence number");
        return 0;
    }
    m->seq &= 0x7fff; /* RFC 3550 5.1: random start; keep it clear of the rollover */
    m->next_tick_ms = qcall_now_ms();
    return 1;
}

static void sleep_until(double ms)
{
    double now = qcall_now_ms();

    if (ms > now) {
        struct timespec ts = {.tv_sec = (time_t)((ms - now) / 1e3),
                              .tv_nsec = (long)(fmod(ms - now, 1e3) * 1e6)};
        nanosleep(&ts, NULL);
    }
}

int qcall_media_send(QCALL_MEDIA *m, uint32_t n, int fast)
{
    uint8_t pkt[PACKET_BYTES];

    if (m->tx == NULL)
        return 0; /* no keys, no media */
    for (uint32_t i = 0; i < n; i++) {
        int len = RTP_HEADER + QCALL_FRAME_SAMPLES;

        if (!fast) {
            sleep_until(m->next_tick_ms);
            m->next_tick_ms += QCALL_FRAME_INTERVAL;
        }
        pkt[0] = 0x80; /* V=2, no padding, no extension, no CSRC */
        pkt[1] = RTP_PT_PCMU;
        pkt[2] = (uint8_t)(m->seq >> 8);
        pkt[3] = (uint8_t)m->seq;
        for (int b = 0; b < 4; b++) {
            pkt[4 + b] = (uint8_t)(m->timestamp >> (24 - 8 * b));
            pkt[8 + b] = (uint8_t)(m->ssrc >> (24 - 8 * b));
        }
        memcpy(pkt + RTP_HEADER, tone, sizeof(tone));
        if (srtp_protect(m->tx, pkt, &len) != srtp_err_status_ok)
            return 0;
        m->seq++;
        m->timestamp += QCALL_FRAME_SAMPLES;
        if (send(m->fd, pkt, (size_t)len, 0) != len)
            return 0;
        if (m->first_len == 0) {
            memcpy(m->first, pkt, (size_t)len);
            m->first_len = (size_t)len;
        }
        m->stats.sent++;
    }
    return 1;
}

int qcall_media_send_raw(QCALL_MEDIA *m, const uint8_t *pkt, size_t len)
{
    return m->tx != NULL && send(m->fd, pkt, len, 0) == (ssize_t)len;
}

const uint8_t *qcall_media_first_packet(const QCALL_MEDIA *m, size_t *len)
{
    *len = m->first_len;
    return m->first_len ? m->first : NULL;
}

void qcall_media_recv(QCALL_MEDIA *m, uint32_t n, int timeout_ms)
{
    uint8_t pkt[PACKET_BYTES + 64];
    uint32_t good = 0;

    while (good < n) {
        struct pollfd p = {.fd = m->fd, .events = POLLIN};
        ssize_t got;
        int len;
        srtp_err_status_t rc;

        if (poll(&p, 1, timeout_ms) <= 0)
            return;
        got = recv(m->fd, pkt, sizeof(pkt), 0);
        if (got < 0)
            continue; /* e.g. ECONNREFUSED queued by ICMP: not a datagram */
        m->stats.datagrams++;
        if (m->rx == NULL) {
            m->stats.rejected++; /* before keys: nothing is accepted */
            continue;
        }
        len = (int)got;
        rc = srtp_unprotect(m->rx, pkt, &len);
        if (rc == srtp_err_status_ok && len == RTP_HEADER + QCALL_FRAME_SAMPLES &&
            (pkt[1] & 0x7f) == RTP_PT_PCMU && memcmp(pkt + RTP_HEADER, tone, sizeof(tone)) == 0) {
            m->stats.received++;
            good++;
            continue;
        }
        m->stats.rejected++;
        if (rc == srtp_err_status_auth_fail)
            m->stats.rejected_auth++;
        else if (rc == srtp_err_status_replay_fail || rc == srtp_err_status_replay_old)
            m->stats.rejected_replay++;
    }
}

const QCALL_STATS *qcall_media_stats(const QCALL_MEDIA *m)
{
    return &m->stats;
}

void qcall_media_free(QCALL_MEDIA *m)
{
    if (m == NULL)
        return;
    if (m->tx)
        srtp_dealloc(m->tx);
    if (m->rx)
        srtp_dealloc(m->rx);
    if (m->fd >= 0)
        close(m->fd);
    OPENSSL_cleanse(m->first, sizeof(m->first));
    free(m);
}
