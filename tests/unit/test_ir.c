/* CompiledProgramIR: verification catches every kind of corruption, the
 * program hash is stable for the same patch and changes with semantics,
 * and the JSON rendering is deterministic. */
#include "lattice/compile.h"
#include "test.h"

static lx_program_t *s_compile(const char *text)
{
    lx_diags_t d;
    lx_diags_init(&d, NULL);
    lx_program_t *p = NULL;
    lx_error_t err = {0};
    lx_result_t rc = lx_compile(text, strlen(text), NULL, &d, &p, &err);
    CHECK_MSG(rc == LX_OK, "compile failed: %s (%zu diagnostics, first: %s)", lx_error_name(rc),
              d.count, d.count ? d.items[0].message : "-");
    lx_diags_release(&d);
    return p;
}

static char *s_ref(void)
{
    size_t len;
    return t_read("examples/refscene.patch.json", &len);
}

static void test_hash_stable_and_json_deterministic(const char *ref)
{
    lx_program_t *a = s_compile(ref), *b = s_compile(ref);
    if (!a || !b)
        goto out;
    CHECK(memcmp(a->program_hash.bytes, b->program_hash.bytes, 32) == 0);
    lx_digest_t again;
    CHECK(lx_ir_hash(a, &again) == LX_OK);
    CHECK(memcmp(again.bytes, a->program_hash.bytes, 32) == 0);
    /* compiled_at is not semantic. */
    b->compiled_at = 1234567;
    CHECK(lx_ir_hash(b, &again) == LX_OK);
    CHECK(memcmp(again.bytes, a->program_hash.bytes, 32) == 0);
    lx_strbuf_t ja, jb;
    lx_strbuf_init(&ja, NULL);
    lx_strbuf_init(&jb, NULL);
    CHECK(lx_ir_to_json(a, &ja) == LX_OK);
    CHECK(lx_ir_to_json(b, &jb) == LX_OK);
    CHECK(ja.len > 1000 && ja.len == jb.len && memcmp(ja.buf, jb.buf, ja.len) == 0);
    lx_strbuf_release(&ja);
    lx_strbuf_release(&jb);
out:
    lx_program_destroy(&a);
    lx_program_destroy(&b);
}

static void test_hash_changes_with_semantics(const char *ref)
{
    /* One literal changed (card width 2.0 -> 2.5) must change the hash. */
    char *mod = strdup(ref);
    char *at = strstr(mod, "\"width\": 2.0");
    CHECK(at != NULL);
    if (at)
        memcpy(at, "\"width\": 2.5", 12);
    lx_program_t *a = s_compile(ref), *b = s_compile(mod);
    if (a && b)
        CHECK(memcmp(a->program_hash.bytes, b->program_hash.bytes, 32) != 0);
    lx_program_destroy(&a);
    lx_program_destroy(&b);
    /* The seed is semantic too. */
    char *seeded = strdup(ref);
    at = strstr(seeded, "\"seed\": 7");
    CHECK(at != NULL);
    if (at)
        at[8] = '8';
    a = s_compile(ref);
    b = s_compile(seeded);
    if (a && b)
        CHECK(memcmp(a->program_hash.bytes, b->program_hash.bytes, 32) != 0);
    lx_program_destroy(&a);
    lx_program_destroy(&b);
    free(mod);
    free(seeded);
}

/* Each mutation corrupts a fresh program; verification must refuse it. */
typedef void (*mutate_fn)(lx_program_t *p);

static uint32_t s_find_op(const lx_program_t *p, lx_op_t op)
{
    for (uint32_t i = 0; i < p->n_exprs; i++)
        if (p->exprs[i].op == op)
            return i;
    return LX_NONE;
}

static void m_slot_out_of_range(lx_program_t *p) { p->args[p->exprs[p->n_exprs - 1].in_off] = (uint16_t)p->n_slots; }
static void m_unknown_op(lx_program_t *p) { p->exprs[3].op = 9999; }
static void m_wrong_arity(lx_program_t *p) { p->exprs[s_find_op(p, LX_OP_ADD)].n_in = 1; }
static void m_drop_step(lx_program_t *p) { p->n_steps--; }
static void m_swap_steps(lx_program_t *p)
{
    /* Running the last frame step first reads slots nobody set yet. */
    lx_step_t t = p->steps[p->n_init_steps];
    p->steps[p->n_init_steps] = p->steps[p->n_steps - 1];
    p->steps[p->n_steps - 1] = t;
}
static void m_double_step(lx_program_t *p) { p->steps[p->n_steps - 1] = p->steps[p->n_steps - 2]; }
static void m_bad_instance(lx_program_t *p) { p->instances[0].count = 7; }
static void m_param_count(lx_program_t *p) { p->exprs[s_find_op(p, LX_OP_CONST)].n_param = 0; }
static void m_slot_domain(lx_program_t *p) { p->slots[0].domain = LX_D_VEC3; }
static void m_sink_layer(lx_program_t *p) { p->sinks[0].layer = p->n_strings; }
static void m_no_camera(lx_program_t *p) { p->camera_expr = LX_NONE; }
static void m_init_kind(lx_program_t *p) { p->steps[0].kind = LX_STEP_EVAL; }
static void m_time_model(lx_program_t *p) { p->time_model.duration_ms = -1; }
static void m_arg_range(lx_program_t *p) { p->exprs[0].out_off = p->n_args; }
static void m_field_instance(lx_program_t *p)
{
    for (uint32_t i = 0; i < p->n_slots; i++)
        if (p->slots[i].world == LX_W_FIELD) {
            p->slots[i].instance = p->n_instances;
            return;
        }
}

static void test_verify_rejects_corruption(const char *ref)
{
    static const struct {
        const char *name;
        mutate_fn fn;
    } cases[] = {
        {"slot out of range", m_slot_out_of_range}, {"unknown op", m_unknown_op},
        {"wrong arity", m_wrong_arity},             {"missing step", m_drop_step},
        {"steps out of order", m_swap_steps},       {"step twice", m_double_step},
        {"instance count", m_bad_instance},         {"parameter count", m_param_count},
        {"slot domain", m_slot_domain},             {"sink layer", m_sink_layer},
        {"no camera", m_no_camera},                 {"init step kind", m_init_kind},
        {"time model", m_time_model},               {"argument range", m_arg_range},
        {"field instance", m_field_instance},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lx_program_t *p = s_compile(ref);
        if (!p)
            return;
        lx_error_t err = {0};
        CHECK(lx_ir_verify(p, &err) == LX_OK);
        cases[i].fn(p);
        lx_result_t rc = lx_ir_verify(p, &err);
        CHECK_MSG(rc == LX_E_VERIFY, "mutation '%s' passed verification", cases[i].name);
        CHECK(err.message[0] != '\0');
        lx_program_destroy(&p);
    }
}

static void test_state_program_verifies(void)
{
    const char *patch =
        "{\"format\":\"lattice.patch/1\",\"id\":\"st\",\"output\":{\"width\":64,\"height\":64,"
        "\"fps\":30},\"blocks\":[{\"id\":\"t\",\"type\":\"InfiniteTimeRoot\"},"
        "{\"id\":\"add\",\"type\":\"Add\",\"inputs\":{\"b\":0.1}},"
        "{\"id\":\"d\",\"type\":\"UnitDelay\",\"inputs\":{\"initial\":0.5}},"
        "{\"id\":\"pos\",\"type\":\"MakeVec3\"},{\"id\":\"s\",\"type\":\"Rect\"},"
        "{\"id\":\"r\",\"type\":\"RenderInstances\"}],\"edges\":["
        "{\"from\":\"add.out\",\"to\":\"d.in\"},{\"from\":\"d.out\",\"to\":\"add.a\"},"
        "{\"from\":\"d.out\",\"to\":\"pos.x\"},{\"from\":\"pos.out\",\"to\":\"r.position\"},"
        "{\"from\":\"s.shape\",\"to\":\"r.shape\"}]}";
    lx_program_t *p = s_compile(patch);
    if (!p)
        return;
    CHECK_EQ_INT(p->state_horizon, LX_HORIZON_UNBOUNDED);
    CHECK_EQ_INT(p->n_state, 1);
    uint32_t d = s_find_op(p, LX_OP_UNIT_DELAY);
    CHECK(d != LX_NONE && p->exprs[d].state == 0 && p->state[0].size == 1);
    CHECK(p->state[0].init_slot != LX_SLOT_NONE);
    /* The delay is read before anything uses it and written last. */
    bool read = false, wrote_last = p->steps[p->n_steps - 1].kind == LX_STEP_WRITE &&
                                    p->steps[p->n_steps - 1].expr == d;
    for (uint32_t i = 0; i < p->n_steps; i++)
        read |= p->steps[i].kind == LX_STEP_READ && p->steps[i].expr == d;
    CHECK(read && wrote_last);
    /* A write without its cell is refused. */
    lx_error_t err = {0};
    p->exprs[d].state = LX_NONE;
    CHECK(lx_ir_verify(p, &err) == LX_E_VERIFY);
    lx_program_destroy(&p);
}

int main(void)
{
    char *ref = s_ref();
    CHECK(ref != NULL);
    if (ref) {
        test_hash_stable_and_json_deterministic(ref);
        test_hash_changes_with_semantics(ref);
        test_verify_rejects_corruption(ref);
    }
    test_state_program_verifies();
    free(ref);
    TEST_MAIN_END();
}
