#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `npm run demo:measure`: a short tour of the measured state on a throw-away software TPM: start swtpm,
# show what execgate reads from it (PCRs, quotes, event log, IMA, reference states), stop it.
# Needs `./scripts/setup.sh` (or `npm run build`) first.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f dist/agent/cli/main.js ] || { echo "demo: run ./scripts/setup.sh (or npm run build) first" >&2; exit 1; }

env_file=$(mktemp)
work=$(mktemp -d)
# host init pins this throw-away TPM's EK in host.json: keep it in the demo's directory, not /var/lib/execgate.
export EXECGATE_STATE_DIR="$work/state"
node dist/swtpm/main.js start --ek >"$env_file" &
swtpm_pid=$!
trap 'kill "$swtpm_pid" 2>/dev/null; wait "$swtpm_pid" 2>/dev/null; rm -rf "$env_file" "$work"' EXIT
for _ in $(seq 200); do grep -q EXECGATE_TCTI "$env_file" && break; sleep 0.05; done
# shellcheck disable=SC1090
source "$env_file"
echo "TPM at $EXECGATE_TCTI"

run() { echo; echo "\$ execgate $*"; node dist/agent/cli/main.js "$@"; }
run tpm info
run tpm pcrs --bank sha256 --pcrs 0-3,16
digest=$(printf 'execgate demo' | sha256sum | cut -c1-64)
run tpm extend 16 --bank sha256 --digest "$digest"
run tpm pcrs --bank sha256 --pcrs 16 --json
run tpm random 16
echo; echo "\$ execgate tpm pcrs --bank md5   # a mistake: says what to do, exits 2"
node dist/agent/cli/main.js tpm pcrs --bank md5 || echo "(exit $?)"

echo; echo "# Host identity: an AK under the EK (whose certificate swtpm_setup put in NV)"
run host init --ak-alg ecc
node dist/agent/cli/main.js host identity --json >"$work/identity.json"
node -e 'const i=require(process.argv[1]); console.log("akName", i.akName, "| EK cert", i.ekCertificatePem ? "present" : "absent"); require("fs").writeFileSync(process.argv[2], i.akPublicPem)' "$work/identity.json" "$work/ak.pem"

echo; echo "# A quote over sha256:0-7,16 with a fresh nonce, then its verification"
nonce=$(node dist/agent/cli/main.js tpm random 16)
run quote --pcrs sha256:0-7,16 --nonce "$nonce" --out "$work/evidence.cbor"
run quote verify "$work/evidence.cbor" --ak "$work/ak.pem" --nonce "$nonce" --save-clock "$work/clock.json"
echo; echo "\$ execgate quote verify … --nonce <another nonce>   # a replayed quote: exit 7"
node dist/agent/cli/main.js quote verify "$work/evidence.cbor" --ak "$work/ak.pem" --nonce 00 || echo "(exit $?)"


echo; echo "# Measured state: a real firmware event log (a vendored test vector), decoded and replayed"
log=test/vectors/eventlog/keylime/binary_bios_measurements
echo; echo "\$ execgate eventlog show $log | head -12"
node dist/agent/cli/main.js eventlog show "$log" | head -12
run eventlog replay "$log" --json

echo; echo "# An IMA list: its first line a boot_aggregate of this TPM's PCRs 0-7, the first 100 entries extended into PCR 10, as the kernel would"
ima="$work/ima.list"
node --input-type=module -e '
  import { createHash } from "node:crypto";
  import { readFileSync, writeFileSync } from "node:fs";
  const { parseImaLog } = await import(process.cwd() + "/dist/agent/measure/ima/index.js");
  const { initHashing } = await import(process.cwd() + "/dist/agent/crypto/hash.js");
  const { Tpm } = await import(process.cwd() + "/dist/agent/tpm/tpm.js");
  const { readPcrs } = await import(process.cwd() + "/dist/agent/tpm/pcr.js");
  const { openTransport, resolveTcti } = await import(process.cwd() + "/dist/agent/tpm/transport/index.js");
  const { PCR_Extend } = await import(process.cwd() + "/dist/agent/tpm/commands.js");
  await initHashing();
  const tpm = new Tpm(openTransport(resolveTcti(undefined, process.env)));
  // boot_aggregate (ima-ng): SHA-1 over PCRs 0-7; its template hash covers d-ng and n-ng, each length-prefixed.
  const pcrs = (await readPcrs(tpm, [{ hash: 0x0004, pcrs: [0, 1, 2, 3, 4, 5, 6, 7] }])).get(0x0004);
  const aggregate = createHash("sha1").update(Buffer.concat([0, 1, 2, 3, 4, 5, 6, 7].map((i) => pcrs.get(i)))).digest();
  const field = (b) => Buffer.concat([Buffer.from(Uint32Array.of(b.length).buffer), b]);
  const d = Buffer.concat([Buffer.from("sha1:\0"), aggregate]);
  const th = createHash("sha1").update(Buffer.concat([field(d), field(Buffer.from("boot_aggregate\0"))])).digest("hex");
  const lines = readFileSync(process.argv[1], "utf8").split("\n").filter((l) => l.length > 0);
  lines[0] = `10 ${th} ima-ng sha1:${aggregate.toString("hex")} boot_aggregate`;
  writeFileSync(process.argv[2], lines.join("\n") + "\n");
  for (const e of parseImaLog(readFileSync(process.argv[2])).entries.slice(0, 100))
    await tpm.run(PCR_Extend, { pcrHandle: 10, digests: [{ hashAlg: 0x0004, digest: e.templateHash }] });
  await tpm.close();
' test/vectors/ima/rust-keylime/ascii_runtime_measurements "$ima"
run ima verify "$ima"
run state capture --no-eventlog --ima "$ima" --pcrs sha1:0-7,10,16 --out "$work/reference.json"
run state check "$work/reference.json" --no-eventlog --ima "$ima" --pcrs sha1:0-7,10,16
echo; echo "\$ execgate tpm extend 16 …; execgate state check …   # PCR 16 moved: exit 7, naming it"
node dist/agent/cli/main.js tpm extend 16 --bank sha1 --digest "$(printf x | sha1sum | cut -c1-40)" >/dev/null
node dist/agent/cli/main.js state check "$work/reference.json" --no-eventlog --ima "$ima" --pcrs sha1:0-7,10,16 || echo "(exit $?)"

echo; echo "# An authorization artifact: an issuer key, one run of /usr/bin/true on this host (its AK Name), bound to the reference state"
run key gen --alg ed25519 --out "$work/ops.key"
run key gen --alg p256 --out "$work/alice.key"
run artifact issue --key "$work/ops.key" --issuer ops --host-identity "$work/identity.json" --exe /usr/bin/true \
  --ttl 10m --state-ref "$work/reference.json" --gov ticket=DEMO-1 --out "$work/true.cose"
run artifact approve "$work/true.cose" --key "$work/alice.key"
run artifact inspect "$work/true.cose"
run artifact verify "$work/true.cose" --trust "$work/ops.key.pub" --approver "$work/alice.key.pub" --approvals 1
cti=$(node dist/agent/cli/main.js artifact inspect "$work/true.cose" --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).claims.cti))')
run revoke --key "$work/ops.key" --issuer ops --cti "$cti" --out "$work/revoked.cose"
echo; echo "\$ execgate artifact verify … --revoked revoked.cose   # revoked: exit 7"
node dist/agent/cli/main.js artifact verify "$work/true.cose" --trust "$work/ops.key.pub" --revoked "$work/revoked.cose" || echo "(exit $?)"
