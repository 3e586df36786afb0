/* Fuzz target: the SNP guest-message path as the firmware runs it. The input is used twice:
 * (1) as a request page, unwrapped with known VMPCKs (header rules, authentication, sequence
 * numbers) and opened the guest's way; (2) as the pieces of a request that the fuzzer could not
 * forge — byte 0 message type, byte 1 message version, byte 2 VMPCK id, the rest the payload —
 * sealed correctly with the VMPCK, unwrapped, handed to the payload handler of its type, and the
 * response wrapped and opened again. Statuses are values, never crashes; a successful unwrap
 * yields exactly the payload that was sealed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/snp_guest_msg.h>

#include "crypto/crypto.h"

static struct mc_snp_identity *chip;
static struct mc_snp_vmpck keys[4];

static void setup(void)
{
    if (chip)
        return;
    mc_crypto_init();
    static const uint8_t seed[] = "fuzz guest message root seed";
    struct mc_snp_identity_params p = {.gen = MC_SNP_GEN_GENOA, .chip_secret = (const uint8_t *)"fuzz guest message chip secret..",
                                       .root_seed = seed, .root_seed_len = sizeof seed - 1, .root_bits = 2048};
    if (mc_snp_identity_create(&p, &chip, NULL) != MC_OK)
        abort();
    for (int i = 0; i < 4; i++)
        memset(keys[i].key, 0x11 * (i + 1), sizeof keys[i].key);
}

static void ctx_init(struct mc_snp_msg_ctx *c)
{
    memset(c, 0, sizeof *c);
    c->report.policy = 0x30000;
    c->report.guest_svn = 3;
    c->report.current_tcb = c->report.committed_tcb = c->report.reported_tcb = 0x5400000000000A0Aull;
    c->report.current_major = c->report.committed_major = 1;
    c->report.current_minor = c->report.committed_minor = 55;
    c->report.cpuid_fam_id = 0x19;
    c->report.cpuid_mod_id = 0x11;
    c->id_block_en = true;
    c->mit_vector = true;
    c->desired_tsc_khz = 2000000;
}

static void handle(const struct mc_snp_msg_hdr *h, const uint8_t *pl, uint8_t *rsp, size_t *n)
{
    struct mc_snp_msg_ctx c;
    ctx_init(&c);
    uint64_t pa;
    bool imi;
    uint8_t vmrk[32];
    struct mc_snp_mig_gctx g;
    *n = MC_SNP_STATUS_RSP_SIZE;
    switch (h->msg_type) {
    case MC_SNP_MSG_REPORT_REQ:
        if (mc_snp_handle_report_req(chip, &c, h->msg_vmpck, pl, h->msg_size, rsp, NULL) != MC_OK)
            abort();
        *n = MC_SNP_REPORT_RSP_SIZE;
        break;
    case MC_SNP_MSG_KEY_REQ:
        if (mc_snp_handle_key_req(chip, &c, h->msg_vmpck, pl, h->msg_size, rsp, NULL) != MC_OK)
            abort();
        *n = MC_SNP_KEY_RSP_SIZE;
        break;
    case MC_SNP_MSG_TSC_INFO_REQ:
        mc_snp_handle_tsc_info_req(&c, pl, h->msg_size, rsp);
        *n = MC_SNP_TSC_INFO_SIZE;
        break;
    case MC_SNP_MSG_EXPORT_REQ:
        mc_snp_export_rsp_encode(mc_snp_export_req_decode(pl, h->msg_size, &pa, &imi), NULL, rsp);
        *n = MC_SNP_EXPORT_RSP_SIZE;
        break;
    case MC_SNP_MSG_IMPORT_REQ:
    case MC_SNP_MSG_ABSORB_REQ:
    case MC_SNP_MSG_ABSORB_NOMA_REQ:
        mc_snp_status_rsp_encode(mc_snp_import_req_decode(h->msg_type, pl, h->msg_size, &pa, &g), rsp);
        break;
    case MC_SNP_MSG_VMRK_REQ:
        mc_snp_status_rsp_encode(mc_snp_vmrk_req_decode(pl, h->msg_size, &pa, vmrk), rsp);
        break;
    default:
        mc_snp_status_rsp_encode(MC_FW_INVALID_PARAM, rsp);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    static uint8_t page[MC_SNP_MSG_PAGE], pl[MC_SNP_MSG_PAGE], rsp[MC_SNP_MSG_PAGE], back[MC_SNP_MSG_PAGE];
    struct mc_snp_msg_hdr h;
    mc_fw_status fw;
    size_t n = size < sizeof page ? size : sizeof page;
    /* (1) the raw bytes as a request page, and as a response for the guest */
    for (int i = 0; i < 4; i++)
        keys[i].count = 0;
    if (mc_snp_msg_fw_unwrap(keys, data, n, &h, pl, sizeof pl, &fw, NULL) != MC_OK)
        abort();
    if (fw == MC_FW_SUCCESS)
        abort(); /* the fuzzer cannot forge a tag under a fixed key */
    mc_snp_msg_open(keys[0].key, data, n, &h, back, sizeof back, NULL);
    /* (2) a well-sealed request built from the input */
    if (size < 3)
        return 0;
    size_t plen = size - 3 > MC_SNP_MSG_PAGE - MC_SNP_MSG_HDR_SIZE ? MC_SNP_MSG_PAGE - MC_SNP_MSG_HDR_SIZE : size - 3;
    struct mc_snp_msg_hdr q = {.seqno = 1, .msg_type = data[0], .msg_version = data[1], .msg_vmpck = data[2]};
    size_t len = 0;
    if (mc_snp_msg_seal(keys[data[2] & 3].key, &q, data + 3, plen, page, sizeof page, &len, NULL) != MC_OK)
        abort();
    if (mc_snp_msg_fw_unwrap(keys, page, sizeof page, &h, pl, sizeof pl, &fw, NULL) != MC_OK)
        abort();
    if (fw != MC_FW_SUCCESS)
        return 0;
    if (h.msg_size != plen || memcmp(pl, data + 3, plen) != 0 || h.msg_vmpck > 3)
        abort();
    size_t rn = 0, out = 0;
    handle(&h, pl, rsp, &rn);
    if (mc_snp_msg_fw_wrap(keys, &h, rsp, rn, page, sizeof page, &out, &fw, NULL) != MC_OK || fw != MC_FW_SUCCESS)
        abort();
    struct mc_snp_msg_hdr r;
    if (mc_snp_msg_open(keys[h.msg_vmpck].key, page, out, &r, back, sizeof back, NULL) != MC_OK || r.seqno != 2 ||
        r.msg_type != h.msg_type + 1 || keys[h.msg_vmpck].count != 2)
        abort();
    return 0;
}
