/*
 * qkd.driver = sim: an embedded simulated QKD link. Both SAEs of a link are processes on one
 * host sharing the directory qkd.sim_link. enc_keys (master) draws a key from getrandom(2)
 * and publishes it under its key ID in the link's shared key store (sim_store.c); dec_keys
 * (slave) takes it with an atomic compare-and-swap, so of two concurrent getters exactly one
 * wins. A key is delivered once and only to the slave SAE it was issued for. Not a source of
 * real QKD keys: see docs/sim-link.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qkey/secmem.h"
#include "sim.h"

/* getrandom(2), not OpenSSL RAND: this may run while OpenSSL holds a DRBG lock. */
static int sim_random(unsigned char *out, size_t len)
{
    while (len > 0) {
        ssize_t n = getrandom(out, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return qks_set_error(QKS_ERR_DEVICE, "sim link: getrandom failed: %s", strerror(errno));
        out += n;
        len -= (size_t)n;
    }
    return QKS_OK;
}

/* A random (version 4) UUID, lower case. */
static int sim_new_key_id(char out[37])
{
    unsigned char b[16];
    int rc = sim_random(b, sizeof(b));

    if (rc != QKS_OK)
        return rc;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
    return QKS_OK;
}

/* mkdir -p with mode 0700 for every directory it creates. */
static int mkdir_p(const char *dir)
{
    char path[4096];
    size_t n = strlen(dir);

    if (n == 0 || n >= sizeof(path))
        return -1;
    memcpy(path, dir, n + 1);
    for (char *p = path + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(path, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

static void sim_close(QHW_QKD *drv)
{
    SIM_LINK *s = (SIM_LINK *)drv;

    if (s == NULL)
        return;
    sim_store_close(s);
    if (s->dirfd >= 0)
        close(s->dirfd);
    free(s->dir);
    free(s);
}

static int sim_open(const QKS_CONFIG *cfg, QHW_QKD **out)
{
    const char *dir = qks_config_get(cfg, "qkd.sim_link");
    const char *sae = qks_config_get(cfg, "qkd.sae_id");
    SIM_LINK *s;
    int rc;

    *out = NULL;
    if (dir == NULL || *dir == '\0')
        return qks_set_error(QKS_ERR_CONFIG, "qkd.sim_link (the link directory) is required "
                                             "with qkd.driver = sim");
    if (sae == NULL || !qks_valid_sae_id(sae))
        return qks_set_error(QKS_ERR_CONFIG, "qkd.sae_id is missing or malformed");
    if ((s = calloc(1, sizeof(*s))) == NULL || (s->dir = strdup(dir)) == NULL) {
        free(s);
        return qks_set_error(QKS_ERR_NOMEM, "out of memory opening sim link %s", dir);
    }
    s->base.meth = &qhw_qkd_sim_method;
    s->dirfd = -1;
    strcpy(s->sae_id, sae);
    if ((rc = qks_config_get_long(cfg, "qkd.sim_max_keys", 0, 0, 100000000, &s->max_keys)) !=
        QKS_OK)
        goto err;
    if (mkdir_p(dir) != 0) {
        rc = qks_set_error(QKS_ERR_CONFIG, "qkd.sim_link %s: cannot create directory: %s", dir,
                           strerror(errno));
        goto err;
    }
    /* Opened now (possibly as root, before a server drops privileges); used with *at calls. */
    if ((s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        rc = qks_set_error(QKS_ERR_CONFIG, "qkd.sim_link %s: cannot open directory: %s", dir,
                           strerror(errno));
        goto err;
    }
    if ((rc = sim_store_open(s)) != QKS_OK)
        goto err;
    *out = &s->base;
    return QKS_OK;
err:
    sim_close(&s->base);
    return rc;
}

static int sim_enc_keys(QHW_QKD *drv, const char *slave_sae, size_t key_bytes, size_t number,
                        QKS_KEY **keys)
{
    SIM_LINK *s = (SIM_LINK *)drv;
    size_t done = 0;
    int rc = QKS_OK;

    if (!qks_valid_sae_id(slave_sae) || key_bytes == 0 || key_bytes > QKS_KEY_MAX)
        return qks_set_error(QKS_ERR_INVALID, "sim link: bad enc_keys request");
    if (s->max_keys > 0) {
        long to_peer, from_peer;
        if ((rc = sim_store_count(s, slave_sae, &to_peer, &from_peer)) != QKS_OK)
            return rc;
        if (to_peer + (long)number > s->max_keys)
            return qks_set_error(QKS_ERR_NO_KEY,
                                 "sim link %s: %ld keys for %s wait undelivered "
                                 "(qkd.sim_max_keys = %ld)",
                                 s->dir, to_peer, slave_sae, s->max_keys);
    }
    for (; done < number; done++) {
        QKS_KEY *k = qks_key_alloc(key_bytes);
        if (k == NULL) {
            rc = qks_set_error(QKS_ERR_NOMEM, "sim link: out of locked memory for a key");
            goto err;
        }
        keys[done] = k;
        if ((rc = sim_new_key_id(k->key_id)) != QKS_OK ||
            (rc = sim_random(k->key, key_bytes)) != QKS_OK ||
            (rc = sim_store_put(s, k->key_id, slave_sae, k->key, key_bytes)) != QKS_OK) {
            qks_key_free(k); /* allocated but not published */
            keys[done] = NULL;
            goto err;
        }
        snprintf(k->peer, sizeof(k->peer), "%s", slave_sae);
    }
    return QKS_OK;
err:
    while (done > 0) {
        done--;
        sim_store_drop(s, keys[done]->key_id);
        qks_key_free(keys[done]);
        keys[done] = NULL;
    }
    return rc;
}

static int sim_dec_keys(QHW_QKD *drv, const char *master_sae, const char *const *key_ids,
                        size_t number, QKS_KEY **keys)
{
    SIM_LINK *s = (SIM_LINK *)drv;
    char(*ids)[QKS_KEY_ID_MAX + 1] = NULL;
    const char **idp = NULL;
    int rc = QKS_OK;

    if (!qks_valid_sae_id(master_sae) || number == 0)
        return qks_set_error(QKS_ERR_INVALID, "sim link: bad dec_keys request");
    if ((ids = calloc(number, sizeof(*ids))) == NULL ||
        (idp = calloc(number, sizeof(*idp))) == NULL) {
        rc = qks_set_error(QKS_ERR_NOMEM, "sim link: out of memory");
        goto done;
    }
    /* Key IDs are UUIDs: validated, then compared in lower case (UUIDs ignore case). */
    for (size_t i = 0; i < number; i++) {
        if (!qks_valid_key_id(key_ids[i])) {
            rc = qks_set_error(QKS_ERR_INVALID, "sim link: key ID is not a UUID");
            goto done;
        }
        for (size_t j = 0; j < QKS_KEY_ID_MAX && key_ids[i][j] != '\0'; j++)
            ids[i][j] =
                (char)(key_ids[i][j] >= 'A' && key_ids[i][j] <= 'F' ? key_ids[i][j] - 'A' + 'a'
                                                                    : key_ids[i][j]);
        idp[i] = ids[i];
    }
    rc = sim_store_take(s, master_sae, idp, number, keys);
done:
    free(ids);
    free(idp);
    return rc;
}

static int sim_status(QHW_QKD *drv, const char *peer, json_t *out)
{
    SIM_LINK *s = (SIM_LINK *)drv;
    long to_peer, from_peer;
    int rc = sim_store_count(s, peer, &to_peer, &from_peer);

    if (rc != QKS_OK)
        return rc;
    json_object_set_new(out, "sim_link", json_string(s->dir));
    json_object_set_new(out, "stored_key_count", json_integer(to_peer + from_peer));
    json_object_set_new(out, "keys_waiting_for_peer", json_integer(to_peer));
    json_object_set_new(out, "keys_waiting_for_us", json_integer(from_peer));
    json_object_set_new(out, "sim_store_slots", json_integer(SIM_SLOTS));
    if (s->max_keys > 0)
        json_object_set_new(out, "max_key_count", json_integer(s->max_keys));
    /* Who can use the link: a server that drops privileges needs it writable by its user. */
    struct stat st;
    if (fstat(s->dirfd, &st) == 0) {
        char mode[8];
        snprintf(mode, sizeof(mode), "%04o", (unsigned)(st.st_mode & 07777));
        json_object_set_new(out, "sim_link_mode", json_string(mode));
        json_object_set_new(out, "sim_link_uid", json_integer((json_int_t)st.st_uid));
        json_object_set_new(
            out, "sim_link_writable",
            json_boolean(faccessat(s->dirfd, SIM_STORE_FILE, R_OK | W_OK, AT_EACCESS) == 0));
    }
    return QKS_OK;
}

/* The sim link makes keys on demand, up to qkd.sim_max_keys undelivered per direction: what it
 * can still deliver is that bound minus the keys waiting; without a bound it cannot tell. */
static int sim_stored(QHW_QKD *drv, const char *peer, long *n)
{
    SIM_LINK *s = (SIM_LINK *)drv;
    long to_peer, from_peer;
    int rc;

    *n = -1;
    if (s->max_keys <= 0)
        return QKS_OK;
    if ((rc = sim_store_count(s, peer, &to_peer, &from_peer)) != QKS_OK)
        return rc;
    *n = s->max_keys > to_peer ? s->max_keys - to_peer : 0;
    return QKS_OK;
}

const QHW_QKD_METHOD qhw_qkd_sim_method = {
    .name = "sim",
    .open = sim_open,
    .close = sim_close,
    .enc_keys = sim_enc_keys,
    .dec_keys = sim_dec_keys,
    .status = sim_status,
    .after_fork = NULL, /* no connection or cache: the shared store mapping is fine to share */
    .stored = sim_stored,
};
