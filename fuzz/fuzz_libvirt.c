/* Fuzz target: the libvirt domain XML reader, the platform checks and the QEMU-argument writer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/libvirt.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mc_lv_domain *d = NULL;
    struct mc_error e;
    if (mc_libvirt_parse((const char *)data, size, &d, &e) != MC_OK) {
        if (d)
            abort(); /* a failed parse must not hand out a domain */
        return 0;
    }
    static const char *const plats[] = {"naples", "rome", "milan", "genoa"};
    for (size_t i = 0; i < 4; i++) {
        struct mc_lv_platform p;
        if (mc_libvirt_platform(plats[i], &p, NULL) != MC_OK)
            abort();
        struct mc_lv_launch_security before = d->sec;
        if (mc_libvirt_validate(d, &p, MC_LV_CHECK_BLOBS, &e) != MC_OK && memcmp(&before, &d->sec, sizeof before))
            abort(); /* refused checks change nothing */
        char *args = NULL;
        if (mc_libvirt_qemu_args(d, NULL, &args, NULL) == MC_OK && !args)
            abort();
        free(args);
    }
    mc_libvirt_free(d);
    return 0;
}
