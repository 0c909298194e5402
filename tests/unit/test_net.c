/* liblattice_net: key validation, key files (created 0600 / 0644, never
 * overwritten, never through a link, refused when others may read them,
 * errors naming path:line), public keys as files or text, the options of a
 * connecting process, and the allow-list parser (roles, labels, comments,
 * duplicates, file:line errors). */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lattice/allowlist.h"
#include "lattice/curve.h"
#include "scratch_dir.h"
#include "test.h"

static char s_root[256];

static void s_path(char *out, const char *name) { snprintf(out, 512, "%s/%s", s_root, name); }

static void s_write(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    CHECK(chmod(path, mode) == 0);
}

static bool s_has(const lx_error_t *err, const char *text)
{
    bool ok = strstr(err->message, text) != NULL;
    if (!ok)
        fprintf(stderr, "  message: %s\n  wanted:  %s\n", err->message, text);
    return ok;
}

static void test_keys(void)
{
    CHECK(lx_curve_available());
    lx_curve_keypair_t a, b;
    CHECK(lx_curve_generate(&a, NULL) == LX_OK && lx_curve_generate(&b, NULL) == LX_OK);
    CHECK(lx_curve_key_valid(a.public_key) && lx_curve_key_valid(a.secret_key));
    CHECK(strcmp(a.public_key, b.public_key) != 0);
    CHECK(!lx_curve_key_valid(NULL));
    CHECK(!lx_curve_key_valid(""));
    char s[64];
    snprintf(s, sizeof s, "%.39s", a.public_key); /* 39 characters */
    CHECK(!lx_curve_key_valid(s));
    snprintf(s, sizeof s, "%sA", a.public_key); /* 41 */
    CHECK(!lx_curve_key_valid(s));
    snprintf(s, sizeof s, "%.39s~", a.public_key); /* '~' is not Z85 */
    CHECK(!lx_curve_key_valid(s));
    CHECK(!lx_curve_key_valid("%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%")); /* > 2^32 */

    CHECK(lx_curve_endpoint_needs_keys("tcp://127.0.0.1:7700"));
    CHECK(lx_curve_endpoint_needs_keys("tcp://*:*"));
    CHECK(!lx_curve_endpoint_needs_keys("ipc:///tmp/lattice.sock"));
    CHECK(!lx_curve_endpoint_needs_keys("inproc://lattice"));
}

static void test_key_files(void)
{
    lx_curve_keypair_t kp, got;
    CHECK(lx_curve_generate(&kp, NULL) == LX_OK);
    char sec[512], pub[512];
    s_path(sec, "k.secret");
    s_path(pub, "k.public");
    /* Modes as asked, whatever the umask. */
    mode_t old = umask(077);
    CHECK(lx_curve_write_secret(sec, &kp, NULL) == LX_OK);
    CHECK(lx_curve_write_public(pub, kp.public_key, NULL) == LX_OK);
    umask(old);
    struct stat st;
    CHECK(stat(sec, &st) == 0 && (st.st_mode & 07777) == 0600);
    CHECK(stat(pub, &st) == 0 && (st.st_mode & 07777) == 0644);

    CHECK(lx_curve_load_secret(sec, &got, NULL) == LX_OK);
    CHECK_EQ_STR(got.public_key, kp.public_key);
    CHECK_EQ_STR(got.secret_key, kp.secret_key);
    char key[LX_CURVE_KEY_CHARS + 1];
    CHECK(lx_curve_load_public(pub, key, NULL) == LX_OK);
    CHECK_EQ_STR(key, kp.public_key);
    CHECK(lx_curve_load_public(kp.public_key, key, NULL) == LX_OK); /* the text itself */
    CHECK_EQ_STR(key, kp.public_key);

    /* Never overwritten; never through a link. */
    lx_error_t err = {0};
    lx_curve_keypair_t other;
    CHECK(lx_curve_generate(&other, NULL) == LX_OK);
    CHECK(lx_curve_write_secret(sec, &other, &err) == LX_E_IO && s_has(&err, "exists"));
    CHECK(lx_curve_load_secret(sec, &got, NULL) == LX_OK &&
          strcmp(got.secret_key, kp.secret_key) == 0);
    char link[512], target[512];
    s_path(link, "link.secret");
    s_path(target, "target");
    CHECK(symlink(target, link) == 0);
    CHECK(lx_curve_write_secret(link, &other, &err) == LX_E_IO);
    CHECK(access(target, F_OK) != 0);

    /* Others may read it: refused, naming chmod 600. */
    CHECK(chmod(sec, 0644) == 0);
    CHECK(lx_curve_load_secret(sec, &got, &err) == LX_E_INVALID);
    CHECK(s_has(&err, "chmod 600") && s_has(&err, sec) && s_has(&err, "0644"));
    CHECK(got.public_key[0] == '\0' && got.secret_key[0] == '\0');
    CHECK(chmod(sec, 0640) == 0);
    CHECK(lx_curve_load_secret(sec, &got, &err) == LX_E_INVALID && s_has(&err, "chmod 600"));
    CHECK(chmod(sec, 0400) == 0);
    CHECK(lx_curve_load_secret(sec, &got, NULL) == LX_OK);

    /* A secret key is not a public key. */
    CHECK(lx_curve_load_public(sec, key, &err) == LX_E_INVALID && s_has(&err, "secret key"));
    char missing[512];
    /* (Not 40 characters: a path that is also a key and names no file is
     * taken as the key.) */
    s_path(missing, "missing-key.public");
    CHECK(lx_curve_load_public(missing, key, &err) == LX_E_INVALID &&
          s_has(&err, "nor a 40-character Z85 key"));
    CHECK(lx_curve_load_secret(missing, &got, &err) == LX_E_IO && s_has(&err, missing));
}

static void test_key_file_errors(void)
{
    lx_curve_keypair_t kp, other, got;
    CHECK(lx_curve_generate(&kp, NULL) == LX_OK && lx_curve_generate(&other, NULL) == LX_OK);
    char path[512], text[1024];
    s_path(path, "bad.secret");
    lx_error_t err = {0};
    struct {
        const char *fmt, *want;
    } cases[] = {
        {"# c\n\npublic-key = %s\nsecret = %s\n", "bad.secret:4: unknown name 'secret'"},
        {"public-key %s\nsecret-key = %s\n", "bad.secret:1: expected 'public-key = KEY'"},
        {"public-key = %sX\nsecret-key = %s\n", "bad.secret:1: public-key is not a 40-character"},
        {"public-key = %s\npublic-key = %s\n", "bad.secret:2: public-key given twice"},
        {"public-key = %s\n# secret-key = %s\n", "lacks secret-key"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(text, sizeof text, cases[i].fmt, kp.public_key, kp.secret_key);
        unlink(path);
        s_write(path, text, 0600);
        CHECK_MSG(lx_curve_load_secret(path, &got, &err) == LX_E_INVALID, "case %zu", i);
        CHECK_MSG(s_has(&err, cases[i].want), "case %zu", i);
    }
    /* Both halves must be one pair; CRLF and blanks around are fine. */
    snprintf(text, sizeof text, "public-key = %s\nsecret-key = %s\n", other.public_key,
             kp.secret_key);
    s_write(path, text, 0600);
    CHECK(lx_curve_load_secret(path, &got, &err) == LX_E_INVALID &&
          s_has(&err, "not the public half"));
    snprintf(text, sizeof text, "  public-key=%s \r\n\tsecret-key =  %s\r\n", kp.public_key,
             kp.secret_key);
    s_write(path, text, 0600);
    CHECK(lx_curve_load_secret(path, &got, NULL) == LX_OK &&
          strcmp(got.public_key, kp.public_key) == 0);
}

static void test_client_keys(void)
{
    lx_curve_keypair_t kp, got;
    CHECK(lx_curve_generate(&kp, NULL) == LX_OK);
    char sec[512], server[LX_CURVE_KEY_CHARS + 1];
    s_path(sec, "client.secret");
    CHECK(lx_curve_write_secret(sec, &kp, NULL) == LX_OK);
    lx_error_t err = {0};
    const char *tcp = "tcp://127.0.0.1:7700";
    CHECK(lx_curve_client_keys(tcp, NULL, NULL, false, &got, server, &err) == LX_E_INVALID);
    CHECK(s_has(&err, "--secret-key FILE and --server-key") && s_has(&err, "--insecure"));
    CHECK(lx_curve_client_keys(tcp, NULL, NULL, true, &got, server, NULL) == LX_OK);
    CHECK(got.public_key[0] == '\0');
    CHECK(lx_curve_client_keys("ipc:///tmp/x", NULL, NULL, false, &got, server, NULL) == LX_OK);
    CHECK(lx_curve_client_keys(tcp, sec, NULL, false, &got, server, &err) == LX_E_INVALID &&
          s_has(&err, "--secret-key needs --server-key"));
    CHECK(lx_curve_client_keys(tcp, NULL, kp.public_key, false, &got, server, &err) ==
              LX_E_INVALID &&
          s_has(&err, "--server-key needs --secret-key"));
    CHECK(lx_curve_client_keys(tcp, sec, kp.public_key, true, &got, server, &err) ==
              LX_E_INVALID &&
          s_has(&err, "exclude"));
    CHECK(lx_curve_client_keys(tcp, sec, kp.public_key, false, &got, server, NULL) == LX_OK);
    CHECK_EQ_STR(got.secret_key, kp.secret_key);
    CHECK_EQ_STR(server, kp.public_key);
}

static void test_allowlist(void)
{
    lx_curve_keypair_t k[4];
    for (int i = 0; i < 4; i++)
        CHECK(lx_curve_generate(&k[i], NULL) == LX_OK);
    char text[2048];
    snprintf(text, sizeof text,
             "# the cluster\n"
             "\n"
             "worker %s render-07 (rack 2)\n"
             "  client\t%s\r\n"
             "admin %s   ops  \n"
             "   # worker %s gone\n",
             k[0].public_key, k[1].public_key, k[2].public_key, k[3].public_key);
    lx_error_t err = {0};
    lx_allowlist_t *l = lx_allowlist_parse(text, strlen(text), "allow", &err);
    CHECK_MSG(l != NULL, "%s", err.message);
    const lx_allow_entry_t *e = lx_allowlist_find(l, k[0].public_key);
    CHECK(e && e->role == LX_ALLOW_WORKER && strcmp(e->label, "render-07 (rack 2)") == 0 &&
          e->line == 3);
    e = lx_allowlist_find(l, k[1].public_key);
    CHECK(e && e->role == LX_ALLOW_CLIENT && strcmp(e->label, "") == 0);
    e = lx_allowlist_find(l, k[2].public_key);
    CHECK(e && e->role == LX_ALLOW_ADMIN && strcmp(e->label, "ops") == 0);
    CHECK(lx_allowlist_find(l, k[3].public_key) == NULL);
    CHECK(lx_allowlist_find(l, "nope") == NULL);
    CHECK(lx_allowlist_count(l, LX_ALLOW_WORKER) == 1 &&
          lx_allowlist_count(l, LX_ALLOW_ADMIN) == 1);
    lx_allowlist_destroy(&l);
    CHECK(l == NULL);
    lx_allowlist_destroy(&l);

    l = lx_allowlist_parse("", 0, "empty", &err);
    CHECK(l && lx_allowlist_count(l, LX_ALLOW_CLIENT) == 0);
    lx_allowlist_destroy(&l);

    struct {
        const char *fmt, *want;
    } bad[] = {
        {"worker %s\nwroker %s\n", "allow:2: unknown role 'wroker' (worker, client or admin)"},
        {"\n\nclient\n", "allow:3: client needs a key"},
        {"worker %s\nadmin %.39s\n", "allow:2: '"},
        {"worker %s\n# x\nadmin %s\n", "allow:3: the key is already listed on line 1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(text, sizeof text, bad[i].fmt, k[0].public_key, k[0].public_key);
        l = lx_allowlist_parse(text, strlen(text), "allow", &err);
        CHECK_MSG(l == NULL && err.code == LX_E_PARSE, "case %zu", i);
        CHECK_MSG(s_has(&err, bad[i].want), "case %zu", i);
    }
    CHECK(lx_allowlist_parse("worker\0x", 8, "allow", &err) == NULL && s_has(&err, "NUL"));

    char path[512];
    s_path(path, "allow");
    CHECK(lx_allowlist_load(path, &err) == NULL && err.code == LX_E_IO && s_has(&err, path));
    snprintf(text, sizeof text, "admin %s me\n", k[2].public_key);
    s_write(path, text, 0644);
    l = lx_allowlist_load(path, &err);
    CHECK(l && lx_allowlist_find(l, k[2].public_key));
    lx_allowlist_destroy(&l);

    lx_allow_role_t r;
    CHECK(lx_allow_role_parse("admin", &r) && r == LX_ALLOW_ADMIN);
    CHECK(!lx_allow_role_parse("Admin", &r));
    CHECK_EQ_STR(lx_allow_role_name(LX_ALLOW_CLIENT), "client");
}

int main(void)
{
    if (!t_scratch_dir(s_root, "net"))
        TEST_MAIN_END();
    test_keys();
    test_key_files();
    test_key_file_errors();
    test_client_keys();
    test_allowlist();
    t_scratch_dir_remove(s_root);
    TEST_MAIN_END();
}
