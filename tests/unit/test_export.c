/* Export end to end: identical output across runs, thread counts and frame
 * orders; exact frame ranges; every artifact present and verifiable;
 * corruption caught; loop closure; read-back through the decoders; and the
 * non-empty directory rule. */
#include <cJSON.h>
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lattice/export.h"
#include "runtime_fixture.h"

static char s_root[256];

static char *s_file(const char *dir, const char *rel, size_t *len)
{
    char path[2200];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    return t_read_path(path, len);
}

static bool s_exists(const char *dir, const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    struct stat st;
    return stat(path, &st) == 0;
}

/* Exports `patch` with cfg_json into s_root/name. */
static bool s_export(const char *name, const char *patch_text, const char *cfg_json,
                     uint32_t threads, bool reverse, lx_program_t **keep)
{
    rt_t rt = {0};
    lx_diags_t d;
    lx_diags_init(&d, NULL);
    lx_error_t err = {0};
    bool ok = false;
    lx_program_t *p = NULL;
    if (lx_compile(patch_text, strlen(patch_text), NULL, &d, &p, &err) != LX_OK) {
        CHECK_MSG(false, "compile failed");
        goto out;
    }
    lx_export_config_t cfg;
    lx_export_config_init(&cfg);
    if (cfg_json)
        CHECK(lx_export_config_load_json(&cfg, cfg_json, strlen(cfg_json), &d) == LX_OK);
    lx_export_plan_t plan;
    CHECK(lx_export_plan(p, &cfg, &plan, &d) == LX_OK);
    lx_export_options_t opts = LX_EXPORT_OPTIONS_INIT;
    opts.threads = threads;
    opts.reverse = reverse;
    opts.exported_at = "2026-01-01T00:00:00Z";
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", s_root, name);
    lx_result_t rc = lx_export_run(p, &plan, dir, &opts, &err);
    CHECK_MSG(rc == LX_OK, "export %s: %s", name, err.message);
    ok = rc == LX_OK;
out:
    (void)rt;
    if (keep)
        *keep = p;
    else
        lx_program_destroy(&p);
    lx_diags_release(&d);
    return ok;
}

/* metadata.json without its two non-deterministic fields. */
static char *s_manifest_core(const char *name)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", s_root, name);
    size_t len;
    char *t = s_file(dir, "metadata.json", &len);
    cJSON *m = t ? cJSON_Parse(t) : NULL;
    free(t);
    if (!m)
        return NULL;
    cJSON_DeleteItemFromObject(m, "exportedAt");
    cJSON_DeleteItemFromObject(m, "run");
    char *s = cJSON_PrintUnformatted(m);
    cJSON_Delete(m);
    return s;
}

/* Every file of export a equals export b's, byte for byte. */
static int s_tree_diff(const char *a, const char *b, const char *rel)
{
    char pa[1024], pb[1024];
    snprintf(pa, sizeof pa, "%s/%s/%s", s_root, a, rel);
    DIR *d = opendir(pa);
    if (!d)
        return 1;
    int diffs = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "metadata.json") == 0)
            continue;
        char sub[1024];
        snprintf(sub, sizeof sub, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        snprintf(pa, sizeof pa, "%s/%s", s_root, a);
        snprintf(pb, sizeof pb, "%s/%s", s_root, b);
        struct stat st;
        char full[2100];
        snprintf(full, sizeof full, "%s/%s", pa, sub);
        if (stat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
            diffs += s_tree_diff(a, b, sub);
            continue;
        }
        size_t la = 0, lb = 0;
        char *x = s_file(pa, sub, &la), *y = s_file(pb, sub, &lb);
        diffs += !x || !y || la != lb || memcmp(x, y, la) != 0;
        free(x);
        free(y);
    }
    closedir(d);
    return diffs;
}

static char *s_example(const char *name)
{
    char rel[256];
    size_t len;
    snprintf(rel, sizeof rel, "examples/%s.patch.json", name);
    return t_read(rel, &len);
}

static void test_determinism(void)
{
    char *orbit = s_example("orbit-cards");
    char *trails = s_example("feedback-trails");
    if (!orbit || !trails)
        goto out;
    const char *cfg = "{\"frames\":\"3-14\",\"resolution\":{\"width\":160,\"height\":96},"
                      "\"artifacts\":[\"rgba\",\"depth\",\"motion\",\"normal\",\"id\",\"mask\","
                      "\"camera\",\"control\"]}";
    s_export("a", orbit, cfg, 1, false, NULL);
    s_export("b", orbit, cfg, 2, false, NULL);
    s_export("c", orbit, cfg, 2, true, NULL);
    char *ma = s_manifest_core("a"), *mb = s_manifest_core("b"), *mc = s_manifest_core("c");
    CHECK(ma && mb && mc && strcmp(ma, mb) == 0 && strcmp(ma, mc) == 0);
    CHECK_EQ_INT(s_tree_diff("a", "b", ""), 0);
    CHECK_EQ_INT(s_tree_diff("a", "c", ""), 0);
    free(ma);
    free(mb);
    free(mc);
    /* The stateful example, forwards on one thread and backwards on two. */
    const char *tcfg = "{\"frames\":\"40-52\",\"resolution\":{\"width\":96,\"height\":64},"
                       "\"formats\":{\"float\":\"npy\",\"color\":\"exr\"}}";
    s_export("t1", trails, tcfg, 1, false, NULL);
    s_export("t2", trails, tcfg, 2, true, NULL);
    ma = s_manifest_core("t1");
    mb = s_manifest_core("t2");
    CHECK(ma && mb && strcmp(ma, mb) == 0);
    CHECK_EQ_INT(s_tree_diff("t1", "t2", ""), 0);
    free(ma);
    free(mb);
    /* Exact range: first and last present, neighbours absent. */
    char dir[512];
    snprintf(dir, sizeof dir, "%s/a", s_root);
    CHECK(s_exists(dir, "rgba/frame_000003.png") && s_exists(dir, "rgba/frame_000014.png"));
    CHECK(!s_exists(dir, "rgba/frame_000002.png") && !s_exists(dir, "rgba/frame_000015.png"));
    const char *arts[] = {"depth/frame_000007.exr", "motion/frame_000007.exr",
                          "normal/frame_000007.exr", "id/frame_000007.png",
                          "mask/cards/frame_000007.png", "camera/trajectory.json",
                          "camera/camera_re10k.txt", "control/depth/frame_000007.png",
                          "control/normal/frame_000007.png"};
    for (size_t i = 0; i < sizeof arts / sizeof arts[0]; i++)
        CHECK_MSG(s_exists(dir, arts[i]), "missing %s", arts[i]);
    snprintf(dir, sizeof dir, "%s/t1", s_root);
    CHECK(s_exists(dir, "depth/frame_000040.npy") && s_exists(dir, "rgba/frame_000052.exr"));
out:
    free(orbit);
    free(trails);
}

static void test_verify_catches_damage(void)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/a", s_root);
    lx_verify_report_t rep;
    lx_error_t err = {0};
    CHECK(lx_export_verify(dir, &rep, &err) == LX_OK);
    CHECK(rep.checked == 12 * 8 + 2 && rep.missing == 0 && rep.mismatched == 0 && rep.extra == 0);
    lx_strbuf_release(&rep.text);
    /* Corrupt one byte, delete one file, add one. */
    char path[1024];
    snprintf(path, sizeof path, "%s/depth/frame_000005.exr", dir);
    FILE *f = fopen(path, "r+b");
    if (f) {
        fseek(f, 100, SEEK_SET);
        int c = fgetc(f);
        fseek(f, 100, SEEK_SET);
        fputc(c ^ 1, f);
        fclose(f);
    }
    snprintf(path, sizeof path, "%s/rgba/frame_000009.png", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/id/stray.png", dir);
    f = fopen(path, "wb");
    if (f)
        fclose(f);
    CHECK(lx_export_verify(dir, &rep, &err) == LX_E_VERIFY);
    CHECK_EQ_INT(rep.missing, 1);
    CHECK_EQ_INT(rep.mismatched, 1);
    CHECK_EQ_INT(rep.extra, 1);
    CHECK(strstr(rep.text.buf, "missing    rgba/frame_000009.png") != NULL);
    CHECK(strstr(rep.text.buf, "mismatched depth/frame_000005.exr") != NULL);
    CHECK(strstr(rep.text.buf, "extra      id/stray.png") != NULL);
    lx_strbuf_release(&rep.text);
}

static void test_closure_and_readback(void)
{
    char *orbit = s_example("orbit-cards");
    if (!orbit)
        return;
    lx_program_t *p = NULL;
    const char *cfg = "{\"frames\":\"0-120\",\"resolution\":{\"width\":96,\"height\":64},"
                      "\"artifacts\":[\"rgba\",\"depth\",\"normal\",\"mask\",\"motion\"]}";
    if (s_export("loop", orbit, cfg, 2, false, &p)) {
        char dir[512];
        snprintf(dir, sizeof dir, "%s/loop", s_root);
        size_t len;
        char *t = s_file(dir, "metadata.json", &len);
        cJSON *m = t ? cJSON_Parse(t) : NULL;
        const cJSON *sums = cJSON_GetObjectItemCaseSensitive(m, "checksums");
        int compared = 0;
        for (const cJSON *k = sums ? sums->child : NULL; k; k = k->next) {
            const cJSON *c = cJSON_GetObjectItemCaseSensitive(k, "content");
            const cJSON *c0 = cJSON_GetArrayItem(c, 0), *cn = cJSON_GetArrayItem(c, 120);
            CHECK_MSG(c0 && cn && strcmp(c0->valuestring, cn->valuestring) == 0,
                      "%s: frame 120 differs from frame 0", k->string);
            compared++;
        }
        CHECK_EQ_INT(compared, 5);
        /* Read-back: every PNG and EXR of frame 30 decodes (libpng,
         * OpenEXRCore) to exactly the buffer that was written, i.e. to its
         * content hash. (HALF rgba would widen, so this export uses PNG.) */
        int decoded = 0;
        for (const cJSON *k = sums ? sums->child : NULL; k; k = k->next) {
            const cJSON *fl = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(k, "files"), 30);
            const cJSON *c30 =
                cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(k, "content"), 30);
            if (!fl || !c30)
                continue;
            char rel[256];
            snprintf(rel, sizeof rel, "%s/%s", k->string, fl->valuestring);
            size_t n;
            char *bytes = s_file(dir, rel, &n);
            bool exr = strstr(rel, ".exr") != NULL;
            lx_decoded_t img = {0};
            lx_error_t err = {0};
            lx_result_t rc = !bytes ? LX_E_IO
                             : exr  ? lx_exr_decode(bytes, n, &img, &err)
                                    : lx_png_decode(bytes, n, &img, &err);
            CHECK_MSG(rc == LX_OK, "decode %s: %s", rel, err.message);
            if (rc == LX_OK) {
                size_t sample = img.type == LX_PIX_U8 ? 1 : img.type == LX_PIX_U16 ? 2 : 4;
                uint8_t x[16];
                char hex[33];
                lx_xxh128(img.data, (size_t)img.width * img.height * img.channels * sample, x);
                lx_hex(x, 16, hex);
                CHECK_MSG(strcmp(hex, c30->valuestring) == 0, "%s does not read back", rel);
                CHECK(img.width == 96 && img.height == 64);
                decoded++;
            }
            lx_decoded_release(&img);
            free(bytes);
        }
        CHECK_EQ_INT(decoded, 5);
        cJSON_Delete(m);
        free(t);
    }
    /* A non-empty directory that is not this project's export is refused;
     * a previous export of the same project is fine. */
    lx_export_config_t c;
    lx_export_config_init(&c);
    c.has_frames = true;
    c.first = c.last = 0;
    lx_diags_t d;
    lx_diags_init(&d, NULL);
    lx_export_plan_t plan;
    if (p && lx_export_plan(p, &c, &plan, &d) == LX_OK) {
        char dir[512];
        snprintf(dir, sizeof dir, "%s/other", s_root);
        mkdir(dir, 0777);
        char f[600];
        snprintf(f, sizeof f, "%s/notes.txt", dir);
        FILE *fp = fopen(f, "wb");
        if (fp)
            fclose(fp);
        lx_error_t err = {0};
        CHECK(lx_export_run(p, &plan, dir, NULL, &err) == LX_E_INVALID);
        CHECK(strstr(err.message, "--force") != NULL);
        CHECK(s_exists(dir, "notes.txt"));
        snprintf(dir, sizeof dir, "%s/loop", s_root);
        CHECK(lx_export_run(p, &plan, dir, NULL, &err) == LX_OK);
    }
    lx_diags_release(&d);
    lx_program_destroy(&p);
    free(orbit);
}

/* Every layer's mask is written and listed, however many layers there are. */
static void test_many_layers(void)
{
    char text[32768];
    size_t n = (size_t)snprintf(text, sizeof text,
                                "{\"format\":\"lattice.patch/1\",\"id\":\"layers\",\"output\":"
                                "{\"width\":32,\"height\":32,\"fps\":24},\"blocks\":[{\"id\":"
                                "\"t\",\"type\":\"InfiniteTimeRoot\"},{\"id\":\"s\",\"type\":"
                                "\"Rect\"}");
    for (int i = 0; i < 70; i++)
        n += (size_t)snprintf(text + n, sizeof text - n,
                              ",{\"id\":\"d%d\",\"type\":\"RenderInstances\"}", i);
    n += (size_t)snprintf(text + n, sizeof text - n, "],\"edges\":[");
    for (int i = 0; i < 70; i++)
        n += (size_t)snprintf(text + n, sizeof text - n,
                              "%s{\"from\":\"s.shape\",\"to\":\"d%d.shape\"}", i ? "," : "", i);
    snprintf(text + n, sizeof text - n, "]}");
    if (!s_export("layers", text, "{\"frames\":\"0-1\",\"artifacts\":[\"rgba\",\"mask\"]}", 2,
                  false, NULL))
        return;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/layers", s_root);
    CHECK(s_exists(dir, "mask/d69/frame_000001.png"));
    size_t len;
    char *t = s_file(dir, "metadata.json", &len);
    cJSON *m = t ? cJSON_Parse(t) : NULL;
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(m, "checksums")), 71);
    cJSON_Delete(m);
    free(t);
    lx_verify_report_t rep;
    lx_error_t err = {0};
    CHECK(lx_export_verify(dir, &rep, &err) == LX_OK && rep.checked == 142);
    lx_strbuf_release(&rep.text);
}

int main(void)
{
    snprintf(s_root, sizeof s_root, "/tmp/lattice-test-export-XXXXXX");
    if (!mkdtemp(s_root)) {
        CHECK(false);
        TEST_MAIN_END();
    }
    test_determinism();
    test_verify_catches_damage();
    test_closure_and_readback();
    test_many_layers();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_root);
    CHECK(system(cmd) == 0);
    TEST_MAIN_END();
}
