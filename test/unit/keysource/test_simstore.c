/*
 * Suite "sim store": the simulated link's shared key store (hwdrv/sim/sim_store.c) as another
 * process on the link could leave it: corrupt slots, a foreign or damaged store file, slots
 * abandoned by a crashed writer or taker, a full store. The store is mapped here exactly as a
 * second process maps it, and written directly where a test needs a state the driver never
 * produces on its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static const char id[] = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9";

static uint64_t word(unsigned state, uint32_t stamp)
{
    return (uint64_t)stamp << 32 | (uint64_t)7 << 8 | state;
}

/* A READY slot at id's home slot, as a writer on the link would leave it. */
static SIM_SLOT *put_slot(SIM_SLOT *slots, const char *master, const char *slave, const void *key,
                          size_t len)
{
    SIM_SLOT *sl = &slots[sim_store_home(id)];

    memset(sl, 0, sizeof(*sl));
    strcpy(sl->key_id, id);
    snprintf(sl->master, sizeof(sl->master), "%s", master);
    snprintf(sl->slave, sizeof(sl->slave), "%s", slave);
    sl->key_len = (uint16_t)len;
    memcpy(sl->key, key, len < QKS_KEY_MAX ? len : QKS_KEY_MAX);
    __atomic_store_n(&sl->word, word(SIM_READY, (uint32_t)time(NULL)), __ATOMIC_RELEASE);
    return sl;
}

static void test_corrupt_slots(void)
{
    const char *dir = tu_tmpdir();
    QKS_CTX *b = tu_sim_ctx(dir, "SAE_B", "SAE_A", NULL);
    SIM_SLOT *slots = tu_link_map(dir), *sl;
    const unsigned char key[] = {0x00, 0xff};
    QKS_KEY *k = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(slots);
    /* zero length, too long, an invalid SAE ID, names without their terminating NUL */
    for (int i = 0; i < 5; i++) {
        sl = put_slot(slots, "SAE_A", "SAE_B", key, sizeof(key));
        if (i == 0)
            sl->key_len = 0;
        if (i == 1)
            sl->key_len = QKS_KEY_MAX + 1;
        if (i == 2)
            strcpy(sl->master, "SAE A");
        if (i == 3)
            memset(sl->master, 'A', sizeof(sl->master));
        if (i == 4)
            memset(sl->slave, 'B', sizeof(sl->slave));
        CU_ASSERT_EQUAL(qks_key_get(b, "SAE_A", id, &k), QKS_ERR_IO);
        CU_ASSERT(tu_contains(qks_last_error(), "corrupt"));
        CU_ASSERT_PTR_NULL(k);
        CU_ASSERT_EQUAL(tu_link_keys(dir), 1); /* refused, left in place */
    }
    /* the same slot, sane: delivered once, then gone and wiped */
    sl = put_slot(slots, "SAE_A", "SAE_B", key, sizeof(key));
    CU_ASSERT_EQUAL_FATAL(qks_key_get(b, "SAE_A", id, &k), QKS_OK);
    CU_ASSERT_EQUAL(k->len, 2);
    CU_ASSERT_EQUAL(k->key[1], 0xff);
    CU_ASSERT_EQUAL(k->key_id[0], '0');
    qks_key_free(k);
    k = NULL;
    CU_ASSERT_EQUAL(tu_link_keys(dir), 0);
    CU_ASSERT_EQUAL(sl->key[1], 0);
    CU_ASSERT_EQUAL(sl->key_len, 0);
    CU_ASSERT_EQUAL(qks_key_get(b, "SAE_A", id, &k), QKS_ERR_KEY_UNKNOWN);
    CU_ASSERT(tu_contains(qks_last_error(), "already delivered"));
    /* a key for another SAE in the slot: refused and not consumed */
    put_slot(slots, "SAE_A", "SAE_C", key, sizeof(key));
    CU_ASSERT_EQUAL(qks_key_get(b, "SAE_A", id, &k), QKS_ERR_KEY_UNKNOWN);
    CU_ASSERT(tu_contains(qks_last_error(), "not issued by SAE_A to SAE_B"));
    CU_ASSERT_EQUAL(tu_link_keys(dir), 1);
    tu_link_unmap(slots);
    qks_ctx_free(b);
}

/* A store file another program (or another qkey version) wrote: a clear error at open. */
static void test_foreign_store_file(void)
{
    const char *bad[] = {"size", "magic", "version", "dir"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *dir = tu_tmpdir();
        char path[600];
        QKS_CTX *c = NULL;

        snprintf(path, sizeof(path), "%s/%s", dir, SIM_STORE_FILE);
        if (strcmp(bad[i], "dir") == 0) {
            CU_ASSERT_EQUAL_FATAL(mkdir(path, 0700), 0);
        } else {
            /* a good store, then damaged */
            QKS_CTX *ok = tu_sim_ctx(dir, "SAE_A", "SAE_B", NULL);
            FILE *f;
            qks_ctx_free(ok);
            if (strcmp(bad[i], "size") == 0) {
                CU_ASSERT_EQUAL_FATAL(truncate(path, 4096), 0);
            } else {
                SIM_STORE_HEAD h;
                CU_ASSERT_PTR_NOT_NULL_FATAL(f = fopen(path, "r+"));
                CU_ASSERT_EQUAL(fread(&h, sizeof(h), 1, f), 1);
                if (strcmp(bad[i], "magic") == 0)
                    h.magic[0] = 'x';
                else
                    h.version = SIM_STORE_VERSION + 1;
                rewind(f);
                CU_ASSERT_EQUAL(fwrite(&h, sizeof(h), 1, f), 1);
                fclose(f);
            }
        }
        CU_ASSERT_EQUAL(tu_sim_ctx_rc(&c, dir, "SAE_A", "SAE_B", NULL), QKS_ERR_CONFIG);
        CU_ASSERT_PTR_NULL(c);
        CU_ASSERT(tu_contains(qks_last_error(), SIM_STORE_FILE));
        CU_ASSERT(tu_contains(qks_last_error(), dir));
    }
}

/* The store file is private to the link's user, like the keys in it. */
static void test_store_mode(void)
{
    const char *dir = tu_tmpdir();
    QKS_CTX *a = tu_sim_ctx(dir, "SAE_A", "SAE_B", NULL);
    char path[600];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", dir, SIM_STORE_FILE);
    CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
    CU_ASSERT_EQUAL((size_t)st.st_size, SIM_STORE_HDR + (size_t)SIM_SLOTS * sizeof(SIM_SLOT));
    qks_ctx_free(a);
}

/*
 * Every slot busy with a live writer: new keys are refused ("full"), nothing is overwritten.
 * The same slots abandoned (a writer or taker that died SIM_STALE_SECS ago) are reused, and
 * what the dead process left in them is wiped.
 */
static void test_abandoned_slots(void)
{
    const char *dir = tu_tmpdir();
    QKS_CTX *a = tu_sim_ctx(dir, "SAE_A", "SAE_B", NULL);
    QKS_CTX *b = tu_sim_ctx(dir, "SAE_B", "SAE_A", NULL);
    SIM_SLOT *slots = tu_link_map(dir);
    QKS_KEY *ka = NULL, *kb = NULL;
    uint32_t now = (uint32_t)time(NULL);
    size_t reused = SIM_SLOTS;

    CU_ASSERT_PTR_NOT_NULL_FATAL(slots);
    for (size_t i = 0; i < SIM_SLOTS; i++) {
        memset(slots[i].key, 0xa5, sizeof(slots[i].key));
        slots[i].word = word(i % 2 ? SIM_WRITING : SIM_TAKING, now);
    }
    CU_ASSERT_EQUAL(qks_key_new(a, "SAE_B", &ka), QKS_ERR_NO_KEY);
    CU_ASSERT(tu_contains(qks_last_error(), "full"));
    CU_ASSERT_PTR_NULL(ka);
    for (size_t i = 0; i < SIM_SLOTS; i++)
        slots[i].word = word(i % 2 ? SIM_WRITING : SIM_TAKING, now - SIM_STALE_SECS - 2);
    CU_ASSERT_EQUAL_FATAL(qks_key_new(a, "SAE_B", &ka), QKS_OK);
    for (size_t i = 0; i < SIM_SLOTS; i++)
        if ((slots[i].word & 0xff) == SIM_READY)
            reused = i;
    CU_ASSERT_FATAL(reused < SIM_SLOTS);
    CU_ASSERT_EQUAL(slots[reused].key_len, ka->len);
    CU_ASSERT_EQUAL(slots[reused].key[QKS_KEY_MAX - 1], 0); /* the dead taker's bytes are gone */
    CU_ASSERT_EQUAL_FATAL(qks_key_get(b, "SAE_A", ka->key_id, &kb), QKS_OK);
    CU_ASSERT_EQUAL(qks_memcmp_ct(ka->key, kb->key, ka->len), 0);
    qks_key_free(ka);
    qks_key_free(kb);
    memset(slots, 0, SIM_SLOTS * sizeof(SIM_SLOT));
    tu_link_unmap(slots);
    qks_ctx_free(a);
    qks_ctx_free(b);
}

/* A key being taken by another process (TAKING, not yet stale) is not delivered again. */
static void test_key_being_taken(void)
{
    const char *dir = tu_tmpdir();
    QKS_CTX *a = tu_sim_ctx(dir, "SAE_A", "SAE_B", NULL);
    QKS_CTX *b = tu_sim_ctx(dir, "SAE_B", "SAE_A", NULL);
    SIM_SLOT *slots = tu_link_map(dir);
    QKS_KEY *ka = NULL, *kb = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(slots);
    CU_ASSERT_EQUAL_FATAL(qks_key_new(a, "SAE_B", &ka), QKS_OK);
    for (size_t i = 0; i < SIM_SLOTS; i++)
        if ((slots[i].word & 0xff) == SIM_READY)
            slots[i].word = word(SIM_TAKING, (uint32_t)time(NULL));
    CU_ASSERT_EQUAL(qks_key_get(b, "SAE_A", ka->key_id, &kb), QKS_ERR_KEY_UNKNOWN);
    CU_ASSERT_PTR_NULL(kb);
    qks_key_free(ka);
    tu_link_unmap(slots);
    qks_ctx_free(a);
    qks_ctx_free(b);
}

/*
 * Undelivered keys fill the store: enc_keys then answers "no key" with a message naming the
 * store, as a KME with a full key store does; one delivery makes room again.
 */
static void test_store_full(void)
{
    const char *dir = tu_tmpdir();
    QKS_CTX *a = tu_sim_ctx(dir, "SAE_A", "SAE_B", "qkd.rate_burst", "100000", NULL);
    QKS_CTX *b = tu_sim_ctx(dir, "SAE_B", "SAE_A", NULL);
    QKS_KEY *k = NULL, *kb = NULL;
    char last[QKS_KEY_ID_MAX + 1] = "";
    int n = 0, rc;

    while ((rc = qks_key_new(a, "SAE_B", &k)) == QKS_OK && n <= (int)SIM_SLOTS) {
        strcpy(last, k->key_id);
        qks_key_free(k);
        k = NULL;
        n++;
    }
    if (rc != QKS_ERR_NO_KEY)
        fprintf(stderr, "after %d keys: %d %s\n", n, rc, qks_last_error());
    CU_ASSERT_EQUAL(rc, QKS_ERR_NO_KEY);
    CU_ASSERT(tu_contains(qks_last_error(), "full"));
    CU_ASSERT_EQUAL(n, (int)SIM_SLOTS); /* every slot is used */
    CU_ASSERT_EQUAL(tu_link_keys(dir), n);
    CU_ASSERT_EQUAL_FATAL(qks_key_get(b, "SAE_A", last, &kb), QKS_OK);
    qks_key_free(kb);
    CU_ASSERT_EQUAL(qks_key_new(a, "SAE_B", &k), QKS_OK);
    qks_key_free(k);
    qks_ctx_free(a);
    qks_ctx_free(b);
}

int main(void)
{
    CU_pSuite s;

    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    s = CU_add_suite("sim store", NULL, NULL);
    CU_add_test(s, "corrupt slots refused and kept", test_corrupt_slots);
    CU_add_test(s, "foreign or damaged store file", test_foreign_store_file);
    CU_add_test(s, "store file mode 0600", test_store_mode);
    CU_add_test(s, "abandoned slots reused and wiped", test_abandoned_slots);
    CU_add_test(s, "key being taken not delivered", test_key_being_taken);
    CU_add_test(s, "store full, then room again", test_store_full);
    return tu_run();
}
