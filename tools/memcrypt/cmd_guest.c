/* memcrypt guest report | guest key — what a program inside an SEV-SNP guest asks its firmware.
 * Both speak only the kernel's ABI (<linux/sev-guest.h>, /dev/sev-guest), so they run unchanged
 * inside a real SNP guest and inside `memcrypt exec --state S --guest G` (the emulated device). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/sev-guest.h>
#include <openssl/rand.h>

#include <memcrypt/bytes.h>
#include <memcrypt/crypto.h>
#include <memcrypt/fileio.h>
#include <memcrypt/json.h>
#include <memcrypt/snp_report.h>

#include "cli.h"
#include "snp_out.h"

#define DEV "/dev/sev-guest"
/* MSG_REPORT_RSP / MSG_KEY_RSP in the response buffer (SNP ABI): STATUS at 0, REPORT_SIZE at 4,
 * the report (or the 32-byte key) at 0x20. */
#define RSP_REPORT 0x20u
#define VMM_INVALID_LEN 1u /* exitinfo2's upper half: the certificate buffer is too small */

static int dev_open(const char *path)
{
    int fd = open(DEV, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        mc_cli_error(path, MC_EXIT_ERROR,
                     "cannot open %s: %s (run it inside an SEV-SNP guest, or under "
                     "memcrypt exec --state FILE --guest GUEST)",
                     DEV, strerror(errno));
    return fd;
}

/* One request; 0 or the errno, with exitinfo2 (the firmware's status in its low half). */
static int request(int fd, unsigned long nr, void *req, void *resp, uint64_t *exitinfo2)
{
    struct snp_guest_request_ioctl g = {.msg_version = 1, .req_data = (uintptr_t)req, .resp_data = (uintptr_t)resp};
    int rc = ioctl(fd, nr, &g) < 0 ? errno : 0;
    *exitinfo2 = g.exitinfo2;
    return rc;
}

static int ioctl_fail(const char *path, const char *what, int rc, uint64_t e2)
{
    return mc_cli_error(path, MC_EXIT_ERROR, "%s: %s (exitinfo2 0x%llx: firmware status 0x%x, VMM error %u)", what,
                        strerror(rc), (unsigned long long)e2, (unsigned)(e2 & 0xFFFFFFFFu), (unsigned)(e2 >> 32));
}

enum { O_DATA = 1, O_RANDOM, O_VMPL, O_EXT, O_OUT, O_CERTS };
static const struct mc_opt report_opts[] = {
    {"report-data", 0, "HEX", "REPORT_DATA: up to 64 bytes in hex, zero-padded on the right (default: zeros)", O_DATA, 0},
    {"random", 0, NULL, "REPORT_DATA: 64 random bytes (printed)", O_RANDOM, 0},
    {"vmpl", 0, "N", "the VMPL the report names (0-3; the guest's own or higher; default 0)", O_VMPL, 0},
    {"extended", 0, NULL, "SNP_GET_EXT_REPORT: also the host's certificate table", O_EXT, 0},
    {"out", 0, "FILE", "write the raw report (0x4A0 bytes)", O_OUT, MC_OPT_FILE},
    {"certs", 0, "FILE", "with --extended: write the certificate table (GUID table and certificates)", O_CERTS,
     MC_OPT_FILE},
    {0},
};

static int run_report(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    struct mc_args a;
    mc_args_init(&a, cmd, argc, argv);
    const char *data = NULL, *out = NULL, *certs_out = NULL;
    bool random = false, ext = false;
    uint64_t vmpl = 0;
    int c;
    while ((c = mc_args_next(&a)) > 0) {
        switch (c) {
        case O_DATA: data = a.val; break;
        case O_RANDOM: random = true; break;
        case O_VMPL:
            if (mc_args_u64(&a, &vmpl, 3))
                return MC_EXIT_USAGE;
            break;
        case O_EXT: ext = true; break;
        case O_OUT: out = a.val; break;
        case O_CERTS: certs_out = a.val; break;
        }
    }
    if (c < 0)
        return a.rc;
    if (data && random)
        return mc_cli_usage_error(argv[0], "--report-data and --random exclude each other");
    if (certs_out && !ext)
        return mc_cli_usage_error(argv[0], "--certs needs --extended");
    struct snp_ext_report_req req;
    memset(&req, 0, sizeof req);
    req.data.vmpl = (uint32_t)vmpl;
    struct mc_error e = {0};
    if (data) {
        size_t n = 0;
        if (mc_hex_decode(data, req.data.user_data, sizeof req.data.user_data, &n, &e))
            return mc_cli_usage_error(argv[0], "--report-data: %s", e.msg);
    } else if (random && RAND_bytes(req.data.user_data, sizeof req.data.user_data) != 1) {
        return mc_cli_error(argv[0], MC_EXIT_ERROR, "no random bytes from OpenSSL");
    }
    int fd = dev_open(argv[0]);
    if (fd < 0)
        return MC_EXIT_ERROR;
    struct snp_report_resp resp;
    memset(&resp, 0, sizeof resp);
    uint64_t e2 = 0;
    void *certs = NULL;
    int rc;
    if (!ext) {
        rc = request(fd, SNP_GET_REPORT, &req.data, &resp, &e2);
    } else { /* as snpguest does: learn the table's length first, then ask with a buffer that large */
        rc = request(fd, SNP_GET_EXT_REPORT, &req, &resp, &e2);
        if (rc == EIO && (e2 >> 32) == VMM_INVALID_LEN && req.certs_len && req.certs_len <= (64u << 20)) {
            certs = aligned_alloc(4096, ((size_t)req.certs_len + 4095) & ~(size_t)4095);
            if (!certs) {
                close(fd);
                return mc_cli_error(argv[0], MC_EXIT_ERROR, "out of memory");
            }
            memset(certs, 0, req.certs_len);
            req.certs_address = (uintptr_t)certs;
            rc = request(fd, SNP_GET_EXT_REPORT, &req, &resp, &e2);
        }
    }
    close(fd);
    if (rc) {
        free(certs);
        return ioctl_fail(argv[0], ext ? "SNP_GET_EXT_REPORT" : "SNP_GET_REPORT", rc, e2);
    }
    uint32_t status = mc_le32(resp.data), size = mc_le32(resp.data + 4);
    struct mc_snp_report r;
    if (status || size != MC_SNP_REPORT_SIZE) {
        free(certs);
        return mc_cli_error(argv[0], MC_EXIT_ERROR, "MSG_REPORT_RSP: status 0x%x, report size %u", status, size);
    }
    if (mc_snp_report_decode(resp.data + RSP_REPORT, MC_SNP_REPORT_SIZE, &r, &e)) {
        free(certs);
        return mc_cli_fail(argv[0], &e);
    }
    mc_status s = MC_OK;
    if (out)
        s = mc_file_write_atomic(out, resp.data + RSP_REPORT, MC_SNP_REPORT_SIZE, &e);
    if (!s && certs_out)
        s = mc_file_write_atomic(certs_out, certs ? (const uint8_t *)certs : (const uint8_t *)"", certs ? req.certs_len : 0, &e);
    free(certs);
    if (s)
        return mc_cli_fail(argv[0], &e);
    enum mc_snp_gen gen = mc_cli_report_layout_gen(&r, MC_SNP_GEN_MILAN);
    if (a.json) {
        struct mc_json j;
        mc_json_begin(&j, stdout);
        mc_json_obj(&j, NULL);
        mc_json_bool(&j, "extended", ext);
        if (ext)
            mc_json_u64(&j, "certs_len", req.certs_len);
        mc_json_obj(&j, "report");
        mc_cli_report_json(&j, &r, gen);
        mc_json_end(&j);
        mc_json_finish(&j);
    } else {
        mc_cli_report_text(&r, gen, true);
        if (ext)
            printf("certificate table: %u bytes%s%s\n", req.certs_len, certs_out ? " in " : "", certs_out ? certs_out : "");
    }
    return MC_EXIT_OK;
}

enum { K_ROOT = 1, K_VMPL, K_POLICY, K_IMAGE, K_FAMILY, K_MEAS, K_SVN, K_TCB, K_GSVN, K_TCBV, K_OUT };
static const struct mc_opt key_opts[] = {
    {"root", 0, "vcek|vmrk", "the root key the key is derived from (default vcek)", K_ROOT, 0},
    {"vmpl", 0, "N", "the VMPL mixed into the key (the guest's own or higher; default 0)", K_VMPL, 0},
    {"policy", 0, NULL, "mix in the guest policy (GUEST_FIELD_SELECT bit 0)", K_POLICY, 0},
    {"image-id", 0, NULL, "mix in the image ID (bit 1)", K_IMAGE, 0},
    {"family-id", 0, NULL, "mix in the family ID (bit 2)", K_FAMILY, 0},
    {"measurement", 0, NULL, "mix in the launch measurement (bit 3)", K_MEAS, 0},
    {"svn", 0, NULL, "mix in the guest SVN given by --guest-svn (bit 4)", K_SVN, 0},
    {"tcb", 0, NULL, "mix in the TCB version given by --tcb-version (bit 5)", K_TCB, 0},
    {"guest-svn", 0, "N", "GUEST_SVN (at most the ID block's)", K_GSVN, 0},
    {"tcb-version", 0, "N", "TCB_VERSION (at most the committed TCB)", K_TCBV, 0},
    {"out", 0, "FILE", "write the 32-byte key (raw) instead of printing it", K_OUT, MC_OPT_FILE},
    {0},
};

static int run_key(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    struct mc_args a;
    mc_args_init(&a, cmd, argc, argv);
    struct snp_derived_key_req req;
    memset(&req, 0, sizeof req);
    const char *out = NULL;
    uint64_t v = 0;
    int c;
    while ((c = mc_args_next(&a)) > 0) {
        switch (c) {
        case K_ROOT:
            if (strcmp(a.val, "vcek") && strcmp(a.val, "vmrk"))
                return mc_cli_usage_error(argv[0], "--root: vcek or vmrk, not '%s'", a.val);
            req.root_key_select = !strcmp(a.val, "vmrk");
            break;
        case K_VMPL:
            if (mc_args_u64(&a, &v, 3))
                return MC_EXIT_USAGE;
            req.vmpl = (uint32_t)v;
            break;
        case K_POLICY: req.guest_field_select |= 1u << 0; break;
        case K_IMAGE: req.guest_field_select |= 1u << 1; break;
        case K_FAMILY: req.guest_field_select |= 1u << 2; break;
        case K_MEAS: req.guest_field_select |= 1u << 3; break;
        case K_SVN: req.guest_field_select |= 1u << 4; break;
        case K_TCB: req.guest_field_select |= 1u << 5; break;
        case K_GSVN:
            if (mc_args_u64(&a, &v, UINT32_MAX))
                return MC_EXIT_USAGE;
            req.guest_svn = (uint32_t)v;
            break;
        case K_TCBV:
            if (mc_args_u64(&a, &v, UINT64_MAX))
                return MC_EXIT_USAGE;
            req.tcb_version = v;
            break;
        case K_OUT: out = a.val; break;
        }
    }
    if (c < 0)
        return a.rc;
    int fd = dev_open(argv[0]);
    if (fd < 0)
        return MC_EXIT_ERROR;
    struct snp_derived_key_resp resp;
    memset(&resp, 0, sizeof resp);
    uint64_t e2 = 0;
    int rc = request(fd, SNP_GET_DERIVED_KEY, &req, &resp, &e2);
    close(fd);
    if (rc)
        return ioctl_fail(argv[0], "SNP_GET_DERIVED_KEY", rc, e2);
    uint32_t status = mc_le32(resp.data);
    if (status)
        return mc_cli_error(argv[0], MC_EXIT_ERROR, "MSG_KEY_RSP: status 0x%x", status);
    const uint8_t *key = resp.data + RSP_REPORT;
    char hex[65];
    mc_hex_encode(key, 32, hex);
    struct mc_error e = {0};
    if (out && mc_file_write_atomic(out, key, 32, &e)) {
        mc_wipe(resp.data, sizeof resp.data);
        mc_wipe(hex, sizeof hex);
        return mc_cli_fail(argv[0], &e);
    }
    if (a.json) {
        struct mc_json j;
        mc_json_begin(&j, stdout);
        mc_json_obj(&j, NULL);
        mc_json_str(&j, "root", req.root_key_select ? "vmrk" : "vcek");
        mc_json_u64(&j, "vmpl", req.vmpl);
        mc_json_u64(&j, "guest_field_select", req.guest_field_select);
        mc_json_u64(&j, "guest_svn", req.guest_svn);
        mc_json_u64(&j, "tcb_version", req.tcb_version);
        if (!out)
            mc_json_str(&j, "key", hex);
        mc_json_finish(&j);
    } else if (!out) {
        printf("%s\n", hex);
    }
    mc_wipe(resp.data, sizeof resp.data);
    mc_wipe(hex, sizeof hex);
    return MC_EXIT_OK;
}

#define GUEST_SETUP                                                                                                  \
    "d=$(mktemp -d)\n"                                                                                               \
    "memcrypt run examples/sev-snp-guest.xml --vcpu-type EPYC-Milan --state $d/chip.state --save $d/guest.snp\n"

const struct mc_cli_cmd mc_cli_guest[] = {
    {.path = "guest report",
     .summary = "ask the SEV-SNP firmware for an attestation report (through /dev/sev-guest)",
     .synopsis = "[--report-data HEX | --random] [--vmpl N] [--extended [--certs FILE]] [--out FILE] [--json]",
     .about = "Inside an SEV-SNP guest: asks the firmware for a report through the kernel's /dev/sev-guest\n"
              "(SNP_GET_REPORT, or SNP_GET_EXT_REPORT with --extended, first asking for the certificate\n"
              "table's length as snpguest does) and prints its fields. Only the kernel ABI is used, so it runs\n"
              "the same on real hardware and under `memcrypt exec --state FILE --guest GUEST`.\n",
     .opts = report_opts,
     .common = MC_CO_JSON,
     .notes = "Exit status: 0 a report, 2 usage, 3 error (the device's errno and exitinfo2).\n",
     .examples = GUEST_SETUP "memcrypt exec --state $d/chip.state --guest $d/guest.snp -- "
                             "memcrypt guest report --random --extended --out $d/report.bin --certs $d/certs.bin\n"
                             "memcrypt report show $d/report.bin\n",
     .run = run_report},
    {.path = "guest key",
     .summary = "derive a key from the SEV-SNP firmware (through /dev/sev-guest)",
     .synopsis = "[--root vcek|vmrk] [--vmpl N] [--policy] [--image-id] [--family-id] [--measurement] [--svn]\n"
                 "[--tcb] [--guest-svn N] [--tcb-version N] [--out FILE] [--json]",
     .about = "Inside an SEV-SNP guest: SNP_GET_DERIVED_KEY (MSG_KEY_REQ). The key is derived from the chip's\n"
              "VCEK (or the VM root key) and the fields chosen with the field options, so the same guest\n"
              "image on the same chip gets the same key and any change of a chosen field gives another.\n",
     .opts = key_opts,
     .common = MC_CO_JSON,
     .notes = "Exit status: 0 a key, 2 usage, 3 error (the device's errno and exitinfo2).\n",
     .examples = GUEST_SETUP "memcrypt exec --state $d/chip.state --guest $d/guest.snp -- memcrypt guest key --measurement "
                             "--policy\n",
     .run = run_key},
    {0},
};
