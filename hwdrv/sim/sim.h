/*
 * The simulated QKD link's private declarations: the driver context and the key-file store
 * in the shared link directory (see docs/sim-link.md).
 */
#ifndef QHW_SIM_H
#define QHW_SIM_H

#include <stddef.h>

#include "qhw.h"

#define SIM_KEY_FILE_MAX 1024 /* bytes of one key file: header + 2 hex digits per key byte */

typedef struct {
    QHW_QKD base;                    /* first member: the method pointer */
    char *dir;                       /* qkd.sim_link, for messages */
    int dirfd;                       /* the link directory, opened at open() */
    char sae_id[QKS_SAE_ID_MAX + 1]; /* this end of the link */
    long max_keys;                   /* qkd.sim_max_keys: keys waiting per pair, 0 = no bound */
} SIM_LINK;

/* One key file, parsed. key points into the caller's (secure) buffer. */
typedef struct {
    char master[QKS_SAE_ID_MAX + 1];
    char slave[QKS_SAE_ID_MAX + 1];
    size_t key_len;
} SIM_KEY_HDR;

/* Write a new key file atomically (temp file + rename). */
int sim_store_put(SIM_LINK *s, const char *key_id, const char *slave, const unsigned char *key,
                  size_t len);
/* Remove a key file the caller just wrote (undo of a multi-key enc_keys). */
void sim_store_drop(SIM_LINK *s, const char *key_id);
/*
 * Read key file `name` (a key ID or a claimed name). With key != NULL (cap bytes) the key
 * bytes are decoded there. QKS_ERR_KEY_UNKNOWN if there is no such file.
 */
int sim_store_read(SIM_LINK *s, const char *name, SIM_KEY_HDR *hdr, unsigned char *key, size_t cap);
/* Count keys waiting between this end and `peer`, in both directions. */
int sim_store_count(SIM_LINK *s, const char *peer, long *to_peer, long *from_peer);

extern const QHW_QKD_METHOD qhw_qkd_sim_method;

#endif /* QHW_SIM_H */
