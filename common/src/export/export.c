/* The export module's own function (lattice/export.h; the frame renderer
 * it declares is frame_renderer.c): lx_export_verify re-hashes every file
 * metadata.json lists and finds the ones it does not list. */
#include <cJSON.h>
#include <dirent.h>
#include <string.h>
#include <unistd.h>

#include "lattice/export.h"

#include "export_internal.h"
#include "lattice/digest.h"
#include "lattice/files.h"
#include "lattice/manifest.h"
#include "lattice/names.h"
#include "lattice/progress.h"

/* Longest file name a manifest may list (frame and camera files are far
 * shorter). */
enum { LX_VERIFY_NAME_MAX = 128 };

static bool s_listed(const cJSON *files, const char *name)
{
    for (const cJSON *f = files->child; f; f = f->next)
        if (cJSON_IsString(f) && strcmp(f->valuestring, name) == 0)
            return true;
    return false;
}

lx_result_t lx_export_verify(const char *out_dir, lx_verify_report_t *rep, lx_error_t *err)
{
    memset(rep, 0, sizeof *rep);
    lx_strbuf_init(&rep->text, lx_alloc_default());
    char dir[LX_PATH_MAX], path[LX_PATH_MAX];
    /* An export that never finished has only its progress journal (or
     * its shards' journals). */
    if (lx_path_join(path, out_dir, "metadata.json") && access(path, F_OK) != 0 &&
        lx_path_join(path, out_dir, LX_PROGRESS_DIR) && access(path, F_OK) == 0)
        return lx_progress_verify(out_dir, rep, err);
    cJSON *m = lx_manifest_read(out_dir, err);
    if (!m)
        return err ? err->code : LX_E_IO;
    const cJSON *sums = cJSON_GetObjectItemCaseSensitive(m, "checksums");
    if (!cJSON_IsObject(sums)) {
        cJSON_Delete(m);
        return lx_fail(err, LX_E_PARSE,
                       "'%s/metadata.json' is not an export manifest (no "
                       "checksums)",
                       out_dir);
    }
    for (const cJSON *k = sums->child; k; k = k->next) {
        const cJSON *files = cJSON_GetObjectItemCaseSensitive(k, "files");
        const cJSON *hashes = cJSON_GetObjectItemCaseSensitive(k, "hashes");
        const cJSON *combined = cJSON_GetObjectItemCaseSensitive(k, "combined");
        if (!k->string || !lx_manifest_key_valid(k->string) || !cJSON_IsArray(files) ||
            !cJSON_IsArray(hashes) || cJSON_GetArraySize(files) != cJSON_GetArraySize(hashes)) {
            lx_strbuf_addf(&rep->text, "malformed checksums entry '%s'\n",
                           k->string ? k->string : "");
            rep->mismatched++;
            continue;
        }
        lx_sha256_t all;
        lx_sha256_init(&all);
        const cJSON *h = hashes->child;
        int idx = 0;
        for (const cJSON *f = files->child; f; f = f->next, h = h->next, idx++) {
            if (!cJSON_IsString(f) || !lx_name_valid(f->valuestring, LX_VERIFY_NAME_MAX) ||
                !cJSON_IsString(h)) {
                lx_strbuf_addf(&rep->text, "%s: malformed entry %d\n", k->string, idx);
                rep->mismatched++;
                continue;
            }
            if (idx)
                lx_sha256_update(&all, "\n", 1);
            lx_sha256_update(&all, h->valuestring, strlen(h->valuestring));
            char hex[65];
            rep->checked++;
            /* A path too long to exist is a missing file. */
            if (!lx_path_join(path, out_dir, k->string) ||
                !lx_path_join(path, path, f->valuestring) || !lx_file_sha256_hex(path, hex)) {
                lx_strbuf_addf(&rep->text, "missing    %s/%s\n", k->string, f->valuestring);
                rep->missing++;
                continue;
            }
            if (strcmp(hex, h->valuestring) != 0) {
                lx_strbuf_addf(&rep->text, "mismatched %s/%s\n", k->string, f->valuestring);
                rep->mismatched++;
            }
        }
        lx_digest_t d;
        char hex[65] = "";
        if (lx_sha256_final(&all, &d) == LX_OK)
            lx_hex(d.bytes, 32, hex);
        if (!cJSON_IsString(combined) || strcmp(hex, combined->valuestring) != 0) {
            lx_strbuf_addf(&rep->text, "combined hash of '%s' does not match its hashes\n",
                           k->string);
            rep->combined_bad++;
        }
        /* Files in the artifact's directory that the manifest does not list. */
        DIR *listing = lx_path_join(dir, out_dir, k->string) ? opendir(dir) : NULL;
        struct dirent *e;
        while (listing && (e = readdir(listing))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            /* mask/<layer> directories are keys of their own. */
            if (lx_path_join(path, k->string, e->d_name) &&
                cJSON_GetObjectItemCaseSensitive(sums, path))
                continue;
            if (!s_listed(files, e->d_name)) {
                lx_strbuf_addf(&rep->text, "extra      %s/%s\n", k->string, e->d_name);
                rep->extra++;
            }
        }
        if (listing)
            closedir(listing);
    }
    cJSON_Delete(m);
    if (rep->text.failed)
        return lx_fail(err, LX_E_NOMEM, "out of memory");
    return rep->missing || rep->mismatched || rep->extra || rep->combined_bad ? LX_E_VERIFY : LX_OK;
}
