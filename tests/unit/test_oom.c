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
    counter_t count = {0, -1, 0, 0, 0, 0};
    lx_alloc_t a = {t_counting_alloc, t_counting_free, &count};
    lx_diags_t d;
    lx_diags_init(&d, NULL);
    lx_program_t *p = NULL;
    lx_error_t err = {0};
    CHECK(lx_compile(text, len, &a, &d, &p, &err) == LX_OK);
    lx_digest_t want = p ? p->program_hash : (lx_digest_t){{0}};
    lx_program_destroy(&p);
    lx_diags_release(&d);
    long total = count.calls;
    CHECK(total >= 5);
    long nomem = 0;
    for (long n = 0; n < total; n++) {
        counter_t c = {0, n, 0, 0, 0, 0};
        lx_alloc_t fa = {t_counting_alloc, t_counting_free, &c};
        lx_diags_init(&d, NULL);
        lx_result_t rc = lx_compile(text, len, &fa, &d, &p, &err);
        CHECK_MSG(rc == LX_OK || rc == LX_E_NOMEM, "allocation %ld: %s", n, lx_error_name(rc));
        if (rc == LX_OK) {
            /* A success despite a failed allocation must be the same program. */
            CHECK_MSG(p && memcmp(p->program_hash.bytes, want.bytes, 32) == 0,
                      "allocation %ld: a different program", n);
        } else {
            CHECK(p == NULL);
            nomem++;
        }
        lx_program_destroy(&p);
        lx_diags_release(&d);
    }
    CHECK_MSG(nomem == total, "%ld of %ld failed allocations reported", nomem, total);
    printf("failed each of %ld allocations in turn\n", total);
    free(text);
    TEST_MAIN_END();
}
