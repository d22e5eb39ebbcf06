/*
 * qcall caller: places calls one after another.
 *
 * Per call: TLS 1.3 connect -> INVITE -> ACCEPT(public key) -> one encapsulation -> KEY
 * (ciphertext) -> READY -> SRTP media -> BYE. Media starts only after READY, i.e. after both
 * sides hold the keys: a call that cannot get its key fails at set-up and sends nothing.
 * --replay-test additionally sends, in each call, the first protected frame of the previous
 * call (must fail SRTP authentication) and a duplicate of this call's first frame (must fail
 * the replay check).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include "qcall.h"

typedef struct {
    unsigned ok, failed;
    double *setup_ms;
    uint64_t media_frames;
    double media_cpu_s;
    uint8_t prev_first[512]; /* first protected packet of the previous call */
    size_t prev_first_len;
} CALLER_STATE;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static int install_keys(QCALL_MEDIA *media, uint16_t peer_port, uint8_t *secret, size_t secret_len,
                        char *err, size_t errlen)
{
    uint8_t *keys = OPENSSL_secure_malloc(2 * QCALL_SRTP_MASTER);
    int ok;

    ok = keys != NULL && qcall_kex_srtp_keys(secret, secret_len, keys, err, errlen);
    OPENSSL_secure_clear_free(secret, secret_len);
    /* keys = caller->callee master || callee->caller master */
    ok = ok && qcall_media_start(media, peer_port, keys, keys + QCALL_SRTP_MASTER, err, errlen);
    OPENSSL_secure_clear_free(keys, 2 * QCALL_SRTP_MASTER);
    return ok;
}

/* Media in rounds of one window: send, then take as many frames back. */
static void media_rounds(QCALL_MEDIA *media, const QCALL_OPTS *o, CALLER_STATE *cs)
{
    uint32_t sent = 0;

    if (o->frames == 0)
        return;
    if (o->replay_test && cs->prev_first_len > 0) /* cross-call replay: must fail auth */
        (void)qcall_media_send_raw(media, cs->prev_first, cs->prev_first_len); /* counted
                                                                                   by callee */
    while (sent < o->frames) {
        uint32_t w = o->frames - sent < o->window ? o->frames - sent : o->window;

        if (sent == 0 && o->replay_test) { /* in-call replay: must fail the replay check */
            size_t len;
            const uint8_t *first;

            if (!qcall_media_send(media, 1, o->fast))
                return;
            first = qcall_media_first_packet(media, &len);
            (void)qcall_media_send_raw(media, first, len); /* counted by the callee */
            if (w > 1 && !qcall_media_send(media, w - 1, 1))
                return;
        } else if (!qcall_media_send(media, w, o->fast)) {
            return;
        }
        qcall_media_recv(media, w, 2000);
        sent += w;
    }
}

static int place(SSL_CTX *ctx, const QCALL_KEX *kex, unsigned n, const QCALL_OPTS *o,
                 CALLER_STATE *cs)
{
    uint8_t buf[QCALL_MAX_MSG + 3], *ct = NULL, *secret = NULL;
    char err[1024] = "", key_id[QCALL_MAX_KEY_ID] = "-";
    QCALL_MSG msg, out = {0};
    QCALL_MEDIA *media = NULL;
    SSL *ssl = NULL;
    size_t ct_len = 0, secret_len = 0;
    uint16_t media_port = 0;
    double t0 = qcall_now_ms(), setup_ms, kex_ms = 0, cpu0;
    int fd, ok = 0;
    const QCALL_STATS *st;

    if ((fd = qcall_tcp_connect(o->host, o->port, err, sizeof(err))) < 0)
        goto done;
    if ((ssl = SSL_new(ctx)) == NULL || SSL_set_fd(ssl, fd) != 1 ||
        (o->ca != NULL && SSL_set1_host(ssl, o->peer_name) != 1)) {
        qcall_ossl_err(err, sizeof(err), "TLS set-up failed");
        goto done;
    }
    if (SSL_connect(ssl) != 1) {
        long v = SSL_get_verify_result(ssl);

        qcall_ossl_err(err, sizeof(err), "TLS handshake failed");
        if (v != X509_V_OK) {
            size_t len = strlen(err);

            snprintf(err + len, sizeof(err) - len, " (%s)", X509_verify_cert_error_string(v));
        }
        goto done;
    }
    if ((media = qcall_media_new(&media_port, err, sizeof(err))) == NULL)
        goto done;
    out.type = QCALL_MSG_INVITE;
    strcpy(out.kex, kex->name);
    out.media_port = media_port;
    out.call_no = n;
    out.frames = o->frames;
    out.window = o->window;
    if (!qcall_msg_exchange(ssl, &out, buf, &msg, QCALL_MSG_ACCEPT, "callee refused", err,
                            sizeof(err)))
        goto done;
    kex_ms = qcall_now_ms();
    if (!qcall_kex_encap(kex, msg.blob, msg.blob_len, &ct, &ct_len, &secret, &secret_len, err,
                         sizeof(err))) {
        qcall_send_error(ssl, err);
        goto done;
    }
    kex_ms = qcall_now_ms() - kex_ms;
    if (kex->is_kem && !qcall_key_id(ct, ct_len, key_id, sizeof(key_id)))
        strcpy(key_id, "?");
    if (!install_keys(media, msg.media_port, secret, secret_len, err, sizeof(err))) {
        secret = NULL;
        qcall_send_error(ssl, err);
        goto done;
    }
    secret = NULL; /* wiped by install_keys */
    out = (QCALL_MSG){.type = QCALL_MSG_KEY, .blob = ct, .blob_len = ct_len};
    if (!qcall_msg_exchange(ssl, &out, buf, &msg, QCALL_MSG_READY, "callee", err, sizeof(err)))
        goto done;
    setup_ms = qcall_now_ms() - t0;

    cpu0 = qcall_media_cpu_seconds();
    media_rounds(media, o, cs);
    st = qcall_media_stats(media);
    out = (QCALL_MSG){.type = QCALL_MSG_BYE};
    out.sent = st->sent;
    out.received = st->received;
    out.rejected = st->rejected;
    if (!qcall_msg_send(ssl, &out) || !qcall_msg_recv(ssl, buf, &msg, err, sizeof(err)) ||
        msg.type != QCALL_MSG_BYE) {
        if (!*err)
            snprintf(err, sizeof(err), "expected BYE, got message type %u", msg.type);
        goto done;
    }
    cs->media_cpu_s += qcall_media_cpu_seconds() - cpu0;
    cs->media_frames += st->sent + st->received;
    {
        size_t len;
        const uint8_t *first = qcall_media_first_packet(media, &len);

        if (first != NULL && len <= sizeof(cs->prev_first)) {
            memcpy(cs->prev_first, first, len);
            cs->prev_first_len = len;
        }
    }
    cs->setup_ms[cs->ok] = setup_ms;
    printf("caller call %u: kex=%s key_id=%s group=%s setup_ms=%.2f kex_ms=%.2f frames sent=%u "
           "received=%u rejected=%u peer_received=%u peer_rejected=%u\n",
           n, kex->name, key_id, qcall_tls_group(ssl), setup_ms, kex_ms, st->sent, st->received,
           st->rejected, msg.received, msg.rejected);
    ok = 1;
done:
    if (!ok)
        printf("caller call %u: FAILED at set-up: %s; media frames sent=%u\n", n, err,
               media ? qcall_media_stats(media)->sent : 0);
    fflush(stdout);
    OPENSSL_secure_clear_free(secret, secret_len);
    OPENSSL_free(ct);
    qcall_media_free(media);
    if (ssl != NULL)
        (void)SSL_shutdown(ssl); /* a courtesy; the call is over */
    SSL_free(ssl);
    if (fd >= 0)
        close(fd);
    ERR_clear_error();
    return ok;
}

int qcall_caller(const QCALL_OPTS *o)
{
    char err[512];
    QCALL_KEX kex;
    CALLER_STATE cs = {0};
    SSL_CTX *ctx;
    unsigned calls = o->calls ? o->calls : 1;
    double med = 0, min = 0, max = 0;

    if (!qcall_kex_init(&kex, o->kex)) {
        fprintf(stderr, "qcall: algorithm name too long\n");
        return 2;
    }
    if ((ctx = qcall_tls_client_ctx(o, err, sizeof(err))) == NULL) {
        fprintf(stderr, "qcall: %s\n", err);
        return 1;
    }
    if (o->ca == NULL && o->verbose)
        fprintf(stderr, "qcall: the callee's certificate is not verified (no --ca)\n");
    if ((cs.setup_ms = calloc(calls, sizeof(double))) == NULL) {
        SSL_CTX_free(ctx);
        return 1;
    }
    for (unsigned i = 1; i <= calls; i++) {
        if (place(ctx, &kex, i, o, &cs))
            cs.ok++;
        else
            cs.failed++;
    }
    if (cs.ok > 0) {
        qsort(cs.setup_ms, cs.ok, sizeof(double), cmp_double);
        med = cs.ok % 2 ? cs.setup_ms[cs.ok / 2]
                        : (cs.setup_ms[cs.ok / 2 - 1] + cs.setup_ms[cs.ok / 2]) / 2;
        min = cs.setup_ms[0];
        max = cs.setup_ms[cs.ok - 1];
    }
    printf("caller summary: calls=%u ok=%u failed=%u kex=%s setup_ms median=%.2f min=%.2f "
           "max=%.2f media_frames=%llu media_cpu_s=%.4f\n",
           calls, cs.ok, cs.failed, kex.name, med, min, max, (unsigned long long)cs.media_frames,
           cs.media_cpu_s);
    free(cs.setup_ms);
    SSL_CTX_free(ctx);
    return cs.failed ? 1 : 0;
}
