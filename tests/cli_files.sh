#!/bin/bash
# Shell test of files and safety through the CLI (docs/cli.md "Files and safety"):
# outputs to devices, FIFOs and links; the state file shared by concurrent processes, a busy lock,
# kills in the middle of a write; failing commands leave no files; FIFOs and devices as inputs do
# not hang; the kernel's OVMF capability is checked before it is read; sizes, empty certificates,
# guest features and secrets as the user gave them.
# $1 = memcrypt binary, $2 = tests/data, $3 = source dir.
. "$(dirname "$0")/lib/cli.sh"
M=$MC
DATA=$(cd "$DATA" && pwd)
SRC=$(cd "$SRC" && pwd)
T=$TMP
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
cd "$T" || exit 1
fw() { "$M" fw "$@" --platform milan; }

# ---- outputs: devices, FIFOs, links -------------------------------------------------------------
# Device nodes of our own as root (a regression must never replace the system's /dev/null or
# /dev/full); otherwise /dev is not writable and the system's nodes are safe to use.
fw pek-gen --state s >/dev/null
null=/dev/null full=/dev/full
if [[ $(id -u) == 0 ]] && mknod -m666 n c 1 3 2>/dev/null && mknod -m666 f c 1 7 2>/dev/null; then
    null=n full=f
fi
fw pek-csr --state s $null >/dev/null
check "a character device stays one (written in place)" '[[ -c $null ]]'
out=$(fw pek-csr --state s $full 2>&1)
rc=$?
check "a full device is an error" '[[ $rc == 3 && "$out" == *"No space"* && -c $full ]]'
mkfifo out.fifo
out=$(timeout 10 "$M" fw pek-csr --platform milan --state s out.fifo 2>&1)
rc=$?
check "a FIFO without a reader: error, not a hang" '[[ $rc == 3 && "$out" == *"reading"* ]]'
timeout 20 cat out.fifo >fifo.bytes &
for _ in $(seq 500); do timeout 10 "$M" fw pek-csr --platform milan --state s out.fifo >/dev/null 2>&1 && break; sleep 0.01; done
wait
check "a FIFO with a reader gets the CSR" '[[ $(stat -c %s fifo.bytes) == 2084 && -p out.fifo ]]'
ln -s s link.state
before=$(sha256sum <s)
fw pdh-gen --state link.state >/dev/null
check "a linked state file stays a link" '[[ -L link.state ]]'
check "... and its target holds the update" '[[ "$(sha256sum <s)" != "$before" ]]'
ln -s nowhere dangling.state
out=$(fw status --state dangling.state 2>&1)
rc=$?
check "a dangling link is refused, no chip made behind it" '[[ $rc == 3 && "$out" == *"missing"* && ! -e nowhere ]]'
ln -s s.copy link.out
echo old >s.copy
fw pek-csr --state s link.out >/dev/null
check "an output link: target written, link kept" '[[ -L link.out && $(stat -c %s s.copy) == 2084 ]]'

# ---- the state file shared by processes ---------------------------------------------------------
fw pdh-export --state s c0 >/dev/null
pids=()
for i in 1 2 3 4; do
    fw pek-gen --state s >"gen.$i" 2>&1 &
    pids+=($!)
    fw pdh-gen --state s >"pdh.$i" 2>&1 &
    pids+=($!)
done
rcs=0
for p in "${pids[@]}"; do wait "$p" || rcs=$((rcs + 1)); done
check "2x4 concurrent pek-gen/pdh-gen all succeed" '[[ $rcs == 0 ]] && grep -q SUCCESS gen.4 && grep -q SUCCESS pdh.4'
fw pdh-export --state s c1 >/dev/null
check "the updates are in the state (PEK changed)" '! cmp -s c0/pek.cert c1/pek.cert'
check "no temporary copies left" '[[ -z $(ls s.tmp* 2>/dev/null) ]]'
# First uses of a missing state file: one chip.
pids=()
for i in 1 2 3 4; do
    "$M" fw get-id --platform milan --state fresh.state --seed "chip$i" >"id.$i" &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
check "concurrent first uses make one chip" '[[ -s id.1 ]] && cmp -s id.1 id.2 && cmp -s id.1 id.3 && cmp -s id.1 id.4'
# A held lock (here by util-linux flock, which takes the same lock): a clear "busy" after the wait.
# The test shell holds it on descriptor 8 (flock(1) locks the descriptor it inherits) until it
# closes 8; the commands run without 8, so they are other holders.
if command -v flock >/dev/null; then
    exec 8>>s.lock
    flock 8
    t0=$(date +%s%N)
    out=$(MEMCRYPT_STATE_WAIT=0.2 timeout 20 "$M" fw pdh-gen --platform milan --state s 2>&1 8>&-)
    rc=$?
    t1=$(date +%s%N)
    check "busy state file: exit 3 with a clear message" '[[ $rc == 3 && "$out" == *busy* && "$out" == *s.lock* ]]'
    check "... after the bounded wait (MEMCRYPT_STATE_WAIT=0.2)" \
        '[[ "$out" == *"waited 0.200 s"* ]] && (( (t1 - t0) >= 200000000 && (t1 - t0) < 3500000000 ))'
    # The default waits: started while the lock is held, it is let go once it waits (it has the
    # lock file open and sleeps), and it must then succeed.
    "$M" fw pdh-gen --platform milan --state s >waiter.out 2>&1 8>&- &
    waiter=$!
    waiting=no
    for _ in $(seq 2000); do
        if ls -l "/proc/$waiter/fd" 2>/dev/null | grep -q " $(pwd -P)/s.lock$" &&
            [[ $(cut -d' ' -f3 "/proc/$waiter/stat" 2>/dev/null) == S ]]; then
            waiting=yes
            break
        fi
        kill -0 $waiter 2>/dev/null || break
        sleep 0.01
    done
    check "the default waits while the lock is held" '[[ $waiting == yes ]] && kill -0 $waiter'
    exec 8>&-
    wait $waiter
    rc=$?
    check "... until the holder is done" '[[ $rc == 0 && "$(cat waiter.out)" == *SUCCESS* ]]'
else
    cli_missing "flock (util-linux): the busy state file checks"
fi
# Killed writers: at most one temporary copy at any time, none after the next open, the state
# still loads. Each writer is killed after a random 0-80 ms, or not at all once it is done
# (wait -n returns at whichever comes first).
echo "stale chip secret" >s.tmpAbCd12
maxtmp=0
for i in $(seq 25); do
    fw pek-gen --state s >/dev/null 2>&1 &
    p=$!
    sleep "0.0$((RANDOM % 9))" &
    nap=$!
    wait -n $p $nap 2>/dev/null
    kill -9 $p 2>/dev/null
    wait $p 2>/dev/null
    kill $nap 2>/dev/null
    wait $nap 2>/dev/null
    n=$(ls s.tmp* 2>/dev/null | wc -l)
    ((n > maxtmp)) && maxtmp=$n
done
out=$(fw status --state s 2>&1)
rc=$?
check "state loads after 25 kills" '[[ $rc == 0 ]]'
check "never more than one temporary copy ($maxtmp)" '[[ $maxtmp -le 1 ]]'
check "stale copies removed at the next open" '[[ -z $(ls s.tmp* 2>/dev/null) ]]'

# ---- a failing command leaves no new files -------------------------------------------------------
mkdir -p d/vcek.der
out=$("$M" fixtures --out d --root "$SRC/examples/test-root" 2>&1)
rc=$?
check "fixtures into a folder with vcek.der a folder fails" '[[ $rc == 3 ]]'
check "... and leaves no keys or temporaries" '[[ "$(ls -A d)" == vcek.der ]]'
mkdir -p o/tek.bin
out=$("$M" owner session --pdh c1/pdh.cert --policy 1 --out o 2>&1)
rc=$?
check "owner session fails as a whole" '[[ $rc == 3 && "$(ls -A o)" == tek.bin ]]'
"$M" owner session --pdh c1/pdh.cert --policy 1 --out newdir >/dev/null
check "owner session creates its folder whole" '[[ -s newdir/tk.bin && -s newdir/godh.b64 && -z $(ls -A . | grep "^\.newdir") ]]'
mkdir -p x/pek.cert
out=$(fw pdh-export --state s x 2>&1)
check "pdh-export fails as a whole" '[[ "$(ls -A x)" == pek.cert ]]'

# ---- inputs that are FIFOs or devices do not hang ------------------------------------------------
mkfifo in.fifo
"$M" fixtures --out fx --root "$SRC/examples/test-root" --seed f >/dev/null
"$M" fixtures report --key fx --out r.bin >/dev/null
check_fifo() { # name, command...
    local name=$1
    shift
    out=$(timeout 10 "$@" 2>&1)
    rc=$?
    check "FIFO as $name: refused at once" '[[ $rc == 2 || $rc == 3 ]] && [[ "$out" == *FIFO* ]]'
}
check_fifo "report" "$M" report show in.fifo
check_fifo "--vcek" "$M" report verify r.bin --vcek in.fifo --roots fx
check_fifo "--ask" "$M" report verify r.bin --vcek fx/vcek.der --ask in.fifo --roots fx
check_fifo "domain XML" "$M" domain check in.fifo --platform milan
check_fifo "run XML" "$M" run in.fifo --platform milan
check_fifo "--secret-file" "$M" run "$SRC/examples/sev-guest.xml" --platform milan --secret-file in.fifo
check_fifo "--state" "$M" fw status --platform milan --state in.fifo
check_fifo "--ovmf" "$M" measure --mode snp --vcpus 1 --vcpu-type EPYC-v4 --ovmf in.fifo
check_fifo "certificate" "$M" certs show in.fifo
check_fifo "PEK to import" "$M" fw pek-import --platform milan --state s in.fifo in.fifo
check_fifo "--pdh" "$M" owner session --pdh in.fifo --policy 1 --out o2
check_fifo "--id-key" "$M" idblock --id-key in.fifo --measurement "$(printf '%096d' 0)"

# ---- --kernel from a device: refused before anything is read ---------------------------------------
V=$DATA/snp-measure
t0=$(date +%s%N)
out=$(timeout 20 "$M" measure --mode snp --vcpus 1 --vcpu-type EPYC-v4 --ovmf /usr/share/ovmf/OVMF.fd --kernel /dev/zero 2>&1)
rc=$?
t1=$(date +%s%N)
check "--kernel with an OVMF that cannot take one: refused first" '[[ $rc == 3 && "$out" == *SNP_KERNEL_HASHES* ]]'
check "... at once" '(( (t1 - t0) < 2000000000 ))'
head -c 16 /dev/urandom >tik.bin
out=$(timeout 20 "$M" owner verify-measurement --measurement "$(printf '%096d' 0)" --tik tik.bin --api-major 1 \
    --api-minor 55 --build 21 --policy 1 --ovmf /usr/share/ovmf/OVMF.fd --kernel /dev/zero 2>&1)
rc=$?
check "owner verify-measurement: the OVMF's kernel support is checked first too" '[[ $rc == 3 && "$out" == *"hashes-table"* ]]'
out=$(timeout 20 "$M" measure --mode snp --vcpus 1 --vcpu-type EPYC-v4 --ovmf "$V/ovmf_AmdSev_suffix.bin" --kernel /dev/zero 2>&1)
rc=$?
check "--kernel /dev/zero refused without reading it" '[[ $rc == 3 && "$out" == *"character device"* ]]'
a=$("$M" measure --mode snp --vcpus 1 --vcpu-type EPYC-v4 --ovmf "$V/ovmf_AmdSev_suffix.bin" --kernel "$V/fake-kernel.bin")
b=$("$M" measure --mode snp --vcpus 1 --vcpu-type EPYC-v4 --ovmf "$V/ovmf_AmdSev_suffix.bin" --kernel <(cat "$V/fake-kernel.bin"))
check "--kernel from a pipe still works" '[[ -n "$a" && "$a" == "$b" ]]'

# ---- sizes, empty files, guest features, secrets -----------------------------------------------
sed "s#<memory unit='MiB'>256</memory>#<memory unit='PiB'>4</memory>#; /currentMemory/d" \
    "$SRC/examples/sev-guest.xml" >big.xml
out=$("$M" domain check big.xml --platform milan 2>&1)
rc=$?
check "4 PiB: domain check refuses with the user's size" '[[ $rc == 1 && "$out" == *"4 PiB (4398046511104 KiB)"* ]]'
out2=$("$M" run big.xml --platform milan 2>&1)
rc=$?
check "... and run says the same" '[[ $rc == 3 && "$out2" == *"4 PiB (4398046511104 KiB) does not fit platform"* ]]'
: >empty.der
out=$("$M" report verify r.bin --vcek empty.der --roots fx 2>&1)
check "an empty VCEK is reported as empty" '[[ "$out" == *"empty (0 bytes)"* && "$out" != *"was given"* ]]'
G="$M measure --mode snp --vcpus 1 --vcpu-type EPYC-v4 --ovmf /usr/share/ovmf/OVMF.fd"
out=$($G --guest-features 0xffffffffffffffff 2>&1)
rc=$?
check "guest features all ones: usage error naming reserved bits" '[[ $rc == 2 && "$out" == *reserved* ]]'
out=$($G --guest-features 0 2>&1)
rc=$?
check "guest features 0: usage error (SNPActive)" '[[ $rc == 2 && "$out" == *SNPActive* ]]'
check "guest features 0x21 and 0x200001 (IBPB on entry) are valid" '$G --guest-features 0x21 >/dev/null && $G --guest-features 0x200001 >/dev/null'
printf 'hunter2-disk-passphrase' >secret.txt
hex=$(od -An -tx1 secret.txt | tr -d ' \n')
sum=$(sha256sum secret.txt | cut -c1-64)
out=$("$M" run "$SRC/examples/sev-guest.xml" --platform milan --seed s --secret-file secret.txt 2>&1)
json=$("$M" run "$SRC/examples/sev-guest.xml" --platform milan --seed s --secret-file secret.txt --json 2>&1)
check "run never prints the user's secret" '[[ "$out$json" != *hunter2* && "$out$json" != *"$hex"* ]]'
check "... but its length and SHA-256" '[[ "$out" == *"23 bytes, SHA-256 $sum"* && "$json" == *"\"guest_read_sha256\": \"$sum\""* ]]'
out=$("$M" run "$SRC/examples/sev-guest.xml" --platform milan --seed s 2>&1)
check "the demo's own secret is shown" '[[ "$out" == *"correct horse battery staple"* ]]'

cli_finish
