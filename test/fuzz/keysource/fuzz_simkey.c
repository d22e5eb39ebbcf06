/*
 * Fuzz target: the sim link's key store as another process on the link may leave it. The link's
 * store file is shared with the other end (another process, maybe another user), so its slots
 * are outside input. The input becomes one slot (every byte after the state word, which is set
 * to "ready"; with the first input byte odd, the slot's key ID is set to the one asked for) and
 * the slave asks for the key: either it is delivered once (1-128 key bytes, slot freed and
 * wiped) or refused and left in place; never a crash.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "qkey/qks.h"
#include "sim/sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char key_id[] = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9";
static char link_dir[] = "/tmp/qkey-fuzz-simkey-XXXXXX";
static char path[128];
static QKS_CTX *slave;
static SIM_SLOT *slot; /* key_id's home slot, in our own mapping of the store */

static void cleanup(void)
{
    qks_ctx_free(slave);
    unlink(path);
    rmdir(link_dir);
}

static int setup(void)
{
    QKS_CONFIG *cfg;
    FILE *f;
    unsigned char *m;

    if (mkdtemp(link_dir) == NULL || (cfg = qks_config_new()) == NULL)
        return 0;
    qks_config_set(cfg, "qkd.driver", "sim");
    qks_config_set(cfg, "qkd.sae_id", "SAE_B");
    qks_config_set(cfg, "qkd.peers", "SAE_A");
    qks_config_set(cfg, "qkd.sim_link", link_dir);
    if (qks_ctx_new(cfg, &slave) != QKS_OK) {
        fprintf(stderr, "fuzz_simkey: %s\n", qks_last_error());
        abort();
    }
    qks_config_free(cfg);
    snprintf(path, sizeof(path), "%s/%s", link_dir, SIM_STORE_FILE);
    atexit(cleanup);
    if ((f = fopen(path, "r+")) == NULL)
        abort();
    m = mmap(NULL, SIM_STORE_HDR + (size_t)SIM_SLOTS * sizeof(SIM_SLOT), PROT_READ | PROT_WRITE,
             MAP_SHARED, fileno(f), 0);
    fclose(f);
    if (m == MAP_FAILED)
        abort();
    slot = (SIM_SLOT *)(m + SIM_STORE_HDR) + sim_store_home(key_id);
    return 1;
}

static unsigned state(void)
{
    return (unsigned)(__atomic_load_n(&slot->word, __ATOMIC_ACQUIRE) & 0xff);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    const size_t body = sizeof(SIM_SLOT) - offsetof(SIM_SLOT, key_id);
    QKS_KEY *key = NULL;
    int rc;

    if (!ready && !(ready = setup()))
        return 0;
    memset(slot->key_id, 0, body);
    memcpy(slot->key_id, data, size < body ? size : body);
    if (size > 0 && (data[0] & 1))
        memcpy(slot->key_id, key_id, sizeof(key_id));
    __atomic_store_n(&slot->word, (uint64_t)time(NULL) << 32 | SIM_READY, __ATOMIC_RELEASE);
    rc = qks_key_get(slave, "SAE_A", key_id, &key);
    if (rc == QKS_OK) {
        if (key == NULL || key->len == 0 || key->len > QKS_KEY_MAX || state() != SIM_FREE ||
            slot->key_len != 0)
            abort(); /* delivered: sane length, the slot freed and wiped */
    } else if (key != NULL || state() != SIM_READY) {
        abort(); /* refused: nothing returned and nothing consumed */
    }
    qks_key_free(key);
    __atomic_store_n(&slot->word, 0, __ATOMIC_RELEASE);
    return 0;
}
