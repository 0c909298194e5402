/* Shapes, the camera and the draw list. */
#include <string.h>

#include "kernels_internal.h"

/* Shape values [kind, a, b, c] (lattice/types.h); params give the counts
 * of polygons and stars, the Path's own expression gives its points. */
void lx_k_shape(lx_exec_t *x)
{
    kout_t O = k_out(x, 0);
    for (uint32_t i = 0; i < x->count; i++) {
        double *s = AT(O, i);
        double in[3] = {0, 0, 0};
        for (uint32_t k = 0; k < x->e->n_in && k < 3; k++)
            in[k] = *AT(k_in(x, k), i);
        memset(s, 0, 4 * sizeof *s);
        switch ((lx_op_t)x->e->op) {
        case LX_OP_RECT:
            s[0] = LX_SHAPE_RECT, s[1] = in[0], s[2] = in[1];
            break;
        case LX_OP_ELLIPSE:
            s[0] = LX_SHAPE_ELLIPSE, s[1] = in[0], s[2] = in[1];
            break;
        case LX_OP_POLYGON:
            s[0] = LX_SHAPE_POLYGON, s[1] = x->param[0], s[2] = in[0];
            break;
        case LX_OP_STAR:
            s[0] = LX_SHAPE_STAR, s[1] = x->param[0], s[2] = in[0], s[3] = in[1];
            break;
        case LX_OP_PATH:
            s[0] = LX_SHAPE_PATH, s[1] = x->expr, s[2] = in[0];
            break;
        case LX_OP_SPHERE:
            s[0] = LX_SHAPE_SPHERE, s[1] = in[0];
            break;
        case LX_OP_BOX: {
            const double *v = AT(k_in(x, 0), i);
            s[0] = LX_SHAPE_BOX, s[1] = v[0], s[2] = v[1], s[3] = v[2];
            break;
        }
        default: /* plane */
            s[0] = LX_SHAPE_PLANE, s[1] = in[0], s[2] = in[1];
            break;
        }
    }
}

void lx_k_camera(lx_exec_t *x)
{
    lx_render_frame_t *rf = lx_exec_frame(x);
    if (!rf)
        return; /* warm-up: nothing is drawn */
    lx_camera_t *c = &rf->camera;
    c->projection = x->param[0] == 1 ? LX_PROJ_ORTHOGRAPHIC : LX_PROJ_PERSPECTIVE;
    memcpy(c->position, k_in(x, 0).v, sizeof c->position);
    memcpy(c->target, k_in(x, 1).v, sizeof c->target);
    memcpy(c->up, k_in(x, 2).v, sizeof c->up);
    c->fov_y_deg = *k_in(x, 3).v;
    c->ortho_height = *k_in(x, 4).v;
    c->near = *k_in(x, 5).v;
    c->far = *k_in(x, 6).v;
    double f[3], len2 = 0;
    for (int k = 0; k < 3; k++) {
        f[k] = c->target[k] - c->position[k];
        len2 += f[k] * f[k];
    }
    if (len2 > 0) {
        double len = sqrt(len2);
        for (int k = 0; k < 3; k++)
            c->forward[k] = f[k] / len;
    } else {
        c->forward[0] = c->forward[1] = 0, c->forward[2] = -1;
    }
}

void lx_k_render_instances(lx_exec_t *x)
{
    lx_render_frame_t *rf = lx_exec_frame(x);
    if (!rf)
        return;
    const lx_program_t *p = x->p;
    uint32_t sink = 0;
    while (sink < p->n_sinks && p->sinks[sink].expr != x->expr)
        sink++;
    const lx_render_sink_t *s = &p->sinks[sink];
    uint32_t n = s->instance == LX_NONE ? 1 : p->instances[s->instance].count;
    /* Particle pools draw their live particles only. */
    const double *pool = NULL;
    if (s->instance != LX_NONE && p->instances[s->instance].kind == LX_INST_PARTICLES)
        pool = lx_exec_state_of(x, p->instances[s->instance].expr);
    kin_t shape = k_in(x, 1), pos = k_in(x, 2), rot = k_in(x, 3), scale = k_in(x, 4),
          color = k_in(x, 5), opacity = k_in(x, 6);
    for (uint32_t i = 0; i < n; i++) {
        if (pool && pool[(size_t)i * LX_PARTICLE_STRIDE + 7] == 0)
            continue;
        lx_draw_item_t *it = &rf->items[rf->n_items++];
        it->id = s->id_base + i;
        it->sink = sink;
        it->element = i;
        memcpy(it->shape, AT(shape, i), sizeof it->shape);
        memcpy(it->position, AT(pos, i), sizeof it->position);
        memcpy(it->rotation, AT(rot, i), sizeof it->rotation);
        memcpy(it->scale, AT(scale, i), sizeof it->scale);
        memcpy(it->color, AT(color, i), sizeof it->color);
        it->opacity = *AT(opacity, i);
    }
}
