#include "lattice/tracks.h"

#include <math.h>

#include "lattice/camera.h"
#include "lattice/kernels.h"

/* Positions of n_ids instances over n frames, id-major: at[(id - 1) * n +
 * i] is id's point at frame first + i, x NaN where it is not visible. */
typedef struct {
    float x, y;
} point_t;

static bool s_visible(const point_t *q) { return !isnan(q->x); }

/* Fills at[] by evaluating every frame of plan. */
static lx_result_t s_points(const lx_program_t *p, const lx_export_plan_t *plan,
                            const lx_alloc_t *alloc, point_t *at, size_t n, lx_error_t *err)
{
    lx_instance_config_t icfg = lx_export_plan_instance(plan);
    lx_instance_t *inst = lx_instance_new(p, lx_kernels_table(), alloc, &icfg, err);
    if (!inst)
        return err->code;
    for (size_t k = 0; k < (size_t)plan->n_ids * n; k++)
        at[k] = (point_t){NAN, NAN};
    lx_result_t rc = LX_OK;
    for (size_t i = 0; i < n && rc == LX_OK; i++) {
        const lx_render_frame_t *rf = NULL;
        int64_t f = plan->first + (int64_t)i;
        rc = lx_instance_eval(inst, f, &rf);
        if (rc != LX_OK) {
            rc = lx_fail(err, rc, "cannot evaluate frame %lld", (long long)f);
            break;
        }
        lx_camera_view_t v;
        lx_camera_view(&rf->camera, plan->width, plan->height, &v);
        for (uint32_t k = 0; k < rf->n_items; k++) {
            const lx_draw_item_t *it = &rf->items[k];
            double x, y, z;
            if (it->id < 1 || it->id > plan->n_ids ||
                !lx_camera_project(&v, it->position, &x, &y, &z))
                continue;
            if (x >= 0 && x < plan->width && y >= 0 && y < plan->height)
                at[(size_t)(it->id - 1) * n + i] = (point_t){(float)x, (float)y};
        }
    }
    lx_instance_destroy(&inst);
    return rc;
}

static void s_full(const lx_export_plan_t *plan, const point_t *at, size_t n, lx_strbuf_t *out)
{
    lx_strbuf_addf(out,
                   "{\n  \"version\": 1,\n  \"frameRate\": %.17g,\n  \"frames\": [%lld, %lld],\n"
                   "  \"width\": %u,\n  \"height\": %u,\n  \"tracks\": [",
                   plan->sampling.fps, (long long)plan->first, (long long)plan->last, plan->width,
                   plan->height);
    for (uint32_t id = 1; id <= plan->n_ids; id++) {
        lx_strbuf_addf(out, "%s\n    {\"id\": %u, \"points\": [", id > 1 ? "," : "", id);
        const point_t *t = at + (size_t)(id - 1) * n;
        for (size_t i = 0; i < n; i++) {
            const char *sep = i ? ", " : "";
            if (s_visible(&t[i]))
                lx_strbuf_addf(out, "%s[%.3f, %.3f]", sep, t[i].x, t[i].y);
            else
                lx_strbuf_addf(out, "%snull", sep);
        }
        lx_strbuf_adds(out, "]}");
    }
    lx_strbuf_adds(out, "\n  ]\n}\n");
}

/* Track t (n frames at fps) at ATI point k, k / 24 s after its first
 * frame, when visible there: between two frames, both must be visible.
 * k * fps / 24, not (k / 24) * fps: whole frames stay whole (k = 100 at 30
 * fps is frame 125, not 125.00000000000001). */
static bool s_at(const point_t *t, size_t n, double fps, int k, double *x, double *y)
{
    double u = k * fps / LX_ATI_FPS;
    size_t j = (size_t)floor(u);
    double a = u - (double)j;
    if (j >= n || !s_visible(&t[j]))
        return false;
    if (a == 0) {
        *x = t[j].x, *y = t[j].y;
        return true;
    }
    if (j + 1 >= n || !s_visible(&t[j + 1]))
        return false;
    *x = t[j].x + a * (t[j + 1].x - t[j].x);
    *y = t[j].y + a * (t[j + 1].y - t[j].y);
    return true;
}

static void s_ati(const lx_export_plan_t *plan, const point_t *at, size_t n, lx_strbuf_t *out)
{
    bool any = false;
    lx_strbuf_adds(out, "[");
    for (uint32_t id = 1; id <= plan->n_ids; id++) {
        const point_t *t = at + (size_t)(id - 1) * n;
        double x, y;
        for (int k = 0; k < LX_ATI_POINTS && s_at(t, n, plan->sampling.fps, k, &x, &y); k++)
            lx_strbuf_addf(out, "%s{\"x\": %.3f, \"y\": %.3f}",
                           k     ? ", "
                           : any ? ",\n  ["
                                 : "\n  [",
                           x, y);
        if (s_visible(&t[0])) {
            lx_strbuf_adds(out, "]");
            any = true;
        }
    }
    lx_strbuf_adds(out, any ? "\n]\n" : "]\n");
}

uint64_t lx_tracks_eval_frames(const lx_program_t *p, const lx_export_plan_t *plan)
{
    uint64_t n = (uint64_t)(plan->last - plan->first + 1), first = (uint64_t)plan->first;
    uint64_t warm = p->state_horizon == LX_HORIZON_UNBOUNDED ? first
                    : p->state_horizon < first               ? p->state_horizon
                                                             : first;
    return n + warm;
}

lx_result_t lx_tracks_write(const lx_program_t *p, const lx_export_plan_t *plan,
                            const lx_alloc_t *alloc, lx_strbuf_t *full, lx_strbuf_t *ati,
                            lx_error_t *err)
{
    alloc = alloc ? alloc : lx_alloc_default();
    size_t n = (size_t)(plan->last - plan->first + 1);
    if ((uint64_t)plan->n_ids * n > LX_TRACKS_MAX_POINTS ||
        lx_tracks_eval_frames(p, plan) > LX_TRACKS_MAX_EVAL)
        return lx_fail(err, LX_E_LIMIT,
                       "%u instances x %zu frames (%llu evaluated) exceed the tracks' limits",
                       plan->n_ids, n, (unsigned long long)lx_tracks_eval_frames(p, plan));
    point_t *at = lx_calloc(alloc, (size_t)plan->n_ids * n + 1, sizeof *at);
    if (!at)
        return lx_fail(err, LX_E_NOMEM, "out of memory for %u x %zu track points", plan->n_ids, n);
    lx_result_t rc = s_points(p, plan, alloc, at, n, err);
    if (rc == LX_OK) {
        s_full(plan, at, n, full);
        s_ati(plan, at, n, ati);
    }
    lx_free(alloc, at);
    return rc;
}
