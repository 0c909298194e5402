/* Diagnostics, code by code: every fixture in tests/fixtures/diag/ is
 * compiled and the expectations of tests/fixtures/diag/expect.tsv are
 * checked against what the compiler reports (code, severity, one location).
 * A code of LX_DIAG_MAP without an expectation fails the test, so a new
 * code needs a fixture; so does a fixture without an expectation. */
#include <dirent.h>
#include <stdbool.h>
#include <string.h>

#include "lattice/compile.h"
#include "lattice/diag.h"
#include "test.h"

#define FIXTURE_DIR "tests/fixtures/diag"
#define EXPECT_TSV FIXTURE_DIR "/expect.tsv"

/* Codes no compiler fixture can trigger: the export analysis raises them
 * (tests/unit/test_export_config.c covers each). */
static const char *const s_exempt[] = {"EX-503", "EX-504", "EX-505", "EX-506", "EX-507",
                                       "EX-508", "EX-509"};

static const char *const s_codes[] = {
#define X_CODE(id, code, sev, title) code,
    LX_DIAG_MAP(X_CODE)
#undef X_CODE
};
enum { N_CODES = sizeof s_codes / sizeof s_codes[0] };

typedef struct {
    int line;
    const char *file, *code, *severity, *kind, *a, *b; /* point into the TSV text */
} expect_t;

/* "-" is an unused field. */
static bool s_unused(const char *f)
{
    return strcmp(f, "-") == 0;
}

static const char *s_kind_name(lx_loc_kind_t k)
{
    switch (k) {
    case LX_LOC_BLOCK:
        return "Block";
    case LX_LOC_PORT:
        return "Port";
    case LX_LOC_BUS:
        return "Bus";
    case LX_LOC_EDGE:
        return "Edge";
    case LX_LOC_CYCLE:
        return "Cycle";
    case LX_LOC_JSON:
        return "Json";
    }
    return "?";
}

static bool s_known_kind(const char *kind)
{
    static const char *const kinds[] = {"Block", "Port", "Bus", "Edge", "Cycle", "Json"};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kind, kinds[i]) == 0)
            return true;
    return false;
}

static int s_code_index(const char *code)
{
    for (int i = 0; i < N_CODES; i++)
        if (strcmp(s_codes[i], code) == 0)
            return i;
    return -1;
}

static bool s_eq(const char *want, const char *have)
{
    return s_unused(want) || (have && strcmp(want, have) == 0);
}

static bool s_loc_matches(const expect_t *e, const lx_loc_t *l)
{
    if (strcmp(e->kind, s_kind_name(l->kind)) != 0)
        return false;
    if (l->kind == LX_LOC_CYCLE) {
        if (s_unused(e->a))
            return true;
        for (size_t i = 0; i < l->n_nodes; i++)
            if (l->nodes[i] && strcmp(l->nodes[i], e->a) == 0)
                return true;
        return false;
    }
    return s_eq(e->a, l->a) && s_eq(e->b, l->b);
}

static bool s_diag_matches(const expect_t *e, const lx_diag_t *d)
{
    const char *sev = d->severity == LX_SEV_ERROR ? "error" : "warning";
    if (strcmp(lx_dcode_str(d->code), e->code) != 0 || strcmp(sev, e->severity) != 0)
        return false;
    for (size_t k = 0; k < d->n_locs; k++)
        if (s_loc_matches(e, &d->locs[k]))
            return true;
    return false;
}

/* Splits the TSV in place; returns the number of expectations (at most cap). */
static size_t s_parse(char *text, expect_t *out, size_t cap)
{
    size_t n = 0;
    int line = 0;
    char *p = text;
    while (*p) {
        char *end = strchr(p, '\n');
        if (end)
            *end = '\0';
        line++;
        size_t len = strlen(p);
        if (len && p[len - 1] == '\r')
            p[--len] = '\0';
        if (len && p[0] != '#') {
            char *f[6] = {0};
            int nf = 0;
            char *q = p;
            while (nf < 6) {
                f[nf++] = q;
                char *tab = strchr(q, '\t');
                if (!tab)
                    break;
                *tab = '\0';
                q = tab + 1;
            }
            bool extra = nf == 6 && strchr(f[5], '\t') != NULL;
            CHECK_MSG(nf == 6 && !extra, "%s:%d: expected 6 tab-separated fields, got %d",
                      EXPECT_TSV, line, nf);
            if (nf == 6 && !extra && n < cap) {
                out[n++] = (expect_t){line, f[0], f[1], f[2], f[3], f[4], f[5]};
            } else if (n >= cap) {
                CHECK_MSG(false, "%s:%d: more than %zu expectations", EXPECT_TSV, line, cap);
            }
        }
        if (!end)
            break;
        p = end + 1;
    }
    return n;
}

static void s_check_line_fields(const expect_t *e)
{
    int ci = s_code_index(e->code);
    CHECK_MSG(ci >= 0, "%s:%d: unknown code '%s'", EXPECT_TSV, e->line, e->code);
    bool sev_ok = strcmp(e->severity, "error") == 0 || strcmp(e->severity, "warning") == 0;
    CHECK_MSG(sev_ok, "%s:%d: severity '%s' is not error or warning", EXPECT_TSV, e->line,
              e->severity);
    if (ci >= 0 && sev_ok) {
        const char *def = lx_dcode_severity((lx_dcode_t)ci) == LX_SEV_ERROR ? "error" : "warning";
        CHECK_MSG(strcmp(def, e->severity) == 0, "%s:%d: %s has severity %s, the line says %s",
                  EXPECT_TSV, e->line, e->code, def, e->severity);
    }
    CHECK_MSG(s_known_kind(e->kind), "%s:%d: unknown location kind '%s'", EXPECT_TSV, e->line,
              e->kind);
}

/* Prints what the compiler said, to make a failed expectation readable. */
static void s_dump(const char *file, const lx_diags_t *d)
{
    lx_strbuf_t sb;
    lx_strbuf_init(&sb, NULL);
    lx_diags_format_json(d, &sb);
    fprintf(stderr, "  %s reported:\n%s", file, sb.failed ? "(out of memory)\n" : sb.buf);
    lx_strbuf_release(&sb);
}

/* Compiles one fixture and checks every expectation naming it. */
static void s_check_fixture(const char *file, const expect_t *ex, size_t n)
{
    char rel[512];
    snprintf(rel, sizeof rel, "%s/%s", FIXTURE_DIR, file);
    size_t len = 0;
    char *text = t_read(rel, &len);
    CHECK_MSG(text != NULL, "cannot read %s", rel);
    if (!text)
        return;
    lx_diags_t diags;
    lx_diags_init(&diags, NULL);
    lx_program_t *program = NULL;
    lx_error_t err = {0};
    lx_result_t rc = lx_compile(text, len, NULL, &diags, &program, &err);

    bool any_error = false, failed = false;
    for (size_t i = 0; i < n; i++) {
        const expect_t *e = &ex[i];
        if (strcmp(e->file, file) != 0)
            continue;
        any_error |= strcmp(e->severity, "error") == 0;
        bool found = false;
        for (size_t k = 0; k < diags.count && !found; k++)
            found = s_diag_matches(e, &diags.items[k]);
        CHECK_MSG(found, "%s:%d: %s: no %s %s at %s(%s%s%s)", EXPECT_TSV, e->line, file, e->severity,
                  e->code, e->kind, e->a, s_unused(e->b) ? "" : ", ", s_unused(e->b) ? "" : e->b);
        failed |= !found;
    }
    CHECK_MSG(!diags.failed, "%s: the diagnostic list is incomplete (allocation failed)", file);
    if (any_error) {
        CHECK_MSG(rc == LX_E_DIAG, "%s: returned %s, expected LX_E_DIAG (%s)", file,
                  lx_error_name(rc), err.message);
        CHECK_MSG(program == NULL, "%s: a patch with errors produced a program", file);
        failed |= rc != LX_E_DIAG || program != NULL;
    } else {
        CHECK_MSG(rc == LX_OK, "%s: returned %s, expected LX_OK for warnings only (%s)", file,
                  lx_error_name(rc), err.message);
        CHECK_MSG(program != NULL, "%s: no program for a patch with warnings only", file);
        CHECK_MSG(diags.n_errors == 0, "%s: %zu errors for a patch expected to have warnings only",
                  file, diags.n_errors);
        failed |= rc != LX_OK || program == NULL || diags.n_errors != 0;
    }
    if (failed)
        s_dump(file, &diags);
    lx_program_destroy(&program);
    lx_diags_release(&diags);
    free(text);
}

/* Every code has a line, except the exempt ones (which must have none). */
static void s_check_coverage(const expect_t *ex, size_t n)
{
    for (int c = 0; c < N_CODES; c++) {
        bool exempt = false;
        for (size_t i = 0; i < sizeof s_exempt / sizeof s_exempt[0]; i++)
            exempt |= strcmp(s_exempt[i], s_codes[c]) == 0;
        bool covered = false;
        for (size_t i = 0; i < n; i++)
            covered |= strcmp(ex[i].code, s_codes[c]) == 0;
        if (exempt)
            continue;
        CHECK_MSG(covered, "%s has no fixture: add one to %s and a line to %s", s_codes[c],
                  FIXTURE_DIR, EXPECT_TSV);
    }
}

/* Every fixture in the directory is named by the TSV, and the reverse. */
static void s_check_directory(const expect_t *ex, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", LX_SOURCE_DIR, FIXTURE_DIR);
    DIR *dir = opendir(path);
    CHECK_MSG(dir != NULL, "cannot open %s", path);
    if (!dir)
        return;
    const char *suffix = ".patch.json";
    size_t slen = strlen(suffix);
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len <= slen || strcmp(de->d_name + len - slen, suffix) != 0)
            continue;
        bool named = false;
        for (size_t i = 0; i < n && !named; i++)
            named = strcmp(ex[i].file, de->d_name) == 0;
        CHECK_MSG(named, "fixture %s has no line in %s", de->d_name, EXPECT_TSV);
    }
    closedir(dir);
}

int main(void)
{
    size_t len = 0;
    char *tsv = t_read(EXPECT_TSV, &len);
    CHECK_MSG(tsv != NULL, "cannot read %s", EXPECT_TSV);
    if (!tsv)
        TEST_MAIN_END();
    enum { CAP = 1024 };
    expect_t *ex = calloc(CAP, sizeof *ex);
    CHECK(ex != NULL);
    if (!ex) {
        free(tsv);
        TEST_MAIN_END();
    }
    size_t n = s_parse(tsv, ex, CAP);
    CHECK_MSG(n > 0, "%s has no expectations", EXPECT_TSV);
    for (size_t i = 0; i < n; i++)
        s_check_line_fields(&ex[i]);
    s_check_coverage(ex, n);
    s_check_directory(ex, n);

    /* Each fixture compiles once, at its first line. */
    size_t n_fixtures = 0;
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(ex[j].file, ex[i].file) == 0;
        if (seen)
            continue;
        n_fixtures++;
        s_check_fixture(ex[i].file, ex, n);
    }
    printf("%zu fixtures, %zu expectations\n", n_fixtures, n);
    free(ex);
    free(tsv);
    TEST_MAIN_END();
}
