/* Diagnostics, code by code: every fixture in tests/fixtures/diag/ is
 * compiled and the expectations of tests/fixtures/diag/expect.tsv are
 * checked against what the compiler reports (code, severity, one location).
 * A code of LX_DIAG_MAP without an expectation fails the test, so a new
 * code needs a fixture; so does a fixture without an expectation. Then the
 * hints: "did you mean" suggestions, what a JSON syntax error expected, and
 * TY-116's combine modes. */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lattice/compile.h"
#include "lattice/diag.h"
#include "test.h"

#define FIXTURE_DIR "tests/fixtures/diag"
#define EXPECT_TSV FIXTURE_DIR "/expect.tsv"

/* Codes no compiler fixture can trigger: the export analysis raises them
 * (tests/unit/test_export_config.c covers each; EX-510 and EX-511
 * tests/unit/test_tracks.c; EX-512 tests/unit/test_video.c). */
static const char *const s_exempt[] = {"EX-503", "EX-504", "EX-505", "EX-506", "EX-507",
                                       "EX-508", "EX-509", "EX-510", "EX-511",
                                       "EX-512"};

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

/* ---- hints -------------------------------------------------------------- */

static void test_suggest(void)
{
    static const char *const blocks[] = {"Rect", "Ellipse", "Oscillator", "RenderInstances",
                                         "MakeVec2", "MakeVec3"};
    static const char *const arts[] = {"rgba", "depth", "motion", "normal", "id",
                                       "mask", "camera", "control", "all"};
    const char *s;
    /* Close spellings, any case. */
    CHECK((s = lx_suggest("Oscilator", blocks, 6)) && strcmp(s, "Oscillator") == 0);
    CHECK((s = lx_suggest("oscillator", blocks, 6)) && strcmp(s, "Oscillator") == 0);
    CHECK((s = lx_suggest("RENDERINSTANCES", blocks, 6)) && strcmp(s, "RenderInstances") == 0);
    CHECK((s = lx_suggest("rgb", arts, 9)) && strcmp(s, "rgba") == 0);
    CHECK((s = lx_suggest("dpeth", arts, 9)) && strcmp(s, "depth") == 0);
    /* A longer or shorter spelling of a name. */
    CHECK((s = lx_suggest("Rectangle", blocks, 6)) && strcmp(s, "Rect") == 0);
    CHECK((s = lx_suggest("rectangle", blocks, 6)) && strcmp(s, "Rect") == 0);
    CHECK((s = lx_suggest("Osc", blocks, 6)) && strcmp(s, "Oscillator") == 0);
    CHECK((s = lx_suggest("cameras-and-more", arts, 9)) && strcmp(s, "camera") == 0);
    /* Nothing close; prefixes need 3 bytes in common. */
    CHECK(lx_suggest("Zebra", blocks, 6) == NULL);
    CHECK(lx_suggest("Re", blocks, 6) == NULL);
    CHECK(lx_suggest("x", arts, 0) == NULL);
}

/* The PT-001 message of text as a patch ("" when there is none). */
static void s_syntax(const char *text, size_t len, char *msg, size_t n)
{
    lx_diags_t diags;
    lx_diags_init(&diags, NULL);
    lx_error_t err = {0};
    lx_program_t *p = NULL;
    lx_compile(text, len, NULL, &diags, &p, &err);
    lx_program_destroy(&p);
    snprintf(msg, n, "%s", "");
    for (size_t i = 0; i < diags.count; i++)
        if (diags.items[i].code == LX_DC_PT_001)
            snprintf(msg, n, "%s", diags.items[i].message);
    lx_diags_release(&diags);
}

static void test_json_syntax(void)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"{\"id\": }", "invalid JSON at line 1, column 8: expected a value after ':', found '}'"},
        {"{\"id\" 1}", "invalid JSON at line 1, column 7: expected ':' after the member name, "
                       "found '1'"},
        {"{\"a\": 1\n \"b\": 2}", "invalid JSON at line 2, column 2: expected ',' or '}' after "
                                  "an object member, found '\"'"},
        {"{\"a\": 1,}", "invalid JSON at line 1, column 9: expected a member name in double "
                        "quotes after ',', found '}' (JSON has no trailing commas)"},
        {"{\"a\": [1, 2,]}", "invalid JSON at line 1, column 13: expected a value after ',', "
                             "found ']' (JSON has no trailing commas)"},
        {"{\"a\": [1 2]}", "invalid JSON at line 1, column 10: expected ',' or ']' after an "
                           "array element, found '2'"},
        {"{\"a\": \"abc", "invalid JSON at line 1, column 7: unterminated string (no closing "
                          "'\"')"},
        {"{\"a\": \"x\\qy\"}", "invalid JSON at line 1, column 9: invalid escape '\\q' in a "
                               "string"},
        {"{\"a\": \"\\u12\"}", "invalid JSON at line 1, column 8: expected 4 hex digits after "
                               "'\\u' in a string"},
        {"{\"a\": \"\\ud800\"}", "invalid JSON at line 1, column 8: unpaired UTF-16 surrogate "
                                 "'\\uD800' in a string"},
        {"{\"a\": tru}", "invalid JSON at line 1, column 7: expected a value after ':', found "
                         "'tru'"},
        {"{\"a\": -}", "invalid JSON at line 1, column 8: expected a digit after '-', found '}'"},
        {"{\"a\": 1e}", "invalid JSON at line 1, column 9: expected a digit in the exponent, "
                        "found '}'"},
        {"{a: 1}", "invalid JSON at line 1, column 2: expected a member name in double quotes or "
                   "'}', found 'a'"},
        {"{'a': 1}", "invalid JSON at line 1, column 2: expected a member name in double quotes "
                     "or '}', found a single quote (JSON strings use double quotes)"},
        {"{", "invalid JSON at line 1, column 2: expected a member name in double quotes or '}', "
              "found the end of the input"},
        {"", "invalid JSON at line 1, column 1: expected a value, found the end of the input"},
        {"{} x", "invalid JSON at line 1, column 4: expected the end of the input after the JSON "
                 "value, found 'x'"},
        {"{}\n\x01", "invalid JSON at line 2, column 1: expected the end of the input after the "
                     "JSON value, found byte 0x01"},
    };
    char msg[256];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        s_syntax(cases[i].text, strlen(cases[i].text), msg, sizeof msg);
        CHECK_MSG(strcmp(msg, cases[i].want) == 0, "%s\n  got  %s\n  want %s", cases[i].text, msg,
                  cases[i].want);
    }
    /* Nesting past cJSON's limit says so. */
    enum { DEEP = 1001 };
    char *deep = malloc(2 * DEEP + 1);
    CHECK(deep != NULL);
    if (deep) {
        memset(deep, '[', DEEP);
        memset(deep + DEEP, ']', DEEP);
        deep[2 * DEEP] = '\0';
        s_syntax(deep, 2 * DEEP, msg, sizeof msg);
        CHECK_MSG(strcmp(msg, "invalid JSON at line 1, column 1001: arrays and objects nested "
                              "deeper than 1000 levels") == 0,
                  "got %s", msg);
        free(deep);
    }
    /* What cJSON takes passes: no PT-001. */
    const char *lax = "{\"a\": [01, 1., -.5, \"\\uzzzz\", \"tab\there\"]}";
    s_syntax(lax, strlen(lax), msg, sizeof msg);
    CHECK_MSG(msg[0] == '\0', "got %s", msg);
}

/* TY-116's help names the combine modes that fit the port's type. */
static void test_combine_hint(void)
{
    const char *text =
        "{\"format\":\"lattice.patch/1\",\"id\":\"x\",\"output\":{\"width\":64,\"height\":64,"
        "\"fps\":24},\"blocks\":[{\"id\":\"t\",\"type\":\"InfiniteTimeRoot\"},"
        "{\"id\":\"a\",\"type\":\"Phasor\",\"inputs\":{\"frequencyHz\":1}},"
        "{\"id\":\"b\",\"type\":\"Phasor\",\"inputs\":{\"frequencyHz\":2}},"
        "{\"id\":\"o\",\"type\":\"Oscillator\"},{\"id\":\"m\",\"type\":\"Add\",\"inputs\":"
        "{\"b\":1}}],\"edges\":[{\"from\":\"a.out\",\"to\":\"o.phase\"},"
        "{\"from\":\"b.out\",\"to\":\"o.phase\"},{\"from\":\"o.out\",\"to\":\"m.a\"},"
        "{\"from\":\"a.out\",\"to\":\"m.a\"}]}";
    lx_diags_t diags;
    lx_diags_init(&diags, NULL);
    lx_error_t err = {0};
    lx_program_t *p = NULL;
    lx_compile(text, strlen(text), NULL, &diags, &p, &err);
    lx_program_destroy(&p);
    int seen = 0;
    for (size_t i = 0; i < diags.count; i++) {
        const lx_diag_t *d = &diags.items[i];
        if (d->code != LX_DC_TY_116 || !d->help)
            continue;
        if (strstr(d->message, "'phase'")) {
            seen++;
            CHECK_EQ_STR(d->help, "add \"combine\": {\"phase\": \"last\"} (or first) to the block");
        } else if (strstr(d->message, "'a'")) {
            seen++;
            CHECK_EQ_STR(d->help, "add \"combine\": {\"a\": \"sum\"} (or avg, min, max, mul, "
                                  "last, first) to the block");
        }
    }
    CHECK_EQ_INT(seen, 2);
    lx_diags_release(&diags);
}

int main(void)
{
    test_suggest();
    test_json_syntax();
    test_combine_hint();

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
