/*
 * `qkey-kme-sim run DIR`: KME A and KME B, each an HTTPS server (libmicrohttpd) on 127.0.0.1
 * requiring a client certificate from the test CA, sharing one key store.
 *
 * Why libmicrohttpd (GnuTLS) rather than an OpenSSL server: it is a well-kept HTTP/1.1 server with
 * keep-alive, request parsing and per-connection threads done for us, and a KME built on a
 * different TLS stack than the client (OpenSSL) also checks that the driver speaks plain
 * standard TLS. The client certificate is read from the GnuTLS session; its CN is the SAE ID.
 *
 * Access control as a real KME does it (ETSI GS QKD 014 5.1): the caller is the SAE named by its
 * verified client certificate, and must be an SAE this KME serves; enc_keys/status name the slave
 * SAE in the URL, dec_keys the master SAE; a key goes to its master SAE at enc_keys and to its
 * slave SAE only, once, at dec_keys.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <jansson.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "kmesim.h"
#include "safedir.h"

typedef struct kme_st {
    int idx; /* 0 = KME A, 1 = KME B */
    const KMESIM_CONFIG *cfg;
    KMESIM_STORE *store;
    struct MHD_Daemon *daemon;
    char *cert_pem, *key_pem, *ca_pem;
} KME;

typedef struct upload_st {
    size_t len;
    int too_large;
    char body[KMESIM_MAX_BODY + 1];
} UPLOAD;

static char *read_text(const char *dir, const char *name)
{
    char path[4200];
    FILE *f;
    char *buf = NULL;
    long n;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if ((f = fopen(path, "rb")) == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && n < 1 << 20 &&
        fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) != NULL) {
        if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        } else {
            buf[n] = '\0';
        }
    }
    fclose(f);
    return buf;
}

static enum MHD_Result send_json(struct MHD_Connection *conn, unsigned code, json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT);
    struct MHD_Response *resp;
    enum MHD_Result ret;

    json_decref(obj);
    if (text == NULL)
        return MHD_NO;
    resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json");
    ret = MHD_queue_response(conn, code, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* The ETSI error body: {"message": ..., "details": [{...}]} */
static enum MHD_Result send_error(const KME *kme, struct MHD_Connection *conn, unsigned code,
                                  const char *message, json_t *details)
{
    json_t *obj = json_pack("{s:s}", "message", message);

    if (details != NULL)
        json_object_set_new(obj, "details", json_pack("[o]", details));
    fprintf(stderr, "qkey-kme-sim: %s answered %u: %s\n", kme->cfg->kme_id[kme->idx], code,
            message);
    return send_json(conn, code, obj);
}

/*
 * What a TLS connection's client certificate proved, kept for the connection's life: verifying
 * the chain costs a signature check and an ASN.1 parse, which per request cost the simulator
 * about a third of its time. A TLS 1.3 client cannot change certificates on a connection
 * (GnuTLS never asks for post-handshake authentication here), so one check per connection is
 * the same check.
 */
typedef struct {
    int checked;
    int rc;
    const char *why;
    char sae[KMESIM_ID_MAX + 1];
} CONN_ID;

static void notify_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                              enum MHD_ConnectionNotificationCode toe)
{
    (void)cls;
    (void)conn;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        *socket_context = calloc(1, sizeof(CONN_ID)); /* NULL: checked per request instead */
    } else {
        free(*socket_context);
        *socket_context = NULL;
    }
}

/* The SAE ID of the caller: the CN of its client certificate, verified against the test CA.
 * Returns 0, or -1 with a reason. */
static int verify_caller(struct MHD_Connection *conn, char *sae, size_t saelen, const char **why)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    gnutls_session_t session;
    const gnutls_datum_t *chain;
    unsigned int status = 0, n = 0;
    gnutls_x509_crt_t crt = NULL;
    size_t len = saelen;
    int rc = -1;

    *why = "client certificate required";
    if (ci == NULL || (session = (gnutls_session_t)ci->tls_session) == NULL)
        return -1;
    chain = gnutls_certificate_get_peers(session, &n);
    if (chain == NULL || n == 0)
        return -1;
    *why = "client certificate not issued by this KME's CA";
    if (gnutls_certificate_verify_peers2(session, &status) != GNUTLS_E_SUCCESS || status != 0)
        return -1;
    *why = "client certificate unreadable";
    if (gnutls_x509_crt_init(&crt) != GNUTLS_E_SUCCESS)
        return -1;
    if (gnutls_x509_crt_import(crt, &chain[0], GNUTLS_X509_FMT_DER) == GNUTLS_E_SUCCESS &&
        gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, sae, &len) ==
            GNUTLS_E_SUCCESS &&
        kmesim_valid_id(sae))
        rc = 0;
    gnutls_x509_crt_deinit(crt);
    return rc;
}

static int caller_sae(struct MHD_Connection *conn, char *sae, size_t saelen, const char **why)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    CONN_ID *id = ci != NULL ? ci->socket_context : NULL;

    if (id == NULL)
        return verify_caller(conn, sae, saelen, why);
    if (!id->checked) {
        id->rc = verify_caller(conn, id->sae, sizeof(id->sae), &id->why);
        id->checked = 1;
    }
    *why = id->why;
    if (id->rc == 0)
        snprintf(sae, saelen, "%s", id->sae);
    return id->rc;
}

static json_t *keys_json(const KMESIM_KEY *keys, size_t n, const KMESIM_FAULT *fault)
{
    json_t *arr = json_array();
    unsigned char b64[((KMESIM_KEY_BITS_MAX / 8 + 2) / 3) * 4 + 1];

    for (size_t i = 0; i < n; i++) {
        size_t len = keys[i].len;
        const char *id = keys[i].key_id;

        if (fault->kind == KMESIM_FAULT_WRONG_SIZE)
            len--;
        if (fault->kind == KMESIM_FAULT_DUPLICATE_IDS && i > 0)
            id = keys[0].key_id;
        EVP_EncodeBlock(b64, keys[i].key, (int)len);
        json_array_append_new(arr, json_pack("{s:s,s:s}", "key_ID", id, "key", (char *)b64));
        OPENSSL_cleanse(b64, sizeof(b64));
        if (fault->kind == KMESIM_FAULT_DUPLICATE_IDS && n == 1)
            json_array_append_new(arr, json_pack("{s:s,s:s}", "key_ID", id, "key", "AAAA"));
    }
    return json_pack("{s:o}", "keys", arr);
}

static enum MHD_Result do_status(KME *kme, struct MHD_Connection *conn, const char *caller,
                                 const char *slave)
{
    const KMESIM_CONFIG *cfg = kme->cfg;
    KMESIM_STATS s;
    json_t *ext;

    kmesim_store_stats(kme->store, &s);
    ext = json_pack("{s:s,s:f,s:b,s:f,s:f,s:I,s:I,s:I,s:f}", "profile",
                    cfg->profile == KMESIM_SATELLITE ? "satellite" : "constant", "supply_bps",
                    s.rate_bps, "in_pass", s.in_pass, "next_pass_in_s", s.next_pass_in_s,
                    "consumption_keys_per_s", s.consumption_keys_per_s, "pending_keys",
                    (json_int_t)s.pending_keys, "issued_total", (json_int_t)s.issued_total,
                    "delivered_total", (json_int_t)s.delivered_total, "sim_time_s", s.sim_time);
    /* ETSI GS QKD 014 6.1 (Status) */
    return send_json(
        conn, MHD_HTTP_OK,
        json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o}", "source_KME_ID",
                  cfg->kme_id[kme->idx], "target_KME_ID", cfg->kme_id[1 - kme->idx],
                  "master_SAE_ID", caller, "slave_SAE_ID", slave, "key_size",
                  (json_int_t)cfg->key_size, "stored_key_count", (json_int_t)s.stored_key_count,
                  "max_key_count", (json_int_t)cfg->capacity_keys, "max_key_per_request",
                  (json_int_t)cfg->max_key_per_request, "max_key_size",
                  (json_int_t)cfg->max_key_size, "min_key_size", (json_int_t)cfg->min_key_size,
                  "max_SAE_ID_count", (json_int_t)cfg->max_sae_id_count, "status_extension", ext));
}

static enum MHD_Result do_enc(KME *kme, struct MHD_Connection *conn, const char *caller,
                              const KMESIM_REQUEST *req, const KMESIM_FAULT *fault)
{
    const KMESIM_CONFIG *cfg = kme->cfg;
    long size = req->size ? req->size : cfg->key_size;
    KMESIM_KEY *keys;
    char msg[256];
    enum MHD_Result ret;
    int rc;

    if (req->number > cfg->max_key_per_request) {
        snprintf(msg, sizeof(msg), "number %ld exceeds max_key_per_request %ld", req->number,
                 cfg->max_key_per_request);
        return send_error(kme, conn, 400, msg, NULL);
    }
    if (size % 8 != 0 || size < cfg->min_key_size || size > cfg->max_key_size) {
        snprintf(msg, sizeof(msg), "size %ld not a multiple of 8 in [%ld, %ld]", size,
                 cfg->min_key_size, cfg->max_key_size);
        return send_error(kme, conn, 400, msg, NULL);
    }
    if ((keys = calloc((size_t)req->number, sizeof(*keys))) == NULL)
        return MHD_NO;
    rc = kmesim_store_issue(kme->store, caller, req->sae_id, (size_t)size, (size_t)req->number,
                            keys);
    if (rc == 503) {
        KMESIM_STATS s;

        kmesim_store_stats(kme->store, &s);
        snprintf(msg, sizeof(msg), "no key for %s: %ld stored, %ld requested", req->sae_id,
                 s.stored_key_count, req->number);
        ret = send_error(kme, conn, 503, msg,
                         json_pack("{s:I}", "stored_key_count", (json_int_t)s.stored_key_count));
    } else if (rc != 0) {
        ret = send_error(kme, conn, 500, "key store failure", NULL);
    } else {
        ret = send_json(conn, MHD_HTTP_OK, keys_json(keys, (size_t)req->number, fault));
    }
    OPENSSL_cleanse(keys, sizeof(*keys) * (size_t)req->number);
    free(keys);
    return ret;
}

static enum MHD_Result do_dec(KME *kme, struct MHD_Connection *conn, const char *caller,
                              const KMESIM_REQUEST *req, const KMESIM_FAULT *fault)
{
    const char *ids[KMESIM_MAX_KEYS];
    KMESIM_KEY *keys;
    char msg[256];
    enum MHD_Result ret;
    int rc;

    if ((long)req->n_key_ids > kme->cfg->max_key_per_request) {
        snprintf(msg, sizeof(msg), "%zu key_IDs exceed max_key_per_request %ld", req->n_key_ids,
                 kme->cfg->max_key_per_request);
        return send_error(kme, conn, 400, msg, NULL);
    }
    for (size_t i = 0; i < req->n_key_ids; i++)
        ids[i] = req->key_ids[i];
    if ((keys = calloc(req->n_key_ids, sizeof(*keys))) == NULL)
        return MHD_NO;
    rc = kmesim_store_deliver(kme->store, req->sae_id, caller, ids, req->n_key_ids, keys);
    if (rc == 400) {
        snprintf(msg, sizeof(msg), "key_ID unknown, already delivered, or not issued to %s by %s",
                 caller, req->sae_id);
        ret = send_error(kme, conn, 400, msg, NULL);
    } else if (rc != 0) {
        ret = send_error(kme, conn, 500, "key store failure", NULL);
    } else {
        ret = send_json(conn, MHD_HTTP_OK, keys_json(keys, req->n_key_ids, fault));
    }
    OPENSSL_cleanse(keys, sizeof(*keys) * req->n_key_ids);
    free(keys);
    return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
    KME *kme = cls;
    UPLOAD *up = *con_cls;
    KMESIM_REQUEST *req = NULL;
    KMESIM_FAULT fault;
    char caller[KMESIM_ID_MAX + 1] = "", err[256];
    const char *why, *peer_sae = kme->cfg->sae_id[1 - kme->idx];
    enum MHD_Result ret;
    int rc;

    if (up == NULL) {
        if ((up = calloc(1, sizeof(*up))) == NULL)
            return MHD_NO;
        *con_cls = up;
        /* a client that completed mutual TLS and sent a request: keep-alive may last */
        MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, KMESIM_KEEPALIVE_S);
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (up->len + *upload_data_size > KMESIM_MAX_BODY)
            up->too_large = 1;
        else {
            memcpy(up->body + up->len, upload_data, *upload_data_size);
            up->len += *upload_data_size;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    kmesim_fault_next(kme->cfg->dir, kme->idx, &fault);
    switch (fault.kind) {
    case KMESIM_FAULT_DELAY:
        usleep((useconds_t)fault.delay_ms * 1000);
        break;
    case KMESIM_FAULT_DROP:
        return MHD_NO; /* MHD closes the connection without an answer */
    case KMESIM_FAULT_503:
        return send_error(kme, conn, 503, "injected fault: KME unavailable", NULL);
    case KMESIM_FAULT_MALFORMED: {
        static const char bad[] = "{\"keys\": [{\"key_ID\": \"";
        struct MHD_Response *r =
            MHD_create_response_from_buffer(sizeof(bad) - 1, (void *)bad, MHD_RESPMEM_PERSISTENT);

        MHD_add_response_header(r, "Content-Type", "application/json");
        ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
        MHD_destroy_response(r);
        return ret;
    }
    default:
        break;
    }
    if (caller_sae(conn, caller, sizeof(caller), &why) != 0)
        return send_error(kme, conn, 401, why, NULL);
    if (strcmp(caller, kme->cfg->sae_id[kme->idx]) != 0) {
        snprintf(err, sizeof(err), "SAE %s is not served by %s", caller,
                 kme->cfg->kme_id[kme->idx]);
        return send_error(kme, conn, 401, err, NULL);
    }
    if (up->too_large)
        return send_error(kme, conn, 413, "request body too large", NULL);
    if ((req = malloc(sizeof(*req))) == NULL)
        return MHD_NO;
    up->body[up->len] = '\0';
    rc = kmesim_parse_request(method, url,
                              MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "number"),
                              MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "size"),
                              MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "key_ID"),
                              up->body, up->len, req, err, sizeof(err));
    if (rc != 0) {
        ret = send_error(kme, conn, (unsigned)rc, err, NULL);
    } else if (strcmp(req->sae_id, peer_sae) != 0) {
        /* the other end of every key must be an SAE of the peer KME */
        snprintf(err, sizeof(err), "SAE %s is not reachable from %s (its peer is %s)", req->sae_id,
                 kme->cfg->kme_id[kme->idx], peer_sae);
        ret = send_error(kme, conn, 400, err, NULL);
    } else if (req->op == KMESIM_OP_STATUS) {
        ret = do_status(kme, conn, caller, req->sae_id);
    } else if (req->op == KMESIM_OP_ENC) {
        ret = do_enc(kme, conn, caller, req, &fault);
    } else {
        ret = do_dec(kme, conn, caller, req, &fault);
    }
    free(req);
    return ret;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    free(*con_cls);
    *con_cls = NULL;
}

static int start_kme(KME *kme)
{
    struct sockaddr_in sa;
    const char *names[2][2] = {{"kme-a.pem", "kme-a.key"}, {"kme-b.pem", "kme-b.key"}};

    kme->cert_pem = read_text(kme->cfg->dir, names[kme->idx][0]);
    kme->key_pem = read_text(kme->cfg->dir, names[kme->idx][1]);
    kme->ca_pem = read_text(kme->cfg->dir, "ca.pem");
    if (kme->cert_pem == NULL || kme->key_pem == NULL || kme->ca_pem == NULL) {
        fprintf(stderr, "qkey-kme-sim: cannot read %s/%s, %s or ca.pem\n", kme->cfg->dir,
                names[kme->idx][0], names[kme->idx][1]);
        return -1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)kme->cfg->port[kme->idx]);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    kme->daemon = MHD_start_daemon(
        MHD_USE_TLS | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
        (uint16_t)kme->cfg->port[kme->idx], NULL, NULL, handle, kme, MHD_OPTION_SOCK_ADDR, &sa,
        MHD_OPTION_HTTPS_MEM_CERT, kme->cert_pem, MHD_OPTION_HTTPS_MEM_KEY, kme->key_pem,
        MHD_OPTION_HTTPS_MEM_TRUST, kme->ca_pem, MHD_OPTION_HTTPS_PRIORITIES,
        "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2",
        /* connections that have not completed TLS and sent a request go after a few seconds
         * (handle() gives authenticated ones KMESIM_KEEPALIVE_S); one client address cannot
         * hold more than a share of the connections: idle sockets cannot stop the KME */
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)KMESIM_UNAUTH_TIMEOUT_S,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)KMESIM_MAX_CONNECTIONS,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)KMESIM_MAX_PER_CLIENT,
        MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_NOTIFY_CONNECTION,
        notify_connection, NULL, MHD_OPTION_END);
    if (kme->daemon == NULL) {
        fprintf(stderr, "qkey-kme-sim: %s cannot listen on 127.0.0.1:%d\n",
                kme->cfg->kme_id[kme->idx], kme->cfg->port[kme->idx]);
        return -1;
    }
    return 0;
}

static void free_pem(char *p)
{
    if (p != NULL)
        OPENSSL_clear_free(p, strlen(p));
}

int kmesim_run(const char *dir)
{
    KMESIM_CONFIG cfg;
    KMESIM_STORE *store = NULL;
    KMESIM_STATS s;
    KME kme[2];
    sigset_t set;
    char err[512];
    int sig = 0, rc = 1;

    /* its files hold the KMEs' keys and the link's key store: only a directory of ours */
    if (!qsd_check_dir(dir, err, sizeof(err))) {
        fprintf(stderr, "qkey-kme-sim run: %s\n", err);
        return 1;
    }

    memset(kme, 0, sizeof(kme));
    if (kmesim_config_load(dir, &cfg, err, sizeof(err)) != 0 ||
        kmesim_store_open(&cfg, 0, &store, err, sizeof(err)) != 0) {
        fprintf(stderr, "qkey-kme-sim: %s\n", err);
        return 1;
    }
    /* every thread inherits the blocked set; the main thread takes the signals with sigwait */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    for (int i = 0; i < 2; i++) {
        kme[i].idx = i;
        kme[i].cfg = &cfg;
        kme[i].store = store;
        if (start_kme(&kme[i]) != 0)
            goto done;
    }
    kmesim_store_stats(store, &s);
    printf("qkey-kme-sim: %s serves %s on https://127.0.0.1:%d, %s serves %s on "
           "https://127.0.0.1:%d; %ld keys stored (%s supply)\n",
           cfg.kme_id[0], cfg.sae_id[0], cfg.port[0], cfg.kme_id[1], cfg.sae_id[1], cfg.port[1],
           s.stored_key_count, cfg.profile == KMESIM_SATELLITE ? "satellite" : "constant");
    fflush(stdout);
    if (sigwait(&set, &sig) == 0)
        rc = 0;
done:
    for (int i = 0; i < 2; i++) {
        if (kme[i].daemon != NULL)
            MHD_stop_daemon(kme[i].daemon);
        free_pem(kme[i].cert_pem);
        free_pem(kme[i].key_pem);
        free_pem(kme[i].ca_pem);
    }
    kmesim_store_close(store);
    if (rc == 0)
        printf("qkey-kme-sim: stopped on signal %d; store saved in %s/store.db\n", sig, dir);
    return rc;
}
