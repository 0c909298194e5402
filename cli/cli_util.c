#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "lattice/compile.h"
#include "lattice/patch.h"

char *cli_read_file(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "lattice: cannot read '%s': %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n > max) {
            fprintf(stderr, "lattice: '%s' is larger than %zu bytes\n", path, max);
            free(buf);
            buf = NULL;
            break;
        }
        if (got == 0) {
            if (ferror(f)) {
                fprintf(stderr, "lattice: cannot read '%s': %s\n", path, strerror(errno));
                free(buf);
                buf = NULL;
            }
            break;
        }
        if (n == cap) {
            char *bigger = realloc(buf, cap * 2 + 1);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf) {
        if (n <= max)
            fprintf(stderr, "lattice: out of memory reading '%s'\n", path);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

bool cli_write_file(const char *path, const char *data, size_t len)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 32);
    if (!tmp) {
        fprintf(stderr, "lattice: out of memory\n");
        return false;
    }
    snprintf(tmp, plen + 32, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    bool ok = f && fwrite(data, 1, len, f) == len;
    ok = f && fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
    if (f && fclose(f) != 0)
        ok = false;
    if (ok && rename(tmp, path) != 0)
        ok = false;
    if (!ok) {
        fprintf(stderr, "lattice: cannot write '%s': %s\n", path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    return ok;
}

bool cli_take_patch(const char *cmd, const char *arg, const char **path, cli_help_fn help)
{
    if (arg[0] == '-' && arg[1]) {
        fprintf(stderr, "lattice %s: unknown option or missing value '%s'\n", cmd, arg);
        help(stderr);
        return false;
    }
    if (*path) {
        fprintf(stderr, "lattice %s: one patch at a time ('%s' is extra)\n", cmd, arg);
        return false;
    }
    *path = arg;
    return true;
}

bool cli_is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

int cli_compile_file(const char *path, bool json, bool summary, FILE *out,
                     lx_program_t **program)
{
    size_t len = 0;
    char *text = cli_read_file(path, LX_PATCH_MAX_BYTES, &len);
    if (!text)
        return CLI_USAGE;
    lx_diags_t diags;
    lx_diags_init(&diags, NULL);
    lx_error_t err = {0};
    lx_program_t *p = NULL;
    lx_result_t rc = lx_compile(text, len, NULL, &diags, &p, &err);
    free(text);
    lx_strbuf_t sb;
    lx_strbuf_init(&sb, NULL);
    if (json)
        lx_diags_format_json(&diags, &sb);
    else if (diags.count || (summary && (rc == LX_OK || rc == LX_E_DIAG)))
        lx_diags_format_text(&diags, path, &sb);
    fputs(sb.buf, out);
    lx_strbuf_release(&sb);
    lx_diags_release(&diags);
    if (rc != LX_OK && rc != LX_E_DIAG) {
        fprintf(stderr, "lattice: %s: %s (%s)\n", path, err.message, lx_error_name(rc));
        return rc == LX_E_NOMEM ? CLI_USAGE : CLI_FAILED;
    }
    if (rc == LX_E_DIAG)
        return CLI_FAILED;
    if (program)
        *program = p;
    else
        lx_program_destroy(&p);
    return CLI_OK;
}
