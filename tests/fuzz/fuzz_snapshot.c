/* Fuzz target: state snapshots (lx_instance_restore), the bytes a worker
 * restores an assignment's warm-up from. The program below has a state
 * cell of every stateful op (a particle pool among them). Any input must
 * be refused with LX_E_PARSE and a message, leaving the instance as it
 * was, or restore a state that snapshots back to exactly the input and
 * from which three frames evaluate; nothing may crash, hang, leak or read
 * out of bounds (the ASan+UBSan build replays the corpus).
 *
 * The seed corpus: honest snapshots of this program after frames 0, 1, 7,
 * 30, 101 and 500 (at-N: the state frame N continues from), and damaged
 * copies of them (a flipped particle index, a NaN carry, cut bytes,
 * another count). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lattice/compile.h"
#include "lattice/instance.h"
#include "lattice/kernels.h"

static const char k_patch[] =
    "{\"format\":\"lattice.patch/1\",\"id\":\"snap\",\"seed\":3,\"output\":{\"width\":32,"
    "\"height\":32,\"fps\":24},\"blocks\":["
    "{\"id\":\"t\",\"type\":\"InfiniteTimeRoot\"},"
    "{\"id\":\"s\",\"type\":\"Mul\",\"inputs\":{\"b\":0.001}},"
    "{\"id\":\"d\",\"type\":\"UnitDelay\"},"
    "{\"id\":\"l\",\"type\":\"Lag\",\"inputs\":{\"smoothing\":0.3}},"
    "{\"id\":\"ph\",\"type\":\"Phasor\",\"inputs\":{\"frequencyHz\":0.7}},"
    "{\"id\":\"acc\",\"type\":\"Accumulator\",\"inputs\":{\"delta\":0.25}},"
    "{\"id\":\"m\",\"type\":\"Metro\",\"inputs\":{\"periodMs\":250}},"
    "{\"id\":\"sh\",\"type\":\"SampleHold\"},"
    "{\"id\":\"p\",\"type\":\"Particles\",\"params\":{\"maxParticles\":16},"
    "\"inputs\":{\"rate\":40,\"lifetime\":0.5}},"
    "{\"id\":\"pos\",\"type\":\"MakeVec3\"},"
    "{\"id\":\"shape\",\"type\":\"Rect\"},"
    "{\"id\":\"dot\",\"type\":\"Ellipse\"},"
    "{\"id\":\"card\",\"type\":\"RenderInstances\"},"
    "{\"id\":\"dots\",\"type\":\"RenderInstances\"}],\"edges\":["
    "{\"from\":\"t.time\",\"to\":\"s.a\"},{\"from\":\"s.out\",\"to\":\"d.in\"},"
    "{\"from\":\"d.out\",\"to\":\"l.target\"},{\"from\":\"l.out\",\"to\":\"pos.x\"},"
    "{\"from\":\"ph.out\",\"to\":\"pos.y\"},{\"from\":\"acc.value\",\"to\":\"sh.value\"},"
    "{\"from\":\"m.event\",\"to\":\"sh.trigger\"},{\"from\":\"sh.out\",\"to\":\"pos.z\"},"
    "{\"from\":\"pos.out\",\"to\":\"card.position\"},{\"from\":\"shape.shape\",\"to\":\"card."
    "shape\"},"
    "{\"from\":\"p.domain\",\"to\":\"dots.domain\"},{\"from\":\"p.position\",\"to\":\"dots."
    "position\"},"
    "{\"from\":\"dot.shape\",\"to\":\"dots.shape\"}]}";

static lx_program_t *s_program(void)
{
    static lx_program_t *p;
    if (!p) {
        lx_diags_t d;
        lx_diags_init(&d, NULL);
        lx_error_t err = {0};
        if (lx_compile(k_patch, strlen(k_patch), NULL, &d, &p, &err) != LX_OK) {
            fprintf(stderr, "fuzz_snapshot: the program does not compile: %s\n",
                    d.count ? d.items[0].message : err.message);
            abort();
        }
        lx_diags_release(&d);
    }
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lx_program_t *p = s_program();
    lx_error_t err = {0};
    lx_instance_t *inst = lx_instance_new(p, lx_kernels_table(), NULL, NULL, &err);
    if (!inst)
        abort();
    const lx_render_frame_t *rf;
    /* An instance that has evaluated something: a refused snapshot must
     * leave it continuing its own pass. */
    if (lx_instance_eval(inst, 5, &rf) != LX_OK)
        abort();
    lx_strbuf_t before, after;
    lx_strbuf_init(&before, NULL);
    lx_strbuf_init(&after, NULL);
    int64_t at = -1;
    if (lx_instance_snapshot(inst, &before, &at) != LX_OK || at != 6)
        abort();
    lx_result_t rc = lx_instance_restore(inst, data, size, &err);
    if (rc != LX_OK) {
        if ((rc != LX_E_PARSE && rc != LX_E_NOMEM) || err.message[0] == '\0')
            abort();
        if (lx_instance_snapshot(inst, &after, &at) != LX_OK || after.len != before.len ||
            memcmp(after.buf, before.buf, before.len) != 0)
            abort();
    } else {
        if (lx_instance_snapshot(inst, &after, &at) != LX_OK || after.len != size ||
            memcmp(after.buf, data, size) != 0)
            abort();
        for (int64_t f = at; f < at + 3; f++)
            if (lx_instance_eval(inst, f, &rf) != LX_OK)
                abort();
    }
    lx_strbuf_release(&before);
    lx_strbuf_release(&after);
    lx_instance_destroy(&inst);
    return 0;
}
