/*
 * Fuzz target: the standalone config reader (qks_config_load_file, OpenSSL NCONF + key table).
 * The input is written to a temporary file and loaded; on success every known numeric key is
 * read back through qks_config_get_long. Must never crash, leak or accept an unknown key.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qkey/qks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const numeric[] = {
        "qkd.key_bits", "qkd.timeout_ms", "qkd.rate_limit", "qkd.rate_burst",
        "qkd.prefetch", "token.pin_min",  "rng.timeout_ms", NULL};
    char path[] = "/tmp/qkey-fuzz-config-XXXXXX";
    int fd = mkstemp(path);
    QKS_CONFIG *cfg;

    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        unlink(path);
        return 0;
    }
    close(fd);
    cfg = qks_config_new();
    if (cfg != NULL && qks_config_load_file(cfg, path) == QKS_OK) {
        long v;
        for (size_t i = 0; numeric[i] != NULL; i++)
            (void)qks_config_get_long(cfg, numeric[i], 0, 0, 1000000, &v); /* errors fine */
        const char *peers = qks_config_get(cfg, "qkd.peers");
        if (peers != NULL && strlen(peers) > 4096)
            abort(); /* values are bounded */
        if (qks_config_get(cfg, "qkd.no_such_key") != NULL)
            abort(); /* unknown keys never get in */
    }
    qks_config_free(cfg);
    unlink(path);
    return 0;
}
