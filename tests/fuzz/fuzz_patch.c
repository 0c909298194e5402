/* Fuzz target: the patch loader and the whole compiler front end. Any
 * input must give diagnostics or a program that passes lx_ir_verify, and
 * nothing may crash, hang or leak. The text and JSON renderings of the
 * diagnostics are exercised too. */
#include <stdint.h>
#include <stdlib.h>

#include "lattice/compile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lx_diags_t diags;
    lx_diags_init(&diags, NULL);
    lx_error_t err = {0};
    lx_program_t *p = NULL;
    lx_result_t rc = lx_compile((const char *)data, size, NULL, &diags, &p, &err);
    if (rc == LX_OK) {
        /* The compiler verified it already; a second look must agree. */
        if (!p || lx_ir_verify(p, &err) != LX_OK)
            abort();
        lx_strbuf_t sb;
        lx_strbuf_init(&sb, NULL);
        lx_ir_to_json(p, &sb);
        lx_strbuf_release(&sb);
    } else if (p || (rc != LX_E_DIAG && rc != LX_E_NOMEM)) {
        abort();
    }
    if (rc == LX_E_DIAG && diags.n_errors == 0)
        abort();
    lx_strbuf_t sb;
    lx_strbuf_init(&sb, NULL);
    lx_diags_format_text(&diags, "fuzz.json", &sb);
    lx_diags_format_json(&diags, &sb);
    lx_strbuf_release(&sb);
    lx_program_destroy(&p);
    lx_diags_release(&diags);
    return 0;
}
