/* Fuzz target: the RMP property world (tests/rmp_world.h) driven by fuzz input — every three bytes
 * are one step (operation, two operands) by the hypervisor, the guest, the firmware or a device.
 * A broken promise (the host or a device writing an assigned page, the host reading a guest's
 * plaintext, the guest reading data remapped under it) aborts; so does any crash. */
#include <stdio.h>
#include <stdlib.h>

#include "../tests/rmp_world.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rmp_world w;
    if (rmp_world_open(&w) != MC_OK)
        abort();
    for (size_t i = 0; i + 3 <= size && i < 3 * 4096; i += 3)
        if (rmp_world_step(&w, data[i], data[i + 1], data[i + 2])) {
            fprintf(stderr, "fuzz_rmp: %s\n", w.why);
            abort();
        }
    for (uint8_t k = 0; k < W_NP; k++)
        if (rmp_world_step(&w, W_OP_READ, k, 0)) {
            fprintf(stderr, "fuzz_rmp: %s\n", w.why);
            abort();
        }
    rmp_world_close(&w);
    return 0;
}
