/* lattice eval PATCH --frames a-b [--json]: each frame's RenderFrame. */
#include <cJSON.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lattice/instance.h"
#include "lattice/kernels.h"

static void s_help(FILE *out)
{
    fprintf(out, "usage: lattice eval PATCH [--frames a-b] [--json | --hash]\n\n"
                 "Compiles PATCH and prints the RenderFrame (camera and draw list) of each\n"
                 "frame in the inclusive range, for debugging patches. Frames are evaluated\n"
                 "exactly as an export samples them (warm-up included).\n\n"
                 "  --frames a-b   frame range (or a single frame a); default: the time\n"
                 "                 model's range (required for infinite patches)\n"
                 "  --json         print a JSON array of frames instead of text\n"
                 "  --hash         print only the SHA-256 of the frames' canonical form\n"
                 "                 (camera and draw lists; what the golden tests pin)\n\n"
                 "Exit status: 0 success, 1 the patch has errors, 2 usage or I/O problem.\n");
}

static const char *s_shape_name(double kind)
{
    static const char *const names[] = {"?",    "rect",   "ellipse", "polygon", "star",
                                        "path", "sphere", "box",     "plane"};
    int k = (int)kind;
    return k >= 1 && k <= 8 ? names[k] : "?";
}

static cJSON *s_vec(const double *v, int n) { return cJSON_CreateDoubleArray(v, n); }

static cJSON *s_frame_json(const lx_program_t *p, const lx_render_frame_t *rf)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "frame", (double)rf->time.frame);
    cJSON *t = cJSON_AddObjectToObject(o, "time");
    cJSON_AddNumberToObject(t, "ms", rf->time.t_ms);
    cJSON_AddNumberToObject(t, "phase", rf->time.phase);
    const lx_camera_t *c = &rf->camera;
    cJSON *cam = cJSON_AddObjectToObject(o, "camera");
    cJSON_AddStringToObject(cam, "projection",
                            c->projection == LX_PROJ_ORTHOGRAPHIC ? "orthographic" : "perspective");
    cJSON_AddItemToObject(cam, "position", s_vec(c->position, 3));
    cJSON_AddItemToObject(cam, "target", s_vec(c->target, 3));
    cJSON_AddItemToObject(cam, "up", s_vec(c->up, 3));
    cJSON_AddItemToObject(cam, "forward", s_vec(c->forward, 3));
    cJSON_AddNumberToObject(cam, "fovYDeg", c->fov_y_deg);
    cJSON_AddNumberToObject(cam, "orthoHeight", c->ortho_height);
    cJSON_AddNumberToObject(cam, "near", c->near);
    cJSON_AddNumberToObject(cam, "far", c->far);
    cJSON *items = cJSON_AddArrayToObject(o, "items");
    for (uint32_t i = 0; i < rf->n_items; i++) {
        const lx_draw_item_t *it = &rf->items[i];
        const lx_render_sink_t *s = &p->sinks[it->sink];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddNumberToObject(x, "id", it->id);
        cJSON_AddStringToObject(x, "layer", p->strings[s->layer]);
        cJSON_AddStringToObject(x, "semantic", p->strings[s->semantic]);
        cJSON_AddNumberToObject(x, "element", it->element);
        cJSON_AddStringToObject(x, "shape", s_shape_name(it->shape[0]));
        cJSON_AddItemToObject(x, "shapeParams", s_vec(it->shape + 1, 3));
        cJSON_AddItemToObject(x, "position", s_vec(it->position, 3));
        cJSON_AddItemToObject(x, "rotation", s_vec(it->rotation, 3));
        cJSON_AddItemToObject(x, "scale", s_vec(it->scale, 3));
        cJSON_AddItemToObject(x, "color", s_vec(it->color, 4));
        cJSON_AddNumberToObject(x, "opacity", it->opacity);
        cJSON_AddItemToArray(items, x);
    }
    return o;
}

static void s_frame_text(const lx_program_t *p, const lx_render_frame_t *rf)
{
    const lx_camera_t *c = &rf->camera;
    printf("frame %" PRId64 "  t %.3f ms  phase %.6f  %u item%s\n", rf->time.frame, rf->time.t_ms,
           rf->time.phase, rf->n_items, rf->n_items == 1 ? "" : "s");
    printf("  camera %s at (%g, %g, %g) looking at (%g, %g, %g), fovY %g, near %g, far %g\n",
           c->projection == LX_PROJ_ORTHOGRAPHIC ? "orthographic" : "perspective", c->position[0],
           c->position[1], c->position[2], c->target[0], c->target[1], c->target[2], c->fov_y_deg,
           c->near, c->far);
    for (uint32_t i = 0; i < rf->n_items; i++) {
        const lx_draw_item_t *it = &rf->items[i];
        printf("  #%u %s[%u] %s(%g, %g, %g) at (%g, %g, %g) rot (%g, %g, %g) scale (%g, %g, %g) "
               "color (%g, %g, %g, %g) opacity %g\n",
               it->id, p->strings[p->sinks[it->sink].layer], it->element,
               s_shape_name(it->shape[0]), it->shape[1], it->shape[2], it->shape[3],
               it->position[0], it->position[1], it->position[2], it->rotation[0], it->rotation[1],
               it->rotation[2], it->scale[0], it->scale[1], it->scale[2], it->color[0],
               it->color[1], it->color[2], it->color[3], it->opacity);
    }
}

int cmd_eval(int argc, char **argv)
{
    const char *path = NULL, *frames = NULL;
    bool json = false, hash = false;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            s_help(stdout);
            return CLI_OK;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--hash") == 0) {
            hash = true;
        } else if (strcmp(argv[i], "--frames") == 0) {
            if (++i >= argc) {
                fprintf(stderr, "lattice eval: --frames needs a range such as 0-47\n");
                return CLI_USAGE;
            }
            frames = argv[i];
        } else if (!cli_take_patch("eval", argv[i], &path, s_help)) {
            return CLI_USAGE;
        }
    }
    if (!path) {
        s_help(stderr);
        return CLI_USAGE;
    }
    int64_t a = 0, b = -1;
    if (frames && !cli_parse_frames(frames, &a, &b)) {
        fprintf(stderr, "lattice eval: '%s' is not a frame range (use a-b with 0 <= a <= b)\n",
                frames);
        return CLI_USAGE;
    }
    lx_program_t *p = NULL;
    int rc = cli_compile_file(path, false, false, stderr, &p);
    if (rc != CLI_OK)
        return rc;
    lx_error_t err = {0};
    lx_instance_t *inst = lx_instance_new(p, lx_kernels_table(), NULL, NULL, &err);
    if (!inst) {
        fprintf(stderr, "lattice eval: %s\n", err.message);
        lx_program_destroy(&p);
        return CLI_FAILED;
    }
    if (!frames && !lx_sampling_default_range(lx_instance_sampling(inst), &a, &b)) {
        fprintf(stderr, "lattice eval: '%s' has an infinite timeline: give --frames a-b\n", path);
        rc = CLI_USAGE;
    }
    cJSON *arr = json && !hash ? cJSON_CreateArray() : NULL;
    lx_sha256_t sha;
    if (hash && lx_sha256_init(&sha) != LX_OK)
        rc = CLI_FAILED;
    for (int64_t f = a; rc == CLI_OK && f <= b; f++) {
        const lx_render_frame_t *rf = NULL;
        if (lx_instance_eval(inst, f, &rf) != LX_OK) {
            rc = CLI_FAILED;
            break;
        }
        if (hash)
            lx_render_frame_hash(rf, &sha);
        else if (arr)
            cJSON_AddItemToArray(arr, s_frame_json(p, rf));
        else
            s_frame_text(p, rf);
    }
    if (hash && rc == CLI_OK) {
        lx_digest_t d;
        char hex[65];
        if (lx_sha256_final(&sha, &d) != LX_OK) {
            rc = CLI_FAILED;
        } else {
            lx_hex(d.bytes, 32, hex);
            printf("frames %" PRId64 "-%" PRId64 " hash: %s\n", a, b, hex);
        }
    }
    if (rc == CLI_OK)
        cli_print_json(&arr);
    cJSON_Delete(arr);
    lx_instance_destroy(&inst);
    lx_program_destroy(&p);
    return rc;
}
