/* Golden: every example compiles to its pinned time model, state horizon,
 * program hash and IR JSON (tests/golden/examples.tsv and *.ir.json). A
 * change to them must be deliberate: scripts/update-golden.sh rewrites
 * them, and the diff shows in review. */
#include "lattice/compile.h"
#include "test.h"

static void s_check_example(const char *file, const char *kind, const char *horizon,
                            const char *hash)
{
    char rel[512];
    size_t len = 0;
    snprintf(rel, sizeof rel, "examples/%s", file);
    char *text = t_read(rel, &len);
    CHECK_MSG(text != NULL, "cannot read %s", rel);
    if (!text)
        return;
    lx_diags_t d;
    lx_diags_init(&d, NULL);
    lx_program_t *p = NULL;
    lx_error_t err = {0};
    lx_result_t rc = lx_compile(text, len, NULL, &d, &p, &err);
    CHECK_MSG(rc == LX_OK && d.n_errors == 0 && d.n_warnings == 0, "%s: %s, %zu diagnostics",
              file, lx_error_name(rc), d.count);
    if (p) {
        static const char *const kinds[] = {"finite", "cyclic", "infinite"};
        CHECK_EQ_STR(kinds[p->time_model.kind], kind);
        char h[32];
        if (p->state_horizon == LX_HORIZON_UNBOUNDED)
            snprintf(h, sizeof h, "unbounded");
        else
            snprintf(h, sizeof h, "%u", p->state_horizon);
        CHECK_MSG(strcmp(h, horizon) == 0, "%s: horizon %s, pinned %s", file, h, horizon);
        char hex[65];
        lx_hex(p->program_hash.bytes, 32, hex);
        CHECK_MSG(strcmp(hex, hash) == 0, "%s: program hash %s, pinned %s", file, hex, hash);
        lx_strbuf_t sb;
        lx_strbuf_init(&sb, NULL);
        CHECK(lx_ir_to_json(p, &sb) == LX_OK);
        char golden_rel[512];
        snprintf(golden_rel, sizeof golden_rel, "tests/golden/%.*s.ir.json",
                 (int)(strlen(file) - strlen(".patch.json")), file);
        size_t glen = 0;
        char *golden = t_read(golden_rel, &glen);
        CHECK_MSG(golden && glen == sb.len && memcmp(golden, sb.buf, glen) == 0,
                  "%s: IR JSON differs from %s", file, golden_rel);
        free(golden);
        lx_strbuf_release(&sb);
    }
    lx_program_destroy(&p);
    lx_diags_release(&d);
    free(text);
}

int main(void)
{
    size_t len = 0;
    char *tsv = t_read("tests/golden/examples.tsv", &len);
    CHECK(tsv != NULL);
    int n = 0;
    for (char *line = tsv ? strtok(tsv, "\n") : NULL; line; line = strtok(NULL, "\n")) {
        if (line[0] == '#')
            continue;
        char file[256], kind[32], horizon[32], hash[80];
        if (sscanf(line, "%255s %31s %31s %79s", file, kind, horizon, hash) == 4) {
            s_check_example(file, kind, horizon, hash);
            n++;
        }
    }
    CHECK_MSG(n >= 4, "only %d pinned examples", n);
    free(tsv);
    TEST_MAIN_END();
}
