/* Fuzz target: qkey_hello_groups (the supported_groups reader of `qkey status`). */
#include <stdint.h>

#include "qkey_cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const unsigned char *ids = NULL;
    size_t count = 0;
    unsigned sum = 0;

    if (qkey_hello_groups(data, size, &ids, &count)) {
        /* every reported code point must lie inside the input */
        for (size_t i = 0; i < count; i++)
            sum += ids[2 * i] + ids[2 * i + 1];
        if (ids < data || ids + 2 * count > data + size)
            __builtin_trap();
    }
    return (int)(sum & 0);
}
