/*
 * Fuzz target for the provider-section configuration (provider/config.c): lines "key=value" as
 * the core would hand them over from openssl.cnf, through qkp_config_build (qks config keys,
 * tls.codepoint.<group> overrides). `config = FILE` lines are skipped (no file reads from fuzz
 * input) and the default file is pointed at a path that does not exist.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum { MAXKV = 32 };
    char *text = malloc(size + 1), *line, *save = NULL;
    const char *keys[MAXKV], *values[MAXKV];
    size_t n = 0;
    uint16_t codepoint[QKP_NVARIANTS];
    char why[512];
    QKS_CONFIG *cfg = NULL;

    if (text == NULL)
        return 0;
    setenv("QKEY_CONF", "/nonexistent/qkey-fuzz.conf", 1);
    memcpy(text, data, size);
    text[size] = '\0';
    for (line = strtok_r(text, "\n", &save); line != NULL && n < MAXKV;
         line = strtok_r(NULL, "\n", &save)) {
        char *eq = strchr(line, '=');
        if (eq == NULL)
            continue;
        *eq = '\0';
        if (strcmp(line, "config") == 0)
            continue;
        keys[n] = line;
        values[n] = eq + 1;
        n++;
    }
    why[0] = '\0';
    if (qkp_config_build(keys, values, n, &cfg, codepoint, why, sizeof(why))) {
        for (int i = 0; i < QKP_NVARIANTS; i++)
            if (codepoint[i] < 0xFE00 || codepoint[i] > 0xFEFF)
                abort(); /* overrides stay in the private-use range */
        qks_config_free(cfg);
    } else if (why[0] == '\0') {
        abort(); /* every refusal names its reason */
    }
    free(text);
    return 0;
}
