/*
 * Fuzz target: the qkeyd protocol codec (hwdrv/agent/wire.c). The input is read as the agent
 * reads a request (header, then the body of the op the header names) and as a client reads a
 * reply (header, then a key body); whatever parses must re-encode to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "agent_wire.h"

static void as_request(const uint8_t *data, size_t size)
{
    QAG_HDR h;
    QAG_REQUEST r;
    unsigned char again[QAG_HDR_LEN], body[512];
    size_t n = 0;

    if (size < QAG_HDR_LEN || qag_hdr_decode(data, 0, &h) != QKS_OK)
        return;
    qag_hdr_encode(again, &h);
    if (memcmp(again, data, QAG_HDR_LEN) != 0 || h.body_len > QAG_BODY_MAX)
        abort();
    size_t len = size - QAG_HDR_LEN < h.body_len ? size - QAG_HDR_LEN : h.body_len;
    if (qag_parse_request(h.op, data + QAG_HDR_LEN, len, &r) != QKS_OK)
        return;
    switch (r.op) {
    case QAG_OP_NEW_KEY:
        n = qag_body_new_key(body, sizeof(body), r.peer, r.purpose, r.key_bytes);
        break;
    case QAG_OP_GET_KEY:
        n = qag_body_get_key(body, sizeof(body), r.peer, r.key_id, r.key_bytes);
        break;
    case QAG_OP_RANDOM:
        if (r.n == 0 || r.n > QAG_RANDOM_MAX)
            abort();
        n = qag_body_random(body, sizeof(body), r.n);
        break;
    default:
        n = 0;
    }
    if (n != len || (n > 0 && memcmp(body, data + QAG_HDR_LEN, n) != 0))
        abort();
}

static void as_reply(const uint8_t *data, size_t size)
{
    char id[QKS_KEY_ID_MAX + 1], detail[64];
    unsigned char key[QKS_KEY_MAX], again[256];
    size_t len = 0;
    QAG_HDR h;

    if (size >= QAG_HDR_LEN && qag_hdr_decode(data, 1, &h) == QKS_OK) {
        qag_detail_copy(detail, sizeof(detail), data + QAG_HDR_LEN, size - QAG_HDR_LEN);
        for (const char *p = detail; *p; p++)
            if (*p < 0x20 || *p >= 0x7f)
                abort();
        (void)qag_err_from_status(h.status);
    }
    if (qag_parse_key(data, size, id, key, sizeof(key), &len) == QKS_OK) {
        size_t n = qag_body_key(again, sizeof(again), id, key, len);
        if (len == 0 || len > QKS_KEY_MAX || n != size || memcmp(again, data, n) != 0)
            abort();
    } else if (len != 0) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    as_request(data, size);
    as_reply(data, size);
    return 0;
}
