/* Names, ids and relative paths: the one validator behind patch ids,
 * protocol ids, artifact keys, manifest file names and paths joined under
 * an export directory. */
#include "lattice/manifest.h"
#include "lattice/names.h"
#include "test.h"

static void test_name_check(void)
{
    size_t at = 99;
    CHECK(lx_name_check("job-1.a_b", 9, 64, &at) == LX_NAME_OK && at == 99);
    CHECK(lx_name_check("", 0, 64, &at) == LX_NAME_EMPTY);
    CHECK(lx_name_check("abcde", 5, 4, &at) == LX_NAME_TOO_LONG);
    CHECK(lx_name_check("abcd", 4, 4, &at) == LX_NAME_OK);
    CHECK(lx_name_check("ab/c d", 6, 64, &at) == LX_NAME_BAD_CHAR && at == 2);
    CHECK(lx_name_check("io error", 8, 64, &at) == LX_NAME_BAD_CHAR && at == 2);
    CHECK(lx_name_check("caf\xc3\xa9", 5, 64, &at) == LX_NAME_BAD_CHAR && at == 3);
    CHECK(lx_name_check(".", 1, 64, &at) == LX_NAME_DOTS);
    CHECK(lx_name_check("..", 2, 64, &at) == LX_NAME_DOTS);
    /* Only the whole name "." or ".." is refused. */
    CHECK(lx_name_check("...", 3, 64, NULL) == LX_NAME_OK);
    CHECK(lx_name_check(".hidden", 7, 64, NULL) == LX_NAME_OK);
    CHECK(lx_name_check("..x", 3, 64, NULL) == LX_NAME_OK);
    /* len, not the NUL, bounds the name: "a/b" cut after "a". */
    CHECK(lx_name_check("a/b", 1, 64, NULL) == LX_NAME_OK);

    CHECK(lx_name_valid("frame_000012.png", 128));
    CHECK(!lx_name_valid("frame_000012.png", 15));
    CHECK(!lx_name_valid("..", 128));
    CHECK(!lx_name_valid("a/b", 128));
    CHECK(!lx_name_valid(NULL, 128));
}

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* valid accepts every string of good and refuses every one of bad. */
static void s_check_lists(bool (*valid)(const char *), const char *what, const char *const *good,
                          size_t n_good, const char *const *bad, size_t n_bad)
{
    for (size_t i = 0; i < n_good; i++)
        CHECK_MSG(valid(good[i]), "%s '%s'", what, good[i]);
    for (size_t i = 0; i < n_bad; i++)
        CHECK_MSG(!valid(bad[i]), "%s '%s'", what, bad[i] ? bad[i] : "(null)");
}

/* valid accepts max bytes of c and refuses max + 1. */
static void s_check_limit(bool (*valid)(const char *), const char *what, size_t max, char c)
{
    char s[256];
    if (max + 2 > sizeof s)
        return;
    memset(s, c, max + 1);
    s[max] = '\0';
    CHECK_MSG(valid(s), "%s of %zu bytes", what, max);
    s[max] = c;
    s[max + 1] = '\0';
    CHECK_MSG(!valid(s), "%s of %zu bytes", what, max + 1);
}

/* Patch ids are names without '.', of at most 64 bytes: what patches and
 * fixtures have always been checked against (PT-006). */
static void test_id(void)
{
    static const char *const good[] = {"osc", "orbit-cards", "Block_2", "a", "0", "-", "_x"};
    static const char *const bad[] = {"",    "a.b", ".",  "..",         "../x",
                                      "a b", "a/b", NULL, "caf\xc3\xa9"};
    s_check_lists(lx_name_id_valid, "id", good, N_OF(good), bad, N_OF(bad));
    s_check_limit(lx_name_id_valid, "id", LX_NAME_ID_MAX, 'i');
}

static void test_relpath(void)
{
    static const char *const good[] = {"rgba",
                                       "mask/cards",
                                       "frame_000012.png",
                                       "control/depth/frame_000000.png",
                                       "a.b-c_d",
                                       ".hidden",
                                       "..x",
                                       "x.."};
    static const char *const bad[] = {"",     "../x", "/etc", "a//b", "a/./b",       ".",    "..",
                                      "a/..", "a/",   "a b",  "a\\b", "caf\xc3\xa9", "a/\n", NULL};
    s_check_lists(lx_name_relpath_valid, "relpath", good, N_OF(good), bad, N_OF(bad));
    s_check_limit(lx_name_relpath_valid, "relpath", LX_NAME_RELPATH_MAX, 'a');
}

/* Artifact keys: one or two ids, as the manifest writes and verify reads. */
static void test_artifact_key(void)
{
    static const char *const good[] = {"rgba", "mask/cards", "control/depth", "camera"};
    static const char *const bad[] = {"",       "../x", "a/b/c", "mask/.", "a//b",
                                      "rgba.x", "/",    "a/",    "/a",     NULL};
    s_check_lists(lx_manifest_key_valid, "key", good, N_OF(good), bad, N_OF(bad));
    /* Two ids of 64 bytes are 129 bytes: over LX_MANIFEST_KEY_MAX. */
    char s[2 * LX_NAME_ID_MAX + 2];
    memset(s, 'k', sizeof s);
    s[LX_NAME_ID_MAX] = '/';
    s[2 * LX_NAME_ID_MAX + 1] = '\0';
    CHECK(!lx_manifest_key_valid(s));
    s[2 * LX_NAME_ID_MAX] = '\0';
    CHECK(lx_manifest_key_valid(s));
}

int main(void)
{
    test_name_check();
    test_id();
    test_relpath();
    test_artifact_key();
    TEST_MAIN_END();
}
