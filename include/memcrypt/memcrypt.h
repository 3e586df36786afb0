/* memcrypt — the whole public API in one include, and the library's version.
 *
 *   #include <memcrypt/memcrypt.h>
 *   cc prog.c $(pkg-config --cflags --libs memcrypt)
 *
 * Every function here is exported from libmemcrypt.so with MC_API (memcrypt/api.h); nothing
 * else is. The version macros come from CMake's project version (CMakeLists.txt).
 */
#ifndef MEMCRYPT_MEMCRYPT_H
#define MEMCRYPT_MEMCRYPT_H

#include <memcrypt/api.h>
#include <memcrypt/version.h>

#include <memcrypt/board.h>
#include <memcrypt/bytes.h>
#include <memcrypt/cpu.h>
#include <memcrypt/crypto.h>
#include <memcrypt/dma.h>
#include <memcrypt/dram.h>
#include <memcrypt/engine.h>
#include <memcrypt/ept.h>
#include <memcrypt/error.h>
#include <memcrypt/fileio.h>
#include <memcrypt/fw_status.h>
#include <memcrypt/guest.h>
#include <memcrypt/idblock.h>
#include <memcrypt/json.h>
#include <memcrypt/kds_client.h>
#include <memcrypt/kds_site.h>
#include <memcrypt/lcpu.h>
#include <memcrypt/libvirt.h>
#include <memcrypt/machine.h>
#include <memcrypt/mc.h>
#include <memcrypt/measure.h>
#include <memcrypt/migrate.h>
#include <memcrypt/ovmf.h>
#include <memcrypt/paging.h>
#include <memcrypt/pconfig.h>
#include <memcrypt/psp.h>
#include <memcrypt/rmp.h>
#include <memcrypt/run.h>
#include <memcrypt/sev_api.h>
#include <memcrypt/sev_cert.h>
#include <memcrypt/sev_identity.h>
#include <memcrypt/sev_owner.h>
#include <memcrypt/sev_session.h>
#include <memcrypt/sevdev.h>
#include <memcrypt/sevguest.h>
#include <memcrypt/tsm.h>
#include <memcrypt/snp_api.h>
#include <memcrypt/snp_attest.h>
#include <memcrypt/snp_fixture.h>
#include <memcrypt/snp_cpuid.h>
#include <memcrypt/snp_guest.h>
#include <memcrypt/snp_guest_msg.h>
#include <memcrypt/snp_identity.h>
#include <memcrypt/snp_report.h>
#include <memcrypt/snp_verify.h>
#include <memcrypt/tme.h>
#include <memcrypt/tme_status.h>
#include <memcrypt/vm.h>
#include <memcrypt/vmsa.h>

#endif
