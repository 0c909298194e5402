/* Shapes: planar shapes in their local XY plane, and meshes. */
#include "registry_internal.h"

#define N LX_D_NUMBER

TABLE(lx_port_def_t, s_shape_o, OUT("shape", LX_D_SHAPE, LX_OUT_POINTWISE, "the shape"));
TABLE(lx_port_def_t, s_rect_i, IN("width", N, "width", 1), IN("height", N, "height", 1));
TABLE(lx_port_def_t, s_ellipse_i, IN("rx", N, "radius along x", 0.5),
      IN("ry", N, "radius along y", 0.5));
TABLE(lx_param_def_t, s_poly_p, P_INT("sides", false, 6, 3, 64, "number of sides"));
TABLE(lx_port_def_t, s_radius_i, IN("radius", N, "circumradius", 0.5));
TABLE(lx_param_def_t, s_star_p, P_INT("points", false, 5, 3, 64, "number of points"));
TABLE(lx_port_def_t, s_star_i, IN("outer", N, "tip radius", 0.5),
      IN("inner", N, "notch radius", 0.25));
TABLE(lx_param_def_t, s_path_p,
      P_KIND("points", LX_P_POINTS, true, "[{x, y, inX?, inY?, outX?, outY?}] (handles relative)"),
      {.name = "closed", .kind = LX_P_BOOL, .doc = "join the last point to the first"});
TABLE(lx_port_def_t, s_path_i, IN("scale", N, "uniform scale", 1));
TABLE(lx_port_def_t, s_box_i, IN("size", LX_D_VEC3, "edge lengths", 1, 1, 1));

static const lx_block_def_t s_defs[] = {
    BLOCK("Rect", "shape", RECT, 0, "a rectangle centred on the origin", NOPARAMS, s_rect_i,
          s_shape_o),
    BLOCK("Ellipse", "shape", ELLIPSE, 0, "an ellipse centred on the origin", NOPARAMS, s_ellipse_i,
          s_shape_o),
    BLOCK("Polygon", "shape", POLYGON, 0, "a regular polygon, first vertex on +Y", s_poly_p,
          s_radius_i, s_shape_o),
    BLOCK("Star", "shape", STAR, 0, "a star, first tip on +Y", s_star_p, s_star_i, s_shape_o),
    BLOCK("Path", "shape", PATH, 0, "a Bezier path, flattened to 0.001 units", s_path_p, s_path_i,
          s_shape_o),
    BLOCK("Sphere", "shape", SPHERE, 0, "a sphere mesh", NOPARAMS, s_radius_i, s_shape_o),
    BLOCK("Box", "shape", BOX, 0, "a box mesh centred on the origin", NOPARAMS, s_box_i, s_shape_o),
    BLOCK("Plane", "shape", PLANE, 0, "a two-sided plane mesh in XY", NOPARAMS, s_rect_i,
          s_shape_o),
};

FAMILY(lx_blocks_shape, s_defs);
