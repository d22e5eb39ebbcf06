/*
 * Fuzz qcall's signalling parser. Input: type byte || message body. Whatever parses must
 * re-encode to a message that parses to the same fields (no field silently lost or invented).
 */
#include <stdlib.h>
#include <string.h>
#include "qcall.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t out[QCALL_MAX_MSG + 3];
    QCALL_MSG a, b;
    const char *why = NULL;
    size_t n;

    if (size < 1 || size - 1 > QCALL_MAX_MSG)
        return 0;
    if (!qcall_msg_parse(data[0], data + 1, size - 1, &a, &why)) {
        if (why == NULL)
            abort(); /* every refusal carries a reason */
        return 0;
    }
    n = qcall_msg_encode(&a, out, sizeof(out));
    if (n < 3 || !qcall_msg_parse(out[0], out + 3, n - 3, &b, &why))
        abort();
    if (a.type != b.type || strcmp(a.kex, b.kex) != 0 || strcmp(a.reason, b.reason) != 0 ||
        a.media_port != b.media_port || a.sent != b.sent || a.received != b.received ||
        a.rejected != b.rejected)
        abort();
    if (a.type == QCALL_MSG_INVITE &&
        (a.call_no != b.call_no || a.frames != b.frames || a.window != b.window))
        abort();
    if ((a.type == QCALL_MSG_ACCEPT || a.type == QCALL_MSG_KEY) &&
        (a.blob_len != b.blob_len || memcmp(a.blob, b.blob, a.blob_len) != 0))
        abort();
    return 0;
}
