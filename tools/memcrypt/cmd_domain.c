/* memcrypt domain check — read a libvirt domain XML, validate it against a platform, and print
 * the parsed launch configuration and the QEMU arguments libvirt would generate. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/json.h>
#include <memcrypt/libvirt.h>

#include "cli.h"

static const char *tri(enum mc_lv_tristate t)
{
    return t == MC_LV_YES ? "yes" : t == MC_LV_NO ? "no" : NULL;
}

static void json_blob(struct mc_json *j, const char *key, const struct mc_lv_blob *b)
{
    if (!b->text)
        return;
    mc_json_obj(j, key);
    mc_json_bool(j, "base64_valid", b->valid);
    mc_json_u64(j, "bytes", b->len);
    mc_json_end(j);
}

static void text_blob(const char *key, const struct mc_lv_blob *b)
{
    if (!b->text)
        return;
    if (b->valid)
        printf("  %-24s %zu bytes (base64)\n", key, b->len);
    else
        printf("  %-24s not valid base64 (%zu characters)\n", key, strlen(b->text));
}

static void print_lines_json(struct mc_json *j, const char *key, const char *text)
{
    mc_json_arr(j, key);
    const char *p = text;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        mc_json_strn(j, NULL, p, n);
        p += n + (e ? 1 : 0);
    }
    mc_json_end(j);
}

enum { O_STATE_DIR = 1, O_NO_FILE_CHECK };

static const struct mc_opt check_opts[] = {
    {"state-dir", 0, "DIR", "folder for dh_cert.base64/session.base64 in the QEMU arguments\n"
     "(default /var/lib/libvirt/qemu/domain--1-NAME)", O_STATE_DIR, MC_OPT_DIR},
    {"no-file-check", 0, NULL, "do not require the firmware/kernel/initrd files to exist", O_NO_FILE_CHECK, 0},
    {0},
};

static int run_check(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    int no_files = 0;
    const char *state_dir = NULL;
    struct mc_args a;
    int c;
    mc_args_init(&a, cmd, argc, argv);
    while ((c = mc_args_next(&a)) > 0) {
        if (c == O_STATE_DIR)
            state_dir = a.val;
        else if (c == O_NO_FILE_CHECK)
            no_files = 1;
    }
    if (c < 0)
        return a.rc;
    const bool json = a.json;
    const char *platform = a.platform, *file = a.pos[0];
    struct mc_error err = {0};
    struct mc_lv_platform p;
    if (mc_libvirt_platform(platform, &p, &err))
        return mc_cli_usage_error(argv[0], "%s", err.msg);
    struct mc_lv_domain *d;
    if (mc_libvirt_load(file, &d, &err))
        return mc_cli_fail(argv[0], &err);
    struct mc_error verr = {0};
    unsigned flags = MC_LV_CHECK_BLOBS | MC_LV_CHECK_HOST | (no_files ? 0 : MC_LV_CHECK_FILES);
    struct mc_lv_requirements req;
    mc_libvirt_requirements(d, &req);
    mc_status vst = mc_libvirt_validate(d, &p, flags, &verr);
    char *args = NULL;
    if (mc_libvirt_qemu_args(d, state_dir, &args, &err)) {
        mc_libvirt_free(d);
        return mc_cli_fail(argv[0], &err);
    }
    const struct mc_lv_launch_security *s = &d->sec;
    if (json) {
        struct mc_json j;
        mc_json_begin(&j, stdout);
        mc_json_obj(&j, NULL);
        mc_json_str(&j, "file", file);
        mc_json_str(&j, "platform", p.name);
        mc_json_bool(&j, "valid", vst == MC_OK);
        if (vst)
            mc_json_str(&j, "error", verr.msg);
        mc_json_str(&j, "name", d->name);
        mc_json_str(&j, "uuid", d->uuid);
        mc_json_u64(&j, "memory_kib", d->memory_kib);
        if (d->has_current_memory)
            mc_json_u64(&j, "current_memory_kib", d->current_memory_kib);
        mc_json_u64(&j, "vcpus", d->vcpus);
        mc_json_str(&j, "machine", d->machine);
        mc_json_str(&j, "loader", d->loader);
        mc_json_str(&j, "loader_type", d->loader_type);
        mc_json_str(&j, "nvram", d->nvram);
        mc_json_str(&j, "kernel", d->kernel);
        mc_json_str(&j, "initrd", d->initrd);
        mc_json_str(&j, "cmdline", d->cmdline);
        mc_json_obj(&j, "launch_security");
        mc_json_str(&j, "type", mc_libvirt_sectype_name(s->type));
        if (s->type != MC_LV_SEC_NONE) {
            if (s->has_cbitpos)
                mc_json_u64(&j, "cbitpos", s->cbitpos);
            if (s->has_reduced_phys_bits)
                mc_json_u64(&j, "reduced_phys_bits", s->reduced_phys_bits);
            if (s->has_policy)
                mc_json_hex64(&j, "policy", s->policy);
            if (tri(s->kernel_hashes))
                mc_json_str(&j, "kernel_hashes", tri(s->kernel_hashes));
            if (tri(s->author_key))
                mc_json_str(&j, "author_key", tri(s->author_key));
            if (tri(s->vcek))
                mc_json_str(&j, "vcek", tri(s->vcek));
            json_blob(&j, "dh_cert", &s->dh_cert);
            json_blob(&j, "session", &s->session);
            json_blob(&j, "guest_visible_workarounds", &s->gosvw);
            json_blob(&j, "id_block", &s->id_block);
            json_blob(&j, "id_auth", &s->id_auth);
            json_blob(&j, "host_data", &s->host_data);
        }
        mc_json_end(&j);
        mc_json_arr(&j, "host_requirements");
        for (size_t i = 0; i < req.n; i++)
            mc_json_str(&j, NULL, req.msg[i]);
        mc_json_end(&j);
        print_lines_json(&j, "qemu_args", args);
        mc_json_finish(&j);
    } else {
        printf("domain %s on platform %s (C-bit %u, %u SEV / %u SEV-ES guests%s)\n", d->name, p.name, p.cbitpos,
               mc_libvirt_max_guests(&p), mc_libvirt_max_es_guests(&p), p.sev_snp ? ", SEV-SNP" : "");
        printf("  %-24s %llu\n", "memory_kib", (unsigned long long)d->memory_kib);
        printf("  %-24s %u\n", "vcpus", d->vcpus);
        printf("  %-24s %s\n", "loader", d->loader ? d->loader : "(none)");
        if (d->kernel)
            printf("  %-24s %s\n", "kernel", d->kernel);
        if (d->initrd)
            printf("  %-24s %s\n", "initrd", d->initrd);
        if (d->cmdline)
            printf("  %-24s %s\n", "cmdline", d->cmdline);
        printf("  %-24s %s\n", "launch_security", mc_libvirt_sectype_name(s->type));
        if (s->type != MC_LV_SEC_NONE) {
            if (s->has_cbitpos)
                printf("  %-24s %u\n", "cbitpos", s->cbitpos);
            if (s->has_reduced_phys_bits)
                printf("  %-24s %u\n", "reduced_phys_bits", s->reduced_phys_bits);
            if (s->has_policy)
                printf("  %-24s 0x%llx%s\n", "policy", (unsigned long long)s->policy,
                       s->type == MC_LV_SEC_SEV && (s->policy & 4) ? " (SEV-ES)" : "");
            if (tri(s->kernel_hashes))
                printf("  %-24s %s\n", "kernel_hashes", tri(s->kernel_hashes));
            if (tri(s->author_key))
                printf("  %-24s %s\n", "author_key", tri(s->author_key));
            if (tri(s->vcek))
                printf("  %-24s %s\n", "vcek", tri(s->vcek));
            text_blob("dh_cert", &s->dh_cert);
            text_blob("session", &s->session);
            text_blob("guest_visible_workarounds", &s->gosvw);
            text_blob("id_block", &s->id_block);
            text_blob("id_auth", &s->id_auth);
            text_blob("host_data", &s->host_data);
        }
        printf("\nQEMU arguments (as libvirt generates them):\n");
        const char *q = args;
        while (*q) {
            const char *e = strchr(q, '\n');
            size_t n = e ? (size_t)(e - q) : strlen(q);
            printf("  %.*s\n", (int)n, q);
            q += n + (e ? 1 : 0);
        }
        if (req.n) {
            printf("\nhost requirements not met (%zu):\n", req.n);
            for (size_t i = 0; i < req.n; i++)
                printf("  - %s\n", req.msg[i]);
        }
        if (vst)
            printf("\nrefused: %s\n", verr.msg);
        else
            printf("\nOK: platform %s can launch this domain\n", p.name);
    }
    free(args);
    mc_libvirt_free(d);
    return vst ? MC_EXIT_CHECK : MC_EXIT_OK;
}

const struct mc_cli_cmd mc_cli_domain[] = {
    {.path = "domain check",
     .summary = "validate a libvirt domain XML against a platform and show its QEMU arguments",
     .synopsis = "DOMAIN.xml [--platform NAME] [--json] [--state-dir DIR] [--no-file-check]",
     .about = "Reads the domain (name, memory, vcpu, os loader/kernel/initrd/cmdline and\n"
              "<launchSecurity type='sev'|'sev-snp'>), checks it against the platform (C-bit,\n"
              "reducedPhysBits, policy bits the firmware refuses, SEV-ES/SNP support, firmware and\n"
              "kernel files, base64 blob sizes) and what a real host needs besides (a Q35 machine,\n"
              "UEFI firmware, <driver iommu='on'/> on every virtio device, locked memory, no PCI\n"
              "passthrough; each unmet one is listed), and prints the configuration and the QEMU\n"
              "-machine/-object/-overcommit arguments libvirt would generate.\n",
     .opts = check_opts,
     .common = MC_CO_JSON | MC_CO_PLATFORM,
     .platform_default = "milan",
     .args = "DOMAIN.xml",
     .min_args = 1,
     .max_args = 1,
     .notes = "Exit status: 0 the platform can launch it, 1 refused (reason printed), 2 usage, 3 error.\n",
     .examples = "memcrypt domain check examples/sev-guest.xml --platform milan\n",
     .run = run_check},
    {0},
};
