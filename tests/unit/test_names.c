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

/* Patch ids are names without '.', of at most 64 bytes: what patches and
 * fixtures have always been checked against (PT-006). */
static void test_id(void)
{
    static const char *const good[] = {"osc", "orbit-cards", "Block_2", "a", "0", "-", "_x"};
    static const char *const bad[] = {"", "a.b", ".", "..", "../x", "a b", "a/b", "caf\xc3\xa9"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        CHECK_MSG(lx_name_id_valid(good[i]), "'%s'", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_MSG(!lx_name_id_valid(bad[i]), "'%s'", bad[i]);
    CHECK(!lx_name_id_valid(NULL));
    char s[LX_NAME_ID_MAX + 2];
    memset(s, 'i', sizeof s);
    s[LX_NAME_ID_MAX] = '\0';
    CHECK(lx_name_id_valid(s));
    s[LX_NAME_ID_MAX] = 'i';
    s[LX_NAME_ID_MAX + 1] = '\0';
    CHECK(!lx_name_id_valid(s));
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
    static const char *const bad[] = {"",     "../x", "/etc", "a//b", "a/./b",       ".",   "..",
                                      "a/..", "a/",   "a b",  "a\\b", "caf\xc3\xa9", "a/\n"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        CHECK_MSG(lx_name_relpath_valid(good[i]), "'%s'", good[i]);
        CHECK_MSG(lx_export_relpath_ok(good[i]), "'%s'", good[i]);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_MSG(!lx_name_relpath_valid(bad[i]), "'%s'", bad[i]);
        CHECK_MSG(!lx_export_relpath_ok(bad[i]), "'%s'", bad[i]);
    }
    CHECK(!lx_name_relpath_valid(NULL));
    char s[LX_NAME_RELPATH_MAX + 2];
    memset(s, 'a', sizeof s);
    s[LX_NAME_RELPATH_MAX] = '\0';
    CHECK(lx_name_relpath_valid(s));
    s[LX_NAME_RELPATH_MAX] = 'a';
    s[LX_NAME_RELPATH_MAX + 1] = '\0';
    CHECK(!lx_name_relpath_valid(s));
}

/* Artifact keys: one or two ids, as the manifest writes and verify reads. */
static void test_artifact_key(void)
{
    static const char *const good[] = {"rgba", "mask/cards", "control/depth", "camera"};
    static const char *const bad[] = {"",       "../x", "a/b/c", "mask/.", "a//b",
                                      "rgba.x", "/",    "a/",    "/a",     NULL};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        CHECK_MSG(lx_manifest_key_valid(good[i]), "'%s'", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_MSG(!lx_manifest_key_valid(bad[i]), "'%s'", bad[i] ? bad[i] : "(null)");
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
