/*
 * Fuzz target: the sim link's key-file reader. The link directory is shared with the other
 * end of the link (another process, maybe another user), so its files are outside input. The
 * input becomes a key file for SAE_B and the slave asks for it: either it is delivered once
 * (1-128 key bytes, file gone) or it is refused and left in place; never a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "qkey/qks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char key_id[] = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9";
static char link_dir[] = "/tmp/qkey-fuzz-simkey-XXXXXX";
static char path[128];
static QKS_CTX *slave;

static void cleanup(void)
{
    qks_ctx_free(slave);
    unlink(path);
    rmdir(link_dir);
}

static int setup(void)
{
    QKS_CONFIG *cfg;

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
    snprintf(path, sizeof(path), "%s/%s", link_dir, key_id);
    atexit(cleanup);
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    QKS_KEY *key = NULL;
    FILE *f;
    int rc;

    if (!ready && !(ready = setup()))
        return 0;
    if ((f = fopen(path, "wb")) == NULL)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    rc = qks_key_get(slave, "SAE_A", key_id, &key);
    if (rc == QKS_OK) {
        if (key == NULL || key->len == 0 || key->len > QKS_KEY_MAX || access(path, F_OK) == 0)
            abort(); /* delivered: sane length and the file is gone */
    } else if (key != NULL || access(path, F_OK) != 0) {
        abort(); /* refused: nothing returned and nothing consumed */
    }
    qks_key_free(key);
    unlink(path);
    return 0;
}
