/*
 * The simulated link's key store: one file, DIR/keys.qsl, mapped shared by every process that
 * uses the link, holding a fixed table of key slots (sim.h). A key is published and delivered
 * with a compare-and-swap on its slot's state word, so a handshake costs no system call here:
 * the earlier store (one file per key, created, renamed, read and unlinked) spent more time in
 * the file system than the rest of the QKD part of a TLS handshake.
 *
 * Delivered once: a taker moves a slot READY -> TAKING with one CAS; of two concurrent takers
 * exactly one wins. A writer or taker that dies mid-way leaves its slot WRITING or TAKING; after
 * SIM_STALE_SECS a writer may reuse it (the key in it was never delivered, or was delivered and
 * is wiped by the reuse). The file is outside input (another process wrote it): every field is
 * checked before use. This is a simulation: keys touch the disk (docs/sim-link.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "qkey/secmem.h"
#include "sim.h"

#define STATE(w) ((unsigned)((w)&0xff))
#define GEN(w)   ((uint32_t)((w) >> 8) & 0xffffffu)
#define STAMP(w) ((uint32_t)((w) >> 32))

static uint32_t now32(void)
{
    return (uint32_t)time(NULL); /* wraps in 2106; only differences are used */
}

/* The next word of a slot: state `st`, generation + 1, stamped now. */
static uint64_t next_word(uint64_t w, unsigned st)
{
    return (uint64_t)now32() << 32 | (uint64_t)((GEN(w) + 1) & 0xffffffu) << 8 | st;
}

static uint64_t load_word(const SIM_SLOT *sl)
{
    return __atomic_load_n(&sl->word, __ATOMIC_ACQUIRE);
}

static int cas_word(SIM_SLOT *sl, uint64_t *expect, uint64_t desired)
{
    return __atomic_compare_exchange_n(&sl->word, expect, desired, 0, __ATOMIC_ACQ_REL,
                                       __ATOMIC_ACQUIRE);
}

static void store_word(SIM_SLOT *sl, uint64_t w)
{
    __atomic_store_n(&sl->word, w, __ATOMIC_RELEASE);
}

/*
 * Whether a slot still has word w after its fields were read (a seqlock-style check: the fence
 * keeps the field reads before the second load of the word).
 */
static int unchanged(const SIM_SLOT *sl, uint64_t w)
{
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    return __atomic_load_n(&sl->word, __ATOMIC_RELAXED) == w;
}

/* A slot whose owner went away mid-write or mid-take. */
static int abandoned(uint64_t w)
{
    unsigned st = STATE(w);
    /* signed: a clock set back makes a slot look younger, never abandoned early */
    return (st == SIM_WRITING || st == SIM_TAKING) &&
           (int32_t)(now32() - STAMP(w)) > (int32_t)SIM_STALE_SECS;
}

/* FNV-1a: key IDs are random UUIDs, any spreading hash will do. */
size_t sim_store_home(const char *key_id)
{
    uint32_t h = 2166136261u;
    for (; *key_id != '\0'; key_id++)
        h = (h ^ (unsigned char)*key_id) * 16777619u;
    return h % SIM_SLOTS;
}

static int init_head(SIM_LINK *s, int fd, size_t len)
{
    SIM_STORE_HEAD head = {
        .version = SIM_STORE_VERSION, .slots = SIM_SLOTS, .slot_size = sizeof(SIM_SLOT)};

    memcpy(head.magic, SIM_STORE_MAGIC, sizeof(SIM_STORE_MAGIC) - 1);
    if (ftruncate(fd, (off_t)len) != 0 || pwrite(fd, &head, sizeof(head), 0) != sizeof(head))
        return qks_set_error(QKS_ERR_CONFIG, "qkd.sim_link %s: cannot create %s: %s", s->dir,
                             SIM_STORE_FILE, strerror(errno));
    return QKS_OK;
}

int sim_store_open(SIM_LINK *s)
{
    const size_t len = SIM_STORE_HDR + (size_t)SIM_SLOTS * sizeof(SIM_SLOT);
    SIM_STORE_HEAD head;
    struct stat st;
    int fd, rc = QKS_OK;

    fd = openat(s->dirfd, SIM_STORE_FILE, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return qks_set_error(QKS_ERR_CONFIG, "qkd.sim_link %s: cannot open %s: %s", s->dir,
                             SIM_STORE_FILE, strerror(errno));
    /* The first opener sizes the file and writes the header; others wait for it here. */
    while (flock(fd, LOCK_EX) != 0 && errno == EINTR)
        ;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = qks_set_error(QKS_ERR_CONFIG, "qkd.sim_link %s: %s is not a regular file", s->dir,
                           SIM_STORE_FILE);
    } else if (st.st_size == 0) {
        rc = init_head(s, fd, len);
    } else if ((size_t)st.st_size != len || pread(fd, &head, sizeof(head), 0) != sizeof(head) ||
               memcmp(head.magic, SIM_STORE_MAGIC, sizeof(SIM_STORE_MAGIC) - 1) != 0 ||
               head.version != SIM_STORE_VERSION || head.slots != SIM_SLOTS ||
               head.slot_size != sizeof(SIM_SLOT)) {
        rc = qks_set_error(QKS_ERR_CONFIG,
                           "qkd.sim_link %s: %s is not a version %d qkey link store (written by "
                           "another qkey version?)",
                           s->dir, SIM_STORE_FILE, SIM_STORE_VERSION);
    }
    (void)flock(fd, LOCK_UN);
    if (rc == QKS_OK) {
        s->map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (s->map == MAP_FAILED) {
            s->map = NULL;
            rc = qks_set_error(QKS_ERR_CONFIG, "qkd.sim_link %s: cannot map %s: %s", s->dir,
                               SIM_STORE_FILE, strerror(errno));
        } else {
            (void)madvise(s->map, len, MADV_DONTDUMP); /* keys stay out of core dumps */
            s->map_len = len;
            s->slots = (SIM_SLOT *)(s->map + SIM_STORE_HDR);
        }
    }
    close(fd); /* the mapping keeps the file */
    return rc;
}

void sim_store_close(SIM_LINK *s)
{
    if (s->map != NULL)
        munmap(s->map, s->map_len);
    s->map = NULL;
}

/* Fields of a READY slot, copied out and checked: the file is outside input. */
typedef struct {
    char key_id[QKS_KEY_ID_MAX + 1];
    char master[QKS_SAE_ID_MAX + 1];
    char slave[QKS_SAE_ID_MAX + 1];
    size_t key_len;
} SLOT_HDR;

static int copy_str(char *dst, const char *src, size_t cap)
{
    memcpy(dst, src, cap);
    return memchr(dst, '\0', cap) != NULL ? 0 : -1;
}

/* 0: sane, -1: corrupt. */
static int read_hdr(const SIM_SLOT *sl, SLOT_HDR *h)
{
    if (copy_str(h->key_id, sl->key_id, sizeof(h->key_id)) != 0 ||
        copy_str(h->master, sl->master, sizeof(h->master)) != 0 ||
        copy_str(h->slave, sl->slave, sizeof(h->slave)) != 0)
        return -1;
    h->key_len = sl->key_len;
    if (h->key_len == 0 || h->key_len > QKS_KEY_MAX || !qks_valid_sae_id(h->master) ||
        !qks_valid_sae_id(h->slave))
        return -1;
    return 0;
}

static void wipe_slot(SIM_SLOT *sl)
{
    qks_wipe((unsigned char *)sl + sizeof(sl->word), sizeof(*sl) - sizeof(sl->word));
}

int sim_store_put(SIM_LINK *s, const char *key_id, const char *slave, const unsigned char *key,
                  size_t len)
{
    size_t home = sim_store_home(key_id);

    if (len == 0 || len > QKS_KEY_MAX || strlen(key_id) > QKS_KEY_ID_MAX)
        return qks_set_error(QKS_ERR_INTERNAL, "sim link: bad key to store");
    for (size_t i = 0; i < SIM_SLOTS; i++) {
        SIM_SLOT *sl = &s->slots[(home + i) % SIM_SLOTS];
        uint64_t w = load_word(sl), mine = next_word(w, SIM_WRITING);
        if ((STATE(w) != SIM_FREE && !abandoned(w)) || !cas_word(sl, &w, mine))
            continue;
        wipe_slot(sl); /* also what an abandoned taker left */
        strcpy(sl->key_id, key_id);
        strcpy(sl->master, s->sae_id);
        strcpy(sl->slave, slave);
        sl->key_len = (uint16_t)len;
        memcpy(sl->key, key, len);
        /* The key becomes visible to the slave only here, whole. */
        store_word(sl, next_word(mine, SIM_READY));
        return QKS_OK;
    }
    return qks_set_error(QKS_ERR_NO_KEY, "sim link %s: the link's key store is full (%u slots)",
                         s->dir, SIM_SLOTS);
}

/*
 * The READY slot holding key_id, or NULL; *w is its word when found. A key sits at its home slot
 * or a few after it, so a hit costs a few comparisons; a miss (a replayed or unknown ID) reads
 * the whole table, a few tens of microseconds.
 */
static SIM_SLOT *find(SIM_LINK *s, const char *key_id, uint64_t *w)
{
    size_t home = sim_store_home(key_id), idlen = strlen(key_id) + 1;

    for (size_t i = 0; i < SIM_SLOTS; i++) {
        SIM_SLOT *sl = &s->slots[(home + i) % SIM_SLOTS];
        *w = load_word(sl);
        if (STATE(*w) == SIM_READY && memcmp(sl->key_id, key_id, idlen) == 0)
            return sl;
    }
    return NULL;
}

void sim_store_drop(SIM_LINK *s, const char *key_id)
{
    uint64_t w, mine;
    SIM_SLOT *sl = find(s, key_id, &w);

    /* Undo path: if the slave took it meanwhile (it cannot know the ID yet), nothing to do. */
    if (sl != NULL && cas_word(sl, &w, mine = next_word(w, SIM_TAKING))) {
        wipe_slot(sl);
        store_word(sl, next_word(mine, SIM_FREE));
    }
}

/* Why key `id` cannot be delivered to this end from `master`, or QKS_OK with *out, *w set. */
static int check(SIM_LINK *s, const char *master, const char *id, SIM_SLOT **out, uint64_t *w)
{
    SLOT_HDR h;
    SIM_SLOT *sl = find(s, id, w);

    if (sl == NULL)
        return qks_set_error(QKS_ERR_KEY_UNKNOWN,
                             "key ID %s unknown on link %s or already delivered", id, s->dir);
    if (read_hdr(sl, &h) != 0 || strcmp(h.key_id, id) != 0) {
        /* another process took the key (and wiped the slot) while we read it: not corrupt */
        if (!unchanged(sl, *w))
            return qks_set_error(QKS_ERR_KEY_UNKNOWN,
                                 "key ID %s unknown on link %s or already delivered", id, s->dir);
        return qks_set_error(QKS_ERR_IO, "sim link %s: the slot of key ID %s is corrupt", s->dir,
                             id);
    }
    if (!unchanged(sl, *w)) /* taken meanwhile: what we read may be another key's */
        return qks_set_error(QKS_ERR_KEY_UNKNOWN,
                             "key ID %s unknown on link %s or already delivered", id, s->dir);
    if (strcmp(h.master, master) != 0 || strcmp(h.slave, s->sae_id) != 0)
        return qks_set_error(QKS_ERR_KEY_UNKNOWN, "key ID %s on link %s was not issued by %s to %s",
                             id, s->dir, master, s->sae_id);
    *out = sl;
    return QKS_OK;
}

int sim_store_take(SIM_LINK *s, const char *master, const char *const *ids, size_t n,
                   QKS_KEY **keys)
{
    SIM_SLOT **sl = calloc(n, sizeof(*sl));
    uint64_t *w = calloc(n, sizeof(*w));
    size_t taken = 0, copied = 0;
    int rc = QKS_OK;

    if (sl == NULL || w == NULL) {
        rc = qks_set_error(QKS_ERR_NOMEM, "sim link: out of memory");
        goto done;
    }
    /* 1. Check every key without consuming any. */
    for (size_t i = 0; i < n && rc == QKS_OK; i++)
        rc = check(s, master, ids[i], &sl[i], &w[i]);
    /* 2. Take each with one CAS: of concurrent takers exactly one wins. Checked again under
     * the claim: the slot may have been taken and reused between step 1 and the CAS. */
    for (; rc == QKS_OK && taken < n; taken++) {
        SLOT_HDR h;
        uint64_t want = next_word(w[taken], SIM_TAKING);
        if (!cas_word(sl[taken], &w[taken], want)) {
            rc = qks_set_error(QKS_ERR_KEY_UNKNOWN,
                               "key ID %s unknown on link %s or already delivered", ids[taken],
                               s->dir);
            break;
        }
        w[taken] = want;
        if (read_hdr(sl[taken], &h) != 0 || strcmp(h.key_id, ids[taken]) != 0 ||
            strcmp(h.master, master) != 0 || strcmp(h.slave, s->sae_id) != 0) {
            store_word(sl[taken], next_word(want, SIM_READY)); /* not ours: put it back */
            rc = qks_set_error(QKS_ERR_KEY_UNKNOWN,
                               "key ID %s unknown on link %s or already delivered", ids[taken],
                               s->dir);
            break;
        }
    }
    /* 3. Copy the keys out (nobody else can reach the slots now). */
    for (; rc == QKS_OK && copied < n; copied++) {
        QKS_KEY *k = qks_key_alloc(sl[copied]->key_len);
        if (k == NULL) {
            rc = qks_set_error(QKS_ERR_NOMEM, "sim link: out of locked memory for a key");
            break;
        }
        memcpy(k->key, sl[copied]->key, sl[copied]->key_len);
        memcpy(k->key_id, ids[copied], strlen(ids[copied]) + 1);
        snprintf(k->peer, sizeof(k->peer), "%s", master);
        keys[copied] = k;
    }
    if (rc == QKS_OK) {
        /* 4. Delivered: the slots are wiped and free. */
        for (size_t i = 0; i < n; i++) {
            wipe_slot(sl[i]);
            store_word(sl[i], next_word(w[i], SIM_FREE));
        }
    } else {
        for (size_t i = 0; i < copied; i++) {
            qks_key_free(keys[i]);
            keys[i] = NULL;
        }
        for (size_t i = 0; i < taken; i++) /* all or none: the taken ones go back */
            store_word(sl[i], next_word(w[i], SIM_READY));
    }
done:
    free(sl);
    free(w);
    return rc;
}

int sim_store_count(SIM_LINK *s, const char *peer, long *to_peer, long *from_peer)
{
    *to_peer = *from_peer = 0;
    for (size_t i = 0; i < SIM_SLOTS; i++) {
        SLOT_HDR h;
        if (STATE(load_word(&s->slots[i])) != SIM_READY || read_hdr(&s->slots[i], &h) != 0)
            continue; /* free, in flux or corrupt: not a waiting key */
        if (strcmp(h.master, s->sae_id) == 0 && strcmp(h.slave, peer) == 0)
            (*to_peer)++;
        else if (strcmp(h.master, peer) == 0 && strcmp(h.slave, s->sae_id) == 0)
            (*from_peer)++;
    }
    return QKS_OK;
}
