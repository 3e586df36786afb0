/* RMP property test: random sequences of RMPUPDATE, PSMASH, PVALIDATE, RMPADJUST, page-state
 * changes, nested remaps, firmware transitions, host and device stores and reads, over a fixed set
 * of seeds (tests/rmp_world.h states the promises checked after every step). And the test's own
 * teeth: with the RMP check removed from the host CPU and the IOMMU, the same world must catch a
 * broken promise. */
#include "check.h"
#include "rmp_world.h"

static uint64_t xs(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void run_seed(uint64_t seed, unsigned steps)
{
    struct rmp_world w;
    CHECK(rmp_world_open(&w) == MC_OK);
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    int bad = 0;
    for (unsigned i = 0; i < steps && !bad; i++) {
        uint64_t r = xs(&s);
        bad = rmp_world_step(&w, (uint8_t)r, (uint8_t)(r >> 8), (uint8_t)(r >> 16));
    }
    CHECK_MSG(bad == 0, "seed %llu: %s", (unsigned long long)seed, w.why);
    /* Every page the guest believes valid reads back what it wrote, or faults. */
    for (uint8_t k = 0; k < W_NP && !bad; k++)
        bad = rmp_world_step(&w, W_OP_READ, k, 0);
    CHECK_MSG(bad == 0, "seed %llu (final sweep): %s", (unsigned long long)seed, w.why);
    /* The sequence did things: faults and refusals happened, not only successes. */
    CHECK(w.faults > 0 && w.refusals > 0 && w.reads_checked > 50 && w.host_stores > 10);
    printf("  seed %llu: %llu steps, %llu faults, %llu refusals, %llu guest reads checked, %llu host stores\n",
           (unsigned long long)seed, (unsigned long long)w.steps, (unsigned long long)w.faults,
           (unsigned long long)w.refusals, (unsigned long long)w.reads_checked, (unsigned long long)w.host_stores);
    rmp_world_close(&w);
}

static void test_random_sequences(void)
{
    static const uint64_t seeds[] = {1, 2, 3, 0x5EED, 2026};
    for (unsigned i = 0; i < sizeof seeds / sizeof seeds[0]; i++)
        run_seed(seeds[i], 2500);
}

static void test_promises_have_teeth(void)
{
    /* Without the host's RMP check the host's store lands on an assigned page: caught. */
    struct rmp_world w;
    CHECK(rmp_world_open(&w) == MC_OK);
    mc_lcpu_set_check(mc_machine_cpu(w.m), NULL, NULL);
    CHECK(rmp_world_step(&w, W_OP_HOST_STORE, 0, 3) == -1 && strstr(w.why, "host wrote assigned") != NULL);
    rmp_world_close(&w);
    /* Without the IOMMU check a device writes one: caught. */
    CHECK(rmp_world_open(&w) == MC_OK);
    mc_dma_set_check(&w.dma, NULL, NULL);
    CHECK(rmp_world_step(&w, W_OP_DMA, 0, 3) == -1 && strstr(w.why, "device wrote") != NULL);
    rmp_world_close(&w);
    /* Without the guest's RMP check a remapped page is read as if it were the guest's: caught. */
    CHECK(rmp_world_open(&w) == MC_OK);
    mc_lcpu_set_check(w.v, NULL, NULL);
    CHECK(rmp_world_step(&w, W_OP_NPT_SWAP, 2, 3) == 0);   /* swap GPA 3 <-> GPA 2 under the guest */
    CHECK(rmp_world_step(&w, W_OP_READ, 3, 0) == -1 && strstr(w.why, "not what it wrote") != NULL);
    rmp_world_close(&w);
}

int main(void)
{
    RUN(test_random_sequences);
    RUN(test_promises_have_teeth);
    return check_summary();
}
