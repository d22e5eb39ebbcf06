/*
 * The etsi014 QKD driver: keys from an ETSI GS QKD 014 KME over HTTPS with mutual TLS.
 *   GET  {kme_url}/api/v1/keys/{slave_SAE_ID}/status
 *   POST {kme_url}/api/v1/keys/{slave_SAE_ID}/enc_keys   {"number": n, "size": bits}
 *   POST {kme_url}/api/v1/keys/{master_SAE_ID}/dec_keys  {"key_IDs": [{"key_ID": ...}]}
 * (GET forms with ?number=&size= and ?key_ID= are what the KME also accepts; POST carries
 * both cases here.)
 *
 * At open (OSSL_provider_init / C_Initialize, maybe as root): config and the credential files
 * qkd.ca / qkd.cert / qkd.key are read into memory; no network I/O. The connection starts on
 * first use. A forked child drops the parent's connection without writing on it and forgets
 * prefetched keys (after_fork).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qkey/secmem.h"
#include "etsi014.h"

#define API      "/api/v1/keys/"
#define CRED_MAX (256 * 1024)

/* ---- open / close ---------------------------------------------------------------------- */

/*
 * Memory for the TLS client key (qkd.key): locked and out of core dumps like qks_secure_alloc,
 * but NOT wiped on fork: unlike a QKD key, this long-term credential is what a forked worker
 * needs to open its own KME connection (nginx reads it as root, then forks workers that run as
 * www-data and could not read the file). Wiped at close.
 */
static void *cred_alloc(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED)
        return NULL;
    (void)mlock(p, n);                  /* best effort, as qks_secure_alloc: RLIMIT_MEMLOCK */
    (void)madvise(p, n, MADV_DONTDUMP); /* best effort: old kernels */
    return p;
}

static void cred_free(void *p, size_t n)
{
    if (p == NULL)
        return;
    qks_wipe(p, n);
    munlock(p, n);
    munmap(p, n);
}

/* Read a credential file whole. Secret files go to locked memory. */
static int read_file(const char *key, const char *path, int secret, char **out, size_t *len,
                     size_t *cap)
{
    struct stat sb;
    char *buf;
    ssize_t n;
    size_t got = 0;
    int fd;

    if (path == NULL || *path == '\0')
        return qks_set_error(QKS_ERR_CONFIG, "%s is required by qkd.driver = etsi014", key);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &sb) != 0) {
        int rc = qks_set_error(QKS_ERR_IO, "%s = %s: cannot read: %s", key, path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return rc;
    }
    if (sb.st_size <= 0 || sb.st_size > CRED_MAX) {
        close(fd);
        return qks_set_error(QKS_ERR_CONFIG, "%s = %s: empty or too large", key, path);
    }
    *cap = (size_t)sb.st_size + 1;
    buf = secret ? cred_alloc(*cap) : calloc(1, *cap);
    if (buf == NULL) {
        close(fd);
        return qks_set_error(QKS_ERR_NOMEM, "out of memory reading %s", path);
    }
    while (got < (size_t)sb.st_size && (n = read(fd, buf + got, (size_t)sb.st_size - got)) > 0)
        got += (size_t)n;
    close(fd);
    *out = buf;
    *len = got;
    return QKS_OK;
}

static void drv_close(QHW_QKD *drv)
{
    E14_DRV *d = (E14_DRV *)drv;

    if (d == NULL)
        return;
    e14_conn_drop(d, d->conn.pid != getpid());
    e14_tls_free(d);
    for (size_t i = 0; i < d->npeers; i++) {
        for (size_t j = 0; j < d->peers[i].n_prefetched; j++)
            qks_key_free(d->peers[i].prefetched[j]);
        json_decref(d->peers[i].status_raw);
    }
    free(d->ca_pem);
    free(d->cert_pem);
    cred_free(d->key_pem, d->key_cap);
    pthread_mutex_destroy(&d->lock);
    qks_wipe(d, sizeof(*d));
    free(d);
}

extern const QHW_QKD_METHOD qhw_qkd_etsi014_method;

static int drv_open(const QKS_CONFIG *cfg, QHW_QKD **out)
{
    E14_DRV *d;
    const char *url = qks_config_get(cfg, "qkd.kme_url");
    const char *sae = qks_config_get(cfg, "qkd.sae_id");
    const char *name = qks_config_get(cfg, "qkd.kme_server_name");
    long timeout, bits, prefetch;
    size_t cap;
    int rc;

    *out = NULL;
    if ((rc = qks_config_get_long(cfg, "qkd.timeout_ms", 10000, 1, 3600000, &timeout)) ||
        (rc = qks_config_get_long(cfg, "qkd.key_bits", 256, 64, QKS_KEY_MAX * 8, &bits)) ||
        (rc = qks_config_get_long(cfg, "qkd.prefetch", 0, 0, E14_MAX_PREFETCH, &prefetch)))
        return rc;
    if (sae == NULL || !qks_valid_sae_id(sae))
        return qks_set_error(QKS_ERR_CONFIG, "qkd.sae_id is missing or malformed");
    if ((d = calloc(1, sizeof(*d))) == NULL)
        return qks_set_error(QKS_ERR_NOMEM, "out of memory");
    d->base.meth = &qhw_qkd_etsi014_method;
    pthread_mutex_init(&d->lock, NULL);
    d->conn.fd = -1;
    d->timeout_ms = timeout;
    d->key_bytes = (size_t)bits / 8;
    d->prefetch = (size_t)prefetch;
    d->opened = e14_now();
    snprintf(d->sae_id, sizeof(d->sae_id), "%s", sae);
    if (url == NULL || strlen(url) >= sizeof(d->kme_url) ||
        e14_parse_url(url, d->host, sizeof(d->host), d->port, sizeof(d->port), d->path_prefix,
                      sizeof(d->path_prefix)) != QKS_OK) {
        rc = qks_set_error(QKS_ERR_CONFIG, "qkd.kme_url = %s: expected https://HOST[:PORT][/PATH]",
                           url ? url : "(missing)");
        goto err;
    }
    snprintf(d->kme_url, sizeof(d->kme_url), "%s", url);
    while (strlen(d->kme_url) > 8 && d->kme_url[strlen(d->kme_url) - 1] == '/')
        d->kme_url[strlen(d->kme_url) - 1] = '\0';
    if (name != NULL && (strlen(name) == 0 || strlen(name) >= sizeof(d->server_name))) {
        rc = qks_set_error(QKS_ERR_CONFIG, "qkd.kme_server_name is empty or too long");
        goto err;
    }
    snprintf(d->server_name, sizeof(d->server_name), "%s", name ? name : d->host);
    /* credentials now: a server reads them as root and drops privileges later */
    if ((rc =
             read_file("qkd.ca", qks_config_get(cfg, "qkd.ca"), 0, &d->ca_pem, &d->ca_len, &cap)) ||
        (rc = read_file("qkd.cert", qks_config_get(cfg, "qkd.cert"), 0, &d->cert_pem, &d->cert_len,
                        &cap)) ||
        (rc = read_file("qkd.key", qks_config_get(cfg, "qkd.key"), 1, &d->key_pem, &d->key_len,
                        &d->key_cap)))
        goto err;
    *out = &d->base;
    return QKS_OK;
err:
    drv_close(&d->base);
    return rc;
}

/* ---- peers, status cache --------------------------------------------------------------- */

static E14_PEER *peer_slot(E14_DRV *d, const char *sae)
{
    for (size_t i = 0; i < d->npeers; i++)
        if (strcmp(d->peers[i].sae_id, sae) == 0)
            return &d->peers[i];
    if (d->npeers == E14_MAX_PEERS)
        return NULL;
    snprintf(d->peers[d->npeers].sae_id, sizeof(d->peers[0].sae_id), "%s", sae);
    return &d->peers[d->npeers++];
}

static int sae_path(E14_DRV *d, const char *sae, const char *op, char *path, size_t pathlen)
{
    char enc[3 * QKS_SAE_ID_MAX + 1];

    if (!qks_valid_sae_id(sae))
        return qks_set_error(QKS_ERR_INVALID, "SAE ID is malformed");
    if (e14_url_encode(sae, enc, sizeof(enc)) != 0 ||
        (size_t)snprintf(path, pathlen, "%s" API "%s/%s", d->path_prefix, enc, op) >= pathlen)
        return qks_set_error(QKS_ERR_INVALID, "KME request path too long");
    return QKS_OK;
}

/* GET status for `slave` (lock held). Refreshes the cache. */
static int fetch_status(E14_DRV *d, E14_PEER *p)
{
    char path[E14_URL_MAX + 256], err[200], *resp = NULL;
    size_t len = 0;
    json_t *raw = NULL;
    E14_STATUS st;
    int rc, sent;

    if ((rc = sae_path(d, p->sae_id, "status", path, sizeof(path))) != QKS_OK)
        return rc;
    if ((rc = e14_request(d, path, NULL, E14_OP_STATUS, &resp, &len, &sent)) != QKS_OK)
        return rc;
    rc = e14_parse_status(resp, len, &st, &raw, err, sizeof(err));
    free(resp);
    if (rc != QKS_OK)
        return qks_set_error(rc, "KME %s: %s", d->kme_url, err);
    json_decref(p->status_raw);
    p->status_raw = raw;
    p->status = st;
    p->status_time = e14_now();
    p->enc_since_status = 0;
    return QKS_OK;
}

/* Cached limits for the peer, fetched at most every E14_STATUS_TTL_S. A KME that cannot be
 * reached fails the call (no second wait for enc_keys); one that answers status badly leaves the
 * limits unknown (*out NULL) and the request goes ahead: the KME decides. */
static int limits(E14_DRV *d, E14_PEER *p, const E14_STATUS **out)
{
    int rc;

    *out = NULL;
    if (p->status_time == 0 || e14_now() - p->status_time > E14_STATUS_TTL_S) {
        rc = fetch_status(d, p);
        if (rc == QKS_ERR_TIMEOUT || rc == QKS_ERR_UNREACHABLE || rc == QKS_ERR_AUTH ||
            rc == QKS_ERR_NOMEM)
            return rc;
        if (rc != QKS_OK) {
            qks_clear_error();
            return QKS_OK;
        }
    }
    *out = &p->status;
    return QKS_OK;
}

/* ---- enc_keys / dec_keys --------------------------------------------------------------- */

static void note_enc(E14_DRV *d, size_t n)
{
    double t = e14_now();

    d->keys_enc += n;
    for (size_t i = 0; i < n; i++)
        d->enc_times[d->enc_head++ % E14_RATE_SLOTS] = t;
}

/* One enc_keys request for `number` keys (lock held). */
static int enc_request(E14_DRV *d, const char *slave, size_t key_bytes, size_t number,
                       QKS_KEY **keys)
{
    char path[E14_URL_MAX + 256], body[96], err[256], *resp = NULL;
    size_t len = 0;
    int rc, sent;

    if ((rc = sae_path(d, slave, "enc_keys", path, sizeof(path))) != QKS_OK)
        return rc;
    /* ETSI GS QKD 014 6.2: Key request */
    snprintf(body, sizeof(body), "{\"number\":%zu,\"size\":%zu}", number, key_bytes * 8);
    if ((rc = e14_request(d, path, body, E14_OP_ENC, &resp, &len, &sent)) != QKS_OK)
        return rc;
    rc = e14_parse_keys(resp, len, number, key_bytes, NULL, keys, err, sizeof(err));
    qks_wipe(resp, len);
    free(resp);
    if (rc != QKS_OK)
        return qks_set_error(rc, "KME %s: bad enc_keys answer: %s", d->kme_url, err);
    note_enc(d, number);
    return QKS_OK;
}

static int drv_enc_keys(QHW_QKD *drv, const char *slave, size_t key_bytes, size_t number,
                        QKS_KEY **keys)
{
    E14_DRV *d = (E14_DRV *)drv;
    E14_PEER *p;
    const E14_STATUS *lim;
    size_t done = 0, per, want;
    QKS_KEY *batch[E14_MAX_PREFETCH + 1];
    int rc = QKS_OK;

    for (size_t i = 0; i < number; i++)
        keys[i] = NULL;
    if (number == 0 || key_bytes == 0 || key_bytes > QKS_KEY_MAX)
        return qks_set_error(QKS_ERR_INVALID, "enc_keys: bad number or size");
    if (!qks_valid_sae_id(slave))
        return qks_set_error(QKS_ERR_INVALID, "slave SAE ID is malformed");
    pthread_mutex_lock(&d->lock);
    if ((p = peer_slot(d, slave)) == NULL) {
        rc = qks_set_error(QKS_ERR_INVALID, "too many peers for the etsi014 driver");
        goto done;
    }
    /* prefetched keys first (same size only) */
    while (done < number && p->n_prefetched > 0 && p->prefetched_bytes == key_bytes) {
        keys[done++] = p->prefetched[0];
        memmove(p->prefetched, p->prefetched + 1, --p->n_prefetched * sizeof(QKS_KEY *));
    }
    if (done == number)
        goto done;
    if ((rc = limits(d, p, &lim)) != QKS_OK)
        goto done;
    if (lim != NULL &&
        (key_bytes * 8 < (size_t)lim->min_key_size || key_bytes * 8 > (size_t)lim->max_key_size)) {
        rc = qks_set_error(QKS_ERR_INVALID,
                           "KME %s serves keys of %ld to %ld bits to %s; %zu bits asked",
                           d->kme_url, lim->min_key_size, lim->max_key_size, slave, key_bytes * 8);
        goto done;
    }
    per = lim != NULL ? (size_t)lim->max_key_per_request : E14_MAX_PREFETCH;
    if (per > E14_MAX_PREFETCH + 1)
        per = E14_MAX_PREFETCH + 1;
    while (done < number) {
        want = number - done;
        /* bounded prefetch: fill the per-peer cache in the same request, within the KME's
         * limits and what it has stored */
        if (d->prefetch > 0 && key_bytes == d->key_bytes && want < per) {
            size_t extra = d->prefetch - p->n_prefetched;

            if (lim != NULL && lim->stored_key_count > 0 &&
                extra > (size_t)lim->stored_key_count / 2)
                extra = (size_t)lim->stored_key_count / 2;
            want = want + extra > per ? per : want + extra;
        }
        if (want > per)
            want = per;
        rc = enc_request(d, slave, key_bytes, want, batch);
        if (rc == QKS_ERR_NO_KEY && want > number - done) {
            /* the KME refused the prefetch on top (it has fewer keys than its last status
             * said): ask again for just what the caller needs; a refusal issued no keys */
            p->status_time = 0; /* its stored_key_count is stale: ask again next time */
            want = number - done;
            if (want > per)
                want = per;
            rc = enc_request(d, slave, key_bytes, want, batch);
        }
        if (rc != QKS_OK)
            goto done;
        p->enc_since_status += want; /* the KME's stored count less these, until next status */
        for (size_t i = 0; i < want; i++) {
            if (done < number) {
                snprintf(batch[i]->peer, sizeof(batch[i]->peer), "%s", slave);
                keys[done++] = batch[i];
            } else {
                snprintf(batch[i]->peer, sizeof(batch[i]->peer), "%s", slave);
                p->prefetched[p->n_prefetched++] = batch[i];
                p->prefetched_bytes = key_bytes;
            }
        }
    }
done:
    if (rc != QKS_OK) {
        /* all or nothing: keys obtained in earlier chunks are wiped */
        for (size_t i = 0; i < number; i++) {
            qks_key_free(keys[i]);
            keys[i] = NULL;
        }
    }
    pthread_mutex_unlock(&d->lock);
    return rc;
}

static int drv_dec_keys(QHW_QKD *drv, const char *master, const char *const *key_ids, size_t number,
                        QKS_KEY **keys)
{
    E14_DRV *d = (E14_DRV *)drv;
    char path[E14_URL_MAX + 256], err[256], *body = NULL, *resp = NULL;
    size_t len = 0, key_bytes = d->key_bytes;
    json_t *req = NULL, *arr;
    int rc, sent;

    for (size_t i = 0; i < number; i++)
        keys[i] = NULL;
    if (number == 0 || number > E14_MAX_PREFETCH)
        return qks_set_error(QKS_ERR_INVALID, "dec_keys: bad number of key IDs");
    for (size_t i = 0; i < number; i++)
        if (!qks_valid_key_id(key_ids[i]))
            return qks_set_error(QKS_ERR_INVALID, "key ID is not a UUID");
    if ((rc = sae_path(d, master, "dec_keys", path, sizeof(path))) != QKS_OK)
        return rc;
    /* ETSI GS QKD 014 6.4: Key IDs */
    arr = json_array();
    req = json_pack("{s:o}", "key_IDs", arr);
    for (size_t i = 0; req != NULL && i < number; i++)
        json_array_append_new(arr, json_pack("{s:s}", "key_ID", key_ids[i]));
    if (req == NULL || (body = json_dumps(req, JSON_COMPACT)) == NULL) {
        json_decref(req);
        return qks_set_error(QKS_ERR_NOMEM, "out of memory");
    }
    json_decref(req);
    pthread_mutex_lock(&d->lock);
    rc = e14_request(d, path, body, E14_OP_DEC, &resp, &len, &sent);
    if (rc == QKS_OK) {
        rc = e14_parse_keys(resp, len, number, key_bytes, key_ids, keys, err, sizeof(err));
        if (rc != QKS_OK)
            rc = qks_set_error(rc, "KME %s: bad dec_keys answer: %s", d->kme_url, err);
        else
            d->keys_dec += number;
        qks_wipe(resp, len);
    }
    pthread_mutex_unlock(&d->lock);
    free(resp);
    free(body);
    for (size_t i = 0; rc == QKS_OK && i < number; i++)
        snprintf(keys[i]->peer, sizeof(keys[i]->peer), "%s", master);
    return rc;
}

/* ---- status, fork ---------------------------------------------------------------------- */

static int drv_status(QHW_QKD *drv, const char *peer, json_t *out)
{
    E14_DRV *d = (E14_DRV *)drv;
    E14_PEER *p;
    double now = e14_now(), window, recent = 0, rate, kme_rate = -1;
    json_t *ext;
    int rc;

    pthread_mutex_lock(&d->lock);
    window = fmin(60.0, fmax(1e-3, now - d->opened));
    for (size_t i = 0; i < E14_RATE_SLOTS; i++)
        if (d->enc_times[i] > 0 && now - d->enc_times[i] <= window)
            recent++;
    rate = recent / window;
    json_object_set_new(out, "consumption_keys_per_s", json_real(rate));
    if ((p = peer_slot(d, peer)) == NULL) {
        rc = qks_set_error(QKS_ERR_INVALID, "too many peers");
        goto done;
    }
    json_object_set_new(out, "prefetched", json_integer((json_int_t)p->n_prefetched));
    json_object_set_new(out, "prefetch", json_integer((json_int_t)d->prefetch));
    rc = fetch_status(d, p);
    /* counters after the request, so they include it */
    json_object_set_new(out, "kme_url", json_string(d->kme_url));
    json_object_set_new(out, "kme_requests", json_integer((json_int_t)d->requests));
    json_object_set_new(out, "kme_failures", json_integer((json_int_t)d->failures));
    json_object_set_new(out, "kme_connects", json_integer((json_int_t)d->connects));
    json_object_set_new(out, "keys_enc", json_integer((json_int_t)d->keys_enc));
    json_object_set_new(out, "keys_dec", json_integer((json_int_t)d->keys_dec));
    if (rc != QKS_OK)
        goto done;
    json_object_set(out, "kme", p->status_raw);
    json_object_set_new(out, "stored_key_count", json_integer(p->status.stored_key_count));
    json_object_set_new(out, "max_key_count", json_integer(p->status.max_key_count));
    /* time until the store runs dry: the KME's own consumption figure when it gives one */
    ext = json_object_get(p->status_raw, "status_extension");
    if (json_is_number(json_object_get(ext, "consumption_keys_per_s")))
        kme_rate = json_number_value(json_object_get(ext, "consumption_keys_per_s"));
    if (kme_rate < 0)
        kme_rate = rate;
    json_object_set_new(out, "seconds_until_empty",
                        kme_rate > 0 ? json_real((double)p->status.stored_key_count / kme_rate)
                                     : json_null());
done:
    pthread_mutex_unlock(&d->lock);
    return rc;
}

static void drv_after_fork(QHW_QKD *drv)
{
    E14_DRV *d = (E14_DRV *)drv;

    /* a parent thread may have held the lock at fork time: start the child with a fresh one */
    pthread_mutex_init(&d->lock, NULL);
    e14_conn_drop(d, 1);
    for (size_t i = 0; i < d->npeers; i++) {
        for (size_t j = 0; j < d->peers[i].n_prefetched; j++) {
            qks_key_free(d->peers[i].prefetched[j]);
            d->peers[i].prefetched[j] = NULL;
        }
        d->peers[i].n_prefetched = 0;
    }
    d->requests = d->failures = d->connects = d->keys_enc = d->keys_dec = 0;
    memset(d->enc_times, 0, sizeof(d->enc_times));
    d->opened = e14_now();
}

/* qkd.reserve: the KME's stored_key_count from a status answer at most a second old (the
 * cached limits are refreshed every E14_STATUS_TTL_S only). */
static int drv_stored(QHW_QKD *drv, const char *peer, long *n)
{
    E14_DRV *d = (E14_DRV *)drv;
    E14_PEER *p;
    const E14_STATUS *lim = NULL;
    int rc = QKS_OK;

    *n = -1;
    pthread_mutex_lock(&d->lock);
    if ((p = peer_slot(d, peer)) != NULL) {
        if (p->status_time != 0 && e14_now() - p->status_time > 1.0)
            p->status_time = 0;
        rc = limits(d, p, &lim);
        if (rc == QKS_OK && lim != NULL) {
            long left = lim->stored_key_count - (long)p->enc_since_status;
            *n = (left > 0 ? left : 0) + (long)p->n_prefetched;
        }
    }
    pthread_mutex_unlock(&d->lock);
    return rc;
}

const QHW_QKD_METHOD qhw_qkd_etsi014_method = {
    .name = "etsi014",
    .open = drv_open,
    .close = drv_close,
    .enc_keys = drv_enc_keys,
    .dec_keys = drv_dec_keys,
    .status = drv_status,
    .after_fork = drv_after_fork,
    .stored = drv_stored,
};
