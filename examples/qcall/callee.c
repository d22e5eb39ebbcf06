/*
 * qcall callee: answers calls one after another.
 *
 * Per call: TLS 1.3 accept -> INVITE -> new key pair, ACCEPT(public key, media port) ->
 * KEY(ciphertext) -> one decapsulation -> HKDF -> SRTP sessions -> READY -> media -> BYE.
 * Any failure before READY ends the call with a reason on both sides; the caller sends no media
 * before READY, and a datagram arriving before the keys is counted and dropped.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/socket.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include "qcall.h"

typedef struct {
    unsigned ok, failed;
    uint64_t media_frames;
    double media_cpu_s;
} CALLEE_TOTALS;

/* Derive both directions' SRTP master keys and start media; the secret is wiped here. */
static int install_keys(QCALL_MEDIA *media, uint16_t peer_port, uint8_t *secret, size_t secret_len,
                        char *err, size_t errlen)
{
    uint8_t *keys = OPENSSL_secure_malloc(2 * QCALL_SRTP_MASTER);
    int ok;

    ok = keys != NULL && qcall_kex_srtp_keys(secret, secret_len, keys, err, errlen);
    OPENSSL_secure_clear_free(secret, secret_len);
    /* keys = caller->callee master || callee->caller master */
    ok = ok && qcall_media_start(media, peer_port, keys + QCALL_SRTP_MASTER, keys, err, errlen);
    OPENSSL_secure_clear_free(keys, 2 * QCALL_SRTP_MASTER);
    return ok;
}

static int answer(SSL *ssl, const QCALL_KEX *kex, unsigned n, const QCALL_OPTS *o,
                  CALLEE_TOTALS *tot)
{
    uint8_t buf[QCALL_MAX_MSG + 3], *pub = NULL, *secret = NULL;
    char err[1024] = "", key_id[QCALL_MAX_KEY_ID] = "-";
    QCALL_MSG invite, msg, out = {0};
    QCALL_MEDIA *media = NULL;
    EVP_PKEY *pair = NULL;
    size_t pub_len = 0, secret_len = 0;
    uint16_t media_port = 0;
    double t0 = qcall_now_ms(), setup_ms, kex_ms = 0, cpu0;
    int ok = 0;
    const QCALL_STATS *st;

    if (SSL_accept(ssl) != 1) {
        qcall_ossl_err(err, sizeof(err), "TLS handshake failed");
        goto done;
    }
    if (!qcall_msg_recv(ssl, buf, &invite, err, sizeof(err)))
        goto done;
    if (invite.type != QCALL_MSG_INVITE) {
        snprintf(err, sizeof(err), "expected INVITE, got message type %u", invite.type);
        goto done;
    }
    n = invite.call_no;
    if (strcasecmp(invite.kex, kex->name) != 0) {
        snprintf(err, sizeof(err), "caller offered %s, this callee keys calls with %s", invite.kex,
                 kex->name);
        qcall_send_error(ssl, err);
        goto done;
    }
    if ((media = qcall_media_new(&media_port, err, sizeof(err))) == NULL) {
        qcall_send_error(ssl, err);
        goto done;
    }
    kex_ms = qcall_now_ms();
    if (!qcall_kex_keygen(kex, &pair, &pub, &pub_len, err, sizeof(err))) {
        qcall_send_error(ssl, err);
        goto done;
    }
    kex_ms = qcall_now_ms() - kex_ms;
    out.type = QCALL_MSG_ACCEPT;
    out.blob = pub;
    out.blob_len = pub_len;
    out.media_port = media_port;
    if (!qcall_msg_exchange(ssl, &out, buf, &msg, QCALL_MSG_KEY, "caller", err, sizeof(err)))
        goto done;
    if (kex->is_kem && !qcall_key_id(msg.blob, msg.blob_len, key_id, sizeof(key_id)))
        strcpy(key_id, "?");
    {
        double t = qcall_now_ms();
        char e2[768];

        if (!qcall_kex_decap(kex, pair, msg.blob, msg.blob_len, &secret, &secret_len, e2,
                             sizeof(e2))) {
            snprintf(err, sizeof(err), "callee cannot decapsulate key %s: %s", key_id, e2);
            qcall_send_error(ssl, err);
            goto done;
        }
        kex_ms += qcall_now_ms() - t;
    }
    if (!install_keys(media, invite.media_port, secret, secret_len, err, sizeof(err))) {
        qcall_send_error(ssl, err);
        goto done;
    }
    secret = NULL; /* wiped by install_keys */
    out = (QCALL_MSG){.type = QCALL_MSG_READY};
    if (!qcall_msg_send(ssl, &out)) {
        snprintf(err, sizeof(err), "signalling write failed");
        goto done;
    }
    setup_ms = qcall_now_ms() - t0;

    /* Media in rounds: take a window of the caller's frames, answer with as many. */
    cpu0 = qcall_media_cpu_seconds();
    for (uint32_t done_frames = 0; done_frames < invite.frames;) {
        uint32_t w = invite.frames - done_frames < invite.window ? invite.frames - done_frames
                                                                 : invite.window;

        uint32_t before = qcall_media_stats(media)->datagrams;

        qcall_media_recv(media, w, 2000);
        if (qcall_media_stats(media)->datagrams == before)
            break; /* the caller went quiet: stop answering, wait for BYE or hang-up */
        if (!qcall_media_send(media, w, 1))
            break;
        done_frames += w;
    }
    if (!qcall_msg_recv(ssl, buf, &msg, err, sizeof(err)) || msg.type != QCALL_MSG_BYE) {
        if (!*err)
            snprintf(err, sizeof(err), "expected BYE, got message type %u", msg.type);
        goto done;
    }
    st = qcall_media_stats(media);
    if (st->received < msg.sent) /* late frames: give them a moment */
        qcall_media_recv(media, msg.sent - st->received, 200);
    tot->media_cpu_s += qcall_media_cpu_seconds() - cpu0;
    tot->media_frames += st->sent + st->received;
    out = (QCALL_MSG){.type = QCALL_MSG_BYE};
    out.sent = st->sent;
    out.received = st->received;
    out.rejected = st->rejected;
    (void)qcall_msg_send(ssl, &out); /* the caller's report only; ours is printed below */
    printf("callee call %u: kex=%s key_id=%s group=%s setup_ms=%.2f kex_ms=%.2f frames "
           "sent=%u received=%u rejected=%u (auth=%u replay=%u) lost=%u\n",
           n, kex->name, key_id, qcall_tls_group(ssl), setup_ms, kex_ms, st->sent, st->received,
           st->rejected, st->rejected_auth, st->rejected_replay,
           msg.sent > st->received ? msg.sent - st->received : 0);
    ok = 1;
done:
    if (!ok)
        printf("callee call %u: FAILED at set-up: %s; media datagrams received=%u\n", n, err,
               media ? qcall_media_stats(media)->datagrams : 0);
    fflush(stdout);
    OPENSSL_secure_clear_free(secret, secret_len);
    OPENSSL_free(pub);
    EVP_PKEY_free(pair);
    qcall_media_free(media);
    ERR_clear_error();
    return ok;
}

static int write_port_file(const char *path, int port)
{
    char tmp[4096];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if ((f = fopen(tmp, "w")) == NULL)
        return 0;
    fprintf(f, "%d\n", port);
    if (fclose(f) != 0)
        return 0;
    return rename(tmp, path) == 0; /* readers never see a half-written file */
}

int qcall_callee(const QCALL_OPTS *o)
{
    char err[512];
    QCALL_KEX kex;
    CALLEE_TOTALS tot = {0};
    SSL_CTX *ctx = NULL;
    int lfd = -1, port = o->port, rc = 1;

    if (!qcall_kex_init(&kex, o->kex)) {
        fprintf(stderr, "qcall: algorithm name too long\n");
        return 2;
    }
    if ((ctx = qcall_tls_server_ctx(o, err, sizeof(err))) == NULL) {
        fprintf(stderr, "qcall: %s\n", err);
        return 1;
    }
    if ((lfd = qcall_tcp_listen(o->host, &port, err, sizeof(err))) < 0) {
        fprintf(stderr, "qcall: %s\n", err);
        goto end;
    }
    printf("callee listening on %s:%d kex=%s\n", o->host, port, kex.name);
    fflush(stdout);
    if (o->port_file && !write_port_file(o->port_file, port)) {
        fprintf(stderr, "qcall: cannot write %s\n", o->port_file);
        goto end;
    }
    for (unsigned i = 1; o->calls == 0 || i <= o->calls; i++) {
        int fd = accept(lfd, NULL, NULL);
        SSL *ssl;

        if (fd < 0)
            continue;
        qcall_tcp_timeouts(fd, 10);
        if ((ssl = SSL_new(ctx)) == NULL || SSL_set_fd(ssl, fd) != 1) {
            fprintf(stderr, "qcall: out of memory\n");
            SSL_free(ssl);
            close(fd);
            break;
        }
        if (answer(ssl, &kex, i, o, &tot))
            tot.ok++;
        else
            tot.failed++;
        (void)SSL_shutdown(ssl); /* close_notify is a courtesy here; the call is over */
        SSL_free(ssl);
        close(fd);
    }
    printf("callee summary: calls=%u ok=%u failed=%u media_frames=%llu media_cpu_s=%.4f\n",
           tot.ok + tot.failed, tot.ok, tot.failed, (unsigned long long)tot.media_frames,
           tot.media_cpu_s);
    rc = tot.failed ? 1 : 0;
end:
    if (lfd >= 0)
        close(lfd);
    SSL_CTX_free(ctx);
    return rc;
}
