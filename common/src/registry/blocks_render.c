/* Render sinks: the camera and the instances drawn. */
#include "registry_internal.h"

#define N LX_D_NUMBER
#define V3 LX_D_VEC3
#define NF LX_WM_NOFIELD

static const char *const s_projections[] = {"perspective", "orthographic", NULL};

TABLE(lx_param_def_t, s_cam_p, P_ENUM("projection", s_projections, "projection"));
TABLE(lx_port_def_t, s_cam_i, IN_W("position", V3, NF, "eye position", 0, 0, 10),
      IN_W("target", V3, NF, "point looked at", 0, 0, 0),
      IN_W("up", V3, NF, "up direction", 0, 1, 0),
      IN_W("fovYDeg", N, NF, "vertical field of view in degrees (perspective)", 40),
      IN_W("orthoHeight", N, NF, "visible height in world units (orthographic)", 10),
      IN_W("near", N, NF, "near clipping distance", 0.1),
      IN_W("far", N, NF, "far clipping distance", 100));
TABLE(lx_param_def_t, s_ri_p,
      P_KIND("layer", LX_P_NAME, false,
             "layer name for masks and the ID legend (default: block id)"),
      P_KIND("semantic", LX_P_NAME, false, "semantic class name (default: the layer)"));
TABLE(lx_port_def_t, s_ri_i, IN_DOMAIN("domain", LX_PORT_OPTIONAL, "instances (none = one)"),
      IN_REQ("shape", LX_D_SHAPE, "what to draw"), IN("position", V3, "world position", 0, 0, 0),
      IN("rotation", V3, "Euler angles in degrees, applied X then Y then Z", 0, 0, 0),
      IN("scale", V3, "scale per axis", 1, 1, 1),
      IN("color", LX_D_COLOR, "linear RGBA", 1, 1, 1, 1), IN("opacity", N, "multiplies alpha", 1));

static const lx_block_def_t s_defs[] = {
    BLOCK("Camera", "render", CAMERA, LX_BF_CAMERA,
          "the camera (at most one; without it, (0,0,10) looking at the origin, fovY 40)", s_cam_p,
          s_cam_i, NOOUTPUTS),
    BLOCK("RenderInstances", "render", RENDER_INSTANCES, LX_BF_RENDER,
          "draws a shape once per element of its domain", s_ri_p, s_ri_i, NOOUTPUTS),
};

FAMILY(lx_blocks_render, s_defs);
