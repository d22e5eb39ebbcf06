/*
 * qkd.driver = agent: QKD keys from qkeyd, the host's key agent, over its UNIX socket
 * (agent.socket, docs/agent.md). The process holds no KME credential and opens no device: the
 * agent does, and decides by the caller's uid and groups (SO_PEERCRED) which peers it may have
 * keys for. Opening reads the config only; the first request connects.
 */
#include <stdlib.h>
#include <string.h>

#include "qkey/secmem.h"
#include "agent.h"

#define QAG_KEY_REPLY_MAX (1 + QKS_KEY_ID_MAX + 2 + QKS_KEY_MAX)
#define QAG_STATUS_MAX    (1024 * 1024)

typedef struct {
    QHW_QKD base; /* first: the method pointer */
    QAG_CONN conn;
    size_t key_bytes;
} AGENT_QKD;

const QHW_QKD_METHOD qhw_qkd_agent_method;

static int agent_open(const QKS_CONFIG *cfg, QHW_QKD **out)
{
    AGENT_QKD *a;
    long timeout, bits;
    int rc;

    *out = NULL;
    if ((rc = qks_config_get_long(cfg, "qkd.timeout_ms", 10000, 1, 3600000, &timeout)) != QKS_OK ||
        (rc = qks_config_get_long(cfg, "qkd.key_bits", 256, 64, QKS_KEY_MAX * 8, &bits)) != QKS_OK)
        return rc;
    if ((a = calloc(1, sizeof(*a))) == NULL)
        return qks_set_error(QKS_ERR_NOMEM, "out of memory opening the agent driver");
    a->base.meth = &qhw_qkd_agent_method;
    a->key_bytes = (size_t)bits / 8;
    if ((rc = qag_conn_init(&a->conn, cfg, timeout)) != QKS_OK) {
        free(a);
        return rc;
    }
    *out = &a->base;
    return QKS_OK;
}

static void agent_close(QHW_QKD *drv)
{
    AGENT_QKD *a = (AGENT_QKD *)drv;

    if (a == NULL)
        return;
    qag_conn_close(&a->conn);
    free(a);
}

/* One key round trip: the reply lands in locked memory and is wiped after the copy. */
static int key_call(AGENT_QKD *a, uint8_t op, const unsigned char *body, size_t body_len,
                    size_t key_bytes, QKS_KEY **out)
{
    unsigned char *reply = qks_secure_alloc(QAG_KEY_REPLY_MAX);
    char key_id[QKS_KEY_ID_MAX + 1];
    size_t len = 0, key_len = 0;
    QKS_KEY *k = NULL;
    int rc;

    *out = NULL;
    if (reply == NULL)
        return qks_set_error(QKS_ERR_NOMEM, "agent driver: no locked memory for a key");
    if ((rc = qag_conn_call(&a->conn, op, body, body_len, reply, QAG_KEY_REPLY_MAX, &len)) !=
        QKS_OK)
        goto done;
    if ((k = qks_key_alloc(key_bytes)) == NULL) {
        rc = qks_set_error(QKS_ERR_NOMEM, "agent driver: no locked memory for a key");
        goto done;
    }
    if ((rc = qag_parse_key(reply, len, key_id, k->key, key_bytes, &key_len)) != QKS_OK)
        goto done;
    if (key_len != key_bytes) {
        rc = qks_set_error(QKS_ERR_KME, "qkeyd returned a key of %zu bytes, %zu were asked for",
                           key_len, key_bytes);
        goto done;
    }
    strcpy(k->key_id, key_id);
    *out = k;
    k = NULL;
done:
    qks_key_free(k);
    qks_secure_free(reply, QAG_KEY_REPLY_MAX);
    return rc;
}

static void free_keys(QKS_KEY **keys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        qks_key_free(keys[i]);
        keys[i] = NULL;
    }
}

/* NEW_KEY carries the purpose: the agent applies its qkd.reserve to TLS handshakes. */
static int agent_enc_key_purpose(QHW_QKD *drv, const char *slave_sae, size_t key_bytes, int purpose,
                                 QKS_KEY **key)
{
    unsigned char body[3 + 1 + QKS_SAE_ID_MAX];
    size_t n = qag_body_new_key(body, sizeof(body), slave_sae, (unsigned)purpose, key_bytes);

    *key = NULL;
    if (n == 0)
        return qks_set_error(QKS_ERR_INVALID, "agent driver: malformed NEW_KEY arguments");
    return key_call((AGENT_QKD *)drv, QAG_OP_NEW_KEY, body, n, key_bytes, key);
}

static int agent_enc_keys(QHW_QKD *drv, const char *slave_sae, size_t key_bytes, size_t number,
                          QKS_KEY **keys)
{
    int rc;

    for (size_t i = 0; i < number; i++)
        if ((rc = agent_enc_key_purpose(drv, slave_sae, key_bytes, QKS_PURPOSE_ANY, &keys[i])) !=
            QKS_OK) {
            free_keys(keys, i);
            return rc;
        }
    return QKS_OK;
}

static int agent_dec_keys(QHW_QKD *drv, const char *master_sae, const char *const *key_ids,
                          size_t number, QKS_KEY **keys)
{
    AGENT_QKD *a = (AGENT_QKD *)drv;
    unsigned char body[2 + 2 + QKS_SAE_ID_MAX + QKS_KEY_ID_MAX];
    int rc;

    for (size_t i = 0; i < number; i++) {
        size_t n = qag_body_get_key(body, sizeof(body), master_sae, key_ids[i], a->key_bytes);
        if (n == 0) {
            free_keys(keys, i);
            return qks_set_error(QKS_ERR_INVALID, "agent driver: malformed GET_KEY arguments");
        }
        if ((rc = key_call(a, QAG_OP_GET_KEY, body, n, a->key_bytes, &keys[i])) != QKS_OK) {
            free_keys(keys, i);
            return rc;
        }
    }
    return QKS_OK;
}

/* The agent's whole status as JSON (the caller decrefs). */
static int agent_fetch_status(QAG_CONN *c, json_t **out)
{
    unsigned char *buf = malloc(QAG_STATUS_MAX);
    size_t len = 0;
    json_error_t jerr;
    int rc;

    *out = NULL;
    if (buf == NULL)
        return qks_set_error(QKS_ERR_NOMEM, "agent driver: out of memory for the status");
    rc = qag_conn_call(c, QAG_OP_STATUS, NULL, 0, buf, QAG_STATUS_MAX, &len);
    if (rc == QKS_OK && (*out = json_loadb((const char *)buf, len, 0, &jerr)) == NULL)
        rc = qks_set_error(QKS_ERR_INVALID, "qkeyd status is not JSON: %s", jerr.text);
    free(buf);
    return rc;
}

static int agent_status(QHW_QKD *drv, const char *peer, json_t *out)
{
    AGENT_QKD *a = (AGENT_QKD *)drv;
    json_t *st = NULL, *peers, *p;
    size_t i;
    int rc;

    json_object_set_new(out, "agent_socket", json_string(a->conn.path));
    if ((rc = agent_fetch_status(&a->conn, &st)) != QKS_OK)
        return rc;
    /* this peer's entry of the agent's key source: its link and shared pool */
    peers = json_object_get(json_object_get(st, "keysource"), "peers");
    json_array_foreach(peers, i, p)
    {
        if (json_is_string(json_object_get(p, "sae_id")) &&
            strcmp(json_string_value(json_object_get(p, "sae_id")), peer) == 0)
            json_object_set(out, "agent_peer", p);
    }
    json_decref(st);
    return QKS_OK;
}

static void agent_after_fork(QHW_QKD *drv)
{
    qag_conn_after_fork(&((AGENT_QKD *)drv)->conn);
}

const QHW_QKD_METHOD qhw_qkd_agent_method = {
    .name = "agent",
    .open = agent_open,
    .close = agent_close,
    .enc_keys = agent_enc_keys,
    .dec_keys = agent_dec_keys,
    .status = agent_status,
    .after_fork = agent_after_fork,
    .stored = NULL, /* qkd.reserve is the agent's to enforce (its own configuration) */
    .enc_key_purpose = agent_enc_key_purpose,
};

/* ---- rng.source = agent ----------------------------------------------------------------- */
struct qag_rng_st {
    QAG_CONN conn;
};

int qag_rng_open(const QKS_CONFIG *cfg, long timeout_ms, QAG_RNG **out)
{
    QAG_RNG *r;
    int rc;

    *out = NULL;
    if ((r = calloc(1, sizeof(*r))) == NULL)
        return qks_set_error(QKS_ERR_NOMEM, "out of memory opening rng.source = agent");
    if ((rc = qag_conn_init(&r->conn, cfg, timeout_ms)) != QKS_OK) {
        free(r);
        return rc;
    }
    *out = r;
    return QKS_OK;
}

void qag_rng_free(QAG_RNG *r)
{
    if (r == NULL)
        return;
    qag_conn_close(&r->conn);
    free(r);
}

/* Full-entropy bytes from the agent's pipeline (health-tested there); fails closed with the
 * agent's error and leaves no partial output. */
int qag_rng_generate(QAG_RNG *r, unsigned char *out, size_t len)
{
    unsigned char body[4];
    size_t done = 0;
    int rc = QKS_OK;

    while (done < len) {
        size_t n = len - done < QAG_RANDOM_MAX ? len - done : QAG_RANDOM_MAX, got = 0;
        (void)qag_body_random(body, sizeof(body), n);
        rc = qag_conn_call(&r->conn, QAG_OP_RANDOM, body, sizeof(body), out + done, n, &got);
        if (rc == QKS_OK && got != n)
            rc = qks_set_error(QKS_ERR_INVALID, "qkeyd sent %zu random bytes, %zu were asked for",
                               got, n);
        if (rc != QKS_OK)
            break;
        done += n;
    }
    if (rc != QKS_OK)
        qks_wipe(out, len);
    return rc;
}

/* The agent's pipeline state, asked afresh (one round trip): a client that checks it before
 * each use (the token) fails closed the moment the agent's RNG does, and recovers with it. */
int qag_rng_state(QAG_RNG *r)
{
    size_t len = 0;
    unsigned char none;

    return qag_conn_call(&r->conn, QAG_OP_RNG_STATE, NULL, 0, &none, 0, &len);
}

int qag_rng_status(QAG_RNG *r, json_t *out)
{
    json_t *st = NULL;
    int rc;

    json_object_set_new(out, "agent_socket", json_string(r->conn.path));
    if ((rc = agent_fetch_status(&r->conn, &st)) != QKS_OK) {
        json_object_set_new(out, "agent_error", json_string(qks_last_error()));
        return QKS_OK; /* an agent that cannot answer is a status fact */
    }
    /* the agent's whole status: its pipeline, kernel feed, pools and per-user counters */
    json_object_set_new(out, "agent_status", st);
    return QKS_OK;
}

void qag_rng_after_fork(QAG_RNG *r)
{
    qag_conn_after_fork(&r->conn);
}
