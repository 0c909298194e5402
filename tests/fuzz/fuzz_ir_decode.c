/* Fuzz target: the IR decoder (PROGRAM bytes from the network). Any input
 * must be refused with LX_E_BADMSG, LX_E_LIMIT or LX_E_VERIFY and a message,
 * or give a program that passes lx_ir_verify, carries the hash of its
 * content and re-encodes to exactly the input (the encoding is canonical);
 * nothing may crash, hang or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lattice/ir_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lx_program_t *p = NULL;
    lx_error_t err = {0};
    lx_result_t rc = lx_ir_decode(data, size, NULL, &p, &err);
    if (rc != LX_OK) {
        if (p || err.message[0] == '\0' ||
            (rc != LX_E_BADMSG && rc != LX_E_LIMIT && rc != LX_E_VERIFY && rc != LX_E_NOMEM))
            abort();
        return 0;
    }
    if (!p || lx_ir_verify(p, &err) != LX_OK)
        abort();
    lx_digest_t h;
    if (lx_ir_hash(p, &h) != LX_OK || memcmp(h.bytes, p->program_hash.bytes, sizeof h.bytes) != 0)
        abort();
    lx_strbuf_t sb;
    lx_strbuf_init(&sb, NULL);
    if (lx_ir_encode(p, &sb, &err) != LX_OK || sb.len != size || memcmp(sb.buf, data, size) != 0)
        abort();
    lx_strbuf_release(&sb);
    lx_strbuf_init(&sb, NULL);
    lx_ir_to_json(p, &sb);
    lx_strbuf_release(&sb);
    lx_program_destroy(&p);
    return 0;
}
