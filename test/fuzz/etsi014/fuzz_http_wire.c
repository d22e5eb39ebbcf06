/*
 * Fuzz target: the etsi014 driver's HTTP/1.1 answer framing (wire.c): the status line and
 * headers, then a chunked body, as a KME's bytes arrive. Each input is also fed in two pieces
 * at every cut, to check that an incomplete answer leaves the buffer as it was.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "etsi014.h"

static void check(char *buf, size_t size)
{
    E14_HTTP_HEAD h;
    size_t out = 0, used = 0;
    int r = e14_http_parse_head(buf, size, &h);

    if (r != 1)
        return;
    if (h.head_len == 0 || h.head_len > size || h.status < 100 || h.status > 999 ||
        (h.chunked && h.content_length != -1))
        abort();
    r = e14_http_dechunk(buf + h.head_len, size - h.head_len, &out, &used);
    if (r == 1 && (out > used || used > size - h.head_len))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf, *copy;

    if ((buf = malloc(size + 1)) == NULL || (copy = malloc(size + 1)) == NULL) {
        free(buf);
        return 0;
    }
    memcpy(buf, data, size);
    buf[size] = '\0';
    check(buf, size);
    /* a partial answer: dechunk must not touch it unless complete */
    for (size_t cut = 0; cut < size && cut < 256; cut++) {
        size_t out, used;
        memcpy(copy, data, size);
        if (e14_http_dechunk(copy, cut, &out, &used) == 0 && memcmp(copy, data, cut) != 0)
            abort();
    }
    (void)e14_says_exhausted(buf);
    free(copy);
    free(buf);
    return 0;
}
