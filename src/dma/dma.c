/* DMA device port and bounce buffers. See include/memcrypt/dma.h. */
#include <stdlib.h>

#include <memcrypt/dma.h>

#include "crypto/crypto.h"

mc_status mc_dma_init(struct mc_dma_port *port, struct memctl *mc, unsigned mask_bits, struct mc_error *err)
{
    if (!port || !mc)
        return mc_seterr(err, MC_E_INVAL, "mc_dma_init needs a port and a memory controller");
    if (mask_bits < 24 || mask_bits > 64)
        return mc_seterr(err, MC_E_RANGE, "a DMA mask of %u bits is outside 24..64", mask_bits);
    port->mc = mc;
    port->mask_bits = mask_bits;
    port->check = NULL;
    port->check_ctx = NULL;
    return MC_OK;
}

void mc_dma_set_check(struct mc_dma_port *port, mc_dma_check_fn fn, void *ctx)
{
    if (port) {
        port->check = fn;
        port->check_ctx = fn ? ctx : NULL;
    }
}

bool mc_dma_reachable(const struct mc_dma_port *port, uint64_t bus_addr, uint64_t len)
{
    if (!port || !len || bus_addr + (len - 1) < bus_addr)
        return false;
    if (port->mask_bits >= 64)
        return true;
    return ((bus_addr + (len - 1)) >> port->mask_bits) == 0;
}

bool mc_dma_needs_bounce(const struct mc_dma_port *port)
{
    if (!port || !port->mc)
        return false;
    const struct memctl_platform *p = memctl_get_platform(port->mc);
    /* Linux's rule: the mask cannot reach the C-bit (mask <= 2^cbit - 1). */
    return p->mode == MEMCTL_MODE_SME && port->mask_bits <= p->cbit;
}

uint32_t mc_dma_max_keyid(const struct mc_dma_port *port)
{
    if (!port || !port->mc)
        return 0;
    const struct memctl_platform *p = memctl_get_platform(port->mc);
    if (p->mode != MEMCTL_MODE_TME || !p->keyid_bits)
        return 0;
    unsigned shift = p->phys_bits - p->keyid_bits;
    if (port->mask_bits <= shift)
        return 0;
    unsigned reach = port->mask_bits - shift; /* KeyID bits under the mask */
    if (reach > p->keyid_bits)
        reach = p->keyid_bits;
    return (uint32_t)((1ull << reach) - 1);
}

static mc_status dma_io(struct mc_dma_port *port, uint64_t bus, void *rbuf, const void *wbuf, size_t len,
                        struct mc_fault *fault, struct mc_error *err)
{
    if (!port || !port->mc || (!rbuf && !wbuf) || !len)
        return mc_seterr(err, MC_E_INVAL, "DMA needs a port, a buffer and a non-zero length");
    if (!mc_dma_reachable(port, bus, len))
        return mc_seterr(err, MC_E_RANGE, "bus address 0x%llx+%zu is beyond the device's %u-bit DMA mask",
                         (unsigned long long)bus, len, port->mask_bits);
    struct memctl_access a = {.addr = bus, .size = len, .kind = rbuf ? MEMCTL_ACC_READ : MEMCTL_ACC_WRITE, .req = MEMCTL_REQ_DEVICE};
    if (port->check) {
        mc_status st = port->check(port->check_ctx, bus, len, wbuf != NULL, err);
        if (st)
            return st;
    }
    return rbuf ? memctl_read(port->mc, &a, rbuf, fault, err) : memctl_write(port->mc, &a, wbuf, fault, err);
}

mc_status mc_dma_read(struct mc_dma_port *port, uint64_t bus_addr, void *buf, size_t len, struct mc_fault *fault,
                      struct mc_error *err)
{
    if (!buf)
        return mc_seterr(err, MC_E_INVAL, "DMA read: NULL buffer");
    return dma_io(port, bus_addr, buf, NULL, len, fault, err);
}

mc_status mc_dma_write(struct mc_dma_port *port, uint64_t bus_addr, const void *buf, size_t len, struct mc_fault *fault,
                       struct mc_error *err)
{
    if (!buf)
        return mc_seterr(err, MC_E_INVAL, "DMA write: NULL buffer");
    return dma_io(port, bus_addr, NULL, buf, len, fault, err);
}

static mc_status host_copy(struct memctl *mc, uint64_t from, uint64_t to, size_t len, struct mc_error *err)
{
    if (!mc || !len || len > (64u << 20))
        return mc_seterr(err, MC_E_INVAL, "bounce copy needs a controller and a length in 1..64 MiB");
    if (from + (len - 1) < from || to + (len - 1) < to)
        return mc_seterr(err, MC_E_RANGE, "bounce copy range wraps around the address space");
    uint8_t *tmp = malloc(len);
    if (!tmp)
        return mc_seterr(err, MC_E_NOMEM, "out of memory for the bounce copy");
    struct memctl_access r = {.addr = from, .size = len, .kind = MEMCTL_ACC_READ, .req = MEMCTL_REQ_HOST};
    struct memctl_access w = {.addr = to, .size = len, .kind = MEMCTL_ACC_WRITE, .req = MEMCTL_REQ_HOST};
    struct memctl_route rt;
    mc_slot s;
    mc_status st = memctl_route(mc, &w, &rt, &s, NULL, err); /* validate the target before reading */
    if (st == MC_OK)
        st = memctl_read(mc, &r, tmp, NULL, err);
    if (st == MC_OK)
        st = memctl_write(mc, &w, tmp, NULL, err);
    /* Make the written range visible in DRAM (devices snoop with their own tag). */
    for (uint64_t a = to & ~63ull; st == MC_OK && a <= to + (len - 1); a += 64) {
        struct memctl_access f = {.addr = a, .size = 1, .kind = MEMCTL_ACC_WRITE, .req = MEMCTL_REQ_HOST};
        st = memctl_clflush(mc, &f, NULL, err);
    }
    mc_wipe(tmp, len);
    free(tmp);
    return st;
}

mc_status mc_dma_bounce_to_device(struct memctl *mc, uint64_t src, uint64_t bounce, size_t len, struct mc_error *err)
{
    return host_copy(mc, src, bounce, len, err);
}

mc_status mc_dma_bounce_from_device(struct memctl *mc, uint64_t bounce, uint64_t dst, size_t len, struct mc_error *err)
{
    /* The device wrote DRAM directly; drop any stale CPU copy of the bounce lines first. */
    if (!mc || !len || len > (64u << 20))
        return mc_seterr(err, MC_E_INVAL, "bounce copy needs a controller and a length in 1..64 MiB");
    if (bounce + (len - 1) < bounce)
        return mc_seterr(err, MC_E_RANGE, "bounce buffer range wraps around the address space");
    for (uint64_t a = bounce & ~63ull; a <= bounce + (len - 1); a += 64) {
        struct memctl_access f = {.addr = a, .size = 1, .kind = MEMCTL_ACC_READ, .req = MEMCTL_REQ_HOST};
        mc_status st = memctl_clflush(mc, &f, NULL, err);
        if (st)
            return st;
    }
    return host_copy(mc, bounce, dst, len, err);
}
