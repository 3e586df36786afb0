/* memcrypt run — launch a libvirt SEV domain on an emulated platform, attest it, give it a
 * secret, run a small guest workload and show what each party sees. */
#define _GNU_SOURCE /* F_SETLEASE */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <memcrypt/bytes.h>
#include <memcrypt/fileio.h>
#include <memcrypt/fw_status.h>
#include <memcrypt/json.h>
#include <memcrypt/libvirt.h>
#include <memcrypt/run.h>
#include <memcrypt/sev_api.h>
#include <memcrypt/snp_api.h>
#include <memcrypt/snp_report.h>
#include <memcrypt/snp_verify.h>
#include <memcrypt/vmsa.h>

#include "cli.h"
#include "cli_util.h"
#include "cli_progress.h"
#include "viz.h"
#include "snp_out.h"
#include <memcrypt/crypto.h>


struct cli_ctx {
    const char *out_dir;
    const char *secret_header, *secret_payload;
    unsigned wait_s;
    bool json;
    struct mc_cli_progress progress;
};

static mc_status write_text(struct mc_outset *os, const char *dir, const char *name, const char *text,
                            struct mc_error *err)
{
    return mc_outset_add_in(os, dir, name, (const uint8_t *)text, strlen(text), err);
}

/* Read a base64 file written by virt-qemu-sev-validate; false while it is absent or incomplete. */
static bool read_b64(const char *path, uint8_t **out, size_t *len)
{
    uint8_t *buf;
    size_t n;
    if (mc_file_read(path, 1u << 20, &buf, &n, NULL) != MC_OK)
        return false;
    bool ok = false;
    if (n > 0) {
        *out = malloc(n);
        if (*out && mc_base64_decode((const char *)buf, n, *out, n, len, NULL) == MC_OK && *len > 0)
            ok = true;
        if (!ok) {
            free(*out);
            *out = NULL;
        }
    }
    free(buf);
    return ok;
}

/* Whether some process still has path open for writing, from a read lease (fcntl F_SETLEASE),
 * which Linux refuses with EAGAIN exactly then. 1: no writer; 0: a writer; -1: cannot tell (a
 * file system without leases, another user's file). The lease is dropped at once; a writer that
 * opens the file meanwhile waits for the drop, and its lease-break signal (SIGIO) is ignored. */
static int no_writer(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return -1;
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGIO, &ign, &old);
    int r = fcntl(fd, F_SETLEASE, F_RDLCK);
    int e = errno;
    if (r == 0)
        fcntl(fd, F_SETLEASE, F_UNLCK);
    close(fd);
    sigaction(SIGIO, &old, NULL);
    return r == 0 ? 1 : e == EAGAIN ? 0 : -1;
}

static mc_status on_measured(void *vctx, const struct mc_run_report *r, uint8_t **hdr, size_t *hdr_len,
                             uint8_t **payload, size_t *payload_len, struct mc_error *err)
{
    struct cli_ctx *c = vctx;
    if (c->out_dir) {
        char b64[80], num[32];
        struct mc_outset *os = NULL;
        mc_status st = mc_outset_create(&os, err);
        if (!st)
            st = mc_outset_dir(os, c->out_dir, MC_CLI_DIR_MODE, err);
        /* SEV-ES: the VMSA pages as measured, for virt-qemu-sev-validate --vmsa-cpu0/--vmsa-cpu1. */
        for (unsigned i = 0; !st && r->es && i < (r->vcpus > 1 ? 2u : 1u); i++) {
            char name[32];
            snprintf(name, sizeof name, "vmsa-cpu%u.bin", i);
            st = mc_outset_add_in(os, c->out_dir, name, r->vmsa[i], sizeof r->vmsa[i], err);
        }
        /* "policy" is put in place last: its presence means the set is complete. */
        mc_base64_encode(r->measurement, sizeof r->measurement, b64);
        if (!st)
            st = write_text(os, c->out_dir, "measurement", b64, err);
        snprintf(num, sizeof num, "%u", r->api_major);
        if (!st)
            st = write_text(os, c->out_dir, "api-major", num, err);
        snprintf(num, sizeof num, "%u", r->api_minor);
        if (!st)
            st = write_text(os, c->out_dir, "api-minor", num, err);
        snprintf(num, sizeof num, "%u", r->build);
        if (!st)
            st = write_text(os, c->out_dir, "build-id", num, err);
        snprintf(num, sizeof num, "%u", r->policy);
        if (!st)
            st = write_text(os, c->out_dir, "policy", num, err);
        if (!st)
            st = mc_outset_commit(os, err);
        mc_outset_destroy(os);
        if (st)
            return st;
    }
    if (!c->secret_header)
        return MC_OK;
    if (c->progress.active)
        mc_cli_progress_set(&c->progress, "measured; waiting for the secret header and payload files", 0, 0);
    else if (!c->json)
        fprintf(stderr, "memcrypt run: measured; waiting up to %u s for %s and %s\n", c->wait_s, c->secret_header,
                c->secret_payload);
    time_t end = time(NULL) + (time_t)c->wait_s;
    for (;;) {
        uint8_t *h = NULL, *p = NULL;
        size_t hl = 0, pl = 0;
        int quiet = 0;
        if (read_b64(c->secret_header, &h, &hl) && read_b64(c->secret_payload, &p, &pl)) {
            /* The writer may still be writing: take the files once no process has them open for
             * writing and they read the same again; where that cannot be told, once they read the
             * same 200 ms later. */
            int qh = no_writer(c->secret_header), qp = no_writer(c->secret_payload);
            quiet = qh && qp ? (qh < 0 || qp < 0 ? -1 : 1) : 0;
        }
        if (quiet) {
            if (quiet < 0) {
                struct timespec ts = {0, 200 * 1000 * 1000};
                nanosleep(&ts, NULL);
            }
            uint8_t *h2 = NULL, *p2 = NULL;
            size_t hl2 = 0, pl2 = 0;
            bool same = read_b64(c->secret_header, &h2, &hl2) && read_b64(c->secret_payload, &p2, &pl2) &&
                        hl2 == hl && pl2 == pl && !memcmp(h2, h, hl) && !memcmp(p2, p, pl);
            free(h2);
            free(p2);
            if (same) {
                *hdr = h;
                *hdr_len = hl;
                *payload = p;
                *payload_len = pl;
                return MC_OK;
            }
        }
        free(h);
        free(p);
        if (time(NULL) >= end)
            return mc_seterr(err, MC_E_IO, "no secret header/payload appeared in %s and %s within %u s",
                             c->secret_header, c->secret_payload, c->wait_s);
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static void on_progress(void *vctx, const char *phase, uint64_t done, uint64_t total)
{
    struct cli_ctx *c = vctx;
    const char *what = !strcmp(phase, "boot")            ? "booting the platform (a new chip makes its RSA-4096 keys)"
                       : !strcmp(phase, "launch-update") ? "LAUNCH_UPDATE_DATA"
                       : !strcmp(phase, "workload")      ? "running the guest workload"
                                                         : phase;
    mc_cli_progress_set(&c->progress, what, done, total);
}

static void hexline(const char *label, const uint8_t *p, size_t n)
{
    printf("  %-22s ", label);
    for (size_t i = 0; i < n; i++)
        printf("%02x", p[i]);
    printf("\n");
}

/* Printable text or hex of a 64-byte line. */
static void show_line(const char *who, const uint8_t *p, const char *note)
{
    bool text = true;
    size_t n = 0;
    while (n < 64 && p[n])
        n++;
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x20 || p[i] >= 0x7f)
            text = false;
    for (size_t i = n; i < 64; i++)
        if (p[i])
            text = false;
    if (text && n > 0)
        printf("    %-22s \"%.*s\"%s\n", who, (int)n, (const char *)p, note);
    else {
        printf("    %-22s ", who);
        for (size_t i = 0; i < 24; i++)
            printf("%02x ", p[i]);
        printf("...%s\n", note);
    }
}

static const char *policy_text(uint32_t p, char *buf, size_t n)
{
    static const char *const names[] = {"NODBG", "NOKS", "ES", "NOSEND", "DOMAIN", "SEV"};
    buf[0] = 0;
    for (int i = 0; i < 6; i++)
        if (p & (1u << i)) {
            strncat(buf, buf[0] ? "|" : "", n - strlen(buf) - 1);
            strncat(buf, names[i], n - strlen(buf) - 1);
        }
    if (p >> 16) {
        char v[32];
        snprintf(v, sizeof v, "%sAPI>=%u.%u", buf[0] ? "|" : "", (p >> 16) & 0xff, p >> 24);
        strncat(buf, v, n - strlen(buf) - 1);
    }
    if (!buf[0])
        snprintf(buf, n, "none");
    return buf;
}

static void json_view(struct mc_json *j, const char *key, const struct mc_run_view *v)
{
    mc_json_obj(j, key);
    mc_json_hex64(j, "gpa", v->gpa);
    mc_json_hex64(j, "spa", v->spa);
    mc_json_hexbytes(j, "guest", v->guest, 64);
    mc_json_hexbytes(j, "hypervisor", v->hypervisor, 64);
    mc_json_hexbytes(j, "host_key", v->host_key, 64);
    mc_json_hexbytes(j, "bus", v->bus, 64);
    mc_json_end(j);
}

static void print_json(const struct mc_run_report *r)
{
    struct mc_json j;
    mc_json_begin(&j, stdout);
    mc_json_obj(&j, NULL);
    mc_json_str(&j, "domain", r->name);
    mc_json_str(&j, "platform", r->platform);
    mc_json_obj(&j, "firmware_api");
    mc_json_u64(&j, "major", r->api_major);
    mc_json_u64(&j, "minor", r->api_minor);
    mc_json_u64(&j, "build", r->build);
    mc_json_end(&j);
    mc_json_u64(&j, "memory_bytes", r->memory_bytes);
    mc_json_u64(&j, "vcpus", r->vcpus);
    mc_json_hex64(&j, "policy", r->policy);
    mc_json_bool(&j, "sev_es", r->es);
    mc_json_bool(&j, "df_flush_after_init", r->df_flush);
    mc_json_u64(&j, "dirty_asids_after_init", r->dirty_asids_after_init);
    mc_json_u64(&j, "handle", r->handle);
    mc_json_u64(&j, "asid", r->asid);
    mc_json_str(&j, "firmware", r->firmware);
    mc_json_u64(&j, "firmware_bytes", r->firmware_size);
    mc_json_bool(&j, "kernel_hashes", r->kernel_hashes);
    mc_json_u64(&j, "launch_bytes", r->launch_bytes);
    mc_json_double(&j, "launch_update_seconds", r->update_seconds);
    mc_json_double(&j, "launch_seconds", r->launch_seconds);
    mc_json_obj(&j, "phase_seconds");
    mc_json_double(&j, "platform_boot", r->boot_seconds);
    mc_json_double(&j, "init", r->init_seconds);
    mc_json_double(&j, "pdh_export_and_session", r->channel_seconds);
    mc_json_double(&j, "launch_start_to_finish", r->guest_launch_seconds);
    mc_json_double(&j, "workload", r->workload_seconds);
    mc_json_end(&j);
    mc_json_str(&j, "owner", r->owner);
    mc_json_bool(&j, "channel", r->channel);
    mc_json_hexbytes(&j, "launch_digest", r->launch_digest, 32);
    char b64[80];
    mc_base64_encode(r->measurement, sizeof r->measurement, b64);
    mc_json_str(&j, "measurement", b64);
    mc_json_hexbytes(&j, "measure", r->measurement, 32);
    mc_json_hexbytes(&j, "mnonce", r->measurement + 32, 16);
    if (r->owner_knows_tik)
        mc_json_bool(&j, "measurement_verified", r->measurement_ok);
    else
        mc_json_null(&j, "measurement_verified");
    mc_json_obj(&j, "secret");
    mc_json_bool(&j, "injected", r->secret_len > 0);
    mc_json_bool(&j, "external", r->external_secret);
    mc_json_hex64(&j, "gpa", r->secret_gpa);
    mc_json_u64(&j, "bytes", r->secret_len);
    mc_json_bool(&j, "firmware_area", r->secret_area_from_firmware);
    if (r->workload) {
        /* The text only for the built-in demo secret; a user's secret shows as length and digest. */
        if (r->secret_seen[0])
            mc_json_str(&j, "guest_read", r->secret_seen);
        else
            mc_json_null(&j, "guest_read");
        mc_json_u64(&j, "guest_read_bytes", r->secret_seen_len);
        mc_json_hexbytes(&j, "guest_read_sha256", r->secret_seen_sha256, 32);
        mc_json_bool(&j, "matches", r->secret_ok);
    }
    mc_json_end(&j);
    mc_json_str(&j, "guest_state", mc_sev_gstate_name(r->final_state));
    if (r->workload) {
        json_view(&j, "private_page", &r->priv);
        json_view(&j, "shared_page", &r->shared);
        mc_json_obj(&j, "wrong_asid");
        mc_json_u64(&j, "asid", r->wrong_asid);
        mc_json_bool(&j, "plaintext_hidden", r->wrong_asid_garbage);
        mc_json_str(&j, "note", r->wrong_asid_note);
        mc_json_end(&j);
        mc_json_obj(&j, "bounce_io");
        mc_json_bool(&j, "ok", r->io_ok);
        mc_json_bool(&j, "direct_read_is_ciphertext", r->io_direct_ciphertext);
        mc_json_strn(&j, "device_saw", (const char *)r->io_device_saw, strnlen((const char *)r->io_device_saw, 32));
        mc_json_end(&j);
    }
    if (r->saved) {
        mc_json_obj(&j, "saved");
        mc_json_u64(&j, "bytes", r->saved_bytes);
        mc_json_end(&j);
    }
    mc_json_finish(&j);
}

static const char *lf_flags_text(uint64_t f, char *buf, size_t n)
{
    snprintf(buf, n, "%s%s%s%s", f & MC_SNP_LF_ID_BLOCK_EN ? "ID_BLOCK_EN " : "",
             f & MC_SNP_LF_AUTH_KEY_EN ? "AUTH_KEY_EN " : "", f & MC_SNP_LF_VCEK_DIS ? "VCEK_DISABLED " : "",
             f ? "" : "none");
    size_t k = strlen(buf);
    if (k && buf[k - 1] == ' ')
        buf[k - 1] = 0;
    return buf;
}

static void print_snp_json(const struct mc_run_report *r)
{
    const struct mc_run_snp *sn = &r->snp;
    struct mc_json j;
    char buf[96];
    mc_json_begin(&j, stdout);
    mc_json_obj(&j, NULL);
    mc_json_str(&j, "domain", r->name);
    mc_json_str(&j, "platform", r->platform);
    mc_json_str(&j, "launch_security", "sev-snp");
    mc_json_obj(&j, "firmware_api");
    mc_json_u64(&j, "major", sn->abi_major);
    mc_json_u64(&j, "minor", sn->abi_minor);
    mc_json_u64(&j, "build", sn->fw_build);
    mc_json_hex64(&j, "current_tcb", sn->current_tcb);
    mc_json_hex64(&j, "reported_tcb", sn->reported_tcb);
    mc_json_end(&j);
    mc_json_u64(&j, "memory_bytes", r->memory_bytes);
    mc_json_u64(&j, "vcpus", r->vcpus);
    mc_json_str(&j, "vcpu_type", sn->vcpu_type);
    mc_json_str(&j, "vcpu_source", sn->vcpu_source);
    mc_json_hex64(&j, "vcpu_sig", sn->vcpu_sig);
    mc_json_obj(&j, "cpuid_page");
    mc_json_hex64(&j, "gpa", sn->cpuid_gpa);
    mc_json_u64(&j, "entries", sn->cpuid_entries);
    mc_json_bool(&j, "guest_read", sn->guest_cpuid_read);
    mc_json_hex64(&j, "guest_fn1_eax", sn->guest_cpuid_sig);
    mc_json_u64(&j, "guest_cbitpos", sn->guest_cpuid_cbit);
    mc_json_end(&j);
    mc_json_hex64(&j, "guest_features", sn->guest_features);
    mc_json_hex64(&j, "policy", sn->policy);
    mc_json_hexbytes(&j, "guest_visible_workarounds", sn->gosvw, 16);
    mc_json_u64(&j, "asid", r->asid);
    mc_json_str(&j, "firmware", r->firmware);
    mc_json_u64(&j, "firmware_bytes", r->firmware_size);
    mc_json_bool(&j, "kernel_hashes", r->kernel_hashes);
    mc_json_obj(&j, "launch");
    mc_json_u64(&j, "pages", sn->launch_pages);
    mc_json_obj(&j, "pages_by_type");
    for (unsigned t = 1; t < 7; t++)
        if (sn->pages_by_type[t])
            mc_json_u64(&j, mc_snp_page_type_name(t), sn->pages_by_type[t]);
    mc_json_end(&j);
    mc_json_hex64(&j, "secrets_gpa", sn->secrets_gpa);
    if (sn->cpuid_gpa)
        mc_json_hex64(&j, "cpuid_gpa", sn->cpuid_gpa);
    else
        mc_json_null(&j, "cpuid_gpa");
    mc_json_str(&j, "finish_flags", lf_flags_text(sn->finish_flags, buf, sizeof buf));
    mc_json_hexbytes(&j, "host_data", sn->host_data, 32);
    mc_json_str(&j, "guest_state", mc_snp_gstate_name(sn->guest_state));
    mc_json_hexbytes(&j, "firmware_digest", sn->firmware_digest, 48);
    mc_json_hexbytes(&j, "expected_measurement", sn->expected_measurement, 48);
    mc_json_u64(&j, "log_steps", sn->log_steps);
    mc_json_u64(&j, "owner_steps", sn->owner_steps);
    mc_json_bool(&j, "log_identical", sn->log_identical);
    if (!sn->log_identical) {
        mc_json_u64(&j, "log_diff_step", sn->log_diff_index);
        mc_json_str(&j, "log_diff", sn->log_diff);
    }
    mc_json_double(&j, "launch_update_seconds", r->update_seconds);
    mc_json_double(&j, "launch_seconds", r->launch_seconds);
    mc_json_end(&j);
    mc_json_hexbytes(&j, "nonce", sn->nonce, 64);
    mc_json_u64(&j, "report_status", sn->report_status);
    mc_json_str(&j, "report_status_name", mc_fw_status_name(sn->report_status));
    struct mc_snp_report rep;
    if (sn->have_report && mc_snp_report_decode(sn->report, sizeof sn->report, &rep, NULL) == MC_OK) {
        mc_json_obj(&j, "report");
        mc_cli_report_json(&j, &rep, mc_cli_report_layout_gen(&rep, MC_SNP_GEN_MILAN));
        mc_json_end(&j);
        mc_json_u64(&j, "certificate_table_bytes", sn->certs_bytes);
    } else {
        mc_json_null(&j, "report");
    }
    mc_json_arr(&j, "checks");
    for (size_t i = 0; i < sn->nchecks; i++) {
        mc_json_obj(&j, NULL);
        mc_json_str(&j, "name", sn->checks[i].name);
        mc_json_str(&j, "result", mc_check_state_name((enum mc_check_state)sn->checks[i].state));
        mc_json_str(&j, "reason", sn->checks[i].reason);
        mc_json_end(&j);
    }
    mc_json_end(&j);
    mc_json_bool(&j, "verified", sn->verified);
    if (r->saved) {
        mc_json_obj(&j, "saved");
        mc_json_u64(&j, "bytes", r->saved_bytes);
        mc_json_end(&j);
    }
    mc_json_finish(&j);
}

static void print_snp_text(const struct mc_run_report *r)
{
    const struct mc_run_snp *sn = &r->snp;
    char buf[96];
    printf("memcrypt run: domain '%s' on emulated platform %s (%s)\n", r->name, r->platform, r->generation);
    printf("  SEV-SNP firmware ABI %u.%u build %u, reported TCB 0x%016llx; memory %llu MiB, %u vCPU%s (%s,\n"
           "  CPUID(1).EAX 0x%x), SEV_FEATURES 0x%llx\n",
           sn->abi_major, sn->abi_minor, sn->fw_build, (unsigned long long)sn->reported_tcb,
           (unsigned long long)(r->memory_bytes >> 20), r->vcpus, r->vcpus == 1 ? "" : "s", sn->vcpu_type, sn->vcpu_sig,
           (unsigned long long)sn->guest_features);
    printf("  policy 0x%llx -> SEV-SNP guest, ASID %u\n", (unsigned long long)sn->policy, r->asid);
    printf("  firmware %s (%llu KiB)%s\n", r->firmware, (unsigned long long)(r->firmware_size >> 10),
           r->kernel_hashes ? ", with the kernel hashes" : "");
    printf("\nlaunch (as QEMU/KVM drive it)\n");
    printf("  %-22s RMP set up and SNP_EN, SNP_INIT, WBINVD on every core, DF_FLUSH (as the Linux ccp driver)\n",
           "platform init");
    printf("  %-22s SNP_GCTX_CREATE, SNP_LAUNCH_START (policy, guest-visible workarounds), SNP_ACTIVATE\n", "guest context");
    printf("  %-22s %llu pages:", "SNP_LAUNCH_UPDATE", (unsigned long long)sn->launch_pages);
    for (unsigned t = 1; t < 7; t++)
        if (sn->pages_by_type[t])
            printf(" %llu %s", (unsigned long long)sn->pages_by_type[t], mc_snp_page_type_name(t));
    printf(" (%.3f s)\n", r->update_seconds);
    if (sn->cpuid_gpa)
        printf("  %-22s %u entries (QEMU's for %s, vCPU model from %s) at GPA 0x%llx, accepted by the firmware;\n"
               "  %-22s the guest reads Fn0000_0001 EAX 0x%x, C-bit %u there\n",
               "CPUID page", sn->cpuid_entries, sn->vcpu_type, sn->vcpu_source, (unsigned long long)sn->cpuid_gpa, "",
               sn->guest_cpuid_sig, sn->guest_cpuid_cbit);
    printf("  %-22s %s; HOST_DATA ", "SNP_LAUNCH_FINISH", lf_flags_text(sn->finish_flags, buf, sizeof buf));
    for (int i = 0; i < 32; i++)
        printf("%02x", sn->host_data[i]);
    printf("; guest state %s\n", mc_snp_gstate_name(sn->guest_state));
    hexline("firmware digest", sn->firmware_digest, 48);
    hexline("owner's measure", sn->expected_measurement, 48);
    if (sn->log_identical)
        printf("  %-22s %zu pages, the same as `memcrypt measure --transcript` step by step\n", "launch log",
               sn->log_steps);
    else
        printf("  %-22s %zu pages; the owner's transcript has %zu; they part at step %zu: %s\n", "launch log",
               sn->log_steps, sn->owner_steps, sn->log_diff_index, sn->log_diff);
    printf("  %-22s %.3f s\n", "whole launch", r->launch_seconds);
    printf("\nattestation (the guest asks through its message driver, the owner checks)\n");
    hexline("nonce (REPORT_DATA)", sn->nonce, 64);
    struct mc_snp_report rep;
    if (sn->have_report && mc_snp_report_decode(sn->report, sizeof sn->report, &rep, NULL) == MC_OK) {
        printf("  MSG_REPORT_RSP: a version %u report signed by the %s; the guest received %llu bytes of certificates\n\n",
               rep.version, mc_cli_signer_name(mc_snp_report_signer(&rep)), (unsigned long long)sn->certs_bytes);
        enum mc_snp_gen gen = mc_cli_report_layout_gen(&rep, MC_SNP_GEN_MILAN);
        mc_cli_report_text(&rep, gen, mc_snp_report_gen(&rep) != MC_SNP_GEN_UNKNOWN);
    } else {
        printf("  no report: STATUS %s\n", mc_fw_status_name(sn->report_status));
    }
    printf("\nthe guest owner's checks\n");
    for (size_t i = 0; i < sn->nchecks; i++)
        printf("  %-18s %-7s %s\n", sn->checks[i].name, mc_check_state_name((enum mc_check_state)sn->checks[i].state),
               sn->checks[i].reason);
    printf("verdict: %s\n", sn->verified ? "VERIFIED: the guest is what the owner launched, on an emulated SNP chip"
                                          : "NOT VERIFIED (see the failed checks)");
    if (r->saved)
        printf("saved: the running guest, %llu bytes (kind 3, SEV-SNP): memcrypt exec --state FILE --guest FILE\n",
               (unsigned long long)r->saved_bytes);
}

static void print_text(const struct mc_run_report *r)
{
    char pol[96];
    printf("memcrypt run: domain '%s' on emulated platform %s (%s)\n", r->name, r->platform, r->generation);
    printf("  SEV firmware API %u.%u build %u; memory %llu MiB, %u vCPU%s\n", r->api_major, r->api_minor, r->build,
           (unsigned long long)(r->memory_bytes >> 20), r->vcpus, r->vcpus == 1 ? "" : "s");
    printf("  policy 0x%x (%s) -> %s guest, handle %u, ASID %u\n", r->policy, policy_text(r->policy, pol, sizeof pol),
           r->es ? "SEV-ES" : "SEV", r->handle, r->asid);
    printf("  firmware %s (%llu KiB)%s\n", r->firmware, (unsigned long long)(r->firmware_size >> 10),
           r->kernel_hashes ? ", plus the kernel-hashes table" : "");
    printf("\nlaunch (as QEMU/KVM drive it)\n");
    if (r->df_flush)
        printf("  %-22s INIT, WBINVD on every core, DF_FLUSH (as the Linux ccp driver); %u ASIDs left dirty\n",
               "platform init", r->dirty_asids_after_init);
    printf("  %-22s %s\n", "guest owner", r->owner);
    printf("  %-22s %llu bytes in %.3f s (%.0f MB/s)\n", "LAUNCH_UPDATE_*", (unsigned long long)r->launch_bytes,
           r->update_seconds, r->update_seconds > 0 ? r->launch_bytes / r->update_seconds / 1e6 : 0.0);
    hexline("launch digest", r->launch_digest, 32);
    hexline("LAUNCH_MEASURE", r->measurement, 32);
    hexline("  mnonce", r->measurement + 32, 16);
    if (r->owner_knows_tik)
        printf("  %-22s %s\n", "owner check",
               r->measurement_ok ? "OK: MEASURE = HMAC(TIK, 0x04|api|build|policy|digest|mnonce) matches"
                                 : "MISMATCH");
    else
        printf("  %-22s not checked: the owner's TIK is not known here (give --tk)\n", "owner check");
    if (r->secret_len)
        printf("  %-22s %u bytes at GPA 0x%llx (%s)%s\n", "LAUNCH_SECRET", r->secret_len,
               (unsigned long long)r->secret_gpa,
               r->secret_area_from_firmware ? "the firmware's secret area"
                                            : "chosen here: the image publishes no secret area",
               r->external_secret ? ", sealed by the external guest owner" : "");
    else
        printf("  %-22s none\n", "LAUNCH_SECRET");
    printf("  %-22s guest state %s\n", "LAUNCH_FINISH", mc_sev_gstate_name(r->final_state));
    printf("  %-22s %.3f s (PDH export + session %.3f s, LAUNCH_START..FINISH %.3f s), %llu DRAM frames touched\n",
           "whole launch", r->launch_seconds, r->channel_seconds, r->guest_launch_seconds,
           (unsigned long long)r->dram_touched);
    if (r->saved)
        printf("  %-22s the running guest, %llu bytes of ciphertext (SEND_* to this chip's own PDH)\n", "saved",
               (unsigned long long)r->saved_bytes);
    if (!r->workload)
        return;
    printf("\nguest workload\n");
    char digest[65];
    mc_hex_encode(r->secret_seen_sha256, 32, digest);
    if (!r->secret_found)
        printf("  secret read by the guest: none found in the secret table\n");
    else if (r->secret_seen[0]) /* the built-in demo sentence: shown */
        printf("  secret read by the guest: \"%s\" (%s)\n", r->secret_seen,
               r->secret_ok ? "what the owner sent" : "DIFFERENT from what the owner sent");
    else /* the user's own secret: never printed */
        printf("  secret read by the guest: %u bytes, SHA-256 %s (%s)\n", r->secret_seen_len, digest,
               r->secret_ok ? "what the owner sent" : "DIFFERENT from what the owner sent");
    printf("\n  private page, GPA 0x%llx (C=1), frame 0x%llx\n", (unsigned long long)r->priv.gpa,
           (unsigned long long)r->priv.spa);
    show_line("guest reads", r->priv.guest, "");
    show_line("hypervisor (C=0)", r->priv.hypervisor, "  <- ciphertext");
    show_line("hypervisor (C=1)", r->priv.host_key, "  <- wrong key: garbage");
    show_line("bus snooper", r->priv.bus, "  <- ciphertext");
    if (r->wrong_asid_tried) {
        char who[32];
        snprintf(who, sizeof who, "guest run as ASID %u", r->wrong_asid);
        printf("    %-22s %s\n", who, r->wrong_asid_note);
    }
    printf("\n  shared page, GPA 0x%llx (C=0), frame 0x%llx\n", (unsigned long long)r->shared.gpa,
           (unsigned long long)r->shared.spa);
    show_line("guest reads", r->shared.guest, "");
    show_line("hypervisor (C=0)", r->shared.hypervisor, "");
    show_line("bus snooper", r->shared.bus, "");
    printf("\n  bounce-buffered I/O: the device read \"%.*s\" from the shared bounce buffer; the guest copied the\n"
           "  answer into private memory: %s\n",
           (int)strnlen((const char *)r->io_device_saw, 32), (const char *)r->io_device_saw,
           r->io_ok ? "OK" : "FAILED");
    printf("  a device reading the private page directly gets %s\n",
           r->io_direct_ciphertext ? "ciphertext" : "PLAINTEXT");
}

static void view_col(struct viz_view *v, const char *who, const uint8_t *b, const uint8_t *plain, const char *note)
{
    size_t c = v->ncols++;
    snprintf(v->col[c].who, sizeof v->col[c].who, "%s", who);
    memcpy(v->col[c].bytes, b, 64);
    v->col[c].n = 64;
    v->col[c].plaintext = !memcmp(b, plain, 64);
    snprintf(v->col[c].note, sizeof v->col[c].note, "%s", v->col[c].plaintext ? "the plaintext" : note);
}

static void view_of(struct viz_view *v, const char *what, const struct mc_run_view *p, bool c1)
{
    memset(v, 0, sizeof *v);
    snprintf(v->title, sizeof v->title, "%s, GPA 0x%llx (C=%d), frame 0x%llx", what, (unsigned long long)p->gpa, c1,
             (unsigned long long)p->spa);
    v->pfn = p->spa >> 12;
    view_col(v, "guest", p->guest, p->guest, "");
    view_col(v, "hypervisor (C=0)", p->hypervisor, p->guest, "ciphertext");
    if (c1)
        view_col(v, "hypervisor (C=1)", p->host_key, p->guest, "the host's SME key: garbage");
    view_col(v, "DRAM bus", p->bus, p->guest, "ciphertext");
}

/* --html: the memory map by key domain and the views of the private and shared pages. */
static int write_html(const char *cmd, const char *path, const struct mc_run_report *r, const struct viz_map *map)
{
    struct mc_error e;
    struct viz_pages pages;
    struct viz_layer layer;
    memset(&layer, 0, sizeof layer);
    mc_status st = viz_pages_from_map(map, &pages, &e);
    if (!st)
        st = viz_layer_key_domain(map, &pages, &layer, &e);
    if (!st) {
        char title[256], sub[256], pol[96];
        snprintf(title, sizeof title, "memcrypt run: domain '%s' on an emulated %s", r->name, r->platform);
        snprintf(sub, sizeof sub, "%s guest, ASID %u, policy 0x%x (%s), %zu pages written through the memory controller",
                 r->is_snp ? "SEV-SNP" : r->es ? "SEV-ES" : "SEV", r->asid, r->is_snp ? (uint32_t)r->snp.policy : r->policy, policy_text(r->policy, pol, sizeof pol), pages.n);
        struct viz_view views[2];
        struct viz_mark marks[2];
        size_t nv = 0;
        if (r->workload) {
            view_of(&views[nv++], "private page", &r->priv, true);
            view_of(&views[nv++], "shared page", &r->shared, false);
            marks[0] = (struct viz_mark){.pfn = r->priv.spa >> 12};
            marks[1] = (struct viz_mark){.pfn = r->shared.spa >> 12};
            snprintf(marks[0].label, sizeof marks[0].label, "the guest's private page");
            snprintf(marks[1].label, sizeof marks[1].label, "the guest's shared page");
        }
        static const char *const notes[] = {
            "The guest's memory is encrypted with its ASID's key: the firmware encrypted the launch image "
            "(LAUNCH_UPDATE_DATA) and every private (C=1) write of the guest uses that key. Pages the guest shares "
            "(C=0) and the host's own pages are not encrypted unless the host maps them with its SME key.",
        };
        struct viz_doc doc = {.title = title, .subtitle = sub, .pages = &pages, .layers = &layer, .nlayers = 1,
                              .views = views, .nviews = nv, .marks = marks, .nmarks = nv, .notes = notes, .nnotes = 1};
        st = viz_write_html(path, &doc, &e);
    }
    viz_layer_free(&layer);
    viz_pages_free(&pages);
    return st ? mc_cli_fail(cmd, &e) : MC_EXIT_OK;
}

static int read_key16(const char *path, uint8_t *out, size_t n, const char *what, const char *cmd)
{
    uint8_t *b;
    size_t len;
    struct mc_error e = {0};
    if (mc_file_read(path, 64, &b, &len, &e))
        return mc_cli_fail(cmd, &e);
    if (len != n) {
        free(b);
        return mc_cli_usage_error(cmd, "%s file '%s' holds %zu bytes; expected %zu", what, path, len, n);
    }
    memcpy(out, b, n);
    free(b);
    return 0;
}

enum { O_FIRMWARE = 1, O_TK, O_TEK, O_TIK, O_NO_SESSION, O_SECRET_FILE, O_SECRET_GPA, O_PLATFORM_ONLY,
       O_SECRET_HEADER, O_SECRET_PAYLOAD, O_WAIT, O_HTML, O_SAVE, O_VCPU_TYPE, O_GUEST_FEATURES, O_LAUNCH_LOG };

static const struct mc_opt run_opts[] = {
    {"firmware", 0, "PATH", "use this image instead of the XML's <loader>", O_FIRMWARE, MC_OPT_FILE},
    {"tk", 0, "FILE", "the guest owner's TEK||TIK (32 bytes; virt-qemu-sev-validate --tk)", O_TK, MC_OPT_FILE},
    {"tek", 0, "FILE", "the same as two 16-byte files: the TEK ...", O_TEK, MC_OPT_FILE},
    {"tik", 0, "FILE", "... and the TIK", O_TIK, MC_OPT_FILE},
    {"no-session", 0, NULL, "without dhCert in the XML, launch without a channel (zero keys)", O_NO_SESSION, 0},
    {"secret-file", 0, "FILE", "secret to inject (default: a demo sentence)", O_SECRET_FILE, MC_OPT_FILE},
    {"secret-gpa", 0, "ADDR", "guest address for the secret (default: the firmware's secret area)", O_SECRET_GPA, 0},
    {"platform-only", 0, NULL,
     "act as the platform only (no workload): with --out-dir, write\n"
     "measurement (base64 of MEASURE||MNONCE), api-major, api-minor,\n"
     "build-id and policy files (SEV-ES: also vmsa-cpu0.bin, vmsa-cpu1.bin);\n"
     "with --secret-header/--secret-payload, wait for the files\n"
     "virt-qemu-sev-validate --inject-secret writes and inject them",
     O_PLATFORM_ONLY, 0},
    {"secret-header", 0, "FILE", "with --platform-only: the secret header file to wait for", O_SECRET_HEADER,
     MC_OPT_FILE},
    {"secret-payload", 0, "FILE", "... and the secret payload file", O_SECRET_PAYLOAD, MC_OPT_FILE},
    {"wait", 0, "SECONDS", "how long to wait for them (default 60)", O_WAIT, 0},
    {"html", 0, "FILE", "also write a picture (one HTML file): physical memory page by page coloured by\n"
     "key domain, and what the guest, the hypervisor and the bus read of the same lines", O_HTML, MC_OPT_FILE},
    {"save", 0, "FILE", "at the end, save the running guest (ciphertext only) so that another\n"
     "process on the same chip (--state) can continue it: memcrypt migrate --guest FILE\n"
     "(SEV-SNP: memcrypt exec --guest FILE)", O_SAVE, MC_OPT_FILE},
    {"vcpu-type", 0, "NAME", "SEV-SNP: the vCPU model QEMU runs (EPYC-Milan, EPYC-Genoa, ...; as\n"
     "measure --vcpu-type); default: the domain's <cpu> (host-model, custom\n"
     "model, host-passthrough), else the platform's own processor (-cpu host)", O_VCPU_TYPE, 0},
    {"guest-features", 0, "VALUE", "SEV-SNP: the VMSAs' SEV_FEATURES (default 0x1; as measure --guest-features)",
     O_GUEST_FEATURES, 0},
    {"launch-log", 0, "FILE", "SEV-SNP: write the firmware's page-by-page launch log, in the form\n"
     "`memcrypt measure --transcript` prints (source column \"firmware\")", O_LAUNCH_LOG, MC_OPT_FILE},
    {0},
};

static int run_run(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    struct cli_ctx c = {.wait_s = 60};
    struct mc_run_opts o = {0};
    const char *tk = NULL, *tek = NULL, *tik = NULL, *secret_file = NULL;
    uint8_t tkb[32];
    int platform_only = 0;
    const char *html = NULL, *launch_log_path = NULL;
    struct mc_measure_transcript launch_log = {0};
    struct viz_map map = {0};
    struct mc_error e = {0};
    struct mc_args a;
    int ch;
    mc_args_init(&a, cmd, argc, argv);
    while ((ch = mc_args_next(&a)) > 0) {
        const char *val = a.val;
        uint64_t v;
        switch (ch) {
        case O_FIRMWARE: o.firmware = val; break;
        case O_TK: tk = val; break;
        case O_TEK: tek = val; break;
        case O_TIK: tik = val; break;
        case O_NO_SESSION: o.no_session = true; break;
        case O_SECRET_FILE: secret_file = val; break;
        case O_SECRET_GPA:
            if (mc_parse_u64(val, &v, &e) || (v & 15))
                return mc_cli_usage_error(argv[0], "--secret-gpa wants a 16-byte aligned address, not '%s'", val);
            o.has_secret_gpa = true;
            o.secret_gpa = v;
            break;
        case O_PLATFORM_ONLY: platform_only = 1; break;
        case O_SECRET_HEADER: c.secret_header = val; break;
        case O_SECRET_PAYLOAD: c.secret_payload = val; break;
        case O_HTML: html = val; break;
        case O_SAVE: o.save_path = val; break;
        case O_VCPU_TYPE: {
            uint32_t sig;
            if (mc_vcpu_type_sig(val, &sig, &e))
                return mc_cli_usage_error(argv[0], "--vcpu-type: %s", e.msg);
            o.vcpu_type = val;
            break;
        }
        case O_GUEST_FEATURES:
            if (mc_parse_u64(val, &v, &e))
                return mc_cli_usage_error(argv[0], "--guest-features wants a number, not '%s'", val);
            o.has_guest_features = true;
            o.guest_features = v;
            break;
        case O_LAUNCH_LOG: launch_log_path = val; break;
        case O_WAIT:
            if (mc_parse_u64(val, &v, &e) || v > 3600)
                return mc_cli_usage_error(argv[0], "--wait wants seconds (0..3600), not '%s'", val);
            c.wait_s = (unsigned)v;
            break;
        }
    }
    if (ch < 0)
        return a.rc;
    const int json = a.json;
    const char *seed = a.seed;
    o.platform = a.platform;
    o.state_path = a.state;
    if (a.state)
        o.state_wait_ms = mc_cli_state_wait_ms();
    c.out_dir = a.out_dir;
    o.owner_dir = a.out_dir; /* SEV-SNP: the owner's roots, report and certificates go there */
    if (launch_log_path)
        o.launch_log = &launch_log;
    if (tk && (tek || tik))
        return mc_cli_usage_error(argv[0], "--tk is mutually exclusive with --tek/--tik");
    if (o.save_path && !a.state)
        return mc_cli_usage_error(argv[0], "--save needs --state: only the chip that saved a guest can continue it");
    if (!!tek != !!tik)
        return mc_cli_usage_error(argv[0], "--tek and --tik go together");
    if (!!c.secret_header != !!c.secret_payload)
        return mc_cli_usage_error(argv[0], "--secret-header and --secret-payload go together");
    if (o.no_session && (tk || tek))
        return mc_cli_usage_error(argv[0], "--no-session launches with all-zero keys; --tk/--tek/--tik do not apply");
    if (tk) {
        int rc = read_key16(tk, tkb, 32, "--tk", argv[0]);
        if (rc)
            return rc;
    } else if (tek) {
        int rc = read_key16(tek, tkb, 16, "--tek", argv[0]);
        if (!rc)
            rc = read_key16(tik, tkb + 16, 16, "--tik", argv[0]);
        if (rc)
            return rc;
    }
    if (tk || tek) {
        o.tek = tkb;      /* TEK || TIK, as virt-qemu-sev-validate's --tk file */
        o.tik = tkb + 16;
    }
    if (c.secret_header && (access(c.secret_header, F_OK) == 0 || access(c.secret_payload, F_OK) == 0))
        return mc_cli_usage_error(argv[0], "%s or %s already exists; remove them so a stale secret is not injected",
                                  c.secret_header, c.secret_payload);

    uint8_t *secret = NULL;
    size_t secret_len = 0;
    if (secret_file) {
        if (mc_file_read(secret_file, 0x4000, &secret, &secret_len, &e))
            return mc_cli_fail(argv[0], &e);
        o.secret = secret;
        o.secret_len = secret_len;
    }
    if (seed) {
        o.seed = (const uint8_t *)seed;
        o.seed_len = strlen(seed);
    }
    o.default_firmware = MC_OVMF_DIR "/OVMF.fd";
    o.platform_only = platform_only;
    c.json = json;
    o.cb_ctx = &c;
    if (c.out_dir || c.secret_header)
        o.on_measured = on_measured;
    struct mc_lv_domain *d;
    if (mc_libvirt_load(a.pos[0], &d, &e)) {
        free(secret);
        return mc_cli_fail(argv[0], &e);
    }
    o.progress = on_progress;
    if (html) {
        o.write_observer = viz_map_observe;
        o.observer_ctx = &map;
    }
    struct mc_run_report r;
    mc_cli_progress_begin(&c.progress, argv[0], "starting");
    mc_status st = mc_run(d, &o, &r, &e);
    mc_cli_progress_end(&c.progress);
    if (secret) {
        mc_wipe(secret, secret_len);
        free(secret);
    }
    mc_libvirt_free(d);
    mc_wipe(tkb, sizeof tkb);
    if (!st && launch_log_path) {
        FILE *lf = NULL;
        char *text = NULL;
        size_t tlen = 0;
        if (!(lf = open_memstream(&text, &tlen))) {
            st = mc_seterr(&e, MC_E_NOMEM, "out of memory");
        } else {
            fprintf(lf, "# %zu measured steps, mode snp (the firmware's launch log)\n", launch_log.n);
            for (size_t i = 0; i < launch_log.n; i++)
                mc_cli_step_text(lf, &launch_log.rec[i]);
            fclose(lf);
            st = mc_file_write_atomic(launch_log_path, (const uint8_t *)text, tlen, &e);
        }
        free(text);
    }
    mc_measure_transcript_free(&launch_log);
    if (st) {
        viz_map_free(&map);
        return mc_cli_fail(argv[0], &e);
    }
    if (r.is_snp) {
        int hrc = html ? write_html(argv[0], html, &r, &map) : MC_EXIT_OK;
        viz_map_free(&map);
        if (hrc)
            return hrc;
        if (json)
            print_snp_json(&r);
        else
            print_snp_text(&r);
        return r.snp.verified ? MC_EXIT_OK : MC_EXIT_CHECK;
    }
    int hrc = html ? write_html(argv[0], html, &r, &map) : MC_EXIT_OK;
    viz_map_free(&map);
    if (hrc)
        return hrc;
    if (json)
        print_json(&r);
    else
        print_text(&r);
    bool bad = r.workload && ((r.secret_len && !r.secret_ok) || !r.io_ok || !r.io_direct_ciphertext ||
                              !r.wrong_asid_garbage);
    return bad ? MC_EXIT_CHECK : MC_EXIT_OK;
}

const struct mc_cli_cmd mc_cli_run[] = {
    {.path = "run",
     .summary = "launch a libvirt SEV or SEV-SNP domain on an emulated platform, attest it, show the views",
     .synopsis = "DOMAIN.xml [--platform NAME] [--seed S] [--state FILE] [--json] [--firmware PATH]\n"
                 "DOMAIN.xml [--tk FILE | --tek FILE --tik FILE] [--no-session] [--secret-file FILE] [--secret-gpa ADDR]\n"
                 "DOMAIN.xml [--html FILE] [--state FILE --save FILE]\n"
                 "SNP-DOMAIN.xml [--vcpu-type NAME] [--guest-features VALUE] [--launch-log FILE] [--out-dir DIR]\n"
                 "DOMAIN.xml --platform-only [--out-dir DIR] [--secret-header FILE --secret-payload FILE [--wait SECONDS]]",
     .about = "Boots an emulated platform (CPU profile, memory controller, SEV firmware), launches the\n"
              "domain as QEMU/KVM do (INIT, LAUNCH_START with the XML's policy and dhCert/session or a\n"
              "session made here, ACTIVATE, LAUNCH_UPDATE_DATA over the firmware image and the\n"
              "kernel-hashes table, LAUNCH_UPDATE_VMSA for SEV-ES, LAUNCH_MEASURE), plays the guest owner\n"
              "(recomputes the launch digest and MEASURE, injects a secret with LAUNCH_SECRET),\n"
              "LAUNCH_FINISH, then runs a guest workload: reads the secret, writes private and shared\n"
              "data, bounce-buffered device I/O. The report shows, side by side, what the guest, the\n"
              "hypervisor and a bus snooper see of the same page.\n"
              "\n"
              "A <launchSecurity type='sev-snp'> domain (policy, guestVisibleWorkarounds, idBlock, idAuth,\n"
              "hostData, authorKey, vcek, kernelHashes) is launched in QEMU/KVM's SNP order: the RMP and SNP_INIT,\n"
              "SNP_GCTX_CREATE, SNP_LAUNCH_START with the policy, SNP_LAUNCH_UPDATE of OVMF and of the pages its\n"
              "SEV metadata names (zero, secrets, CPUID, unmeasured, kernel hashes), one VMSA per vCPU for\n"
              "--vcpu-type, SNP_LAUNCH_FINISH with ID block, ID auth and host data. The guest then asks for an\n"
              "attestation report with the owner's fresh nonce (GHCB guest request, VMPCK0), and the owner\n"
              "verifies it: the chain to the emulated chip's roots, MEASUREMENT against `memcrypt measure` of\n"
              "the same inputs, the firmware's launch log against the owner's transcript, policy, REPORT_DATA,\n"
              "HOST_DATA, ID key and author key digests. --out-dir keeps what the owner verified with (roots,\n"
              "report.bin, certs.bin) for `memcrypt report verify --roots DIR`.\n",
     .opts = run_opts,
     .common = MC_CO_PLATFORM | MC_CO_SEED | MC_CO_STATE | MC_CO_OUT_DIR | MC_CO_JSON,
     .platform_default = "milan",
     .args = "DOMAIN.xml",
     .min_args = 1,
     .max_args = 1,
     .notes = "Exit status: 0 the launch and every check of the workload (SNP: of the owner) passed, 1 a check failed,\n"
              "2 usage, 3 error (the message names the step and the firmware status).\n",
     .examples = "memcrypt run examples/sev-guest.xml\n"
                 "memcrypt run examples/sev-es-guest.xml --platform milan --json\n"
                 "d=$(mktemp -d)\n"
                 "memcrypt run examples/sev-guest.xml --seed 1 --html $d/run.html   # open it in a browser\n"
                 "memcrypt run examples/sev-guest.xml --seed 1 --state $d/a.state --save $d/guest.sev\n"
                 "memcrypt run examples/sev-snp-guest.xml --vcpu-type EPYC-Milan --json --out-dir $d/owner\n"
                 "memcrypt report verify $d/owner/report.bin --roots $d/owner --cert-table $d/owner/certs.bin\n",
     .run = run_run},
    {0},
};
