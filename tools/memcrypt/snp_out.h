/* memcrypt CLI — SEV-SNP outputs shared by several commands (not a command group itself). */
#ifndef MC_CLI_SNP_OUT_H
#define MC_CLI_SNP_OUT_H

#include <stdbool.h>
#include <stdio.h>

#include <memcrypt/json.h>
#include <memcrypt/measure.h>
#include <memcrypt/snp_report.h>

/* A report file: the raw bytes, their hex text or an Azure HCL report (mc_snp_report_unwrap);
 * ci (may be NULL) says which. */
mc_status mc_cli_load_report(const char *path, struct mc_snp_report *r, struct mc_snp_container_info *ci,
                             struct mc_error *err);
/* Every field of a decoded report, as `report show` prints it (gen: the TCB layout). */
void mc_cli_report_text(const struct mc_snp_report *r, enum mc_snp_gen gen, bool gen_from_cpuid);
void mc_cli_report_json(struct mc_json *j, const struct mc_snp_report *r, enum mc_snp_gen gen);
/* The generation for the TCB layout: the report's CPUID (v3+), else hint. */
enum mc_snp_gen mc_cli_report_layout_gen(const struct mc_snp_report *r, enum mc_snp_gen hint);
/* A TCB_VERSION decoded in gen's layout: "NAME  0x... (bl=.. tee=.. snp=.. ucode=..)", or a JSON object. */
void mc_cli_tcb_text(const char *name, uint64_t raw, enum mc_snp_gen gen);
void mc_cli_tcb_json(struct mc_json *j, const char *name, uint64_t raw, enum mc_snp_gen gen);
/* "VCEK", "VLEK", "none" or "reserved". */
const char *mc_cli_signer_name(unsigned signer);
/* One transcript step as `measure --transcript` prints it (a line), or as a JSON object. */
void mc_cli_step_text(FILE *f, const struct mc_measure_record *r);
void mc_cli_step_json(struct mc_json *j, const char *key, const struct mc_measure_record *r);

#endif
