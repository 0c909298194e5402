#include "lattice/compile.h"

#include <errno.h>
#include <string.h>

#include "compile_internal.h"
#include "lattice/audio.h"
#include "lattice/files.h"
#include "lattice/graph.h"
#include "lattice/patch.h"

/* AU-603 for every AudioFeature block of a patch without "audio". */
static void s_check_audio_blocks(const lx_graph_t *g, lx_diags_t *diags)
{
    if (g->raw->audio_file)
        return;
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        const lx_node_t *n = &g->nodes[i];
        if (!n->def || n->def->op != LX_OP_AUDIO_FEATURE)
            continue;
        lx_diag_t *dg = lx_diags_add(diags, LX_DC_AU_603,
                                     "block '%s' reads audio features but the patch names no "
                                     "audio file",
                                     n->owner ? n->owner : n->id);
        lx_diag_at_block(diags, dg, n->owner ? n->owner : n->id);
        lx_diag_help(diags, dg, "add \"audio\": {\"file\": \"music.wav\"} to the patch");
    }
}

/* Reads and analyses the patch's audio file into *out (in `arena`).
 * LX_E_DIAG with AU-601 or AU-602 for a file that cannot be read or
 * decoded; LX_E_NOMEM. */
static lx_result_t s_load_audio(const char *file, const lx_compile_config_t *cfg,
                                const lx_alloc_t *alloc, lx_arena_t *arena, lx_diags_t *diags,
                                lx_audio_track_t **out, lx_error_t *err)
{
    alloc = alloc ? alloc : lx_alloc_default();
    if (cfg && cfg->no_files) {
        lx_diag_t *dg = lx_diags_add(diags, LX_DC_AU_601,
                                     "cannot read audio file '%.200s': a patch compiled here reads "
                                     "no files",
                                     file);
        lx_diag_at_json(diags, dg, "/audio/file");
        lx_diag_help(diags, dg,
                     "compile it where the file is: lattice submit sends the compiled program of "
                     "a patch with audio");
        return LX_E_DIAG;
    }
    char path[LX_PATH_MAX];
    const char *base = cfg ? cfg->base_dir : NULL;
    if (file[0] != '/' && base && base[0]) {
        if (!lx_path_join(path, base, file)) {
            lx_diag_t *dg = lx_diags_add(diags, LX_DC_AU_601,
                                         "cannot read audio file '%s': the path is too long", file);
            lx_diag_at_json(diags, dg, "/audio/file");
            return LX_E_DIAG;
        }
    } else if (strlen(file) < sizeof path) {
        memcpy(path, file, strlen(file) + 1);
    } else {
        lx_diag_t *dg = lx_diags_add(diags, LX_DC_AU_601,
                                     "cannot read audio file '%.64s...': the path is too long",
                                     file);
        lx_diag_at_json(diags, dg, "/audio/file");
        return LX_E_DIAG;
    }
    size_t len = 0;
    char *bytes = lx_read_file(path, LX_AUDIO_MAX_FILE_BYTES, &len, alloc);
    if (!bytes) {
        int e = errno;
        if (e == ENOMEM)
            return lx_fail(err, LX_E_NOMEM, "out of memory reading audio file '%s'", path);
        lx_diag_t *dg =
            lx_diags_add(diags, LX_DC_AU_601, "cannot read audio file '%s': %s", path,
                         e == EFBIG ? "larger than 1 GiB" : strerror(e));
        lx_diag_at_json(diags, dg, "/audio/file");
        if (file[0] != '/')
            lx_diag_help(diags, dg, "a relative audio path is resolved against %s",
                         base && base[0] ? "the patch file's directory"
                                         : "the current directory");
        return LX_E_DIAG;
    }
    lx_error_t aerr = {0};
    lx_result_t rc = lx_audio_track_from_bytes(bytes, len, alloc, arena, out, &aerr);
    lx_free(alloc, bytes);
    if (rc == LX_E_NOMEM)
        return lx_fail(err, rc, "out of memory analysing audio file '%s'", path);
    if (rc != LX_OK) {
        lx_diag_t *dg = lx_diags_add(diags, LX_DC_AU_602, "cannot decode audio file '%s': %s",
                                     path, aerr.message);
        lx_diag_at_json(diags, dg, "/audio/file");
        return LX_E_DIAG;
    }
    return LX_OK;
}

lx_result_t lx_compile(const char *text, size_t len, const lx_alloc_t *alloc, lx_diags_t *diags,
                       lx_program_t **out, lx_error_t *err)
{
    return lx_compile_ex(text, len, NULL, alloc, diags, out, err);
}

lx_result_t lx_compile_ex(const char *text, size_t len, const lx_compile_config_t *cfg,
                          const lx_alloc_t *alloc, lx_diags_t *diags, lx_program_t **out,
                          lx_error_t *err)
{
    *out = NULL;
    lx_raw_graph_t *raw = lx_patch_parse(text, len, alloc, diags);
    if (!raw)
        return lx_fail(err, LX_E_NOMEM, "out of memory while loading the patch");
    lx_result_t rc = LX_E_DIAG;
    lx_graph_t *g = NULL;
    lx_arena_t scratch; /* typing and lowering tables, freed at the end */
    lx_arena_init(&scratch, alloc);
    lx_audio_track_t *audio = NULL;
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
    s_check_audio_blocks(g, diags);
    if (diags->n_errors > 0 || diags->failed)
        goto done;
    /* The audio is read only for a patch without errors: its analysis is
     * the costly part of compiling. */
    if (raw->audio_file) {
        rc = s_load_audio(raw->audio_file, cfg, alloc, &scratch, diags, &audio, err);
        if (rc != LX_OK)
            goto done;
    }
    rc = lx_lower(g, &typing, &scratch, audio, alloc, out, err);
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
