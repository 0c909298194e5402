/* Fuzz target: the cluster message decoder (every byte a peer sends). Any
 * input must be refused with LX_E_BADMSG or LX_E_LIMIT, a message and a
 * zeroed result, or give a message the encoder accepts; its encoding must
 * decode to a message that encodes to the same bytes (decoding is lenient,
 * so the input itself need not be canonical). Nothing may crash, hang or
 * leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lattice/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lx_arena_t arena;
    lx_arena_init(&arena, NULL);
    lx_msg_t m;
    lx_error_t err = {0};
    lx_result_t rc = lx_msg_decode(data, size, &arena, &m, &err);
    if (rc != LX_OK) {
        if (err.message[0] == '\0' || m.type != LX_MSG_NONE || m.has != 0 ||
            (rc != LX_E_BADMSG && rc != LX_E_LIMIT && rc != LX_E_NOMEM))
            abort();
        lx_arena_release(&arena);
        return 0;
    }
    lx_strbuf_t a, b;
    lx_strbuf_init(&a, NULL);
    lx_strbuf_init(&b, NULL);
    if (lx_msg_encode(&m, &a, &err) != LX_OK)
        abort();
    lx_msg_t again;
    if (lx_msg_decode(a.buf, a.len, &arena, &again, &err) != LX_OK ||
        lx_msg_encode(&again, &b, &err) != LX_OK || a.len != b.len ||
        memcmp(a.buf, b.buf, a.len) != 0)
        abort();
    lx_strbuf_release(&a);
    lx_strbuf_release(&b);
    lx_arena_release(&arena);
    return 0;
}
