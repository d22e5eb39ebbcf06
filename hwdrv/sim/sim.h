/*
 * The simulated QKD link's private declarations: the driver context and the shared key store
 * in the link directory (see docs/sim-link.md).
 */
#ifndef QHW_SIM_H
#define QHW_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "qhw.h"

#define SIM_STORE_FILE    "keys.qsl" /* the store, inside qkd.sim_link */
#define SIM_STORE_MAGIC   "qkey-sim-link\n"
#define SIM_STORE_VERSION 1
#define SIM_STORE_HDR     4096u /* bytes before the first slot */
#define SIM_SLOTS         2048u /* undelivered keys a link can hold, all pairs together */
#define SIM_STALE_SECS    30u   /* a slot half-written or half-taken this long is abandoned */

/* Slot states (low 8 bits of SIM_SLOT.word). A new, all-zero store is all free. */
enum { SIM_FREE = 0, SIM_WRITING = 1, SIM_READY = 2, SIM_TAKING = 3 };

/*
 * One key waiting on the link. `word` is the only field changed by compare-and-swap: state
 * (bits 0-7), a generation counter bumped on every change (bits 8-31), and the time of the
 * change in seconds (bits 32-63) so a slot left by a crashed process can be reused. The other
 * fields are written only by the slot's owner (the writer in SIM_WRITING, the taker in
 * SIM_TAKING) and read by others only while it is SIM_READY.
 */
typedef struct {
    uint64_t word;
    char key_id[QKS_KEY_ID_MAX + 1]; /* lower-case UUID */
    char master[QKS_SAE_ID_MAX + 1]; /* who issued it (enc_keys) */
    char slave[QKS_SAE_ID_MAX + 1];  /* the only SAE that may take it (dec_keys) */
    uint16_t key_len;                /* 1..QKS_KEY_MAX */
    unsigned char key[QKS_KEY_MAX];
} SIM_SLOT;

/* The file's first bytes; the rest of the first SIM_STORE_HDR bytes is zero. */
typedef struct {
    char magic[16];
    uint32_t version;
    uint32_t slots;
    uint32_t slot_size;
    uint32_t reserved; /* zero */
} SIM_STORE_HEAD;

typedef struct {
    QHW_QKD base;                    /* first member: the method pointer */
    char *dir;                       /* qkd.sim_link, for messages */
    int dirfd;                       /* the link directory, opened at open() */
    char sae_id[QKS_SAE_ID_MAX + 1]; /* this end of the link */
    long max_keys;                   /* qkd.sim_max_keys: keys waiting per pair, 0 = no bound */
    unsigned char *map;              /* the store, mapped shared */
    size_t map_len;
    SIM_SLOT *slots; /* map + SIM_STORE_HDR */
} SIM_LINK;

/* Create or open DIR/keys.qsl (dirfd) and map it; checks its header. */
int sim_store_open(SIM_LINK *s);
void sim_store_close(SIM_LINK *s);
/* The slot a key ID's search starts at (searches wrap around the whole table). */
size_t sim_store_home(const char *key_id);
/*
 * Publish a new key for `slave` under `key_id` (lower case), in the first free slot from the key
 * ID's home on. QKS_ERR_NO_KEY when every slot holds a key.
 */
int sim_store_put(SIM_LINK *s, const char *key_id, const char *slave, const unsigned char *key,
                  size_t len);
/* Withdraw a key this end just published (undo of a multi-key enc_keys). */
void sim_store_drop(SIM_LINK *s, const char *key_id);
/*
 * Deliver keys `ids` (lower case) issued by `master` to this end, all or none: every key is
 * checked before any is taken, so a request naming a wrong SAE or an unknown ID consumes
 * nothing. keys[i] are allocated here (qks_key_alloc).
 */
int sim_store_take(SIM_LINK *s, const char *master, const char *const *ids, size_t n,
                   QKS_KEY **keys);
/* Count keys waiting between this end and `peer`, in both directions. */
int sim_store_count(SIM_LINK *s, const char *peer, long *to_peer, long *from_peer);

extern const QHW_QKD_METHOD qhw_qkd_sim_method;

#endif /* QHW_SIM_H */
