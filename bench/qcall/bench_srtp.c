/*
 * The ceiling for qcall's media path: libsrtp2's raw AES-256-GCM protect + unprotect of one
 * 20 ms PCMU frame (12-byte RTP header, 160-byte payload), in memory, on one core.
 * Usage: qcall-bench-srtp [FRAMES]   (default 200000). Prints frames per CPU second.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <srtp2/srtp.h>

static double cpu_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static srtp_t session(int inbound, unsigned char *key)
{
    srtp_policy_t policy;
    srtp_t s = NULL;

    memset(&policy, 0, sizeof(policy));
    srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtp);
    srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtcp);
    policy.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
    policy.key = key;
    policy.window_size = 128;
    return srtp_create(&s, &policy) == srtp_err_status_ok ? s : NULL;
}

int main(int argc, char **argv)
{
    unsigned long frames = argc > 1 ? strtoul(argv[1], NULL, 10) : 200000;
    unsigned char key[SRTP_AES_GCM_256_KEY_LEN_WSALT], pkt[12 + 160 + SRTP_MAX_TRAILER_LEN];
    srtp_t tx, rx;
    double t0, t;

    /* A fixed benchmark key: this program never carries real media. */
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (unsigned char)(i * 7 + 1);
    if (frames == 0 || srtp_init() != srtp_err_status_ok || (tx = session(0, key)) == NULL ||
        (rx = session(1, key)) == NULL) {
        fprintf(stderr, "qcall-bench-srtp: libsrtp2 set-up failed\n");
        return 1;
    }
    t0 = cpu_seconds();
    for (unsigned long i = 0; i < frames; i++) {
        int len = 12 + 160;

        memset(pkt, 0x55, sizeof(pkt));
        pkt[0] = 0x80;
        pkt[1] = 0;
        pkt[2] = (unsigned char)(i >> 8);
        pkt[3] = (unsigned char)i;
        pkt[4] = pkt[5] = pkt[6] = pkt[7] = 0;
        pkt[8] = 0x12, pkt[9] = 0x34, pkt[10] = 0x56, pkt[11] = 0x78;
        if (srtp_protect(tx, pkt, &len) != srtp_err_status_ok ||
            srtp_unprotect(rx, pkt, &len) != srtp_err_status_ok || len != 12 + 160) {
            fprintf(stderr, "qcall-bench-srtp: frame %lu failed\n", i);
            return 1;
        }
    }
    t = cpu_seconds() - t0;
    printf(
        "raw libsrtp2 AES-256-GCM protect+unprotect: frames=%lu cpu_s=%.3f frames_per_cpu_s=%.0f\n",
        frames, t, frames / t);
    srtp_dealloc(tx);
    srtp_dealloc(rx);
    srtp_shutdown();
    return 0;
}
