/* Allocation failure: compiling with an allocator that fails the Nth
 * request, for every N the compile makes, must return LX_E_NOMEM (or, if
 * the failure hit only diagnostics, still a consistent result) and never
 * crash or leak (the sanitizer build checks leaks). */
#include "lattice/compile.h"
#include "test.h"
#include "test_alloc.h"

int main(void)
{
    size_t len = 0;
    char *text = t_read("examples/bus-composite-lenses.patch.json", &len);
    CHECK(text != NULL);
    if (!text)
        TEST_MAIN_END();
    lx_digest_t want = {{0}};
    long nomem = 0;
    t_fail_each_t f = T_FAIL_EACH_INIT;
    while (t_fail_each_next(&f)) {
        lx_diags_t d;
        lx_diags_init(&d, NULL);
        lx_program_t *p = NULL;
        lx_error_t err = {0};
        lx_result_t rc = lx_compile(text, len, &f.alloc, &d, &p, &err);
        if (f.fail_at < 0) {
            CHECK(rc == LX_OK);
            if (p)
                want = p->program_hash;
        } else {
            CHECK_MSG(rc == LX_OK || rc == LX_E_NOMEM, "allocation %ld: %s", f.fail_at,
                      lx_error_name(rc));
            if (rc == LX_OK) {
                /* A success despite a failed allocation must be the same program. */
                CHECK_MSG(p && memcmp(p->program_hash.bytes, want.bytes, 32) == 0,
                          "allocation %ld: a different program", f.fail_at);
            } else {
                CHECK(p == NULL);
                nomem++;
            }
        }
        lx_program_destroy(&p);
        lx_diags_release(&d);
    }
    long total = f.total;
    CHECK(total >= 5);
    CHECK_MSG(nomem == total, "%ld of %ld failed allocations reported", nomem, total);
    printf("failed each of %ld allocations in turn\n", total);
    free(text);
    TEST_MAIN_END();
}
