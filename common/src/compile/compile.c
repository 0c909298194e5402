#include "lattice/compile.h"

#include "compile_internal.h"
#include "lattice/graph.h"
#include "lattice/patch.h"

lx_result_t lx_compile(const char *text, size_t len, const lx_alloc_t *alloc, lx_diags_t *diags,
                       lx_program_t **out, lx_error_t *err)
{
    *out = NULL;
    lx_raw_graph_t *raw = lx_patch_parse(text, len, alloc, diags);
    if (!raw)
        return lx_fail(err, LX_E_NOMEM, "out of memory while loading the patch");
    lx_result_t rc = LX_E_DIAG;
    lx_graph_t *g = NULL;
    lx_arena_t scratch; /* typing and lowering tables, freed at the end */
    lx_arena_init(&scratch, alloc);
    /* Without a document there is nothing to normalize; with structural
     * errors normalization still runs on the well-formed rest, so one pass
     * reports as much as it can. */
    if (!raw->doc)
        goto done;
    if (raw->arena.failed) {
        rc = lx_fail(err, LX_E_NOMEM, "out of memory while loading the patch");
        goto done;
    }
    g = lx_normalize(raw, alloc, diags);
    if (!g) {
        rc = lx_fail(err, LX_E_NOMEM, "out of memory while normalizing the patch");
        goto done;
    }
    if (g->truncated)
        goto done;
    lx_typing_t typing;
    if (!lx_validate(g, &scratch, &typing, diags)) {
        rc = lx_fail(err, LX_E_NOMEM, "out of memory while validating the patch");
        goto done;
    }
    if (diags->n_errors > 0 || diags->failed)
        goto done;
    rc = lx_lower(g, &typing, &scratch, alloc, out, err);
    if (rc == LX_E_LIMIT) {
        lx_diag_t *dg = lx_diags_add(diags, LX_DC_PT_020, "%s", err ? err->message : "too large");
        lx_diag_at_json(diags, dg, "");
        rc = LX_E_DIAG;
    }
done:
    lx_arena_release(&scratch);
    lx_graph_destroy(&g);
    lx_raw_graph_destroy(&raw);
    return rc;
}
